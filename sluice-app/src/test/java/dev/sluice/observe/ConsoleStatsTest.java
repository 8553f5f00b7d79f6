package dev.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;

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
