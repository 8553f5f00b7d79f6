package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.limit.LimitSettings;
import dev.sluice.limit.Limits;
import dev.sluice.sim.GpuProfile;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Per-tenant and per-model limits through the real server: exact counts, 429s in each API's format, headers. */
class RateLimitTest {
  private static final String CHAT = "{\"model\":\"qwen3:32b\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\","
      + "\"content\":\"hi\"}]}";

  private static LimitSettings perTenant(Limits l) {
    return new LimitSettings(l, Map.of(), Map.of(), LimitSettings.OverMaxTokens.REJECT);
  }

  private static HttpResponse<String> chat(TestCluster c, String key) {
    return ResponseCacheTest.post(c, "/v1/chat/completions", CHAT, key);
  }

  @Test
  void aTenantGetsExactlyItsRequestsPerMinuteThenA429WithRetryAfterAndRateLimitHeaders() throws Exception {
    try (TestCluster c = new TestCluster().limits(perTenant(new Limits(5, 0, 0)))
        .node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      for (int i = 0; i < 5; i++) {
        HttpResponse<String> ok = chat(c, "sk-one");
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.headers().firstValue("x-ratelimit-limit-requests")).hasValue("5");
        assertThat(ok.headers().firstValue("x-ratelimit-remaining-requests")).hasValue(Integer.toString(4 - i));
      }
      HttpResponse<String> limited = chat(c, "sk-one");
      assertThat(limited.statusCode()).isEqualTo(429);
      assertThat(limited.headers().firstValue("retry-after")).hasValueSatisfying(v ->
          assertThat(Integer.parseInt(v)).isBetween(1, 12));
      assertThat(limited.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("0");
      assertThat(limited.headers().firstValue("x-ratelimit-reset-requests")).isPresent();
      JsonNode err = Json.MAPPER.readTree(limited.body()).path("error");
      assertThat(err.path("code").asText()).isEqualTo("rate_limit_exceeded");
      assertThat(err.path("message").asText()).contains("limit 5 requests/min");
      assertThat(c.sim("a").stats().count("/v1/chat/completions")).isEqualTo(5);

      assertThat(chat(c, "sk-two").statusCode()).as("another key has its own budget").isEqualTo(200);
      HttpResponse<String> ollama = ResponseCacheTest.post(c, "/api/generate",
          "{\"model\":\"qwen3:32b\",\"prompt\":\"hi\",\"stream\":false}", "sk-one");
      assertThat(ollama.statusCode()).isEqualTo(429);
      assertThat(Json.MAPPER.readTree(ollama.body()).path("error").asText()).contains("rate limit");
      assertThat(Http.get(c.url("/metrics")).body())
          .contains("sluice_rate_limited_requests_total{kind=\"requests\",scope=\"tenant\"} 2.0");
    }
  }

  @Test
  void aModelLimitIsSharedByAllTenants() {
    LimitSettings l = new LimitSettings(Limits.unlimited(), Map.of(), Map.of("qwen3:32b", new Limits(3, 0, 0)),
        LimitSettings.OverMaxTokens.REJECT);
    try (TestCluster c = new TestCluster().limits(l).node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      assertThat(chat(c, "sk-a").statusCode()).isEqualTo(200);
      assertThat(chat(c, "sk-b").statusCode()).isEqualTo(200);
      assertThat(chat(c, null).statusCode()).isEqualTo(200);
      HttpResponse<String> fourth = chat(c, "sk-c");
      assertThat(fourth.statusCode()).isEqualTo(429);
      assertThat(fourth.body()).contains("model qwen3:32b");
    }
  }

  @Test
  void tokensPerMinuteAreEstimatedAtAdmissionAndCorrectedWithTheRealUsage() throws Exception {
    try (TestCluster c = new TestCluster().limits(perTenant(new Limits(0, 1000, 0)))
        .node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      // No max_tokens: admission charges prompt + 129 expected tokens; the node's answer has its own length.
      String open = "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"tell me more\"}]}";
      HttpResponse<String> first = ResponseCacheTest.post(c, "/v1/chat/completions", open, "sk-t");
      assertThat(first.statusCode()).isEqualTo(200);
      long estimate = 1000 - Long.parseLong(first.headers().firstValue("x-ratelimit-remaining-tokens").orElseThrow());
      assertThat(estimate).isGreaterThan(129);
      long used = Json.MAPPER.readTree(first.body()).at("/usage/total_tokens").asLong();
      assertThat(used).as("the simulated answer's real size differs from the estimate").isNotEqualTo(estimate);

      HttpResponse<String> second = ResponseCacheTest.post(c, "/v1/chat/completions", open, "sk-t");
      long remaining = Long.parseLong(second.headers().firstValue("x-ratelimit-remaining-tokens").orElseThrow());
      // The first request now costs what it used; the second its estimate; the bucket refills ~1.7 tokens / 100 ms.
      assertThat(remaining).isBetween(1000 - used - estimate, 1000 - used - estimate + 5);
      HttpResponse<String> tooBig = ResponseCacheTest.post(c, "/v1/chat/completions",
          CHAT.replace("\"max_tokens\":5", "\"max_tokens\":2000"), "sk-t");
      assertThat(tooBig.statusCode()).isEqualTo(429);
      assertThat(tooBig.body()).contains("tokens/min");
    }
  }

  @Test
  void aStaticAnswerGivesItsTokensBackButStillCountsAsARequest() {
    try (TestCluster c = new TestCluster().limits(perTenant(new Limits(10, 1000, 0)))
        .node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      Http.post(c.url("/admin/degradation"), "{\"level\":\"static\"}");
      HttpResponse<String> first = chat(c, "sk-s");
      HttpResponse<String> second = chat(c, "sk-s");
      assertThat(second.headers().firstValue("x-ratelimit-remaining-tokens"))
          .isEqualTo(first.headers().firstValue("x-ratelimit-remaining-tokens"));
      assertThat(second.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("8");
    }
  }

  @Test
  void concurrentRequestsAboveTheLimitAreRefusedUntilOneFinishes() throws Exception {
    try (TestCluster c = new TestCluster().limits(perTenant(new Limits(0, 0, 1)))
        .node("slow", GpuProfile.A10, "qwen3:32b", 1).start();
        Http.RawClient raw = new Http.RawClient(c.port(), "POST", "/v1/chat/completions",
            "{\"model\":\"qwen3:32b\",\"stream\":true,\"max_tokens\":60,\"messages\":[{\"role\":\"user\","
                + "\"content\":\"Hi\"}]}")) {
      raw.readUntil("\n\n"); // the first stream is running
      HttpResponse<String> second = chat(c, null);
      assertThat(second.statusCode()).isEqualTo(429);
      assertThat(second.body()).contains("limit 1 concurrent");
      raw.readUntil("[DONE]");
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
          .until(() -> chat(c, null).statusCode() == 200);
    }
  }
}
