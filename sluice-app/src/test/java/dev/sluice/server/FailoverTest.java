package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.config.RoutingSettings;
import dev.sluice.health.HealthPolicy;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.LogCapture;
import dev.sluice.testkit.TestCluster;
import dev.sluice.upstream.ForwardedHeaders;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Failures before the first byte are invisible to the client: the next node answers. */
class FailoverTest {
  private static final String CHAT = "{\"model\":\"qwen3:32b\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
  private static final String CHAT_SSE = "{\"model\":\"qwen3:32b\",\"stream\":true,\"max_tokens\":5,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
  /** Enough requests that a random first choice picks the failing node at least once (miss chance 2^-20). */
  private static final int REQUESTS = 20;

  /** Round robin, so the failing node is the first choice of every other request (least-delay would avoid it). */
  private static TestCluster twoNodes() {
    return new TestCluster()
        .routing(new RoutingSettings("round-robin", RoutingSettings.DEFAULT_FAILOVER, RoutingSettings.DEFAULT_TTFT_BUDGET,
            RoutingSettings.DEFAULT_GPU_BASES))
        .node("bad", GpuProfile.A10, "qwen3:32b", 0)
        .node("good", GpuProfile.H100, "qwen3:32b", 0);
  }

  @Test
  void aNodeKilledBeforeItsFirstByteIsRetriedTransparently() {
    try (TestCluster c = twoNodes().start()) {
      long goodBefore = c.sim("good").stats().completed(); // warm-up and generation probes
      c.sim("bad").injectFault(SimFault.resetBeforeFirstByte(1_000));
      for (int i = 0; i < REQUESTS; i++) {
        HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), i % 2 == 0 ? CHAT : CHAT_SSE);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue(ForwardedHeaders.NODE_HEADER)).hasValue("good");
        assertThat(r.body()).doesNotContain("error");
      }
      assertThat(c.sim("bad").stats().faulted()).isPositive();
      assertThat(c.sim("good").stats().completed() - goodBefore).isEqualTo(REQUESTS);
      assertThat(Http.get(c.url("/metrics")).body())
          .contains("sluice_upstream_attempts_total{node=\"bad\",result=\"reset_before_first_byte\"}");
    }
  }

  /**
   * Probes that never take a node out of rotation: a node killed by the test is then found by the requests (what the
   * test is about), not by a probe that may come first (every 100 ms by default, and a first request on a cold
   * client takes longer than that).
   */
  private static HealthPolicy probesNeverDegrade() {
    HealthPolicy d = TestCluster.fastProbes(Duration.ofMillis(100));
    return new HealthPolicy(d.probeInterval(), d.probeTimeout(), d.probeJitter(), 10_000, 10_000,
        d.successesToRecover(), d.healthWindowProbes(), d.failuresToEject(), d.ejectionBase(), d.ejectionMax(),
        d.ejectionMemory());
  }

  @Test
  void aNodeThatRefusesConnectionsIsRetriedTransparently() {
    try (TestCluster c = twoNodes().health(probesNeverDegrade()).start()) {
      TestCluster.await(c.sim("bad").close());
      for (int i = 0; i < REQUESTS; i++) {
        HttpResponse<String> r = Http.post(c.url("/api/chat"),
            "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"options\":{\"num_predict\":3}}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"done\":true");
      }
      assertThat(Http.get(c.url("/metrics")).body())
          .contains("sluice_upstream_attempts_total{node=\"bad\",result=\"connect\"}");
    }
  }

  @Test
  void aBusyNodeIsSkippedAndCooledDownForItsRetryAfter() throws Exception {
    try (TestCluster c = twoNodes().start()) {
      c.sim("bad").injectFault(SimFault.status(503, SimFault.OLLAMA_BUSY_BODY, 1_000));
      for (int i = 0; i < REQUESTS; i++) {
        assertThat(Http.post(c.url("/v1/chat/completions"), CHAT).statusCode()).isEqualTo(200);
      }
      // the busy node said Retry-After: 1, so it got at most the requests of its first second, not every other one
      assertThat(c.sim("bad").stats().faulted()).isLessThan(REQUESTS / 2);
    }
  }

  @Test
  void whenEveryNodeIsBusyTheClientGets503WithRetryAfter() throws Exception {
    try (TestCluster c = twoNodes().start()) {
      c.sim("bad").injectFault(SimFault.status(503, SimFault.OLLAMA_BUSY_BODY, 1));
      c.sim("good").injectFault(SimFault.status(429, "{\"error\":\"slow down\"}", 1));
      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), CHAT);
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.headers().firstValue("retry-after")).hasValue("1");
      JsonNode err = Json.MAPPER.readTree(r.body()).path("error");
      assertThat(err.path("code").asText()).isEqualTo("upstream_busy");
      assertThat(err.path("message").asText()).contains("bad: busy (HTTP 503)").contains("good: busy (HTTP 429)");
    }
  }

  @Test
  void aHungEngineIsAbandonedAtTheFirstTokenTimeoutAndAnotherNodeAnswers() {
    try (TestCluster c = twoNodes().timeouts(TestCluster.timeouts(Duration.ofMillis(300), Duration.ofSeconds(5),
        Duration.ofSeconds(30))).start()) {
      c.sim("bad").injectFault(SimFault.hangBeforeFirstByte(1_000));
      for (int i = 0; i < 6; i++) {
        HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), CHAT_SSE);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).endsWith("data: [DONE]\n\n");
      }
    }
  }

  @Test
  void whenNoNodeCanAnswerTheClientGetsOneClearErrorInItsApiFormat() throws Exception {
    try (TestCluster c = twoNodes().withoutDegradation().health(probesNeverDegrade()).start()) {
      TestCluster.await(c.sim("bad").close());
      TestCluster.await(c.sim("good").close());
      HttpResponse<String> openai = Http.post(c.url("/v1/chat/completions"), CHAT_SSE);
      assertThat(openai.statusCode()).isEqualTo(502);
      JsonNode err = Json.MAPPER.readTree(openai.body()).path("error");
      assertThat(err.path("code").asText()).isEqualTo("upstream_unavailable");
      assertThat(err.path("message").asText()).contains("2 attempts").contains("bad: connect failed")
          .contains("good: connect failed");

      HttpResponse<String> ollama = Http.post(c.url("/api/generate"), "{\"model\":\"qwen3:32b\",\"prompt\":\"x\"}");
      assertThat(ollama.statusCode()).isEqualTo(502);
      assertThat(Json.MAPPER.readTree(ollama.body()).path("error").asText()).contains("no node could answer");
    }
  }

  @Test
  void aNodesAnswerToABadRequestIsRelayedAndNeverRetried() {
    try (TestCluster c = twoNodes().start()) {
      String body = "{\"error\":{\"message\":\"unsupported parameter\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}";
      c.sim("bad").injectFault(SimFault.status(400, body, 1));
      c.sim("good").injectFault(SimFault.status(400, body, 1));
      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), CHAT);
      assertThat(r.statusCode()).isEqualTo(400);
      assertThat(r.body()).isEqualTo(body);
      assertThat(c.sim("bad").stats().count("/v1/chat/completions") + c.sim("good").stats().count("/v1/chat/completions"))
          .isEqualTo(1);
    }
  }

  @Test
  void retriesStopAtMaxAttempts() {
    try (TestCluster c = new TestCluster().withoutDegradation()
        .upstream(new dev.sluice.config.UpstreamSettings(8, 8, 1))
        .node("bad", GpuProfile.A10, "qwen3:32b", 0).node("bad2", GpuProfile.A10, "qwen3:32b", 0).start()) {
      c.sim("bad").injectFault(SimFault.resetBeforeFirstByte(1));
      c.sim("bad2").injectFault(SimFault.resetBeforeFirstByte(1));
      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), CHAT);
      assertThat(r.statusCode()).isEqualTo(502);
      assertThat(r.body()).contains("(1 attempt)");
    }
  }

  @Test
  void aNodes500IsLoggedBySluiceAtWarnAndNeverAsAnErrorWithAStackTrace() {
    try (TestCluster c = new TestCluster().withoutDegradation().node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      int before = LogCapture.lines().size();
      c.sim("a").injectFault(SimFault.status(500, "{\"error\":\"an internal error occurred\"}", 1));
      assertThat(Http.post(c.url("/v1/chat/completions"), CHAT).statusCode()).isEqualTo(502);

      await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2))
          .until(() -> logSince(before).stream().noneMatch(l -> l.contains(" ERROR ") || l.contains("Stream reset")));
      assertThat(logSince(before)).filteredOn(l -> l.contains(" WARN ") && l.contains("a: HTTP 500"))
          .as("Sluice's own line (one a second at most)").hasSizeLessThanOrEqualTo(1);
    }
  }

  private static List<String> logSince(int before) {
    List<String> lines = LogCapture.lines();
    return lines.subList(Math.min(before, lines.size()), lines.size());
  }
}
