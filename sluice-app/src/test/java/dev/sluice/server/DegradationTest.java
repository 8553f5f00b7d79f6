package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.config.UpstreamSettings;
import dev.sluice.degrade.DegradationSettings;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The degradation ladder against real simulated nodes: levels entered at their error-rate thresholds and left with
 * hysteresis, the downgrade model with its header and true model name, and the ladder walked per request when every
 * node of a model fails.
 */
class DegradationTest {
  private static final String ERROR_500 = "{\"error\":\"engine crashed\"}";

  /**
   * Every request measures the nodes (probe share 1) so the test controls the error rate exactly; the requests come
   * back to back, so evidence need not span any time (that rule is unit-tested in DegradationControllerTest).
   */
  private static DegradationSettings measuring(Duration dwell, Map<String, String> downgrade) {
    return DegradationSettings.defaults().withMinRequests(20).withDwell(dwell).withMinEvidenceTime(Duration.ZERO)
        .withProbeShare(1.0).withDowngrade(downgrade);
  }

  private static String chat(int i) {
    return "{\"model\":\"qwen3:32b\",\"max_tokens\":4,\"messages\":[{\"role\":\"user\",\"content\":\"question " + i
        + "\"}]}";
  }

  private static JsonNode degradation(TestCluster c, String model) throws Exception {
    JsonNode root = Json.MAPPER.readTree(Http.get(c.url("/admin/degradation")).body());
    for (JsonNode m : root.path("models")) {
      if (m.path("scope").asText().equals(model)) return m;
    }
    return Json.MAPPER.createObjectNode().put("level", "NORMAL");
  }

  private static String level(TestCluster c) throws Exception {
    return degradation(c, "qwen3:32b").path("level").asText();
  }

