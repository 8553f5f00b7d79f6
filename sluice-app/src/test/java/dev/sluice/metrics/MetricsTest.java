package dev.sluice.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.health.NodeState;
import dev.sluice.node.NodeTelemetry;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** /metrics after scripted traffic through a real gateway and simulated nodes: exact counts, bounded series. */
class MetricsTest {
  private static final String BIG = "qwen3:32b";
  private static final String SMALL = "qwen2:7b";

  private static String chat(String model, boolean stream) {
    return "{\"model\":\"" + model + "\",\"max_tokens\":6," + (stream
        ? "\"stream\":true,\"stream_options\":{\"include_usage\":true}," : "")
        + "\"messages\":[{\"role\":\"user\",\"content\":\"Say something short\"}]}";
  }

  @Test
  void scriptedTrafficIsCountedByOutcomeNodeAndTokensAndEveryAnswerHasAFirstToken() throws Exception {
    try (TestCluster c = new TestCluster()
        .node("a10-01", GpuProfile.A10, BIG, 50)
        .node("bad-1", GpuProfile.A10, SMALL, 0).node("bad-2", GpuProfile.A10, SMALL, 0).start()) {
      c.sim("bad-1").injectFault(SimFault.status(500, "{\"error\":\"boom\"}", 1));
      c.sim("bad-2").injectFault(SimFault.status(500, "{\"error\":\"boom\"}", 1));
      long prompt = 0;
      long completion = 0;
      for (int i = 0; i < 3; i++) {
        HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), chat(BIG, false));
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode usage = Json.MAPPER.readTree(r.body()).path("usage");
        prompt += usage.path("prompt_tokens").asLong();
        completion += usage.path("completion_tokens").asLong();
      }
      for (int i = 0; i < 2; i++) {
        HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), chat(BIG, true));
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode usage = streamedUsage(r.body());
        prompt += usage.path("prompt_tokens").asLong();
        completion += usage.path("completion_tokens").asLong();
      }
      assertThat(Http.post(c.url("/v1/chat/completions"), chat("no-such-model", false)).statusCode()).isEqualTo(404);
      // both nodes of the small model fail: two attempts, then the ladder's last step, the static reply
      HttpResponse<String> failing = Http.post(c.url("/v1/chat/completions"), chat(SMALL, false));
      assertThat(failing.statusCode()).isEqualTo(200);
      assertThat(failing.headers().firstValue("x-sluice-degraded")).hasValue("static");

      String m = Http.get(c.url("/metrics")).body();
      assertThat(value(m, "sluice_requests_total{endpoint=\"openai_chat\",model=\"qwen3:32b\",node=\"a10-01\","
          + "outcome=\"ok\",status=\"2xx\"}")).isEqualTo(5);
      assertThat(value(m, "sluice_requests_total{endpoint=\"openai_chat\",model=\"unknown\",node=\"none\","
          + "outcome=\"client_error\",status=\"4xx\"}")).isEqualTo(1);
      assertThat(value(m, "sluice_requests_total{endpoint=\"openai_chat\",model=\"qwen2:7b\",node=\"none\","
          + "outcome=\"static\",status=\"2xx\"}")).isEqualTo(1);
      assertThat(sum(m, "sluice_requests_total{endpoint=\"openai_chat\",")).isEqualTo(7);
      assertThat(value(m, "sluice_retries_total{model=\"qwen2:7b\"}")).isEqualTo(1);
      assertThat(m).doesNotContain("sluice_retries_total{model=\"qwen3:32b\"}");
      assertThat(prompt).isPositive();
      assertThat(completion).isPositive();
      assertThat(value(m, "sluice_tokens_total{direction=\"prompt\",model=\"qwen3:32b\"}")).isEqualTo(prompt);
      assertThat(value(m, "sluice_tokens_total{direction=\"completion\",model=\"qwen3:32b\"}")).isEqualTo(completion);
      assertThat(m).doesNotContain("sluice_tokens_total{direction=\"completion\",model=\"qwen2:7b\"}");
      // every 2xx answer had a first byte: five from the node, one static reply
      assertThat(value(m, "sluice_time_to_first_token_seconds_count{model=\"qwen3:32b\"}")).isEqualTo(5);
      assertThat(value(m, "sluice_time_to_first_token_seconds_count{model=\"qwen2:7b\"}")).isEqualTo(1);
      assertThat(value(m, "sluice_inter_token_latency_seconds_count{model=\"qwen3:32b\"}")).isBetween(1.0, 2.0);
      assertThat(value(m, "sluice_gateway_overhead_seconds_count{endpoint=\"openai_chat\"}")).isEqualTo(7);
      assertThat(value(m, "sluice_upstream_attempts_total{node=\"a10-01\",result=\"ok\"}")).isEqualTo(5);
    }
  }

  @Test
  void aNodeStateChangeItsGpuTelemetryAndItsPrefixCacheHitRateShowOnTheNodeGauges() {
    try (TestCluster c = new TestCluster().node("a10-01", GpuProfile.A10, BIG, 0).node("a10-02", GpuProfile.A10, BIG, 0)
        .start()) {
      NodeTelemetry.PrefixCache cache = NodeTelemetry.PrefixCache.NONE.next(1_000, 100).next(2_000, 850);
      c.gateway.registry().get("a10-01").telemetry(new NodeTelemetry(87, 71, 42.5, 1, 0, System.currentTimeMillis(),
          16_000, 12.5, cache));
      String before = Http.get(c.url("/metrics")).body();
      assertThat(value(before, "sluice_node_state{node=\"a10-02\",state=\"READY\"}")).isEqualTo(1);
      assertThat(value(before, "sluice_node_gpu_utilization_percent{node=\"a10-01\"}")).isEqualTo(87);
      assertThat(value(before, "sluice_node_gpu_temperature_celsius{node=\"a10-01\"}")).isEqualTo(71);
      assertThat(value(before, "sluice_node_gpu_memory_used_percent{node=\"a10-01\"}")).isEqualTo(42.5);
      assertThat(before).contains("sluice_node_gpu_utilization_percent{node=\"a10-02\"} NaN");
      assertThat(value(before, "sluice_node_prefix_cache_hit_ratio{node=\"a10-01\"}")).isEqualTo(0.75);
      assertThat(before).contains("sluice_node_prefix_cache_hit_ratio{node=\"a10-02\"} NaN");

      c.sim("a10-02").injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS));
      await().atMost(Duration.ofSeconds(10))
          .until(() -> c.gateway.registry().get("a10-02").health().state() != NodeState.READY);
      String after = Http.get(c.url("/metrics")).body();
      NodeState now = c.gateway.registry().get("a10-02").health().state();
      assertThat(value(after, "sluice_node_state{node=\"a10-02\",state=\"READY\"}")).isZero();
      assertThat(sum(after, "sluice_node_state{node=\"a10-02\",")).isEqualTo(1);
      assertThat(value(after, "sluice_node_state_changes_total{node=\"a10-02\",to=\"" + now.name() + "\"}"))
          .isGreaterThanOrEqualTo(1);
      c.sim("a10-02").clearFaults();
    }
  }

  @Test
  void tenThousandRequestsForRandomUnknownModelsAddNoSeries() throws Exception {
    try (TestCluster c = new TestCluster().node("a10-01", GpuProfile.A10, BIG, 0).start()) {
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      send(client, c, 50); // the series an unknown model creates exist from the first one on
      Http.get(c.url("/metrics")); // and those of a scrape from the first scrape on
      Set<String> before = series(Http.get(c.url("/metrics")).body());
      send(client, c, 10_000);
      String text = Http.get(c.url("/metrics")).body();
      Set<String> after = series(text);
      assertThat(value(text, "sluice_requests_total{endpoint=\"openai_chat\",model=\"unknown\",node=\"none\","
          + "outcome=\"client_error\",status=\"4xx\"}")).isEqualTo(10_050);
      assertThat(text).doesNotContain("random-");
      TreeSet<String> added = new TreeSet<>(after);
      added.removeAll(before);
      assertThat(added).as("series added by 10,000 unknown model names").isEmpty();
      assertThat(after.size()).isEqualTo(before.size());
    }
  }

  @Test
  void promtoolAcceptsTheScrapeAfterTraffic() throws Exception {
    try (TestCluster c = new TestCluster().node("a10-01", GpuProfile.A10, BIG, 0).start()) {
      Http.post(c.url("/v1/chat/completions"), chat(BIG, false));
      Http.post(c.url("/v1/chat/completions"), chat(BIG, true));
      Http.post(c.url("/v1/chat/completions"), chat("nope", false));
      Http.post(c.url("/api/chat"), "{\"model\":\"" + BIG + "\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
      String text = Http.get(c.url("/metrics")).body();
      assertThat(text).contains("vertx_pool_in_use").contains("jvm_threads_live_threads")
          .contains("process_cpu_usage");
      // lint findings are accepted only for two names of Micrometer's own binders, never for Sluice's
      dev.sluice.testkit.Promtool.checkMetrics(text).forEach(line -> assertThat(line).as("promtool finding").isIn(
          "process_cpu_time_ns_total metric names should not contain abbreviated units",
          "system_cpu_count non-histogram and non-summary metrics should not have \"_count\" suffix"));
    }
  }

  private static void send(HttpClient client, TestCluster c, int n) {
    List<CompletableFuture<HttpResponse<Void>>> batch = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String body = "{\"model\":\"random-" + UUID.randomUUID() + "\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
      batch.add(client.sendAsync(HttpRequest.newBuilder(URI.create(c.url("/v1/chat/completions")))
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
          HttpResponse.BodyHandlers.discarding()));
      if (batch.size() == 64 || i == n - 1) {
        batch.forEach(f -> assertThat(f.join().statusCode()).isEqualTo(404));
        batch.clear();
      }
    }
  }

  /**
   * Series (name and labels) in a scrape. GC pause series are left out: the JVM adds one the first time it runs a
   * kind of collection for a new cause, which is bounded by the JVM, not by the traffic.
   */
  static Set<String> series(String text) {
    return text.lines().filter(l -> !l.startsWith("#") && !l.isBlank() && !l.startsWith("jvm_gc_pause"))
        .map(l -> l.substring(0, l.lastIndexOf(' '))).collect(Collectors.toCollection(TreeSet::new));
  }

  static double value(String text, String series) {
    return text.lines().filter(l -> l.startsWith(series + " ")).findFirst()
        .map(l -> Double.parseDouble(l.substring(series.length() + 1).trim()))
        .orElseThrow(() -> new AssertionError("no series " + series + " in:\n" + grep(text, series)));
  }

  private static double sum(String text, String prefix) {
    return text.lines().filter(l -> l.startsWith(prefix))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  private static String grep(String text, String series) {
    String name = series.contains("{") ? series.substring(0, series.indexOf('{')) : series;
    return text.lines().filter(l -> l.startsWith(name)).collect(Collectors.joining("\n"));
  }

  private static JsonNode streamedUsage(String sse) throws Exception {
    JsonNode usage = null;
    for (String line : sse.split("\n")) {
      if (!line.startsWith("data: {")) continue;
      JsonNode event = Json.MAPPER.readTree(line.substring(6));
      if (event.path("usage").isObject()) usage = event.path("usage");
    }
    assertThat(usage).as("usage in the stream").isNotNull();
    return usage;
  }
}
