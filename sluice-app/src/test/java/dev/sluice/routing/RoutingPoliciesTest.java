package dev.sluice.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Round robin, least request, the queue + KV scorer, and the policy factory. */
class RoutingPoliciesTest {
  private static final RouteRequest CHAT = new RouteRequest("qwen3:32b", 1_000, 200, 0);
  private static final SplittableRandom RANDOM = new SplittableRandom(1);

  private static List<String> plan(RoutingPolicy policy, RouteRequest request, List<NodeView> nodes) {
    return ((RouteDecision.Plan) policy.decide(request, nodes, RANDOM)).nodeIds();
  }

  @Test
  void roundRobinRotatesThePlanPerModel() {
    RoutingPolicy policy = RoutingPolicy.roundRobin();
    List<NodeView> nodes = List.of(Node.of("c").view(), Node.of("a").view(), Node.of("b").view());
    RouteRequest other = new RouteRequest("qwen2:7b", 100, 10, 0);

    assertThat(plan(policy, CHAT, nodes)).containsExactly("a", "b", "c");
    assertThat(plan(policy, CHAT, nodes)).containsExactly("b", "c", "a");
    assertThat(plan(policy, other, nodes)).containsExactly("a", "b", "c");
    assertThat(plan(policy, CHAT, List.of(nodes.get(2), nodes.get(0), nodes.get(1)))).containsExactly("c", "a", "b");
    assertThat(plan(policy, CHAT, nodes)).containsExactly("a", "b", "c");
  }

  @Test
  void roundRobinIgnoresLoadAndSpeed() {
    RoutingPolicy policy = new RoundRobinPolicy();
    List<NodeView> nodes = List.of(Node.a10("a").inFlight(50, 100_000, 10).view(), Node.h100("b").view());
    List<String> firsts = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      firsts.add(plan(policy, CHAT, nodes).get(0));
    }
    assertThat(firsts).containsExactly("a", "b", "a", "b");
  }

  @Test
  void leastRequestOrdersByInFlightRequests() {
    List<NodeView> nodes = List.of(Node.h100("h").inFlight(7, 0, 0).view(), Node.a10("a").inFlight(2, 0, 0).view(),
        Node.a100("m").inFlight(4, 0, 0).view());

    assertThat(plan(RoutingPolicy.leastRequest(), CHAT, nodes)).containsExactly("a", "m", "h");
  }

  @Test
  void leastRequestBreaksTiesAtRandom() {
    RoutingPolicy policy = new LeastRequestPolicy();
    List<NodeView> nodes = List.of(Node.of("a").inFlight(3, 0, 0).view(), Node.of("b").inFlight(3, 0, 0).view(),
        Node.of("c").inFlight(9, 0, 0).view());
    SplittableRandom random = new SplittableRandom(2);
    int aFirst = 0;
    for (int i = 0; i < 2_000; i++) {
      List<String> ids = ((RouteDecision.Plan) policy.decide(CHAT, nodes, random)).nodeIds();
      assertThat(ids.get(2)).isEqualTo("c");
      if (ids.get(0).equals("a")) {
        aFirst++;
      }
    }
    assertThat(aFirst / 2_000.0).isCloseTo(0.5, within(0.05));
  }

  @Test
  void queueKvPrefersShortQueuesAndLightKvAndIsSpeedBlind() {
    // fast H100 with the longest queue and most prefill work loses to two idle-ish slow cards
    List<NodeView> nodes = List.of(Node.h100("h").inFlight(10, 20_000, 2).view(),
        Node.a10("a").inFlight(2, 0, 2).view(), Node.a100("m").inFlight(4, 10_000, 0).view());

    // scores: a = 1 + 1 = 2; m = 0.75 + 0.5 = 1.25; h = 0 + 0 = 0
    assertThat(plan(RoutingPolicy.queueKv(), CHAT, nodes)).containsExactly("a", "m", "h");
  }

  @Test
  void queueKvWeightsTradeQueueAgainstKv() {
    List<NodeView> nodes = List.of(Node.of("short-queue-heavy-kv").inFlight(1, 30_000, 0).view(),
        Node.of("long-queue-light-kv").inFlight(5, 1_000, 0).view());

    assertThat(plan(new QueueKvScorerPolicy(1, 0), CHAT, nodes).get(0)).isEqualTo("short-queue-heavy-kv");
    assertThat(plan(new QueueKvScorerPolicy(0, 1), CHAT, nodes).get(0)).isEqualTo("long-queue-light-kv");
  }

  @ParameterizedTest
  @ValueSource(strings = {"round-robin", "least-request", "gpu-weighted", "least-delay", "least-delay-no-admission",
      "queue-kv"})
  void buildsEveryPolicyByItsConfigName(String name) {
    RoutingPolicy policy = RoutingPolicy.of(name);

    assertThat(policy.name()).isEqualTo(name);
    assertThat(plan(policy, CHAT, List.of(Node.a10("a").view(), Node.h100("h").view()))).hasSize(2);
  }

  @Test
  void anUnknownPolicyNameListsTheKnownOnes() {
    assertThat(RoutingPolicy.of(" Least-Delay ").name()).isEqualTo("least-delay");
    assertThatThrownBy(() -> RoutingPolicy.of("power-of-two"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("routing.policy: \"power-of-two\" is not a routing policy (expected one of round-robin, "
            + "least-request, gpu-weighted, least-delay, least-delay-no-admission, queue-kv, prefix-hash; default least-delay)");
  }

  @Test
  void everyPolicyRefusesAnEmptyCandidateList() {
    for (String name : Policies.NAMES) {
      assertThatThrownBy(() -> RoutingPolicy.of(name).decide(CHAT, List.of(), RANDOM))
          .as(name).hasMessageContaining("no candidate nodes for model qwen3:32b");
    }
  }
}
