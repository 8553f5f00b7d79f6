package dev.sluice.security;

import dev.sluice.testkit.SecretLedger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * HTTP calls of the security suite: every answer (status, headers, body) goes to the {@link SecretLedger}, so the
 * last test can check that nothing the gateway said contained a secret.
 */
final class Calls {
  private Calls() {}

  private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).followRedirects(HttpClient.Redirect.NEVER).build();

  /** One attempt more when a pooled connection turns out to have been closed by the server (after a refusal). */
  static HttpResponse<String> send(String method, String url, String body, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    boolean typed = false;
    for (int i = 0; i + 1 < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
      typed |= headers[i].equalsIgnoreCase("Content-Type");
    }
    if (body != null && !typed) b.header("Content-Type", "application/json");
    HttpRequest request = b.build();
    try {
      HttpResponse<String> r;
      try {
        r = CLIENT.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      } catch (java.io.IOException closed) {
        r = CLIENT.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      }
      SecretLedger.export(method + " " + url + " → " + r.statusCode(), r.headers().map() + "\n" + r.body());
      return r;
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static HttpResponse<String> post(String url, String body, String... headers) {
    return send("POST", url, body, headers);
  }

  static HttpResponse<String> get(String url, String... headers) {
    return send("GET", url, null, headers);
  }

  static String[] bearer(String token) {
    return new String[] {"Authorization", "Bearer " + token};
  }
}
