package dev.sluice.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class LogThrottleTest {
  @Test
  void logsTheFirstEventAndLeavesOutTheRestOfTheIntervalCountingThem() {
    LogThrottle t = new LogThrottle(Duration.ofHours(1));
    assertThat(t.tryLog()).isZero();
    for (int i = 0; i < 1000; i++) assertThat(t.tryLog()).isEqualTo(-1);
    assertThat(LogThrottle.leftOut(1000)).isEqualTo(" (1000 similar lines left out in the last interval)");
    assertThat(LogThrottle.leftOut(0)).isEmpty();
  }

  @Test
  void logsEveryEventWhenTheIntervalIsZero() {
    LogThrottle t = new LogThrottle(Duration.ZERO);
    assertThat(t.tryLog()).isZero();
    assertThat(t.tryLog()).isZero();
  }
}
