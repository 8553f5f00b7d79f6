package dev.sluice.health;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class ProbeScheduleTest {
  private final HealthPolicy policy = HealthPolicy.defaults();

  @Test
  void gapsStayWithinTheJitterBoundsAndSpreadAcrossThem() {
    ProbeSchedule schedule = new ProbeSchedule(policy, new SplittableRandom(7));
    long[] gaps = LongStream.range(0, 10_000).map(i -> schedule.nextProbeAt(1_000_000) - 1_000_000).toArray();

    assertThat(schedule.minGapMillis()).isEqualTo(4_500);
    assertThat(schedule.maxGapMillis()).isEqualTo(5_500);
    assertThat(LongStream.of(gaps).boxed().toList()).allSatisfy(g -> assertThat(g).isBetween(4_500L, 5_500L));
    assertThat(LongStream.of(gaps).min().orElseThrow()).isLessThan(4_550);
    assertThat(LongStream.of(gaps).max().orElseThrow()).isGreaterThan(5_450);
  }

  @Test
  void theSameSeedGivesTheSameScheduleAndAnotherSeedDoesNot() {
    long[] first = schedule(42);
    assertThat(schedule(42)).containsExactly(first);
    assertThat(schedule(43)).isNotEqualTo(first);
  }

  private long[] schedule(long seed) {
    ProbeSchedule s = new ProbeSchedule(policy, new SplittableRandom(seed));
    long[] times = new long[20];
    long t = s.firstProbeAt(0);
    for (int i = 0; i < times.length; i++) {
      times[i] = t;
      t = s.nextProbeAt(t);
    }
    return times;
  }

  @Test
  void firstProbesOfNodesRegisteredTogetherSpreadOverOneInterval() {
    ProbeSchedule schedule = new ProbeSchedule(policy, new SplittableRandom(1));
    long[] first = LongStream.range(0, 1_000).map(i -> schedule.firstProbeAt(1_000_000)).toArray();

    assertThat(LongStream.of(first).boxed().toList())
        .allSatisfy(t -> assertThat(t).isBetween(1_000_000L, 1_004_999L));
    assertThat(LongStream.of(first).distinct().count()).isGreaterThan(500);
  }

  @Test
  void withoutJitterTheIntervalIsExact() {
    HealthPolicy exact = new HealthPolicy(Duration.ofSeconds(5), policy.probeTimeout(), 0, 3, 12, 2, 10, 3,
        policy.ejectionBase(), policy.ejectionMax(), policy.ejectionMemory());
    ProbeSchedule schedule = new ProbeSchedule(exact, new SplittableRandom(3));

    assertThat(schedule.nextProbeAt(10_000)).isEqualTo(15_000);
  }
}
