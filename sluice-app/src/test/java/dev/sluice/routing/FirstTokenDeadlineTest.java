package dev.sluice.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class FirstTokenDeadlineTest {
  private final FirstTokenDeadline rule = new FirstTokenDeadline(3, Duration.ofMillis(1_500), Duration.ofSeconds(60));

  @Test
  void aShortRequestOnAnIdleNodeGetsTheFloor() {
    assertThat(rule.millis(12)).isEqualTo(1_500);
    assertThat(rule.millis(0)).isEqualTo(1_500);
    assertThat(rule.describe(12)).isEqualTo("1500 ms (the floor; 3 × its estimate of 12 ms)");
  }

  @Test
  void aLongPrefillGetsAMultipleOfItsOwnEstimate() {
    // a 16K prompt on an A10 at 760 tokens/s: ~21.5 s of prefill
    assertThat(rule.millis(21_500)).isEqualTo(60_000);
    assertThat(rule.millis(8_000)).isEqualTo(24_000);
    assertThat(rule.describe(8_000)).isEqualTo("24000 ms (3 × its estimate of 8000 ms)");
  }

  @Test
  void noEstimateEverGoesPastTheCeiling() {
    assertThat(rule.millis(1e12)).isEqualTo(60_000);
    assertThat(rule.millis(Double.POSITIVE_INFINITY)).isEqualTo(60_000);
    assertThat(rule.describe(100_000)).startsWith("60000 ms (the ceiling; ");
  }

  @Test
  void anEstimateThatIsNotANumberGetsTheFloor() {
    assertThat(rule.millis(Double.NaN)).isEqualTo(1_500);
    assertThat(rule.millis(-5)).isEqualTo(1_500);
  }

  @Test
  void badSettingsAreRejectedNamingTheKey() {
    assertThatThrownBy(() -> new FirstTokenDeadline(0.5, Duration.ofSeconds(1), Duration.ofSeconds(60)))
        .hasMessageContaining("timeouts.firstTokenFactor").hasMessageContaining("≥ 1");
    assertThatThrownBy(() -> new FirstTokenDeadline(3, Duration.ZERO, Duration.ofSeconds(60)))
        .hasMessageContaining("timeouts.firstTokenFloor");
    assertThatThrownBy(() -> new FirstTokenDeadline(3, Duration.ofSeconds(5), Duration.ofSeconds(2)))
        .hasMessageContaining("timeouts.firstToken").hasMessageContaining("at least its floor");
  }
}
