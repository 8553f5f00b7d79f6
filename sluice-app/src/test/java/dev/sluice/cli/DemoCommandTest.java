package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class DemoCommandTest {
  @Test
  void theDemosReleasePenaltyShrinksWithItsTimeScaleAsItsSimulatedNodesDo() {
    assertThat(DemoCommand.releasePenaltyMillis(1)).isEqualTo(3_000);
    assertThat(DemoCommand.releasePenaltyMillis(10)).isEqualTo(300);
    assertThat(DemoCommand.releasePenaltyMillis(0.5)).isEqualTo(3_000);
    assertThat(DemoCommand.releasePenaltyMillis(0)).isZero();
  }

  @Test
  void theConfigTakesTheScaledPenaltyIncludingZero() throws Exception {
    for (long ms : new long[] {0, 300}) {
      SluiceConfig c = ConfigLoader.parse("{\"routing\":{\"affinity\":{\"releasePenalty\":\"" + ms + "ms\"}},"
          + "\"providers\":{\"p\":{\"baseUrl\":\"http://127.0.0.1:1\",\"api\":\"openai-completions\","
          + "\"models\":[{\"id\":\"m\"}]}}}", "demo.json");
      assertThat(c.routing().affinity().releasePenalty()).isEqualTo(Duration.ofMillis(ms));
    }
  }

  @Test
  void theDemosTtftBudgetShrinksWithItsTimeScaleAndNeverGrows() {
    assertThat(DemoCommand.scaled(2_000, 10)).isEqualTo(200);
    assertThat(DemoCommand.scaled(2_000, 1)).isEqualTo(2_000);
    assertThat(DemoCommand.scaled(2_000, 0.25)).isEqualTo(2_000);
    assertThat(DemoCommand.scaled(2_000, 0)).isZero();
  }
}
