package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.config.ModelSpec;
import dev.sluice.config.ServerSettings;
import dev.sluice.limit.LimitSettings;
import dev.sluice.limit.Limits;
import dev.sluice.sim.GpuProfile;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Over-long requests are never cut silently: rejected with the counts, or sent to the configured larger-context
 * model; max_tokens above the model's maxTokens is rejected or capped as configured; input limits hold.
 */
class ContextGuardTest {
  /** About 1,500 tokens of English: more than the 1,000-token test window. */
  private static final String LONG = "The gateway checks every prompt against the model's context window. ".repeat(130);

  private static String chat(String model, String content, int maxTokens) {
    return "{\"model\":\"" + model + "\",\"max_tokens\":" + maxTokens + ",\"messages\":[{\"role\":\"user\",\"content\":\""
        + content + "\"}]}";
  }

  private static TestCluster small() {
    return new TestCluster()
        .model(new ModelSpec("qwen3:32b", "qwen3:32b", 1000, 200, null))
        .node("a", GpuProfile.A10, "qwen3:32b", 0);
  }

  @Test
  void aPromptThatDoesNotFitIsRejectedWithTheLimitAndTheCountAndNeverForwarded() throws Exception {
    try (TestCluster c = small().start()) {
      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), chat("qwen3:32b", LONG, 100));
      assertThat(r.statusCode()).isEqualTo(400);
      JsonNode err = Json.MAPPER.readTree(r.body()).path("error");
      assertThat(err.path("code").asText()).isEqualTo("context_length_exceeded");
      assertThat(err.path("message").asText()).startsWith("context length exceeded: prompt ")
          .contains("+ max_tokens 100 tokens > contextWindow 1,000 for qwen3:32b");
      assertThat(c.sim("a").stats().count("/v1/chat/completions")).isZero();

      HttpResponse<String> ollama = Http.post(c.url("/api/generate"),
          "{\"model\":\"qwen3:32b\",\"prompt\":\"" + LONG + "\",\"stream\":false}");
      assertThat(ollama.statusCode()).isEqualTo(400);
      assertThat(Json.MAPPER.readTree(ollama.body()).path("error").asText()).contains("contextWindow 1,000");
      assertThat(Http.get(c.url("/metrics")).body())
          .contains("sluice_context_guard_requests_total{result=\"rejected\"} 2.0");
    }
  }

  @Test
  void aPromptThatFitsIsForwardedUntouched() {
    try (TestCluster c = small().start()) {
      assertThat(Http.post(c.url("/v1/chat/completions"), chat("qwen3:32b", "short question", 100)).statusCode())
          .isEqualTo(200);
    }
  }

  @Test
  void aTooLongPromptGoesToTheOverflowModelWhenOneIsConfigured() throws Exception {
    try (TestCluster c = new TestCluster()
        .model(new ModelSpec("qwen3:32b", "qwen3:32b", 1000, 200, null, "qwen3:32b-128k"))
        .model(new ModelSpec("qwen3:32b-128k", "qwen3:32b-128k", 131072, 4096, null))
        .node("a", GpuProfile.A10, "qwen3:32b", 0).node("long", GpuProfile.H100, "qwen3:32b-128k", 0).start()) {
      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), chat("qwen3:32b", LONG, 100));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-sluice-overflow-model")).hasValue("qwen3:32b-128k");
      assertThat(Json.MAPPER.readTree(r.body()).path("model").asText()).isEqualTo("qwen3:32b-128k");
      assertThat(c.sim("a").stats().count("/v1/chat/completions")).isZero();
      assertThat(c.sim("long").stats().count("/v1/chat/completions")).isEqualTo(1);
    }
  }

  @Test
  void maxTokensAboveTheModelsMaxTokensIsRejectedByDefault() throws Exception {
    try (TestCluster c = small().start()) {
      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), chat("qwen3:32b", "hi", 300));
      assertThat(r.statusCode()).isEqualTo(400);
      JsonNode err = Json.MAPPER.readTree(r.body()).path("error");
      assertThat(err.path("param").asText()).isEqualTo("max_tokens");
      assertThat(err.path("message").asText()).contains("max_tokens 300").contains("maxTokens 200");
    }
  }

  @Test
  void maxTokensAboveTheModelsMaxTokensIsCappedWhenConfiguredAndTheClientIsTold() throws Exception {
    LimitSettings cap = new LimitSettings(Limits.unlimited(), Map.of(), Map.of(), LimitSettings.OverMaxTokens.CAP);
    try (TestCluster c = small().limits(cap).start()) {
      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), chat("qwen3:32b", "hi", 300));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-sluice-max-tokens-capped")).hasValue("200");
      assertThat(Json.MAPPER.readTree(r.body()).at("/usage/completion_tokens").asInt()).isEqualTo(200);
    }
  }

  @Test
  void aConfiguredJsonDepthAndHeaderSizeAreEnforcedBeforeAnyUpstreamCall() throws Exception {
    ServerSettings tight = new ServerSettings("127.0.0.1", 0, 4096, 16, 2048);
    try (TestCluster c = new TestCluster().server(tight).node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      String deep = "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"x\":"
          + "[".repeat(20) + "]".repeat(20) + "}";
      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), deep);
      assertThat(r.statusCode()).isEqualTo(400);
      assertThat(r.body()).contains("more than 16 levels").contains("server.maxJsonDepth");

      // its own client: the server closes the connection after a 431, which must not be reused by the next request
      java.net.http.HttpClient own = java.net.http.HttpClient.newBuilder()
          .version(java.net.http.HttpClient.Version.HTTP_1_1).build();
      HttpResponse<String> headers = own.send(HttpRequest.newBuilder(URI.create(c.url("/v1/chat/completions")))
          .header("x-big", "y".repeat(3000)).POST(HttpRequest.BodyPublishers.ofString(chat("qwen3:32b", "hi", 5)))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(headers.statusCode()).isEqualTo(431);

      HttpResponse<String> body = Http.post(c.url("/v1/chat/completions"), chat("qwen3:32b", "x".repeat(5000), 5));
      assertThat(body.statusCode()).isEqualTo(413);
      assertThat(c.sim("a").stats().count("/v1/chat/completions")).isZero();
    }
  }
}
