package dev.sluice.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ApiKind;
import dev.sluice.config.NodeSpec;
import dev.sluice.health.HealthPolicy;
import dev.sluice.health.NodeHealth;
import dev.sluice.routing.SpeedEstimator;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the router and the progress watchdog learn from a node's answers arriving, or not. */
class NodeProgressTest {
  private static final long SECOND = 1_000_000_000L;
  private final NodeSpec spec = new NodeSpec("h100-01", URI.create("http://127.0.0.1:1"),
      URI.create("http://127.0.0.1:1/v1"), ApiKind.OPENAI, "H100", null, Map.of(), null, "p");
  private final NodeEntry node = new NodeEntry(spec, new NodeHealth("h100-01", HealthPolicy.defaults(), () -> 0),
      new SpeedEstimator(GpuDefaults.expectedSpeed("H100")));

  @Test
  void anIdleNodeIsNeverSilent() {
    assertThat(node.silentMillis(System.nanoTime() + 60 * SECOND)).isZero();
    assertThat(node.silenceSuspicion(System.nanoTime() + 60 * SECOND)).isNull();
  }

  @Test
  void silenceCountsFromTheLastChunkWhileRequestsAreInFlight() {
    node.requestStarted(100);
    node.firstToken(100);
    long chunk = System.nanoTime();
    node.progress(chunk);
    assertThat(node.silentMillis(chunk + 2 * SECOND)).isEqualTo(2_000);
    node.requestEnded(100, true);
    assertThat(node.silentMillis(chunk + 2 * SECOND)).isZero();
  }

  @Test
  void aNodeThatStreamsAnswersAndSendsNothingForFiveSecondsIsToBeSuspected() {
    node.requestStarted(100);
    node.requestStarted(100);
    node.firstToken(100);
    node.firstToken(100);
    long chunk = System.nanoTime();
    node.progress(chunk);
    assertThat(node.silenceSuspicion(chunk + 4 * SECOND)).isNull();
    assertThat(node.silenceSuspicion(chunk + 5 * SECOND))
        .isEqualTo("sent nothing for 5000 ms while streaming 2 answers");
  }

  @Test
  void aLongPrefillWithNothingDecodingIsLeftToItsFirstTokenDeadline() {
    node.requestStarted(16_000); // an A10-sized prefill: silent for seconds, legitimately
    assertThat(node.silenceSuspicion(System.nanoTime() + 20 * SECOND)).isNull();
    assertThat(node.silentMillis(System.nanoTime() + 20 * SECOND)).isGreaterThanOrEqualTo(19_000);
  }

  @Test
  void silenceOfABusyNodeCountsFromWhenItTurnedBusyNotFromItsLastAnswerLongAgo() {
    long before = System.nanoTime();
    node.requestStarted(10);
    assertThat(node.silentMillis(before + SECOND)).isLessThanOrEqualTo(1_000);
  }

  @Test
  void onlyOneRequestPerPeriodExploresAnIdleNode() {
    long now = System.nanoTime() + 10 * SECOND;
    assertThat(node.claimExploration(now, 5 * SECOND)).isTrue();
    assertThat(node.claimExploration(now + SECOND, 5 * SECOND)).isFalse();
    assertThat(node.claimExploration(now + 6 * SECOND, 5 * SECOND)).isTrue();
  }

  @Test
  void aNodeThatAnsweredRecentlyIsNotExplored() {
    long now = System.nanoTime() + 10 * SECOND;
    node.progress(now - SECOND);
    assertThat(node.claimExploration(now, 5 * SECOND)).isFalse();
  }
}
