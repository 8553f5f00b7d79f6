package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.config.Timeouts;
import dev.sluice.config.UpstreamSettings;
import dev.sluice.health.NodeState;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import dev.sluice.upstream.NodeClients;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Busy is not broken: a node whose connections are all held by long requests keeps passing its probes, and a request
 * that finds no free connection to it gets 503 upstream_busy without charging the node.
 */
class BusyNodeTest {
  private static final String CHAT = "{\"model\":\"qwen3:32b\",\"max_tokens\":5,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
  private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  /** A chat the node holds (it hangs before its first byte): it keeps one of the gateway's connections to the node. */
  private static CompletableFuture<HttpResponse<String>> held(TestCluster c) {
    return CLIENT.sendAsync(HttpRequest.newBuilder(URI.create(c.url("/v1/chat/completions")))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static NodeState state(TestCluster c, String node) {
    return c.gateway.registry().get(node).health().state();
  }

  @Test
  void aNodeWhoseConnectionsAreAllHeldByLongRequestsKeepsPassingItsProbesAndStaysReady() {
    try (TestCluster c = new TestCluster().upstream(new UpstreamSettings(2, 8, 3))
        .node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      c.sim("a").injectFault(SimFault.hangBeforeFirstByte(2));
      List<CompletableFuture<HttpResponse<String>>> streams = List.of(held(c), held(c));
      await().atMost(Duration.ofSeconds(5)).until(() -> c.sim("a").stats().active() == 2); // both connections taken
      long probesBefore = c.sim("a").stats().count("/api/tags");

      // a probe every 100 ms with a 1 s timeout: queued behind the held requests, 3 in a row would fail within ~3.5 s
      await().during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(6)).until(() -> state(c, "a") == NodeState.READY);
      assertThat(c.sim("a").stats().count("/api/tags") - probesBefore).as("probes answered meanwhile")
          .isGreaterThan(10);
      assertThat(c.gateway.registry().get("a").health().snapshot().consecutiveProbeFailures()).isZero();
      streams.forEach(s -> s.cancel(true));
    }
  }

  @Test
  void aRequestThatFindsNoFreeConnectionToItsNodeGets503UpstreamBusyAndTheNodeIsNotCharged() throws Exception {
    Timeouts timeouts = new Timeouts(Duration.ofMillis(200), Duration.ofSeconds(30), Duration.ofSeconds(30),
        Duration.ofMinutes(1));
    try (TestCluster c = new TestCluster().upstream(new UpstreamSettings(1, 8, 3)).timeouts(timeouts)
        .node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      c.sim("a").injectFault(SimFault.hangBeforeFirstByte(1));
      CompletableFuture<HttpResponse<String>> stream = held(c);
      await().atMost(Duration.ofSeconds(5)).until(() -> c.sim("a").stats().active() == 1); // its only connection

      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), CHAT);
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.headers().firstValue("retry-after")).hasValue("1");
      JsonNode err = Json.MAPPER.readTree(r.body()).path("error");
      assertThat(err.path("code").asText()).isEqualTo("upstream_busy");
      assertThat(err.path("message").asText()).contains("a: no free connection to the node within "
          + NodeClients.acquireTimeoutMillis(timeouts) + " ms");

      assertThat(c.gateway.registry().get("a").health().snapshot().ejection().consecutiveFailures())
          .as("node failures charged").isZero();
      assertThat(state(c, "a")).isEqualTo(NodeState.READY);
      assertThat(Http.get(c.url("/metrics")).body())
          .contains("sluice_upstream_attempts_total{node=\"a\",result=\"busy\"} 1.0");
      stream.cancel(true);
    }
  }

  @Test
  void whileTheOnlyNodeCoolsDownAfterSayingItIsBusyTheClientIsToldToRetryLaterAndTheModelIsNotDegraded()
      throws Exception {
    try (TestCluster c = new TestCluster().node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      c.sim("a").injectFault(SimFault.status(503, SimFault.OLLAMA_BUSY_BODY, 1)); // cools it for 1 s
      assertThat(Http.post(c.url("/v1/chat/completions"), CHAT).statusCode()).isEqualTo(503);
      int toldToRetry = 0;
      for (int i = 0; i < 25; i++) { // enough to move the ladder if they counted as failures
        HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), CHAT);
        if (r.statusCode() == 200) break; // cooled down: answered again
        toldToRetry++;
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.headers().firstValue("retry-after")).hasValue("1");
        assertThat(r.headers().firstValue(RoutedRequest.DEGRADED_HEADER)).isEmpty();
        JsonNode err = Json.MAPPER.readTree(r.body()).path("error");
        assertThat(err.path("code").asText()).isEqualTo("upstream_busy");
        assertThat(err.path("message").asText()).contains("is busy right now").contains("a READY (busy, cooling down)");
      }
      assertThat(toldToRetry).as("requests that found the node cooling down").isPositive();
      assertThat(Json.MAPPER.readTree(Http.get(c.url("/admin/degradation")).body()).path("models").toString())
          .contains("\"level\":\"NORMAL\"").doesNotContain("STATIC");
    }
  }
}
