package dev.sluice.degrade;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.degrade.ErrorRateWindow.Counts;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ErrorRateWindowTest {
  private static final long T0 = 1_000_000;
  private final ErrorRateWindow window = new ErrorRateWindow(Duration.ofSeconds(60));

  @Test
  void countsEverySampleInsideTheWindow() {
    window.record(true, T0);
    window.record(false, T0 + 500);
    window.record(false, T0 + 30_000);
    window.record(true, T0 + 59_999);

    Counts counts = window.counts(T0 + 59_999 - 60_000, T0 + 59_999);
    assertThat(counts).isEqualTo(new Counts(4, 2));
    assertThat(counts.rate()).isEqualTo(0.5);
  }

  @Test
  void dropsSamplesOlderThanTheWindowAsItSlides() {
    window.record(true, T0);
    window.record(true, T0 + 10_000);
    window.record(false, T0 + 20_000);

    long now = T0 + 71_000;
    assertThat(window.counts(now - 60_000, now)).isEqualTo(new Counts(1, 0));
    now = T0 + 81_000;
    assertThat(window.counts(now - 60_000, now)).isEqualTo(Counts.NONE);
  }

  @Test
  void aRingSlotReusedAfterAFullTurnHoldsOnlyTheNewSecond() {
    window.record(true, T0);
    long later = T0 + 61_000L * 10; // same slot many turns later
    window.record(false, later);

    assertThat(window.counts(later - 60_000, later)).isEqualTo(new Counts(1, 0));
    assertThat(window.bucketCounts(T0)).isEqualTo(Counts.NONE);
  }

  @Test
  void aSampleOlderThanTheRingIsDropped() {
    window.record(false, T0 + 61_000);
    window.record(true, T0); // same slot, older second

    assertThat(window.counts(T0 - 60_000, T0 + 61_000)).isEqualTo(new Counts(1, 0));
  }

  @Test
  void countsFromAGivenTimeAtBucketGranularity() {
    window.record(true, T0);
    window.record(true, T0 + 1_200);
    window.record(false, T0 + 1_900);
    window.record(false, T0 + 2_100);

    assertThat(window.counts(T0 + 1_500, T0 + 2_100)).as("the whole second holding the start counts")
        .isEqualTo(new Counts(3, 1));
    assertThat(window.counts(T0 + 2_000, T0 + 2_100)).isEqualTo(new Counts(1, 0));
    assertThat(window.bucketCounts(T0 + 1_000)).isEqualTo(new Counts(2, 1));
    assertThat(window.sameBucket(T0 + 1_000, T0 + 1_999)).isTrue();
    assertThat(window.sameBucket(T0 + 1_999, T0 + 2_000)).isFalse();
  }

  @Test
  void tellsTheStartOfTheEarliestBucketWithASampleInARange() {
    assertThat(window.firstSampleMillis(T0 - 60_000, T0)).as("empty").isEqualTo(Long.MAX_VALUE);

    window.record(true, T0 + 2_300);
    window.record(false, T0 + 2_900);
    window.record(false, T0 + 7_100);

    long now = T0 + 8_000;
    assertThat(window.firstSampleMillis(now - 60_000, now)).isEqualTo(T0 + 2_000);
    assertThat(window.firstSampleMillis(T0 + 2_500, now)).as("the whole bucket holding the start counts")
        .isEqualTo(T0 + 2_000);
    assertThat(window.firstSampleMillis(T0 + 3_000, now)).isEqualTo(T0 + 7_000);
    assertThat(window.firstSampleMillis(T0 + 7_500, T0 + 6_999)).as("nothing after the end").isEqualTo(Long.MAX_VALUE);
    long later = T0 + 2_000 + 61_000;
    assertThat(window.firstSampleMillis(later - 60_000, later)).as("the first second slid out")
        .isEqualTo(T0 + 7_000);
  }

  @Test
  void rateIsZeroWithoutRequestsAndCountsSubtractWithoutGoingNegative() {
    assertThat(Counts.NONE.rate()).isZero();
    assertThat(new Counts(20, 1).rate()).isEqualTo(0.05);
    assertThat(new Counts(20, 3).minus(new Counts(5, 1))).isEqualTo(new Counts(15, 2));
    assertThat(new Counts(2, 1).minus(new Counts(5, 3))).isEqualTo(Counts.NONE);
  }

  @Test
  void clearForgetsEverySample() {
    window.record(true, T0);
    window.clear();

    assertThat(window.counts(T0 - 60_000, T0)).isEqualTo(Counts.NONE);
  }

  @ParameterizedTest(name = "a {0} s window uses {1} ms buckets")
  @CsvSource({"1, 1000", "60, 1000", "120, 1000", "121, 2000", "600, 5000", "3600, 30000"})
  void longWindowsUseWiderBucketsSoCountingStaysCheap(long seconds, long bucketMillis) {
    ErrorRateWindow w = new ErrorRateWindow(Duration.ofSeconds(seconds));
    assertThat(w.bucketMillis()).isEqualTo(bucketMillis);

    long now = T0 + seconds * 1000;
    w.record(true, now - seconds * 1000 + 1);
    w.record(false, now);
    assertThat(w.counts(now - seconds * 1000, now)).isEqualTo(new Counts(2, 1));
  }

  @Test
  void resizingKeepsTheSamplesTheNewWindowCovers() {
    window.record(true, T0);
    window.record(false, T0 + 40_000);
    window.record(true, T0 + 59_000);

    long now = T0 + 59_000;
    ErrorRateWindow longer = window.resized(Duration.ofSeconds(300));
    assertThat(longer.counts(now - 300_000, now)).isEqualTo(new Counts(3, 2));
    ErrorRateWindow shorter = window.resized(Duration.ofSeconds(30));
    assertThat(shorter.counts(now - 30_000, now)).isEqualTo(new Counts(2, 1));
  }

  @Test
  void rejectsAWindowBelowOneSecond() {
    assertThatThrownBy(() -> new ErrorRateWindow(Duration.ofMillis(999)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("below 1 s");
  }
}
