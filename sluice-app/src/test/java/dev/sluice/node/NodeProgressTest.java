package dev.sluice.node;

import dev.sluice.flow.NodeCap;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.api.ApiFlavor;
import dev.sluice.config.NodeSpec;
import dev.sluice.health.HealthPolicy;
import dev.sluice.health.NodeHealth;
import dev.sluice.routing.SpeedEstimator;
import dev.sluice.support.Clock;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the router and the progress watchdog learn from a node's answers arriving, or not. */
class NodeProgressTest {
  private static final long SECOND = 1_000_000_000L;
  private final NodeSpec spec = new NodeSpec("h100-01", URI.create("http://127.0.0.1:1"),
      URI.create("http://127.0.0.1:1/v1"), ApiFlavor.OPENAI, "H100", null, Map.of(), null, "p");
  private final NodeEntry node = new NodeEntry(spec, new NodeHealth("h100-01", HealthPolicy.defaults(), () -> 0),
      new SpeedEstimator(GpuDefaults.expectedSpeed("H100")), Clock.SYSTEM,
      NodeCap.learned(Clock.SYSTEM, 64, "H100 default concurrency"));

  @Test
  void anIdleNodeIsNeverSilent() {
    assertThat(node.silentMillis(System.nanoTime() + 60 * SECOND)).isZero();
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
  void aNodeThatCompletedAnAnswerWithinTheDeadlineIsBusyNotHung() {
    long done = System.nanoTime();
    node.completed(done);
    assertThat(node.completedWithin(done + SECOND, 1_500)).isTrue();
    assertThat(node.completedWithin(done + 2 * SECOND, 1_500)).isFalse();
  }

  @Test
  void aNodeThatNeverCompletedAnAnswerIsNotBusy() {
    assertThat(node.completedWithin(System.nanoTime(), 60_000)).isFalse();
  }

  @Test
  void aLongPrefillMakesABusyNodeSilentForSeconds() {
    node.requestStarted(16_000); // an A10-sized prefill: silent for seconds, legitimately
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

  @Test
  void aNodeWithAnswersDecodingThatSendsNothingForASecondAndAHalfIsToBeSuspected() {
    node.requestStarted(100);
    node.requestStarted(100);
    node.firstToken(100);
    node.firstToken(100);
    long chunk = System.nanoTime();
    node.progress(chunk);
    assertThat(node.silenceSuspicion(chunk + SECOND)).isNull();
    assertThat(node.silenceSuspicion(chunk + 3 * SECOND / 2))
        .isEqualTo("sent nothing for 1500 ms while 2 answers were decoding on it");
  }

  @Test
  void aLongPrefillWithNothingDecodingIsLeftToItsFirstTokenDeadline() {
    node.requestStarted(16_000);
    assertThat(node.silenceSuspicion(System.nanoTime() + 20 * SECOND)).isNull();
  }
}
