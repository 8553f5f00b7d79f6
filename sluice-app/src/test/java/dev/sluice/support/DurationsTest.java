package dev.sluice.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

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

  @ParameterizedTest(name = "{0} ms → retry in {1} s")
  @CsvSource(textBlock = """
      0,    1
      1,    1
      1000, 1
      1001, 2
      """)
  void retryAfterIsWholeSecondsRoundedUp(long millis, long seconds) {
    assertThat(Durations.retryAfterSeconds(millis)).isEqualTo(seconds);
  }
}