  /** Sends {@code n} requests of which the node fails the first {@code failing}; every one must still be answered. */
  private static void traffic(TestCluster c, int n, int failing, int[] seq) {
    if (failing > 0) c.sim("a").injectFault(SimFault.status(500, ERROR_500, failing));
    for (int i = 0; i < n; i++) {
      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), chat(seq[0]++));
      assertThat(r.statusCode()).as("every request gets an answer").isEqualTo(200);
    }
  }

  @Test
  void levelsRiseAtTheirThresholdsAndFallWithHysteresisOnceTheRecentRateAllows() throws Exception {
    // Probes once a second (timeout 1 s): with the 100 ms default a busy machine can time a probe out, and a
    // recovering node's generation probe would then take the 500 meant for a request.
    try (TestCluster c = new TestCluster().upstream(new UpstreamSettings(8, 8, 1))
        .health(TestCluster.fastProbes(Duration.ofSeconds(1)))
        .degradation(measuring(Duration.ofMillis(300), Map.of()))
        .node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      int[] seq = {0};
      traffic(c, 1, 1, seq); // 100 % errors, but one request is too few to judge (minRequests 20)
      assertThat(level(c)).isEqualTo("NORMAL");
      traffic(c, 18, 0, seq); // 1 of 19
      assertThat(level(c)).isEqualTo("NORMAL");
      traffic(c, 1, 0, seq); // 1 of 20 = 5 %: the CACHE threshold
      assertThat(level(c)).isEqualTo("CACHE");

      traffic(c, 20, 3, seq); // fresh evidence at CACHE: 3 of 20 = 15 %
      assertThat(level(c)).isEqualTo("DOWNGRADE");
      traffic(c, 20, 6, seq); // 6 of 20 = 30 %
      assertThat(level(c)).isEqualTo("STATIC");
      assertThat(Http.get(c.url("/metrics")).body()).contains("sluice_degradation_level{scope=\"qwen3:32b\"} 3.0")
          .contains("sluice_degradation_transitions_total{scope=\"qwen3:32b\",to=\"static\"} 1.0");

      // Hysteresis: 15 % would enter DOWNGRADE from below, but STATIC is only left under half its threshold.
      traffic(c, 20, 3, seq);
      await().pollDelay(Duration.ofMillis(400)).atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
        traffic(c, 1, 1, seq); // keep the rate at or above 15 %
        assertThat(level(c)).isEqualTo("STATIC");
      });
      // Healthy traffic: down to the level the recent failures still support, to NORMAL once they are gone.
      await().atMost(Duration.ofSeconds(20)).until(() -> {
        traffic(c, 5, 0, seq);
        return level(c).equals("NORMAL");
      });
      JsonNode recent = Json.MAPPER.readTree(Http.get(c.url("/admin/degradation")).body()).path("recent");
      assertThat(recent.findValuesAsText("to")).containsSubsequence("CACHE", "DOWNGRADE", "STATIC", "NORMAL")
          .endsWith("NORMAL");
    }
  }

  @Test
  void theDowngradeLevelSendsTheRequestToTheSmallerModelAndSaysSo() throws Exception {
    try (TestCluster c = new TestCluster()
        .degradation(measuring(Duration.ofSeconds(20), Map.of("qwen3:32b", "qwen2:7b")))
        .node("big", GpuProfile.A100, "qwen3:32b", 0).node("small", GpuProfile.A10, "qwen2:7b", 0).start()) {
      Http.post(c.url("/admin/degradation"), "{\"level\":\"downgrade\",\"model\":\"qwen3:32b\"}");
      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), chat(1));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-model-downgraded")).hasValue("qwen2:7b");
      assertThat(Json.MAPPER.readTree(r.body()).path("model").asText()).isEqualTo("qwen2:7b");
      assertThat(c.sim("big").stats().count("/v1/chat/completions")).isZero();
      assertThat(c.sim("small").stats().count("/v1/chat/completions")).isEqualTo(1);
      assertThat(Http.get(c.url("/metrics")).body())
          .contains("sluice_requests_total{endpoint=\"openai_chat\",model=\"qwen3:32b\",node=\"small\",outcome=\"downgraded\"");
    }
  }

  @Test
  void whenTheSmallerModelFailsTooTheClientGetsTheStaticReply() throws Exception {
    try (TestCluster c = new TestCluster()
        .degradation(measuring(Duration.ofSeconds(20), Map.of("qwen3:32b", "qwen2:7b")))
        .node("big", GpuProfile.A100, "qwen3:32b", 0).node("small", GpuProfile.A10, "qwen2:7b", 0).start()) {
      Http.post(c.url("/admin/degradation"), "{\"level\":\"downgrade\",\"model\":\"qwen3:32b\"}");
      c.sim("small").injectFault(SimFault.status(500, ERROR_500, 5));
      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), chat(2));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-sluice-degraded")).hasValue("static");
      assertThat(r.headers().firstValue("x-model-downgraded")).isEmpty();
      assertThat(Json.MAPPER.readTree(r.body()).at("/choices/0/message/content").asText())
          .isEqualTo(DegradationSettings.defaults().staticMessage());
    }
  }

  @Test
  void whenEveryNodeOfAModelIsDownRequestsWalkDownTheLadderToTheSmallerModel() throws Exception {
    try (TestCluster c = new TestCluster()
        .degradation(measuring(Duration.ofSeconds(20), Map.of("qwen3:32b", "qwen2:7b")))
        .node("big", GpuProfile.A100, "qwen3:32b", 0).node("small", GpuProfile.A10, "qwen2:7b", 0).start()) {
      c.sim("big").injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS));
      for (int i = 0; i < 5; i++) {
        HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), chat(100 + i));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-model-downgraded")).hasValue("qwen2:7b");
      }
    }
  }

  @Test
  void requestsWhileAModelIsStillWarmingUpTakeTheLadderButRaiseNoLevel() throws Exception {
    // the big model's warm-up prompt runs 50x slower than a real GPU: it stays WARMING for the whole test
    try (TestCluster c = new TestCluster()
        .degradation(measuring(Duration.ofSeconds(20), Map.of("qwen3:32b", "qwen2:7b")).withMinRequests(5))
        .model(new dev.sluice.config.ModelSpec("qwen3:32b", "qwen3:32b", 24576, 4096,
            new dev.sluice.config.ModelSpec.GpuProfile("22G", true, "Hello, I am ready to assist.")))
        .node("big", GpuProfile.A100, "qwen3:32b", 1).node("small", GpuProfile.A10, "qwen2:7b", 0)) {
      c.sim("big").injectFault(SimFault.slow(50));
      c.startWithoutWaiting();
      await().atMost(Duration.ofSeconds(10)).until(() -> c.gateway.registry().get("small").health().state()
          == dev.sluice.health.NodeState.READY
          && c.gateway.registry().get("big").health().state() == dev.sluice.health.NodeState.WARMING);
      for (int i = 0; i < 10; i++) {
        HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), chat(200 + i));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-model-downgraded")).hasValue("qwen2:7b");
      }
      assertThat(c.gateway.registry().get("big").health().state()).isEqualTo(dev.sluice.health.NodeState.WARMING);
      assertThat(level(c)).as("10 requests found no node in rotation, but warming up is not failing")
          .isEqualTo("NORMAL");
    }
  }

  @Test
  void aGatewayWhoseNodesHaveNotBeenReadySinceItStartedAnswers503SoABalancerTriesAnotherReplica() throws Exception {
    try (TestCluster c = new TestCluster()
        .model(new dev.sluice.config.ModelSpec("qwen3:32b", "qwen3:32b", 24576, 4096,
            new dev.sluice.config.ModelSpec.GpuProfile("22G", true, "Hello, I am ready to assist.")))
        .node("big", GpuProfile.A100, "qwen3:32b", 1)) {
      c.sim("big").injectFault(SimFault.slow(50)); // its warm-up outlasts the test
      c.startWithoutWaiting();
      await().atMost(Duration.ofSeconds(10)).until(() -> c.gateway.registry().get("big").health().state()
          == dev.sluice.health.NodeState.WARMING);

      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), chat(300));

      assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
      assertThat(r.headers().firstValue("retry-after")).isPresent();
      assertThat(r.headers().firstValue("x-sluice-degraded")).as("no static reply from a gateway still starting")
          .isEmpty();
      assertThat(r.body()).contains("no_healthy_node").contains("this gateway is starting");
      assertThat(Http.get(c.url("/readyz")).statusCode()).isEqualTo(503);
      assertThat(level(c)).as("starting is not failing").isEqualTo("NORMAL");
    }
  }

  @Test
  void anOperatorOverrideHoldsUntilCleared() throws Exception {
    try (TestCluster c = new TestCluster().node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      HttpResponse<String> set = Http.post(c.url("/admin/degradation"), "{\"level\":\"static\"}");
      assertThat(set.statusCode()).isEqualTo(200);
      assertThat(level(c)).isEqualTo("STATIC");
      assertThat(Http.post(c.url("/v1/chat/completions"), chat(1)).headers().firstValue("x-sluice-degraded"))
          .hasValue("static");
      assertThat(c.sim("a").stats().count("/v1/chat/completions")).isZero();

      HttpResponse<String> bad = Http.post(c.url("/admin/degradation"), "{\"level\":\"panic\"}");
      assertThat(bad.statusCode()).isEqualTo(400);
      assertThat(bad.body()).contains("normal|cache|downgrade|static|auto");

      Http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(c.url("/admin/degradation"))).DELETE()
          .build());
      assertThat(level(c)).isEqualTo("NORMAL");
      assertThat(Http.post(c.url("/v1/chat/completions"), chat(2)).headers().firstValue("x-sluice-degraded"))
          .isEmpty();
    }
  }
}
