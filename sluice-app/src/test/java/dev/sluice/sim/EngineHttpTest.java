package dev.sluice.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.support.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The engine seen through a node's real HTTP API: Ollama's queue and truncation, vLLM's limit, timing. */
class EngineHttpTest extends SimNodesFixture {
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private static final List<String> DURATIONS =
      List.of("total_duration", "load_duration", "prompt_eval_duration", "eval_duration");

  @Test
  void ollamaAnswers503LikeOllamaWhenItsQueueIsFull() throws Exception {
    SimNode node = start(SimOptions.defaults().withGpu(GpuProfile.A10_OLLAMA)
        .withOverrides(Map.of("queueLimit", 2.0)));
    List<CompletableFuture<HttpResponse<String>>> held = new ArrayList<>();
    for (int i = 0; i < 3; i++) { // one in the slot, two queued: minutes of decode at real speed
      held.add(HTTP.sendAsync(request(node, "/api/chat", chat(4_000)), HttpResponse.BodyHandlers.ofString()));
    }
    await().until(() -> node.stats().active() == 3);

    HttpResponse<String> refused = post(node, "/api/chat", chat(5));

    assertThat(refused.statusCode()).isEqualTo(503);
    assertThat(refused.body())
        .isEqualTo("{\"error\":\"server busy, please try again.  maximum pending requests exceeded\"}");
    held.forEach(future -> future.cancel(true));
  }

  @Test
  void ollamaSilentlyTruncatesAPromptLongerThanItsContext() throws Exception {
    SimNode node = start(SimOptions.defaults().withGpu(GpuProfile.A10_OLLAMA).withTimeScale(0));

    JsonNode answer = json(post(node, "/api/generate", "{\"model\":\"qwen3:32b\",\"prompt\":\""
        + "x".repeat(40_000) + "\",\"options\":{\"num_predict\":3},\"stream\":false}"));
    JsonNode ps = json(get(node, "/api/ps")).path("models").get(0);

    assertThat(answer.path("prompt_eval_count").asInt()).isEqualTo(3_400);
    assertThat(answer.path("eval_count").asInt()).isEqualTo(3);
    assertThat(ps.path("context_length").asInt()).isEqualTo(3_400);
  }

  @Test
  void vllmRefusesARequestBeyondItsMaxModelLenInOpenAiFormat() throws Exception {
    SimNode node = start(SimOptions.defaults().withTimeScale(0));

    HttpResponse<String> response = post(node, "/v1/chat/completions", "{\"model\":\"qwen3:32b\",\"messages\":"
        + "[{\"role\":\"user\",\"content\":\"" + "x".repeat(20_000) + "\"}],\"max_tokens\":1000}");

    assertThat(response.statusCode()).isEqualTo(400);
    JsonNode error = json(response).path("error");
    assertThat(error.path("message").asText()).isEqualTo("This model's maximum context length is 5700 tokens. "
        + "However, you requested 6000 tokens (5000 in the messages, 1000 in the completion). Please reduce the "
        + "length of the messages or completion.");
    assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
  }

  @Test
  void theSameSeedAndRequestsGiveIdenticalTimingsOnFreshNodes() throws Exception {
    List<List<Long>> runs = new ArrayList<>();
    for (int node = 0; node < 2; node++) {
      SimNode fresh = start(SimOptions.defaults().withGpu(GpuProfile.H100).withTimeScale(100).withSeed(7));
      List<Long> durations = new ArrayList<>();
      for (String prompt : List.of("hi", "x".repeat(8_000), "why is the sky blue?")) {
        JsonNode last = json(post(fresh, "/api/chat", "{\"model\":\"qwen3:32b\",\"stream\":false,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}"));
        DURATIONS.forEach(field -> durations.add(last.path(field).asLong()));
        durations.add(last.path("eval_count").asLong());
      }
      runs.add(durations);
    }

    assertThat(runs.get(0)).isEqualTo(runs.get(1));
    assertThat(runs.get(0).get(2)).isPositive(); // prompt_eval_duration of the first request
  }

  @Test
  void aHigherTimeScaleShortensLatencyButNotTheReportedDurations() throws Exception {
    SimNode ten = start(SimOptions.defaults().withTimeScale(10));
    SimNode twenty = start(SimOptions.defaults().withTimeScale(20));
    String body = "{\"model\":\"qwen3:32b\",\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
        + "\"options\":{\"num_predict\":60}}"; // 59 decode steps of 48 ms: 2.8 s of GPU time

    long started = System.nanoTime();
    JsonNode atTen = json(post(ten, "/api/chat", body));
    long tenNanos = System.nanoTime() - started;
    started = System.nanoTime();
    JsonNode atTwenty = json(post(twenty, "/api/chat", body));
    long twentyNanos = System.nanoTime() - started;

    assertThat((double) tenNanos / twentyNanos).isBetween(1.25, 3.5);
    assertThat(tenNanos).isGreaterThan(Duration.ofMillis(200).toNanos());
    for (String field : DURATIONS) {
      assertThat(atTen.path(field).asLong()).as(field).isEqualTo(atTwenty.path(field).asLong());
    }
    assertThat(atTen.path("eval_duration").asLong()).isEqualTo(59 * 48_000_000L);
  }

  @Test
  void anUnknownEngineFigureFailsTheNodeStartWithTheValidNames() {
    Throwable failure = SimNode.start(vertx, SimOptions.defaults().withOverrides(Map.of("prefillTps", 1.0)))
        .toCompletionStage().handle((node, error) -> error).toCompletableFuture().join();

    assertThat(failure).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("prefillTps").hasMessageContaining("prefillTokensPerSecond");
  }

  @Test
  void engineStateShowsRunningAndWaitingRequests() throws Exception {
    SimNode node = start(SimOptions.defaults().withGpu(GpuProfile.A10_OLLAMA));
    List<CompletableFuture<HttpResponse<String>>> held = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      held.add(HTTP.sendAsync(request(node, "/api/chat", chat(4_000)), HttpResponse.BodyHandlers.ofString()));
    }
    await().until(() -> node.stats().active() == 2);

    await().until(() -> node.engineState().running() == 1 && node.engineState().waiting() == 1);
    assertThat(node.engineState().kvCapacityTokens()).isEqualTo(3_400);
    held.forEach(future -> future.cancel(true));
  }

  private static String chat(int tokens) {
    return "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
        + "\"options\":{\"num_predict\":" + tokens + "}}";
  }

  private static HttpRequest request(SimNode node, String path, String body) {
    return HttpRequest.newBuilder(URI.create(node.baseUrl() + path)).timeout(Duration.ofSeconds(30))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
  }

  private static HttpResponse<String> post(SimNode node, String path, String body) throws Exception {
    return HTTP.send(request(node, path, body), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> get(SimNode node, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + path)).timeout(Duration.ofSeconds(10))
        .GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode json(HttpResponse<String> response) throws Exception {
    return Json.MAPPER.readTree(response.body());
  }
}
