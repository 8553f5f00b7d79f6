package dev.sluice.onboard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Objects;

/**
 * A running gateway's node admin API ({@code GET /admin/nodes}, {@code POST /admin/nodes}), with the admin token as
 * {@code Authorization: Bearer}. A refused token or request is an {@link OnboardException} naming the fix; a gateway
 * that does not answer is {@link Unreachable}, which a caller following a node may retry.
 */
public final class AdminClient {
  /** The admin API answers from memory; seconds mean the gateway is not there. */
  public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  public static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

  /** The gateway did not answer (refused, timed out, TLS): nothing was changed by the failed call. */
  public static final class Unreachable extends IOException {
    Unreachable(String message) {
      super(message);
    }
  }

  private final URI base;
  private final String token;
  private final HttpClient http;

  /**
   * @param base the admin plane's base URL (the gateway's, or its separate admin listener's)
   * @param token the admin token, or null when none was given
   */
  public AdminClient(URI base, String token) {
    this.base = Objects.requireNonNull(base, "base");
    this.token = token;
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(CONNECT_TIMEOUT).build();
  }

  public URI base() {
    return base;
  }

  /** {@code GET /admin/nodes}: {@code {"policy": …, "nodes": [{"id", "state", "reason", "baseUrl", …}]}}. */
  public JsonNode nodes() throws IOException, InterruptedException {
    return call("GET", "/admin/nodes", null);
  }

  /** {@code POST /admin/nodes} with a node object plus {@code "model"}; the gateway's view of the new node. */
  public JsonNode addNode(ObjectNode body) throws IOException, InterruptedException {
    return call("POST", "/admin/nodes", body.toString());
  }

  private JsonNode call(String method, String path, String body) throws IOException, InterruptedException {
    URI uri = base.resolve(path);
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT).header("Accept", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) b.header("Content-Type", "application/json");
    if (token != null) b.header("Authorization", "Bearer " + token);
    HttpResponse<String> r;
    try {
      r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new Unreachable("no answer from the gateway at " + uri + ": " + NodeCheck.cause(e) + "; check that "
          + "the gateway runs there (with admin.port set, its admin plane has its own listener: give that URL)");
    }
    JsonNode json;
    try {
      json = Json.MAPPER.readTree(r.body().isEmpty() ? "{}" : r.body());
    } catch (IOException e) {
      json = Json.MAPPER.createObjectNode();
    }
    int status = r.statusCode();
    if (status / 100 == 2) return json;
    String said = json.path("error").path("message").asText(r.body().replaceAll("\\s+", " ").trim());
    if (status == 401 && token == null) {
      throw new OnboardException("the gateway at " + base + " wants the admin token (" + status + ": " + said
          + "); set SLUICE_ADMIN_TOKEN or pass --admin-token-file FILE (never on the command line)");
    }
    if (status == 401) {
      throw new OnboardException("the gateway at " + base + " refused the admin token (" + status + ": " + said
          + "); use the token whose SHA-256 is the gateway's admin.tokenSha256 (`sluice keys admin-token` makes a "
          + "new pair)");
    }
    if (status == 403) {
      throw new OnboardException("the gateway at " + base + " refused the admin request (" + status + ": " + said
          + ")");
    }
    throw new OnboardException(method + " " + uri + " answered " + status + ": " + said);
  }
}
