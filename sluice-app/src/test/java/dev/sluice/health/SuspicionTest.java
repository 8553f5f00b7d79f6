package dev.sluice.health;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Live traffic suspects a node that stopped answering: out of rotation at once, back when it answers again. */
class SuspicionTest {
  private final AtomicLong now = new AtomicLong(1_000_000);
  private final List<String> events = new ArrayList<>();
  private EjectionGuard guard = EjectionGuard.allowAll();
  private final NodeHealth node = new NodeHealth("h100-01", HealthPolicy.defaults(), now::get,
      (id, t) -> guard.decide(id, t), new HealthListener() {
        @Override
        public void onTransition(String id, NodeState from, NodeState to, String reason) {
          events.add(from + " → " + to);
        }

        @Override
        public void onSuspected(String id, String reason) {
          events.add("suspected: " + reason);
        }

        @Override
        public void onEjectionWithheld(String id, String reason) {
          events.add("withheld: " + reason);
        }
      });

  private void makeReady() {
    node.probeSucceeded();
    node.generationProbeSucceeded();
    assertThat(node.state()).isEqualTo(NodeState.READY);
    events.clear();
  }

  @Test
  void aSuspectedNodeGetsNoNewRequestsAtOnceAndItsListenerAsksForAProbe() {
    makeReady();
    node.suspect("no first token within 1500 ms");
    assertThat(node.eligible(now.get())).isFalse();
    assertThat(node.snapshot().suspicion()).isEqualTo("no first token within 1500 ms");
    assertThat(node.state()).isEqualTo(NodeState.READY); // the probes decide its state, not one request
    assertThat(events).containsExactly("suspected: no first token within 1500 ms");
  }

  @Test
  void aPassedGenerationProbeEndsTheSuspicion() {
    makeReady();
    node.suspect("no first token within 1500 ms");
    node.generationProbeSucceeded();
    assertThat(node.eligible(now.get())).isTrue();
    assertThat(node.snapshot().suspicion()).isNull();
  }

  @Test
  void anAnswerThatCompletesEndsTheSuspicion() {
    makeReady();
    node.suspect("sent nothing for 5000 ms while streaming 3 answers");
    node.observeSuccess();
    assertThat(node.eligible(now.get())).isTrue();
  }

  @Test
  void aFailedGenerationProbeMakesTheSuspectedNodeDegraded() {
    makeReady();
    node.suspect("no first token within 1500 ms");
    node.generationProbeFailed("no answer in 30 s");
    assertThat(node.state()).isEqualTo(NodeState.DEGRADED);
    assertThat(node.snapshot().suspicion()).isNull();
    assertThat(node.eligible(now.get())).isFalse();
  }

  @Test
  void aSecondSuspicionWhileSuspectedAsksForNoSecondProbe() {
    makeReady();
    node.suspect("first");
    node.suspect("second");
    assertThat(events).containsExactly("suspected: first");
  }

  @Test
  void theLastEligibleNodeOfAModelIsNotSuspectedButTheWithholdingIsReported() {
    makeReady();
    guard = (id, t) -> EjectionDecision.withhold("last eligible node of qwen3:32b");
    node.suspect("no first token within 1500 ms");
    assertThat(node.eligible(now.get())).isTrue();
    assertThat(events).containsExactly(
        "withheld: not suspected after no first token within 1500 ms: last eligible node of qwen3:32b");
  }

  @Test
  void aNodeThatIsNotReadyIsNotSuspected() {
    node.probeSucceeded(); // WARMING
    node.suspect("no first token within 1500 ms");
    assertThat(node.snapshot().suspicion()).isNull();
    assertThat(events).noneMatch(e -> e.startsWith("suspected"));
  }
}
