package dev.sluice.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LeastDelayPolicyTest {
  private static final RouteRequest CHAT = new RouteRequest("qwen3:32b", 1_000, 200, 0);
  private final LeastDelayPolicy policy = new LeastDelayPolicy();

  @ParameterizedTest(name = "{0}")
  @CsvSource(textBlock = """
      idle: prompt only,                 0,      0, 0, 1000, 200,  500.0, 2500.0
      prefill backlog waits first,       3000,   1, 0, 1000, 200, 2000.0, 4000.0
      running decodes slow each token,   0,      5, 5, 1000, 200,  500.0, 2700.0
      no output,                         0,      0, 0, 1000,   0,  500.0,  500.0
      """)
  void estimatesTimeToFirstTokenAndEndToEnd(String label, long backlog, int requests, int decodes, int prompt,
      int output, double ttft, double e2e) {
    NodeView node = Node.of("n").speed(2_000, 10).inFlight(requests, backlog, decodes).view();

    var estimate = policy.estimate(new RouteRequest("m", prompt, output, 0), node);

    // 2,000 tok/s = 0.5 ms per prompt token; 10 ms per output token × (1 + 0.02 per running decode)
    assertThat(estimate.ttftMillis()).isCloseTo(ttft, within(1e-6));
    assertThat(estimate.e2eMillis()).isCloseTo(e2e, within(1e-6));
  }

  @Test
  void aNodeWhoseWorkIsNotDrainingLosesItsTrafficWithinAFractionOfASecond() {
    // an H100 that stopped answering with 12 requests on it, beside an idle A100: counts alone still favour the H100
    NodeView hung = Node.h100("h100").inFlight(12, 600, 10).silent(400).view();
    NodeView idle = Node.a100("a100").view();
    RouteRequest chat = new RouteRequest("m", 50, 129, 0);
    assertThat(policy.estimate(chat, Node.h100("h100").inFlight(12, 600, 10).view()).e2eMillis())
        .isLessThan(policy.estimate(chat, idle).e2eMillis());

    var plan = (RouteDecision.Plan) policy.decide(chat, List.of(hung, idle), new SplittableRandom(1));

    assertThat(plan.nodeIds()).containsExactly("a100", "h100");
    var estimate = policy.estimate(chat, hung);
    assertThat(estimate.stallMillis()).isEqualTo(400);
    assertThat(estimate.expectedTtftMillis()).isCloseTo(estimate.ttftMillis() - 400, within(1e-9));
  }

  @Test
  void aNodeWithFixedSlotsAddsTheDecodesAheadAsQueueWait() {
    LeastDelayPolicy slotted = new LeastDelayPolicy(true, 0, v -> 1);
    NodeView ollama = Node.of("ollama").speed(570, 53).inFlight(3, 2_000, 1).view();

    var estimate = slotted.estimate(CHAT, ollama);

    // 3 in flight on 1 slot: 3 requests ahead each hold the slot ~200 × 53 ms; their prompts are in the backlog
    double expectedTtft = 3 * 200 * 53 + 3_000 * 1000.0 / 570;
    assertThat(estimate.ttftMillis()).isCloseTo(expectedTtft, within(1e-6));
  }

  @Test
  void prefersTheFastIdleNode() {
    List<NodeView> nodes = List.of(Node.a10("a10").view(), Node.a100("a100").view(), Node.h100("h100").view());

    var plan = (RouteDecision.Plan) policy.decide(CHAT, nodes, new SplittableRandom(1));

    assertThat(plan.nodeIds()).containsExactly("h100", "a100", "a10");
  }

  @Test
  void movesAwayFromANodeWithABigPrefillBacklog() {
    NodeView busyH100 = Node.h100("h100").inFlight(40, 100_000, 0).view();
    NodeView idleA100 = Node.a100("a100").view();

    var plan = (RouteDecision.Plan) policy.decide(CHAT, List.of(busyH100, idleA100), new SplittableRandom(1));

    // A100: 417 ms + 200 × 19 ms = 4.2 s; H100: 101,000 / 12,000 tok/s = 8.4 s + 3 s = 11.4 s
    assertThat(plan.nodeIds()).containsExactly("a100", "h100");
  }

  @Test
  void breaksTiesBetweenIdenticalNodesAtRandom() {
    List<NodeView> nodes = List.of(Node.a10("a").view(), Node.a10("b").view());
    int aFirst = 0;
    SplittableRandom random = new SplittableRandom(5);
    for (int i = 0; i < 2_000; i++) {
      var plan = (RouteDecision.Plan) policy.decide(CHAT, nodes, random);
      if (plan.nodeIds().get(0).equals("a")) {
        aFirst++;
      }
    }
    assertThat(aFirst / 2_000.0).isCloseTo(0.5, within(0.05));
  }

  @Test
  void movesShareAwayFromAThrottledNodeAndKeepsItOnTheFullSpeedNode() {
    Map<String, Integer> healthy = burstShares(false);
    Map<String, Integer> throttled = burstShares(true);

    assertThat(throttled.get("h100")).isLessThan(healthy.get("h100"));
    assertThat(throttled.get("a100")).isGreaterThanOrEqualTo(healthy.get("a100"));
    assertThat(throttled.get("a100")).isGreaterThan(0);
  }

  /** Routes a burst of 60 chat requests; each one routed adds its prompt to the chosen node's in-flight work. */
  private Map<String, Integer> burstShares(boolean throttleH100) {
    Map<String, Node> nodes = new HashMap<>();
    nodes.put("a10", Node.a10("a10"));
    nodes.put("a100", Node.a100("a100"));
    nodes.put("h100", throttleH100 ? Node.h100("h100").throttled(0.55) : Node.h100("h100"));
    Map<String, int[]> load = new HashMap<>();
    nodes.keySet().forEach(id -> load.put(id, new int[1]));
    Map<String, Integer> shares = new HashMap<>();
    SplittableRandom random = new SplittableRandom(11);
    RouteRequest request = new RouteRequest("qwen3:32b", 2_000, 50, 0);
    for (int i = 0; i < 60; i++) {
      List<NodeView> views = new ArrayList<>();
      nodes.forEach((id, node) -> {
        int n = load.get(id)[0];
        views.add(node.inFlight(n, (long) n * request.promptTokens(), 0).view());
      });
      var plan = (RouteDecision.Plan) policy.decide(request, views, random);
      String chosen = plan.nodeIds().get(0);
      load.get(chosen)[0]++;
      shares.merge(chosen, 1, Integer::sum);
    }
    nodes.keySet().forEach(id -> shares.putIfAbsent(id, 0));
    return shares;
  }

  @Test
  void rejectsWithRetryAfterWhenEveryNodeIsOverTheTtftBudget() {
    RouteRequest request = new RouteRequest("qwen3:32b", 1_000, 200, 5_000);
    // H100: (72,000 + 1,000) / 12,000 = 6,083 ms; A100: (14,000 + 1,000) / 2,400 = 6,250 ms
    List<NodeView> nodes = List.of(Node.h100("h100").inFlight(30, 72_000, 0).view(),
        Node.a100("a100").inFlight(10, 14_000, 0).view());

    RouteDecision decision = policy.decide(request, nodes, new SplittableRandom(1));

    assertThat(decision).isInstanceOf(RouteDecision.Reject.class);
    var reject = (RouteDecision.Reject) decision;
    assertThat(reject.retryAfterMillis()).isEqualTo(1_084);
    assertThat(reject.reason()).contains("qwen3:32b", "5,000 ms", "h100");
  }

  @Test
  void acceptsAndPutsNodesWithinBudgetFirstWhenOneNodeCanMeetIt() {
    RouteRequest request = new RouteRequest("qwen3:32b", 1_000, 2_000, 5_000);
    // H100 is fastest end to end but 6.1 s to first token; the A10 answers first within 1.3 s
    List<NodeView> nodes = List.of(Node.h100("h100").inFlight(30, 72_000, 0).view(), Node.a10("a10").view());

    var plan = (RouteDecision.Plan) policy.decide(request, nodes, new SplittableRandom(1));

    assertThat(plan.nodeIds()).containsExactly("a10", "h100");
  }

  @Test
  void admitsAnOversizedPromptToAnIdleNodeBecauseWaitingCannotHelp() {
    RouteRequest huge = new RouteRequest("qwen3:32b", 20_000, 200, 5_000);
    // 20,000 / 760 tok/s = 26 s of its own prefill, nothing ahead
    RouteDecision decision = policy.decide(huge, List.of(Node.a10("a10").view()), new SplittableRandom(1));

    assertThat(decision).isInstanceOf(RouteDecision.Plan.class);
  }

  @Test
  void aNodeWhoseSpeedIsAGuessIsNotRefusedOnTheGuessButLearnsFirst() {
    // a 190 KB agent prompt (~47k tokens) with one ahead: 94 s at the guessed 1,000 tokens/s
    RouteRequest agent = new RouteRequest("qwen3:32b", 47_000, 200, 2_000);
    NodeView guessed = Node.of("fake-upstream").inFlight(1, 47_000, 0).guessed().view();
    NodeView observed = Node.of("fake-upstream").inFlight(1, 47_000, 0).view();

    assertThat(policy.decide(agent, List.of(guessed), new SplittableRandom(1))).isInstanceOf(RouteDecision.Plan.class);
    assertThat(policy.decide(agent, List.of(observed), new SplittableRandom(1)))
        .isInstanceOf(RouteDecision.Reject.class);
  }

  @Test
  void aZeroBudgetOrTheVariantWithoutAdmissionNeverRejects() {
    List<NodeView> swamped = List.of(Node.a10("a10").inFlight(100, 1_000_000, 0).view());
    RouteRequest noBudget = new RouteRequest("qwen3:32b", 1_000, 200, 0);
    RouteRequest budget = new RouteRequest("qwen3:32b", 1_000, 200, 5_000);

    assertThat(policy.decide(noBudget, swamped, new SplittableRandom(1))).isInstanceOf(RouteDecision.Plan.class);
    assertThat(LeastDelayPolicy.withoutAdmission().decide(budget, swamped, new SplittableRandom(1)))
        .isInstanceOf(RouteDecision.Plan.class);
    assertThat(policy.decide(budget, swamped, new SplittableRandom(1))).isInstanceOf(RouteDecision.Reject.class);
    assertThat(LeastDelayPolicy.withoutAdmission().name()).isEqualTo("least-delay-no-admission");
  }
}
