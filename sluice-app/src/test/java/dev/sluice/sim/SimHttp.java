package dev.sluice.sim;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.support.Json;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Real-HTTP helpers for simulator tests. */
final class SimHttp {
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2)).build();

  private SimHttp() {}

  static HttpResponse<String> get(SimNode node, String path) throws Exception {
    return get(node, path, Duration.ofSeconds(10));
  }

  static HttpResponse<String> get(SimNode node, String path, Duration timeout) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + path)).timeout(timeout).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> post(SimNode node, String path, String body) throws Exception {
    return post(node, path, body, Duration.ofSeconds(10));
  }

  static HttpResponse<String> post(SimNode node, String path, String body, Duration timeout) throws Exception {
    return HTTP.send(request(node, path, body, timeout), HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<InputStream> postStreaming(SimNode node, String path, String body) throws Exception {
    return HTTP.send(request(node, path, body, Duration.ofSeconds(10)), HttpResponse.BodyHandlers.ofInputStream());
  }

  /** Reads NDJSON lines of a streaming response into {@code lines} until the stream ends or fails; returns why. */
  static Throwable readLines(HttpResponse<InputStream> response, List<String> lines) {
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        lines.add(line);
      }
      return null;
    } catch (Exception e) {
      return e;
    }
  }

  static List<String> newLines() {
    return new CopyOnWriteArrayList<>();
  }

  static String chat(String model, int tokens, boolean stream) {
    return "{\"model\":\"" + model + "\",\"stream\":" + stream
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"Hello there!\"}],\"options\":{\"num_predict\":" + tokens
        + "}}";
  }

  static JsonNode json(HttpResponse<String> response) throws Exception {
    return Json.MAPPER.readTree(response.body());
  }

  private static HttpRequest request(SimNode node, String path, String body, Duration timeout) {
    return HttpRequest.newBuilder(URI.create(node.baseUrl() + path)).timeout(timeout)
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
  }
}
