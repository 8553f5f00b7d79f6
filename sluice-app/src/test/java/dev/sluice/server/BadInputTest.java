package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.sim.GpuProfile;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * RELIABILITY.md's json and path rows: every bad input gets the right 4xx in the API's own format, and nothing reaches
 * a node.
 */
class BadInputTest {
  static TestCluster cluster;

  @BeforeAll
  static void start() {
    cluster = new TestCluster().node("a10-01", GpuProfile.A10, "qwen3:32b", 0).start();
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  static Stream<Arguments> badBodies() {
    String deep = "{\"model\":\"qwen3:32b\",\"x\":" + "[".repeat(10_000) + "]".repeat(10_000) + "}";
    return Stream.of(
        Arguments.of("malformed JSON", "{\"model\":\"qwen3:32b\",", 400, "not valid JSON"),
        Arguments.of("trailing garbage", "{\"model\":\"qwen3:32b\",\"messages\":[{}]} xyz", 400, "not valid JSON"),
        Arguments.of("10,000-deep nesting", deep, 400, "nested too deeply"),
        Arguments.of("1e309", "{\"model\":\"qwen3:32b\",\"messages\":[{}],\"temperature\":1e309}", 400, "out of range"),
        Arguments.of("duplicate keys", "{\"model\":\"qwen3:32b\",\"model\":\"qwen2:7b\",\"messages\":[{}]}", 400, "Duplicate field"),
        Arguments.of("not an object", "[1,2,3]", 400, "must be a JSON object"),
        Arguments.of("empty body", "", 400, "empty"),
        Arguments.of("missing model", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 400, "missing \"model\""),
        Arguments.of("model not a string", "{\"model\":42,\"messages\":[{}]}", 400, "non-empty string"),
        Arguments.of("unknown model", "{\"model\":\"gpt-9\",\"messages\":[{}]}", 404, "is not served by this gateway"),
        Arguments.of("max_tokens -1", "{\"model\":\"qwen3:32b\",\"messages\":[{}],\"max_tokens\":-1}", 400, "max_tokens"),
        Arguments.of("max_tokens 1e12", "{\"model\":\"qwen3:32b\",\"messages\":[{}],\"max_tokens\":1e12}", 400, "max_tokens"),
        Arguments.of("max_tokens 2.5", "{\"model\":\"qwen3:32b\",\"messages\":[{}],\"max_tokens\":2.5}", 400, "integer"),
        Arguments.of("n=1000", "{\"model\":\"qwen3:32b\",\"messages\":[{}],\"n\":1000}", 400, "\"n\""),
        Arguments.of("stream not boolean", "{\"model\":\"qwen3:32b\",\"messages\":[{}],\"stream\":\"yes\"}", 400, "stream"),
        Arguments.of("no messages", "{\"model\":\"qwen3:32b\"}", 400, "messages"));
  }

  @ParameterizedTest(name = "{0} → {2} in OpenAI format, never forwarded")
  @MethodSource("badBodies")
  void badOpenAiBodiesGetAClearErrorAndNeverReachANode(String what, String body, int status, String message)
      throws Exception {
    long before = cluster.sim("a10-01").stats().requestsReceived();
    HttpResponse<String> r = Http.post(cluster.url("/v1/chat/completions"), body);
    assertThat(r.statusCode()).as(what).isEqualTo(status);
    JsonNode err = Json.MAPPER.readTree(r.body()).path("error");
    assertThat(err.path("message").asText()).as(what).contains(message);
    assertThat(err.has("type")).isTrue();
    assertThat(err.has("param")).isTrue();
    assertThat(err.has("code")).isTrue();
    assertThat(cluster.sim("a10-01").stats().requestsReceived()).isEqualTo(before);
  }

  @Test
  void invalidUtf8IsRefusedWith400() throws Exception {
    byte[] body = "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"X\"}]}".getBytes(StandardCharsets.UTF_8);
    int x = new String(body, StandardCharsets.UTF_8).indexOf('X');
    body[x] = (byte) 0xC3; // a lead byte followed by '"': not UTF-8
    HttpResponse<byte[]> r = Http.postBytes(cluster.url("/v1/chat/completions"), body);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(new String(r.body(), StandardCharsets.UTF_8)).contains("not valid JSON");
  }

  @Test
  void badOllamaBodiesGetOllamaShapedErrors() throws Exception {
    HttpResponse<String> r = Http.post(cluster.url("/api/chat"), "{\"model\":");
    assertThat(r.statusCode()).isEqualTo(400);
    JsonNode body = Json.MAPPER.readTree(r.body());
    assertThat(body.path("error").isTextual()).isTrue();

    HttpResponse<String> unknown = Http.post(cluster.url("/api/generate"), "{\"model\":\"nope\",\"prompt\":\"x\"}");
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(Json.MAPPER.readTree(unknown.body()).path("error").asText()).contains("nope");

    HttpResponse<String> predict = Http.post(cluster.url("/api/generate"),
        "{\"model\":\"qwen3:32b\",\"prompt\":\"x\",\"options\":{\"num_predict\":1e12}}");
    assertThat(predict.statusCode()).isEqualTo(400);
  }

  static Stream<Arguments> badPaths() {
    return Stream.of(
        Arguments.of("POST", "/v1/../api/delete"),
        Arguments.of("POST", "//api/pull"),
        Arguments.of("POST", "/api/pull"),
        Arguments.of("POST", "/api/push"),
        Arguments.of("POST", "/api/create"),
        Arguments.of("POST", "/api/copy"),
        Arguments.of("DELETE", "/api/delete"),
        Arguments.of("POST", "/api/%2e%2e/api/pull"),
        Arguments.of("POST", "/v1/%2e%2e/api/delete"),
        Arguments.of("POST", "/api/chat%2f..%2fpull"),
        Arguments.of("POST", "/v1/chat/completions%00"),
        Arguments.of("POST", "/api\\pull"),
        Arguments.of("GET", "/etc/passwd"),
        Arguments.of("GET", "/v1/responses/resp_1"), // a stored response: Sluice keeps none
        Arguments.of("POST", "/v1/messages/batches"));
  }

  @ParameterizedTest(name = "{0} {1} → 404, never forwarded")
  @MethodSource("badPaths")
  void pathsOutsideTheAllowListAre404AndNeverForwarded(String method, String path) throws Exception {
    long before = cluster.sim("a10-01").stats().requestsReceived();
    String response = rawRequest(method, path, "{\"model\":\"qwen3:32b\",\"name\":\"x\"}");
    assertThat(response).startsWith("HTTP/1.1 404");
    assertThat(response).contains("\"error\"");
    assertThat(cluster.sim("a10-01").stats().requestsReceived()).isEqualTo(before);
    assertThat(cluster.sim("a10-01").stats().paths().keySet()).noneMatch(p -> p.contains("pull") || p.contains("delete"));
  }

  @Test
  void dotSegmentsThatLandOnAnAllowedPathAreServedAsThatPath() throws Exception {
    String response = rawRequest("GET", "/v1/./models", null);
    assertThat(response).startsWith("HTTP/1.1 200");
  }

  @Test
  void wrongMethodIs405WithAllow() throws Exception {
    String response = rawRequest("GET", "/v1/chat/completions", null);
    assertThat(response).startsWith("HTTP/1.1 405").containsIgnoringCase("allow: POST");
  }

  @Test
  void bodyOverTheLimitIs413() throws Exception {
    String big = "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "a".repeat(11 * 1024 * 1024) + "\"}]}";
    HttpResponse<String> r = Http.post(cluster.url("/v1/chat/completions"), big);
    assertThat(r.statusCode()).isEqualTo(413);
    assertThat(r.body()).contains("server.maxBodyBytes");
  }

  /** Sends the path exactly as given (no client-side normalisation) and returns the raw response text. */
  private static String rawRequest(String method, String path, String json) throws IOException {
    try (Socket s = new Socket("127.0.0.1", cluster.port())) {
      s.setSoTimeout(10_000);
      byte[] body = json == null ? new byte[0] : json.getBytes(StandardCharsets.UTF_8);
      OutputStream out = s.getOutputStream();
      out.write((method + " " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
          + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.write(body);
      out.flush();
      InputStream in = s.getInputStream();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
