package dev.sluice.health;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.health.Failure.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LastNodeGuardTest {
  private static final long NOW = 1_000_000;

  private static HealthSnapshot node(String id, NodeState state, long ejectedUntil) {
    return new HealthSnapshot(id, state, 0, "", 0, 0, 1.0, new EjectionState(0, ejectedUntil == 0 ? 0 : 1, ejectedUntil));
  }

  private static HealthSnapshot ready(String id) {
    return node(id, NodeState.READY, 0);
  }

  private static String decide(String nodeId, Map<String, List<HealthSnapshot>> nodesByModel) {
    EjectionDecision d = LastNodeGuard.decide(nodeId, nodesByModel, NOW);
    return d.eject() ? "eject" : d.reason();
  }

  @Test
  void decidesOverSnapshots() {
    String withheld = "last eligible node of qwen3:32b: kept in rotation, the model degrades instead";
    record Case(String name, Map<String, List<HealthSnapshot>> nodes, String expected) {}
    List<Case> cases = List.of(
        new Case("only node of the model", Map.of("qwen3:32b", List.of(ready("a"))), withheld),
        new Case("another eligible node", Map.of("qwen3:32b", List.of(ready("a"), ready("b"))), "eject"),
        new Case("the other node is degraded",
            Map.of("qwen3:32b", List.of(ready("a"), node("b", NodeState.DEGRADED, 0))), withheld),
        new Case("the other node is draining",
            Map.of("qwen3:32b", List.of(ready("a"), node("b", NodeState.DRAINING, 0))), withheld),
        new Case("the other node is ejected",
            Map.of("qwen3:32b", List.of(ready("a"), node("b", NodeState.READY, NOW + 1))), withheld),
        new Case("the other node's ejection has just expired",
            Map.of("qwen3:32b", List.of(ready("a"), node("b", NodeState.READY, NOW))), "eject"),
        new Case("the node is not eligible anyway",
            Map.of("qwen3:32b", List.of(node("a", NodeState.WARMING, 0))), "eject"),
        new Case("one of its two models has no other node",
            Map.of("qwen3:32b", List.of(ready("a"), ready("b")), "qwen2:7b", List.of(ready("a"))),
            "last eligible node of qwen2:7b: kept in rotation, the model degrades instead"),
        new Case("the node serves none of the models", Map.of("qwen3:32b", List.of(ready("b"))), "eject"),
        new Case("no models", Map.of(), "eject"));

    for (Case c : cases) {
      assertThat(decide("a", c.nodes())).as(c.name()).isEqualTo(c.expected());
    }
  }

  @Test
  void theLastNodeOfAModelIsNeverEjected() {
    AtomicLong now = new AtomicLong(NOW);
    List<String> events = new ArrayList<>();
    List<NodeHealth> nodes = new ArrayList<>();
    EjectionGuard guard = EjectionGuard.lastNode(
        () -> Map.of("qwen3:32b", nodes.stream().map(NodeHealth::snapshot).toList()));
    HealthListener listener = new HealthListener() {
      @Override
      public void onTransition(String nodeId, NodeState from, NodeState to, String reason) {}

      @Override
      public void onEjected(String nodeId, EjectionState ejection, String reason) {
        events.add(nodeId + " " + reason);
      }

      @Override
      public void onEjectionWithheld(String nodeId, String reason) {
        events.add(nodeId + " " + reason);
      }
    };
    for (String id : List.of("a", "b")) {
      NodeHealth n = new NodeHealth(id, HealthPolicy.defaults(), now::get, guard, listener);
      n.probeSucceeded();
      n.generationProbeSucceeded();
      nodes.add(n);
    }
    NodeHealth a = nodes.get(0);
    NodeHealth b = nodes.get(1);

    for (int i = 0; i < 3; i++) a.observe(Kind.CONNECT);
    for (int i = 0; i < 3; i++) b.observe(Kind.NODE_ERROR);

    assertThat(a.eligible(now.get())).isFalse();
    assertThat(b.eligible(now.get())).isTrue();
    assertThat(events).containsExactly(
        "a ejected for 30 s: 3 consecutive node failures (last: connect)",
        "b not ejected after 3 consecutive node failures (last: node error): last eligible node of qwen3:32b: "
            + "kept in rotation, the model degrades instead");

    now.set(a.ejection().ejectedUntilMillis());
    for (int i = 0; i < 3; i++) b.observe(Kind.NODE_ERROR);
    assertThat(b.eligible(now.get())).as("a is back, so b may go").isFalse();
  }
}
