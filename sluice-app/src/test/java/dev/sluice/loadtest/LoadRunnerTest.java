package dev.sluice.loadtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimNode;
import dev.sluice.testkit.TestCluster;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The load runner against a demo-shaped cluster: what it counts is what the simulated nodes received. */
class LoadRunnerTest {
  static final String BIG = "qwen3:32b";
  static final String SMALL = "qwen2:7b";
  static TestCluster cluster;

  /** The demo's four nodes, 50 times faster than real GPUs. */
  static TestCluster demoShaped() {
    double timeScale = 50;
    return new TestCluster()
        .node("a10-01", GpuProfile.A10, BIG, timeScale)
        .node("a100-01", GpuProfile.A100, BIG, timeScale)
        .node("h100-01", GpuProfile.H100, BIG, timeScale)
        .node("a10-02", GpuProfile.A10, SMALL, timeScale)
        .start();
  }

  @BeforeAll
  static void start() {
    cluster = demoShaped();
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  static LoadPlan closed(int users, long requests, double streamShare) {
    return new LoadPlan(URI.create(cluster.url("")), null, BIG, users, 0, Duration.ofMillis(200), null, requests,
        streamShare, Duration.ofSeconds(30));
  }

  /** Chat requests the nodes received (probes use /api/generate and are left out). */
  static long chats(SimNode sim) {
    return sim.stats().count("/api/chat") + sim.stats().count("/v1/chat/completions");
  }

  @Test
  void closedLoopCountsWhatTheSimulatedNodesReceivedNodeByNode() throws Exception {
    Map<String, Long> before = new java.util.HashMap<>();
    cluster.sims.forEach((id, sim) -> before.put(id, chats(sim)));
    org.HdrHistogram.Histogram nodeTimesBefore = new org.HdrHistogram.Histogram(3);
    cluster.sims.values().forEach(sim -> nodeTimesBefore.add(sim.stats().completedLatencies()));

    BenchResult r = new LoadRunner(closed(20, 200, 0.5), PromptMix.builtIn(1, 0.1)).run(null);

    // every request's end-to-end time through the gateway includes its time on the node, so each percentile of the
    // bench's distribution is at least the same percentile of what the nodes measured for the same 200 requests
    org.HdrHistogram.Histogram nodeTimes = new org.HdrHistogram.Histogram(3);
    cluster.sims.values().forEach(sim -> nodeTimes.add(sim.stats().completedLatencies()));
    nodeTimes.subtract(nodeTimesBefore);
    assertThat(nodeTimes.getTotalCount()).isEqualTo(200);
    for (double q : new double[] {50, 90, 95, 99, 100}) {
      assertThat((double) r.e2e.getValueAtPercentile(q)).as("p%s µs: bench vs nodes", q)
          .isGreaterThanOrEqualTo(nodeTimes.getValueAtPercentile(q) * 0.999);
    }

    assertThat(r.requests()).isEqualTo(200);
    assertThat(r.errorCount()).isZero();
    long received = 0;
    for (var e : cluster.sims.entrySet()) {
      long delta = chats(e.getValue()) - before.get(e.getKey());
      received += delta;
      assertThat(r.nodes().getOrDefault(e.getKey(), 0L)).as("requests served by %s", e.getKey()).isEqualTo(delta);
    }
    assertThat(received).isEqualTo(200);
    assertThat(r.nodes()).doesNotContainKey("a10-02"); // it serves only qwen2:7b
    assertThat(r.outcomes()).containsEntry("normal", 200L);
  }

  @Test
  void percentilesAreOrderedAndTheFirstTokenComesBeforeTheEnd() throws Exception {
    BenchResult r = new LoadRunner(closed(10, 80, 1.0), PromptMix.builtIn(2, 0.1)).run(null);
    Map<String, Double> s = r.summary();

    for (String h : new String[] {"e2e", "ttft", "itl"}) {
      assertThat(s.get(h + "_p50_ms")).as(h).isPositive().isLessThanOrEqualTo(s.get(h + "_p90_ms"));
      assertThat(s.get(h + "_p90_ms")).as(h).isLessThanOrEqualTo(s.get(h + "_p95_ms"));
      assertThat(s.get(h + "_p95_ms")).as(h).isLessThanOrEqualTo(s.get(h + "_p99_ms"));
      assertThat(s.get(h + "_p99_ms")).as(h).isLessThanOrEqualTo(s.get(h + "_max_ms"));
    }
    assertThat(s.get("ttft_p50_ms")).isLessThanOrEqualTo(s.get("e2e_p50_ms"));
    assertThat(s.get("ttft_max_ms")).isLessThanOrEqualTo(s.get("e2e_max_ms"));
    assertThat(s.get("output_tokens")).isPositive();
    assertThat(s.get("stream_requests")).isEqualTo(80.0);
    // a streamed answer of k tokens has k-1 gaps: the ITL histogram holds output tokens minus one per request
    assertThat(r.itl.getTotalCount()).isEqualTo((long) (s.get("output_tokens") - 80));
  }

  @Test
  void aStreamedToolCallOrReasoningIsTheFirstToken() throws Exception {
    LoadRunner runner = new LoadRunner(closed(1, 1, 1.0), PromptMix.builtIn(4, 0.1));
    String tool = "{\"model\":\"qwen3:32b\",\"stream\":true,\"max_tokens\":100,\"tool_choice\":\"required\","
        + "\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Rome?\"}],\"tools\":[{\"type\":\"function\","
        + "\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\",\"properties\":"
        + "{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}}]}";
    String thinking = "{\"model\":\"qwen3:32b\",\"stream\":true,\"max_tokens\":10,"
        + "\"chat_template_kwargs\":{\"enable_thinking\":true},\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    for (String body : new String[] {tool, thinking}) {
      BenchResult.Sample s = runner.send(body.getBytes(StandardCharsets.UTF_8), true, Map.of()).get();
      assertThat(s.status()).as(body).isEqualTo(200);
      assertThat(s.ttftMicros()).as("no content, but tokens: " + body).isPositive().isLessThanOrEqualTo(s.e2eMicros());
    }
  }

  @Test
  void openLoopHoldsTheTargetRate() throws Exception {
    LoadPlan plan = new LoadPlan(URI.create(cluster.url("")), null, BIG, 0, 40, Duration.ZERO,
        Duration.ofSeconds(3), 0, 0.5, Duration.ofSeconds(30));
    BenchResult r = new LoadRunner(plan, PromptMix.builtIn(3, 0.05)).run(null);

    assertThat(r.errorCount()).isZero();
    assertThat((double) r.requests()).isCloseTo(120, within(12.0));
    assertThat(r.summary().get("qps")).isCloseTo(40, within(4.0));
  }
}
