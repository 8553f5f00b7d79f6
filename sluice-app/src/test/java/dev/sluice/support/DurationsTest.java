package dev.sluice.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {
  @Test
  void secondsAreRoundedUpSoAWaitIsNeverShortened() {
    assertThat(Durations.ceilSeconds(1)).isEqualTo(1);
    assertThat(Durations.ceilSeconds(1000)).isEqualTo(1);
    assertThat(Durations.ceilSeconds(1001)).isEqualTo(2);
    assertThat(Durations.ceilSeconds(Duration.ofMillis(59_500))).isEqualTo(60);
  }

  @Test
  void nothingToWaitIsZeroSecondsButRetryAfterIsAtLeastOne() {
    assertThat(Durations.ceilSeconds(0)).isZero();
    assertThat(Durations.ceilSeconds(-5)).isZero();
    assertThat(Durations.retryAfterSeconds(0)).isEqualTo(1);
    assertThat(Durations.retryAfterSeconds(2500)).isEqualTo(3);
  }
}
