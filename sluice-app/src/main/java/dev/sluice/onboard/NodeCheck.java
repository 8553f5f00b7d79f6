package dev.sluice.onboard;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.api.ApiFlavor;
import dev.sluice.support.Clock;
import dev.sluice.support.Json;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLException;

/**
 * Steps 1 and 2 of onboarding, from this machine: is the node reachable, which API does it speak, which models does it
 * list. Ollama lists its models on {@code GET /api/tags}, OpenAI-compatible servers (vLLM, TGI, Ollama's /v1) on
 * {@code GET /v1/models}; without a given API both are tried, Ollama's first (an Ollama node answers both).
 */
public final class NodeCheck {
  /** A node on the same network connects in milliseconds; seconds mean a firewall drops the packets. */
  public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  /** Listing models reads a small JSON document; a node that needs longer is not fit for traffic either. */
  public static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
  /** How much of an unexpected answer goes into a message. */
  private static final int MAX_SHOWN_CHARS = 120;

  /**
   * A node that answered its model list.
   *
   * @param api the API it answered in
   * @param path the path that answered ({@code /api/tags} or {@code /v1/models})
   * @param millis how long that request took
   * @param models the model ids it lists, in its order
   */
  public record Reach(ApiFlavor api, String path, long millis, List<String> models) {
    public Reach {
      Objects.requireNonNull(api, "api");
      models = List.copyOf(models);
    }

    /** Whether the node lists {@code model} ({@code llama3} also matches Ollama's {@code llama3:latest}). */
    public boolean serves(String model) {
      return models.contains(model) || (!model.contains(":") && models.contains(model + ":latest"));
    }
  }

  private final HttpClient http;
  private final Duration requestTimeout;
  private final Clock clock;

  /** Checks with requests bounded by {@code timeout} (and at most {@link #REQUEST_TIMEOUT}). */
  public NodeCheck(Duration timeout) {
    this(timeout, Clock.SYSTEM);
  }

  /** {@link #NodeCheck(Duration)}, timing the answers on {@code clock}. */
  public NodeCheck(Duration timeout, Clock clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
    this.requestTimeout = timeout.compareTo(REQUEST_TIMEOUT) < 0 ? timeout : REQUEST_TIMEOUT;
    Duration connect = requestTimeout.compareTo(CONNECT_TIMEOUT) < 0 ? requestTimeout : CONNECT_TIMEOUT;
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(connect)
        .followRedirects(HttpClient.Redirect.NEVER).build();
  }

  /**
   * Reaches the node at {@code root} (no {@code /v1}) and reads its model list.
   *
   * @param api the node's API, or null to detect it
   * @param apiKey sent as {@code Authorization: Bearer} when not null (the key the gateway will send)
   * @throws OnboardException naming the URL, what happened and what to check
   */
  public Reach reach(URI root, ApiFlavor api, String apiKey) throws InterruptedException {
    Objects.requireNonNull(root, "root");
    if (api == ApiFlavor.OLLAMA) return ollama(root, apiKey, true);
    if (api == ApiFlavor.OPENAI) return openAi(root, apiKey, true);
    Reach r = ollama(root, apiKey, false);
    if (r != null) return r;
    r = openAi(root, apiKey, false);
    if (r != null) return r;
    throw new OnboardException(root + " answers neither GET /api/tags (Ollama) nor GET /v1/models (OpenAI-compatible, "
        + "e.g. vLLM): check that the URL points at the model server itself (host and port), or give --api");
  }

  /** Null when {@code required} is false and the node does not speak Ollama's API. */
  private Reach ollama(URI root, String apiKey, boolean required) throws InterruptedException {
    Answer a = get(URI.create(root + "/api/tags"), apiKey, required);
    if (a == null) return null;
    JsonNode list = a.json == null ? null : a.json.get("models");
    if (list == null || !list.isArray()) {
      if (!required) return null;
      throw new OnboardException(root + "/api/tags did not answer an Ollama model list (" + a.shown() + "): is this "
          + "an Ollama node? For vLLM and other OpenAI-compatible servers use --api openai");
    }
    List<String> models = new ArrayList<>();
    list.forEach(m -> {
      String name = m.path("name").asText(m.path("model").asText(""));
      if (!name.isEmpty() && !models.contains(name)) models.add(name);
    });
    return new Reach(ApiFlavor.OLLAMA, "/api/tags", a.millis, models);
  }

