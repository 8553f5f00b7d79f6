package dev.sluice.health;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class NodeHealthTest {
  private final AtomicLong now = new AtomicLong(1_000_000);
  private final List<String> transitions = new ArrayList<>();
  private final NodeHealth node = new NodeHealth("a10-01", HealthPolicy.defaults(), now::get,
      EjectionGuard.allowAll(), (id, from, to, reason) -> transitions.add(id + " " + from + " → " + to + ": " + reason));

  private void makeReady() {
    node.probeSucceeded();
    node.generationProbeSucceeded();
    assertThat(node.state()).isEqualTo(NodeState.READY);
    transitions.clear();
  }

  private void fail(int probes) {
    for (int i = 0; i < probes; i++) {
      now.addAndGet(5_000);
      node.probeFailed("connect refused");
    }
  }

  private void pass(int probes) {
    for (int i = 0; i < probes; i++) {
      now.addAndGet(5_000);
      node.probeSucceeded();
    }
  }

  @Test
  void startsOutOfRotationAndBecomesReadyAfterAProbeAndAGenerationProbe() {
    assertThat(node.state()).isEqualTo(NodeState.STARTING);
    assertThat(node.eligible(now.get())).isFalse();

    node.probeSucceeded();
    assertThat(node.state()).isEqualTo(NodeState.WARMING);
    assertThat(node.eligible(now.get())).isFalse();

    node.generationProbeSucceeded();
    assertThat(node.state()).isEqualTo(NodeState.READY);
    assertThat(node.eligible(now.get())).isTrue();
    assertThat(transitions).containsExactly(
        "a10-01 STARTING → WARMING: probe passed: reachable",
        "a10-01 WARMING → READY: probe and a generation probe passed");
  }

  @Test
  void threeConsecutiveProbeFailuresDegradeWithAReasonNamingTheCause() {
    makeReady();
    fail(3);

    HealthSnapshot s = node.snapshot();
    assertThat(s.state()).isEqualTo(NodeState.DEGRADED);
    assertThat(s.reason()).isEqualTo("3 consecutive probe failures (connect refused)");
    assertThat(s.sinceMillis()).isEqualTo(now.get());
    assertThat(s.consecutiveProbeFailures()).isEqualTo(3);
    assertThat(node.eligible(now.get())).isFalse();
    assertThat(transitions).containsExactly("a10-01 READY → DEGRADED: 3 consecutive probe failures (connect refused)");
  }

  @Test
  void twoFailuresThenASuccessKeepTheNodeReady() {
    makeReady();
    fail(2);
    pass(1);
    fail(2);

    assertThat(node.state()).isEqualTo(NodeState.READY);
    assertThat(transitions).isEmpty();
  }

  @Test
  void shallowProbesAloneNeverReadmitADegradedNode() {
    makeReady();
    fail(3);
    pass(20);
    assertThat(node.state()).isEqualTo(NodeState.DEGRADED);

    node.generationProbeSucceeded();
    assertThat(node.state()).isEqualTo(NodeState.READY);
    assertThat(node.snapshot().reason()).isEqualTo("2 consecutive probes and a generation probe passed");
  }

  @Test
  void aGenerationProbeAloneNeedsTheConfiguredConsecutiveProbesToReadmit() {
    makeReady();
    fail(3);
    node.generationProbeSucceeded();
    pass(1);
    assertThat(node.state()).isEqualTo(NodeState.DEGRADED);

    pass(1);
    assertThat(node.state()).isEqualTo(NodeState.READY);
  }

  @Test
  void aGenerationProbeThatPassedBeforeTheLastFailedProbeDoesNotCount() {
    makeReady();
    fail(3);
    node.generationProbeSucceeded();
    fail(1);
    pass(5);
    assertThat(node.state()).isEqualTo(NodeState.DEGRADED);

    node.generationProbeSucceeded();
    assertThat(node.state()).isEqualTo(NodeState.READY);
  }

  @Test
  void aFailedGenerationProbeDegradesANodeWhoseShallowProbesStillPass() {
    makeReady();
    node.generationProbeFailed("no first token in 20 s");
    assertThat(node.state()).isEqualTo(NodeState.DEGRADED);
    assertThat(node.snapshot().reason()).isEqualTo("generation probe failed (no first token in 20 s)");

    pass(1);
    node.generationProbeSucceeded();
    assertThat(node.state()).as("the streak of shallow probes before the hang does not count").isEqualTo(NodeState.DEGRADED);
    pass(1);
    assertThat(node.state()).isEqualTo(NodeState.READY);
  }

  @Test
  void warmUpGatesReady() {
    node.warmupStarted();
    node.probeSucceeded();
    node.generationProbeSucceeded();
    assertThat(node.state()).isEqualTo(NodeState.WARMING);

    node.warmupFinished(true);
    assertThat(node.state()).isEqualTo(NodeState.READY);
    assertThat(node.snapshot().reason()).isEqualTo("warm-up done; probe and a generation probe passed");
  }

  @Test
  void aFailedWarmUpDegradesTheNode() {
    node.probeSucceeded();
    node.warmupStarted();
    node.warmupFinished(false);

    assertThat(node.state()).isEqualTo(NodeState.DEGRADED);
    assertThat(node.snapshot().reason()).isEqualTo("warm-up failed");
  }

  @Test
  void selfHealWarmUpTakesADegradedNodeThroughWarmingBackToReady() {
    makeReady();
    fail(3);
    node.warmupStarted();
    assertThat(node.state()).isEqualTo(NodeState.WARMING);
    pass(2);
    node.generationProbeSucceeded();
    assertThat(node.state()).isEqualTo(NodeState.WARMING);

    node.warmupFinished(true);
    assertThat(transitions).containsExactly(
        "a10-01 READY → DEGRADED: 3 consecutive probe failures (connect refused)",
        "a10-01 DEGRADED → WARMING: warm-up started",
        "a10-01 WARMING → READY: warm-up done; 2 consecutive probes and a generation probe passed");
  }

  @Test
  void drainingIgnoresProbesUntilUndrain() {
    makeReady();
    node.drain();
    assertThat(node.state()).isEqualTo(NodeState.DRAINING);
    assertThat(node.eligible(now.get())).isFalse();

    fail(3);
    assertThat(node.state()).isEqualTo(NodeState.DRAINING);

    node.undrain();
    assertThat(node.state()).isEqualTo(NodeState.DEGRADED);
    assertThat(transitions).containsExactly(
        "a10-01 READY → DRAINING: drained by operator",
        "a10-01 DRAINING → DEGRADED: undrained; 3 consecutive probe failures (connect refused)");
  }

  @Test
  void undrainingAHealthyNodeReturnsItToReady() {
    makeReady();
    node.drain("kernel update");
    pass(3);
    node.undrain();

    assertThat(node.state()).isEqualTo(NodeState.READY);
    assertThat(node.eligible(now.get())).isTrue();
    assertThat(transitions).containsExactly(
        "a10-01 READY → DRAINING: kernel update", "a10-01 DRAINING → READY: undrained");
  }

  @Test
  void aNodeUnreachableForTwelveProbesIsDownAndComesBackThroughWarming() {
    makeReady();
    fail(12);
    assertThat(node.state()).isEqualTo(NodeState.DOWN);

    pass(1);
    assertThat(node.state()).isEqualTo(NodeState.WARMING);
    node.generationProbeSucceeded();
    assertThat(node.state()).isEqualTo(NodeState.WARMING);
    pass(1);
    assertThat(node.state()).isEqualTo(NodeState.READY);
    assertThat(transitions).containsExactly(
        "a10-01 READY → DEGRADED: 3 consecutive probe failures (connect refused)",
        "a10-01 DEGRADED → DOWN: 12 consecutive probe failures (connect refused)",
        "a10-01 DOWN → WARMING: probe passed: reachable again",
        "a10-01 WARMING → READY: 2 consecutive probes and a generation probe passed");
  }

  @Test
  void listenerSeesEachTransitionExactlyOnce() {
    node.probeSucceeded();
    node.probeSucceeded();
    node.generationProbeSucceeded();
    node.generationProbeSucceeded();
    fail(5);
    node.generationProbeFailed("timeout");
    node.drain();
    node.drain();
    node.undrain();
    node.undrain();

    assertThat(transitions).containsExactly(
        "a10-01 STARTING → WARMING: probe passed: reachable",
        "a10-01 WARMING → READY: probe and a generation probe passed",
        "a10-01 READY → DEGRADED: 3 consecutive probe failures (connect refused)",
        "a10-01 DEGRADED → DRAINING: drained by operator",
        "a10-01 DRAINING → DEGRADED: undrained; 3 consecutive probe failures (connect refused)");
  }

  @Test
  void healthRatioIsTheShareOfTheLastTenProbesPassed() {
    assertThat(node.healthRatio()).as("before any probe").isEqualTo(1.0);

    pass(1);
    fail(1);
    assertThat(node.healthRatio()).isEqualTo(0.5);

    pass(8);
    assertThat(node.healthRatio()).isEqualTo(0.9);

    pass(1);
    assertThat(node.healthRatio()).as("the oldest success left the window").isEqualTo(0.9);
    pass(1);
    assertThat(node.healthRatio()).as("the failure left the window").isEqualTo(1.0);

    fail(3);
    assertThat(node.healthRatio()).isEqualTo(0.7);
  }

  @Test
  void sinceIsTakenFromTheInjectedClock() {
    assertThat(node.snapshot().sinceMillis()).isEqualTo(1_000_000);
    now.set(2_000_000);
    node.probeSucceeded();
    assertThat(node.snapshot().sinceMillis()).isEqualTo(2_000_000);
  }
}
