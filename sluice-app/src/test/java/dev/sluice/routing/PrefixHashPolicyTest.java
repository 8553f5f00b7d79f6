package dev.sluice.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PrefixHashPolicyTest {
  private final PrefixHashPolicy policy = new PrefixHashPolicy();
  private final SplittableRandom random = new SplittableRandom(3);

  private static RouteRequest session(String id) {
    return new RouteRequest("m", 100, 10, 0, new Warmth(Affinity.sessionKey("m", id),
        Affinity.sessionKey("m", id), null, Map.of()));
  }

  private String first(RouteRequest r, List<NodeView> nodes) {
    return ((RouteDecision.Plan) policy.decide(r, nodes, random)).nodeIds().get(0);
  }

  @Test
  void aSessionStaysOnItsNodeHoweverLoadedItIs() {
    List<NodeView> idle = List.of(Node.of("a").view(), Node.of("b").view(), Node.of("c").view());
    String home = first(session("agent-1"), idle);
    List<NodeView> loaded = idle.stream()
        .map(v -> v.id().equals(home) ? Node.of(home).inFlight(50, 500_000, 40).view() : v).toList();

    assertThat(first(session("agent-1"), loaded)).isEqualTo(home);
  }

  @Test
  void sessionsSpreadOverNodesAndOnlyTheLostNodesSessionsMove() {
    List<NodeView> three = List.of(Node.of("a").view(), Node.of("b").view(), Node.of("c").view());
    List<NodeView> two = List.of(Node.of("a").view(), Node.of("c").view());
    Map<String, Integer> counts = new HashMap<>();
    int moved = 0;
    for (int i = 0; i < 300; i++) {
      String before = first(session("s" + i), three);
      counts.merge(before, 1, Integer::sum);
      String after = first(session("s" + i), two);
      if (!before.equals("b")) {
        assertThat(after).isEqualTo(before);
      } else {
        moved++;
      }
    }

    assertThat(counts.values()).allSatisfy(n -> assertThat(n).isBetween(60, 140));
    assertThat(moved).isEqualTo(counts.get("b"));
  }

  @Test
  void aRequestWithNothingToHashGetsSomeOrderOfAllNodes() {
    List<NodeView> nodes = List.of(Node.of("a").view(), Node.of("b").view());
    RouteDecision.Plan plan = (RouteDecision.Plan) policy.decide(new RouteRequest("m", 5, 5, 0), nodes, random);

    assertThat(plan.nodeIds()).containsExactlyInAnyOrder("a", "b");
  }
}
