package dev.sluice.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.api.ApiFlavor;
import dev.sluice.config.NodeSpec;
import dev.sluice.flow.NodeCap;
import dev.sluice.health.HealthPolicy;
import dev.sluice.health.NodeHealth;
import dev.sluice.routing.SpeedEstimator;
import dev.sluice.support.Clock;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** When a node's telemetry is stale (shown greyed) rather than live or unknown. */
class NodeTelemetryStalenessTest {
  private static final long INTERVAL = 15_000;
  private final NodeSpec spec = new NodeSpec("a10-01", URI.create("http://127.0.0.1:1"),
      URI.create("http://127.0.0.1:1/v1"), ApiFlavor.OPENAI, "A10", null, Map.of(), null, "p");
  private final NodeEntry node = new NodeEntry(spec, new NodeHealth("a10-01", HealthPolicy.defaults(), () -> 0),
      new SpeedEstimator(GpuDefaults.expectedSpeed("A10")), Clock.SYSTEM,
      NodeCap.learned(Clock.SYSTEM, 8, "A10 default concurrency"));

  private static NodeTelemetry scrapedAt(long millis) {
    return new NodeTelemetry(40, 60, 70, Double.NaN, Double.NaN, millis);
  }

  @Test
  void neverScrapedTelemetryIsUnknownNotStale() {
    assertThat(node.telemetryStale(1_000_000, INTERVAL)).isFalse();
    node.telemetryFailed("connect refused");
    assertThat(node.telemetryStale(1_000_000, INTERVAL)).as("nothing shown to be stale").isFalse();
  }

  @Test
  void aFailedScrapeMakesTheKeptValuesStaleAtOnceAndASuccessfulOneMakesThemLiveAgain() {
    node.telemetry(scrapedAt(100_000));
    assertThat(node.telemetryStale(100_500, INTERVAL)).isFalse();
    node.telemetryFailed("connect refused");
    assertThat(node.telemetryStale(115_100, INTERVAL)).isTrue();
    assertThat(node.telemetryError()).isEqualTo("connect refused");
    node.telemetry(scrapedAt(130_000));
    assertThat(node.telemetryStale(130_100, INTERVAL)).isFalse();
    assertThat(node.telemetryError()).isNull();
  }

  @Test
  void telemetryOlderThanTwoScrapeIntervalsIsStaleEvenWithoutAFailedScrape() {
    node.telemetry(scrapedAt(100_000));
    assertThat(node.telemetryStale(100_000 + 2 * INTERVAL, INTERVAL)).isFalse();
    assertThat(node.telemetryStale(100_001 + 2 * INTERVAL, INTERVAL)).isTrue();
  }
}