  private Reach openAi(URI root, String apiKey, boolean required) throws InterruptedException {
    Answer a = get(URI.create(root + "/v1/models"), apiKey, required);
    if (a == null) return null;
    JsonNode list = a.json == null ? null : a.json.get("data");
    if (list == null || !list.isArray()) {
      if (!required) return null;
      throw new OnboardException(root + "/v1/models did not answer an OpenAI model list (" + a.shown() + "): is this "
          + "an OpenAI-compatible server? For Ollama nodes use --api ollama");
    }
    List<String> models = new ArrayList<>();
    list.forEach(m -> {
      String name = m.path("id").asText("");
      if (!name.isEmpty() && !models.contains(name)) models.add(name);
    });
    return new Reach(ApiFlavor.OPENAI, "/v1/models", a.millis, models);
  }

  private record Answer(int status, String body, JsonNode json, long millis) {
    String shown() {
      String line = body.replaceAll("\\s+", " ").trim();
      return "HTTP " + status + (line.isEmpty() ? "" : ": "
          + (line.length() > MAX_SHOWN_CHARS ? line.substring(0, MAX_SHOWN_CHARS) + "..." : line));
    }
  }

  /**
   * One GET. Transport failures always throw (the other API's path would fail the same way); an HTTP error throws
   * when {@code required}, else gives null so that the caller tries the other API. 401/403 always throw.
   */
  private Answer get(URI uri, String apiKey, boolean required) throws InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(requestTimeout).GET()
        .header("Accept", "application/json");
    if (apiKey != null) b.header("Authorization", "Bearer " + apiKey);
    long start = clock.nanos();
    HttpResponse<String> r;
    try {
      r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new OnboardException("cannot reach " + uri + ": " + nodeProblem(e));
    }
    long millis = (clock.nanos() - start) / 1_000_000;
    JsonNode json = null;
    try {
      json = Json.MAPPER.readTree(r.body());
    } catch (IOException | RuntimeException e) {
      // not JSON: reported by the caller as an unexpected answer
    }
    Answer a = new Answer(r.statusCode(), r.body(), json, millis);
    if (r.statusCode() == 401 || r.statusCode() == 403) {
      throw new OnboardException(uri + " answered " + a.shown() + (apiKey == null
          ? ": the node wants an API key and this check sends none; use --config FILE, which sends the provider's "
              + "apiKey as the gateway will"
          : ": the node refuses the provider's apiKey; fix the apiKey in the config or on the node"));
    }
    if (r.statusCode() / 100 != 2) {
      if (!required) return null;
      throw new OnboardException(uri + " answered " + a.shown() + ": check the URL (scheme, host, port, path prefix) "
          + "and the --api of the node");
    }
    return a;
  }

  /** What went wrong on the wire, in a few words. */
  static String cause(IOException e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof HttpConnectTimeoutException) return "no connection within the connect timeout";
      if (t instanceof HttpTimeoutException) return "connected, but no answer within the timeout";
      if (t instanceof ConnectException) return "connection refused";
      if (t instanceof UnknownHostException || t instanceof UnresolvedAddressException) {
        return "the host name does not resolve";
      }
      if (t instanceof SSLException) return "TLS handshake failed (" + t.getMessage() + ")";
    }
    String m = e.getMessage();
    return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }

  /** {@link #cause} of a node, with what to check. */
  static String nodeProblem(IOException e) {
    String cause = cause(e);
    String fix;
    if (cause.startsWith("connection refused")) {
      fix = "check that the node runs and listens on that address and port (Ollama: OLLAMA_HOST=0.0.0.0:11434; vLLM: "
          + "--host 0.0.0.0) and that no firewall rejects it";
    } else if (cause.startsWith("no connection")) {
      fix = "check the address, and the routes and firewalls between this machine and the node";
    } else if (cause.startsWith("connected")) {
      fix = "the server is overloaded, or is not an HTTP model server";
    } else if (cause.startsWith("the host name")) {
      fix = "check its spelling or use an IP address";
    } else if (cause.startsWith("TLS")) {
      fix = "check http:// versus https:// and that this machine's Java trusts the node's certificate";
    } else {
      fix = "check the URL and that the node runs";
    }
    return cause + "; " + fix;
  }
}
