package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.config.RoutingSettings;
import dev.sluice.degrade.DegradationSettings;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import dev.sluice.upstream.ForwardedHeaders;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * A node that stops answering (its probes may still pass) loses its traffic within seconds, and its late failures
 * never send the model down the ladder while another node of the model answers.
 */
class SilentNodeTest {
  private static final String CHAT = "{\"model\":\"qwen3:32b\",\"max_tokens\":5,\"stream\":true,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

  private static JsonNode node(TestCluster c, String id) throws Exception {
    for (JsonNode n : Json.MAPPER.readTree(Http.get(c.url("/admin/nodes")).body()).path("nodes")) {
      if (n.path("id").asText().equals(id)) return n;
    }
    throw new AssertionError("no node " + id);
  }

  private static List<HttpResponse<String>> concurrently(int n, String url, String body) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      List<Future<HttpResponse<String>>> calls = new ArrayList<>();
      for (int i = 0; i < n; i++) calls.add(pool.submit(() -> Http.post(url, body)));
      List<HttpResponse<String>> out = new ArrayList<>();
      for (Future<HttpResponse<String>> f : calls) out.add(f.get());
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aHungEngineIsAbandonedAtItsDerivedDeadlineSuspectedAndGivenNoNewRequests() throws Exception {
    // the probes of a hung engine still pass; only live traffic can tell
    try (TestCluster c = new TestCluster()
        .node("h100", GpuProfile.H100, "qwen3:32b", 0)
        .node("a100", GpuProfile.A100, "qwen3:32b", 0).start()) {
      c.sim("h100").injectFault(SimFault.node(SimFault.Kind.HUNG_ENGINE));
      long hungBefore = c.sim("h100").stats().count("/v1/chat/completions");
      for (int i = 0; i < 10; i++) {
        HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), CHAT);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue(ForwardedHeaders.NODE_HEADER)).hasValue("a100");
        assertThat(r.headers().firstValue(RoutedRequest.DOWNGRADED_HEADER)).isEmpty();
        assertThat(r.headers().firstValue(RoutedRequest.DEGRADED_HEADER)).isEmpty();
      }
      JsonNode hung = node(c, "h100");
      assertThat(hung.path("eligible").asBoolean()).isFalse();
      assertThat(hung.path("suspicion").asText()).startsWith("no first token within 1500 ms (the floor; ");
      assertThat(c.sim("h100").stats().count("/v1/chat/completions") - hungBefore)
          .as("requests the hung node got before it was suspected").isLessThanOrEqualTo(1);
      assertThat(Http.get(c.url("/metrics")).body()).contains("sluice_node_suspicions_total{node=\"h100\"} 1.0")
          .contains("sluice_upstream_attempts_total{node=\"h100\",result=\"first_token_timeout\"} 1.0");
      assertThat(Json.MAPPER.readTree(Http.get(c.url("/admin/degradation")).body()).path("models").toString())
          .doesNotContain("STATIC").doesNotContain("DOWNGRADE").doesNotContain("CACHE");

      c.sim("h100").clearFaults();
      await().atMost(Duration.ofSeconds(40)).until(() -> node(c, "h100").path("eligible").asBoolean());
    }
  }

  @Test
  void aStreamThatGoesSilentGetsItsNodeSuspectedWithinSecondsLongBeforeTheIdleTimeout() throws Exception {
    try (TestCluster c = new TestCluster()
        .routing(new RoutingSettings("round-robin", RoutingSettings.DEFAULT_FAILOVER,
            RoutingSettings.DEFAULT_TTFT_BUDGET, RoutingSettings.DEFAULT_GPU_BASES))
        .timeouts(TestCluster.timeouts(Duration.ofSeconds(60), Duration.ofSeconds(20), Duration.ofSeconds(60)))
        .node("stalls", GpuProfile.H100, "qwen3:32b", 0)
        .node("ok", GpuProfile.A100, "qwen3:32b", 0).start()) {
      c.sim("stalls").injectFault(SimFault.stallAfterTokens(2, 1)); // its next stream goes silent after 2 tokens
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        pool.submit(() -> Http.post(c.url("/v1/chat/completions"), CHAT)); // round robin: one of the two goes there
        pool.submit(() -> Http.post(c.url("/v1/chat/completions"), CHAT));
        // 3 s of silence suspects it; the idle timeout (20 s) would only end the stream
        await().atMost(Duration.ofSeconds(10)).until(() -> Http.get(c.url("/metrics")).body()
            .contains("sluice_node_suspicions_total{node=\"stalls\"} 1.0"));
        assertThat(Http.get(c.url("/metrics")).body()).doesNotContain("sluice_node_suspicions_total{node=\"ok\"}");
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void retriesGoToAHealthyNodeOfTheModelBeforeAnyRequestIsDowngraded() throws Exception {
    // Round robin sends half of a burst to the node that hangs; their retries all start at once when the deadline
    // passes, more than the retry budget's floor of 3: the ones over the budget must still go to the healthy node.
    try (TestCluster c = new TestCluster()
        .routing(new RoutingSettings("round-robin", RoutingSettings.DEFAULT_FAILOVER,
            RoutingSettings.DEFAULT_TTFT_BUDGET, RoutingSettings.DEFAULT_GPU_BASES))
        .timeouts(TestCluster.timeouts(Duration.ofMillis(800), Duration.ofSeconds(30), Duration.ofSeconds(60)))
        .degradation(DegradationSettings.defaults().withDowngrade(Map.of("qwen3:32b", "qwen2:7b")))
        .node("bad", GpuProfile.A10, "qwen3:32b", 0)
        .node("good", GpuProfile.H100, "qwen3:32b", 0)
        .node("small", GpuProfile.A10, "qwen2:7b", 0).start()) {
      c.sim("bad").injectFault(SimFault.hangBeforeFirstByte(1_000));
      List<HttpResponse<String>> answers = concurrently(16, c.url("/v1/chat/completions"), CHAT);
      assertThat(answers).allSatisfy(r -> {
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue(RoutedRequest.DOWNGRADED_HEADER)).as("downgraded").isEmpty();
        assertThat(r.headers().firstValue(ForwardedHeaders.NODE_HEADER)).hasValue("good");
      });
    }
  }

  @Test
  void downgradedRequestsTakeAtMostHalfTheSmallerModelAndItsOwnUsersKeepTheRest() throws Exception {
    // an A10 counts as 8 requests at once: 4 for downgraded traffic; answers take ~2.4 s (50 tokens at 48 ms)
    String big = "{\"model\":\"qwen3:32b\",\"max_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    try (TestCluster c = new TestCluster()
        .degradation(DegradationSettings.defaults().withDowngrade(Map.of("qwen3:32b", "qwen2:7b")))
        .node("big", GpuProfile.H100, "qwen3:32b", 0)
        .node("small", GpuProfile.A10, "qwen2:7b", 1).start()) {
      TestCluster.await(c.sim("big").close());
      List<HttpResponse<String>> answers = concurrently(12, c.url("/v1/chat/completions"), big);
      long downgraded = answers.stream()
          .filter(r -> r.headers().firstValue(RoutedRequest.DOWNGRADED_HEADER).isPresent()).count();
      long statics = answers.stream()
          .filter(r -> r.headers().firstValue(RoutedRequest.DEGRADED_HEADER).orElse("").equals("static")).count();
      assertThat(answers).allSatisfy(r -> assertThat(r.statusCode()).isEqualTo(200));
      assertThat(downgraded).as("downgraded answers of 12 at once").isBetween(1L, 4L);
      assertThat(downgraded + statics).isEqualTo(12);
      assertThat(Http.get(c.url("/metrics")).body()).contains("sluice_downgrade_capped_total{model=\"qwen2:7b\"}");
    }
  }
}
