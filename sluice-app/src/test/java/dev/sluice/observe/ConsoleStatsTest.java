package dev.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ConsoleStatsTest {
  /** 2026-01-01T00:00:00Z: a whole minute, so offsets below land in known buckets. */
  private static final long T0 = 1_767_225_600_000L;
  private final AtomicLong now = new AtomicLong(T0);
  private final ConsoleStats stats = new ConsoleStats(now::get);

  private static RequestRecord req(String model, String node, String outcome, long ttftMillis, long durationMillis) {
    return new RequestRecord(T0, "r", "t", "acme", "openai_chat", model, model, node, 1, outcome, 200,
        ttftMillis < 0 ? -1 : ttftMillis * 1_000_000, durationMillis * 1_000_000, -1, 10, 10, false);
  }

  @Test
  void countsEachOutcomeInTheMinuteItEndedIn() {
    stats.onRequest(req("m", "a", "ok", 10, 40));
    stats.onRequest(req("m", "a", "ok", 10, 40));
    now.addAndGet(60_000);
    stats.onRequest(req("m", null, "static", -1, 1));
    stats.onRequest(req("m", "a", "failed", -1, 300));
    stats.onRequest(req("m", "a", "ok", 10, 40));
    stats.onRequest(req("m", null, "client_error", -1, 1));

    ConsoleStats.ModelView m = stats.snapshot().models().get(0);
    assertThat(m.model()).isEqualTo("m");
    assertThat(m.points()).hasSize(ConsoleStats.MINUTES);
    ConsoleStats.MinutePoint previous = m.points().get(ConsoleStats.MINUTES - 2);
    ConsoleStats.MinutePoint current = m.points().get(ConsoleStats.MINUTES - 1);
    assertThat(previous.startMillis()).isEqualTo(T0);
    assertThat(previous.outcomes()).containsEntry("ok", 2L).containsEntry("failed", 0L);
    assertThat(previous.errorRate()).isZero();
    assertThat(current.startMillis()).isEqualTo(T0 + 60_000);
    assertThat(current.total()).isEqualTo(4);
    assertThat(current.outcomes()).containsEntry("static", 1L).containsEntry("failed", 1L)
        .containsEntry("client_error", 1L).containsEntry("ok", 1L);
    assertThat(current.errorRate()).as("(failed + static) / all").isEqualTo(0.5);
    assertThat(m.total()).isEqualTo(6);
    assertThat(m.errors()).isEqualTo(2);
  }

  @Test
  void putsLatenciesInTheirBucketsAcrossTheWindow() {
    stats.onRequest(req("m", "a", "ok", 5, 20)); // ≤ 25
    stats.onRequest(req("m", "a", "ok", 5, 25)); // ≤ 25 (bounds are inclusive)
    now.addAndGet(5 * 60_000);
    stats.onRequest(req("m", "a", "ok", 5, 700)); // ≤ 1000
    stats.onRequest(req("m", "a", "ok", 5, 500_000)); // above the last bound

    var buckets = stats.snapshot().models().get(0).latency();
    assertThat(buckets).hasSize(ConsoleStats.LATENCY_BOUNDS_MILLIS.length + 1);
    assertThat(buckets.get(0)).isEqualTo(new ConsoleStats.LatencyBucket(25, 2));
    assertThat(buckets.get(5)).isEqualTo(new ConsoleStats.LatencyBucket(1_000, 1));
    assertThat(buckets.get(buckets.size() - 1)).isEqualTo(new ConsoleStats.LatencyBucket(-1, 1));
    assertThat(buckets.stream().mapToLong(ConsoleStats.LatencyBucket::count).sum()).isEqualTo(4);
  }

  @Test
  void forgetsMinutesOlderThanTheWindow() {
    stats.onRequest(req("m", "a", "failed", -1, 10));
    now.addAndGet(14 * 60_000);
    assertThat(stats.snapshot().models().get(0).total()).as("14 minutes later: still in the window").isEqualTo(1);
    now.addAndGet(60_000);
    ConsoleStats.ModelView m = stats.snapshot().models().get(0);
    assertThat(m.total()).as("15 minutes later: gone").isZero();
    assertThat(m.latency()).allSatisfy(b -> assertThat(b.count()).isZero());
    // a slot reused 15 minutes later starts from zero rather than adding to the old minute
    stats.onRequest(req("m", "a", "ok", 1, 10));
    m = stats.snapshot().models().get(0);
    assertThat(m.total()).isEqualTo(1);
    assertThat(m.errors()).isZero();
  }

  @Test
  void givesEachNodeItsTtftPercentilesOverFiveMinutes() {
    for (int i = 1; i <= 100; i++) stats.onRequest(req("m", "a", "ok", i, i + 100));
    stats.onRequest(req("m", null, "static", -1, 1)); // no node: no TTFT
    ConsoleStats.TtftView a = stats.snapshot().ttft().get("a");
    assertThat(a.count()).isEqualTo(100);
    assertThat(a.p50Millis()).isBetween(49.0, 51.0);
    assertThat(a.p95Millis()).isBetween(94.0, 96.0);
    assertThat(stats.snapshot().ttft()).containsOnlyKeys("a");

    now.addAndGet(4 * 60_000);
    assertThat(stats.ttft("a").count()).isEqualTo(100);
    now.addAndGet(60_000);
    assertThat(stats.ttft("a")).as("older than 5 minutes").isNull();
    assertThat(stats.snapshot().ttft()).isEmpty();
  }

  private static RequestRecord call(String endpoint, String model, String outcome, String cache) {
    return new RequestRecord(T0, "r", "t", "acme", endpoint, model, null, null, 0, outcome, 200, -1, 1_000_000, -1,
        -1, -1, false, -1, null, -1, -1, null, cache, null);
  }

  @Test
  void countsEachNodesAnswersAndFailedAttemptsOverOneFiveAndFifteenMinutes() {
    stats.onRequest(req("m", "a", "ok", 10, 40));
    stats.attemptFailed("a", "node_error");
    now.addAndGet(4 * 60_000);
    stats.onRequest(req("m", "a", "ok", 10, 40));
    stats.onRequest(req("m", "b", "ok", 10, 40));
    stats.attemptFailed("a", "connect");
    stats.attemptFailed("a", "client_cancelled"); // the client left: not the node's error
    stats.attemptFailed("a", "something_new");
    now.addAndGet(2 * 60_000);
    stats.onRequest(req("m", "a", "ok", 10, 40));

    ConsoleStats.NodeTraffic a = stats.snapshot().nodeTraffic().get("a");
    assertThat(a.requests()).isEqualTo(new ConsoleStats.Window(1, 2, 3));
    assertThat(a.errors()).isEqualTo(new ConsoleStats.Window(0, 2, 3));
    assertThat(a.errorKinds()).containsExactly(Map.entry("connect", 1L),
        Map.entry("node_error", 1L), Map.entry("other", 1L));
    assertThat(stats.snapshot().nodeTraffic().get("b").requests()).isEqualTo(new ConsoleStats.Window(0, 1, 1));

    now.addAndGet(15 * 60_000);
    assertThat(stats.snapshot().nodeTraffic().get("a").requests()).as("older than 15 minutes")
        .isEqualTo(new ConsoleStats.Window(0, 0, 0));
  }

  @Test
  void givesEachNodeItsEndToEndPercentilesAndAPerMinuteTtftTrend() {
    for (int i = 1; i <= 100; i++) stats.onRequest(req("m", "a", "ok", 10, i * 10));
    now.addAndGet(2 * 60_000);
    stats.onRequest(req("m", "a", "ok", 300, 400));

    ConsoleStats.NodeTraffic a = stats.snapshot().nodeTraffic().get("a");
    assertThat(a.e2e().count()).isEqualTo(101);
    assertThat(a.e2e().p50Millis()).as("within the histogram's 3 %").isBetween(485.0, 515.0);
    assertThat(a.e2e().p95Millis()).isBetween(920.0, 980.0);
    assertThat(a.ttftTrend()).hasSize(ConsoleStats.MINUTES);
    assertThat(a.ttftTrend().get(ConsoleStats.MINUTES - 1)).isBetween(291.0, 309.0);
    assertThat(a.ttftTrend().get(ConsoleStats.MINUTES - 2)).as("no answer that minute: unknown").isNull();
    assertThat(a.ttftTrend().get(ConsoleStats.MINUTES - 3)).isEqualTo(10.0);
  }

  @Test
  void keepsUnknownTelemetryAsAGapInTheTrendNeverAsTheLastNumber() {
    stats.telemetry("a", 50, 60, 70);
    now.addAndGet(30_000);
    stats.telemetry("a", Double.NaN, Double.NaN, Double.NaN); // stale: the caller passes unknown
    now.addAndGet(30_000);
    stats.telemetry("a", 80, 61, 71);

    ConsoleStats.NodeTraffic a = stats.snapshot().nodeTraffic().get("a");
    int n = a.gpuUtilTrend().size();
    assertThat(n).isEqualTo(ConsoleStats.MINUTES * 60 / ConsoleStats.TELEMETRY_SLOT_SECONDS);
    assertThat(a.gpuUtilTrend().subList(n - 3, n)).containsExactly(50.0, null, 80.0);
    assertThat(a.gpuTempTrend().subList(n - 3, n)).containsExactly(60.0, null, 61.0);
    assertThat(a.memoryTrend().subList(n - 3, n)).containsExactly(70.0, null, 71.0);
    assertThat(a.gpuUtilTrend().get(0)).as("never sampled").isNull();
  }

  @Test
  void keepsModelListCallsApartFromRequestsForModelsThatAreNotConfigured() {
    stats.track(List.of("m"));
    stats.onRequest(call("openai_models", "unknown", "ok", null));
    stats.onRequest(call("ollama_tags", "unknown", "ok", null));
    stats.onRequest(call("openai_chat", "unknown", "client_error", null));

    var models = stats.snapshot().models();
    assertThat(models).extracting(ConsoleStats.ModelView::model, ConsoleStats.ModelView::kind,
        ConsoleStats.ModelView::total).containsExactly(
        tuple("m", "model", 0L), // configured models first
        tuple(ConsoleStats.MODEL_LISTS, "lists", 2L),
        tuple(ConsoleStats.NO_MODEL, "unknown", 1L));
  }

  @Test
  void givesEachModelItsPercentilesRequestRateAndCacheResults() {
    for (int i = 1; i <= 100; i++) stats.onRequest(req("m", "a", "ok", 5, i));
    stats.onRequest(call("openai_chat", "m", "cached", "hit"));
    stats.onRequest(call("openai_chat", "m", "static", "stale"));
    stats.onRequest(call("openai_chat", "m", "ok", "miss"));
    stats.onRequest(call("openai_chat", "m", "ok", "miss"));
    now.addAndGet(30_000); // the rate is over the last minute, or the time since start when that is shorter

    ConsoleStats.ModelView m = stats.snapshot().models().get(0);
    assertThat(m.kind()).isEqualTo("model");
    assertThat(m.p50Millis()).as("the 52nd of 104: four 1 ms calls and 1..100 ms").isEqualTo(48.0);
    assertThat(m.p99Millis()).isBetween(96.0, 100.0);
    assertThat(m.cache()).containsExactly(Map.entry("hit", 1L), Map.entry("stale", 1L),
        Map.entry("miss", 2L));
    assertThat(m.requestsPerSecond()).as("104 requests in the 30 s since start").isEqualTo(3.47);
    now.addAndGet(60_000);
    assertThat(stats.snapshot().models().get(0).requestsPerSecond()).as("none in the last minute").isZero();
  }

  @Test
  void keepsTheLastHundredStateChangesOldestFirst() {
    for (int i = 0; i < 105; i++) {
      now.incrementAndGet();
      stats.nodeTransition("n" + i, "READY", "DEGRADED", "3 consecutive probe failures");
    }
    var changes = stats.snapshot().changes();
    assertThat(changes).hasSize(ConsoleStats.RECENT_CHANGES);
    assertThat(changes.get(0).node()).isEqualTo("n5");
    assertThat(changes.get(99)).isEqualTo(
        new ConsoleStats.StateChange(T0 + 105, "n104", "READY", "DEGRADED", "3 consecutive probe failures"));
  }
}
