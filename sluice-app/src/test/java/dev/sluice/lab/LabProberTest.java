package dev.sluice.lab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.health.HealthPolicy;
import dev.sluice.health.NodeState;
import dev.sluice.sim.GpuProfile;
import dev.sluice.health.Failure;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The lab's nodes carry the gateway's health model, fed as the gateway's prober and data path feed it. */
class LabProberTest {
  private static final long SECOND = 1_000_000_000L;

  private final EventQueue events = new EventQueue();
  private final LabProber prober = new LabProber(events, new SplittableRandom(1), () -> true);
  private final List<LabNode> nodes = new ArrayList<>();

  private LabNode node(String id) {
    LabNode node = new LabNode(new LabCluster.NodeSpec(id, GpuProfile.A10), prober.newHealth(id),
        new SplittableRandom(2), events::millis);
    prober.add(node);
    nodes.add(node);
    return node;
  }

  private void start() {
    SplittableRandom phases = new SplittableRandom(3);
    for (LabNode node : nodes) {
      prober.start(node, phases);
    }
  }

  private void runUntil(long nanos) {
    while (events.nextAt() <= nanos) {
      events.runNext();
    }
    events.advanceTo(nanos);
  }

  @Test
  void nodesStartReadyAsInAGatewayThatHasBeenRunning() {
    LabNode a = node("a");

    assertThat(a.health.state()).isEqualTo(NodeState.READY);
    assertThat(a.eligible(0)).isTrue();
    assertThat(a.health.healthRatio()).isEqualTo(1.0);
  }

  @Test
  void healthRatioIsTakenOverThePolicysWindowOfTenProbesNotSix() {
    LabNode a = node("a");
    start();
    runUntil(60 * SECOND); // 12 probes or so, all passed
    a.down = true;
    runUntil(events.now() + 26 * SECOND); // 5 failed probes (5 s ± 10 % apart)

    assertThat(HealthPolicy.defaults().healthWindowProbes()).isEqualTo(10);
    assertThat(a.health.snapshot().consecutiveProbeFailures()).isEqualTo(5);
    assertThat(a.health.healthRatio()).isEqualTo(0.5); // a 6-probe window would say 1/6
  }

  @Test
  void aDownNodeIsDegradedAfterThreeFailedProbesAndBackAfterTwoProbesAndAGenerationProbe() {
    LabNode a = node("a");
    node("b");
    start();
    runUntil(10 * SECOND);
    a.down = true;
    runUntil(events.now() + 17 * SECOND);
    assertThat(a.health.state()).isEqualTo(NodeState.DEGRADED);

    a.down = false;
    runUntil(events.now() + 6 * SECOND);
    assertThat(a.health.state()).as("one probe passed").isEqualTo(NodeState.DEGRADED);
    runUntil(events.now() + 6 * SECOND);
    assertThat(a.health.state()).isEqualTo(NodeState.READY);
  }

  @Test
  void aSuspectedHungNodeFailsItsGenerationProbeAfterThirtySecondsAndIsDegraded() {
    LabNode a = node("a");
    node("b");
    start();
    a.control.hung(true);

    a.health.suspect("no first token within 10000 ms (timeouts.firstToken)");
    assertThat(a.eligible(events.now())).isFalse();
    runUntil(29 * SECOND);
    assertThat(a.health.state()).isEqualTo(NodeState.READY);
    assertThat(a.health.snapshot().suspected()).isTrue();
    runUntil(31 * SECOND);

    assertThat(a.health.state()).isEqualTo(NodeState.DEGRADED);
    assertThat(a.health.snapshot().reason()).contains("generation probe failed");
  }

  @Test
  void aSuspectedWorkingNodeIsBackInRotationAtOnce() {
    LabNode a = node("a");
    node("b");
    start();

    a.health.suspect("sent nothing for 1500 ms while 1 answer was decoding on it");
    runUntil(events.now());

    assertThat(a.eligible(events.now())).isTrue();
  }

  @Test
  void theLastEligibleNodeIsNeitherEjectedNorSuspected() {
    LabNode a = node("a");
    LabNode b = node("b");
    start();
    for (int i = 0; i < 3; i++) {
      b.health.observe(Failure.Kind.CONNECT);
    }
    assertThat(b.eligible(events.now())).isFalse();

    for (int i = 0; i < 3; i++) {
      a.health.observe(Failure.Kind.CONNECT);
    }
    a.health.suspect("no first token within 10000 ms (timeouts.firstToken)");

    assertThat(a.eligible(events.now())).isTrue();
  }

  @Test
  void aBusyOllamaAnswerDoesNotCountAgainstTheNodeButARefusedConnectionDoes() {
    LabNode a = node("a");
    node("b");
    for (int i = 0; i < 5; i++) {
      a.health.observe(Failure.Kind.BUSY);
    }
    assertThat(a.health.ejection().consecutiveFailures()).isZero();

    for (int i = 0; i < 3; i++) {
      a.health.observe(Failure.Kind.CONNECT);
    }
    assertThat(a.health.ejection().ejectedAt(events.millis())).isTrue();
  }
}
