package dev.sluice.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class AffinityTest {
  private static final String MODEL = "qwen3:32b";
  private static final int CHUNK = PrefixChain.CHUNK_BYTES;
  private static final long PENALTY = 1_000;
  private final Affinity affinity = new Affinity(new Affinity.Settings(true, PENALTY, 1_000, 10_000));
  private final LeastDelayPolicy policy = new LeastDelayPolicy(true, LeastDelayPolicy.DEFAULT_BATCH_SLOPE,
      v -> LeastDelayPolicy.UNLIMITED_SLOTS, PENALTY);
  private final SplittableRandom random = new SplittableRandom(7);

  /** An agent's context: a shared system prompt and tools, then its own turns. */
  private static String context(String session, int chunks) {
    return PrefixChainTest.text(8 * CHUNK, 's') + PrefixChainTest.text((chunks - 8) * CHUNK, session.charAt(0));
  }

  private RouteRequest request(long session, PrefixChain chain, int promptTokens, List<NodeView> nodes) {
    return request(session, chain, promptTokens, nodes, 5_000);
  }

  private RouteRequest request(long session, PrefixChain chain, int promptTokens, List<NodeView> nodes, long budget) {
    List<String> ids = nodes.stream().map(NodeView::id).toList();
    return new RouteRequest(MODEL, promptTokens, 100, budget, affinity.warmth(session, chain, promptTokens, ids));
  }

  private String first(RouteRequest request, List<NodeView> nodes) {
    return ((RouteDecision.Plan) policy.decide(request, nodes, random)).nodeIds().get(0);
  }

  @Test
  void aSessionsNextTurnGoesWhereItsPromptIsCachedAndSaysHit() {
    List<NodeView> nodes = List.of(Node.a100("a").view(), Node.a100("b").view(), Node.a100("c").view());
    long session = Affinity.sessionKey(MODEL, "agent-1");
    PrefixChain turn1 = PrefixChain.of(MODEL, context("x", 40));
    RouteRequest r1 = request(session, turn1, 10_000, nodes);
    String node1 = first(r1, nodes);
    assertThat(affinity.sent(r1.warmth(), turn1, node1)).isEqualTo(Affinity.Outcome.MISS);

    PrefixChain turn2 = PrefixChain.of(MODEL, context("x", 42));
    RouteRequest r2 = request(session, turn2, 10_500, nodes);

    assertThat(r2.warmth().pinned()).isEqualTo(node1);
    assertThat(r2.cachedTokens(node1)).isEqualTo((int) Math.round(10_500 * turn2.share(40)));
    assertThat(first(r2, nodes)).isEqualTo(node1);
    assertThat(affinity.sent(r2.warmth(), turn2, node1)).isEqualTo(Affinity.Outcome.HIT);
  }

  @Test
  void theWarmNodeIsKeptWhileItsEstimateIsWithinThePenaltyOfTheBest() {
    // the warm node has 1.5 s of other prefill ahead (3,600 tokens at 2,400 tok/s), the cold one nothing:
    // 10,000-token prompt, 9,000 cached: warm 1.5 + 0.42 s vs cold 4.17 s: kept
    PrefixChain chain = PrefixChain.of(MODEL, context("k", 40));
    affinity.sent(new Warmth(0, 0, null, Map.of()), chain, "warm");
    List<NodeView> nodes = List.of(Node.a100("cold").view(), Node.a100("warm").inFlight(2, 3_600, 0).view());
    RouteRequest r = request(0, chain, 10_000, nodes);

    assertThat(first(r, nodes)).isEqualTo("warm");
  }

  @Test
  void aSaturatedWarmNodeReleasesTheSessionAndItsPinMoves() {
    // 12 s of prefill ahead on the warm node: waiting there costs more than recomputing elsewhere + 1 s
    long session = Affinity.sessionKey(MODEL, "agent-2");
    PrefixChain chain = PrefixChain.of(MODEL, context("m", 40));
    affinity.sent(affinity.warmth(session, chain, 10_000, List.of("warm")), chain, "warm");
    List<NodeView> nodes = List.of(Node.a100("cold").view(), Node.a100("warm").inFlight(9, 28_800, 0).view());
    RouteRequest r = request(session, chain, 10_000, nodes);

    String chosen = first(r, nodes);

    assertThat(chosen).isEqualTo("cold");
    assertThat(affinity.sent(r.warmth(), chain, chosen)).isEqualTo(Affinity.Outcome.MOVED);
    assertThat(affinity.warmth(session, chain, 10_000, List.of("warm", "cold")).pinned()).isEqualTo("cold");
    assertThat(affinity.sessions("cold")).isEqualTo(1);
    assertThat(affinity.sessions("warm")).isZero();
  }

  @Test
  void withinThePenaltyAnOtherwiseBetterNodeDoesNotTakeTheSession() {
    // pure least-delay would pick the idle H100 (its est_E2E is 0.5 s lower); the pinned A100 is within 1 s
    long session = Affinity.sessionKey(MODEL, "agent-3");
    PrefixChain chain = PrefixChain.of(MODEL, "short prompt");
    affinity.sent(affinity.warmth(session, chain, 500, List.of("a100")), chain, "a100");
    List<NodeView> nodes = List.of(Node.h100("h100").view(), Node.a100("a100").view());
    RouteRequest r = request(session, chain, 500, nodes);
    RouteDecision.Plan pure = (RouteDecision.Plan) policy.withReleasePenalty(LeastDelayPolicy.NO_AFFINITY)
        .decide(r, nodes, random);

    assertThat(pure.nodeIds().get(0)).isEqualTo("h100");
    assertThat(first(r, nodes)).isEqualTo("a100");
  }

  @Test
  void aBurstOfSubAgentsSharingAWarmPrefixStaysUntilTheWarmNodeCannotTakeItThenSpreads() {
    // three A100s; the parent's 36-chunk context is cached on "a"; 20 sub-agents (own session ids) of 10,000 tokens,
    // 9,000 of them the parent's. Each one sent adds its uncached estimate to its node's prefill backlog.
    PrefixChain parent = PrefixChain.of(MODEL, context("p", 36));
    affinity.sent(affinity.warmth(0, parent, 9_000, List.of("a")), parent, "a");
    Map<String, long[]> backlog = new LinkedHashMap<>();
    for (String id : List.of("a", "b", "c")) backlog.put(id, new long[2]);
    List<String> sentTo = new ArrayList<>();
    for (int k = 0; k < 20; k++) {
      List<NodeView> nodes = new ArrayList<>();
      backlog.forEach((id, b) -> nodes.add(Node.a100(id).inFlight((int) b[1], b[0], 0).view()));
      PrefixChain sub = PrefixChain.of(MODEL, context("p", 36) + PrefixChainTest.text(4 * CHUNK, (char) ('A' + k)));
      RouteRequest r = request(Affinity.sessionKey(MODEL, "p/sub-" + k), sub, 10_000, nodes, 60_000);
      String node = first(r, nodes);
      affinity.sent(r.warmth(), sub, node);
      backlog.get(node)[0] += 10_000 - r.cachedTokens(node);
      backlog.get(node)[1]++;
      sentTo.add(node);
    }

    // the first ones all go to the warm node; once its backlog outweighs a cold prefill + the penalty, others take some
    assertThat(sentTo.subList(0, 8)).containsOnly("a");
    assertThat(sentTo).contains("b", "c");
    assertThat(sentTo.stream().filter("a"::equals).count()).isGreaterThan(sentTo.size() / 3);
  }

  @Test
  void admissionControlJudgesTheUncachedPartOfThePrompt() {
    // 46,000 tokens on an A100 with 1 s of prefill ahead: 20 s uncached, over a 5 s budget; all cached, 1 s
    PrefixChain chain = PrefixChain.of(MODEL, context("q", 100));
    List<NodeView> nodes = List.of(Node.a100("a100").inFlight(1, 2_400, 0).view());
    assertThat(policy.decide(request(0, chain, 46_000, nodes), nodes, random)).isInstanceOf(RouteDecision.Reject.class);

    affinity.sent(Warmth.NONE, chain, "a100");
    RouteRequest warm = request(0, chain, 46_000, nodes);

    assertThat(warm.cachedTokens("a100")).isEqualTo(46_000);
    assertThat(policy.decide(warm, nodes, random)).isInstanceOf(RouteDecision.Plan.class);
  }

  @Test
  void aPrefixEveryNodeHoldsPullsNoRequestToOneOfThem() {
    // every node served some session of this agent: the shared system prompt and tools are cached everywhere
    PrefixChain shared = PrefixChain.of(MODEL, context("s", 8));
    for (String id : List.of("a", "b", "c")) affinity.sent(Warmth.NONE, shared, id);
    List<NodeView> nodes = List.of(Node.a100("a").inFlight(3, 3_000, 2).view(), Node.a100("b").view(),
        Node.a100("c").inFlight(1, 1_000, 1).view());
    RouteRequest fresh = request(0, PrefixChain.of(MODEL, context("n", 12)), 3_000, nodes);

    assertThat(fresh.cachedTokens("a")).isPositive().isEqualTo(fresh.cachedTokens("b"));
    assertThat(fresh.warmth().preferred()).isNull();
    assertThat(first(fresh, nodes)).isEqualTo("b"); // the least loaded, as without affinity
    assertThat(Affinity.outcome(fresh.warmth(), "b")).isEqualTo(Affinity.Outcome.MISS);
  }

  @Test
  void aSessionIdleForFifteenMinutesLosesItsPinAndNoLongerCountsOnItsNode() {
    long[] now = {0};
    Affinity timed = new Affinity(new Affinity.Settings(true, PENALTY, 1_000, 10_000), () -> now[0]);
    long session = Affinity.sessionKey(MODEL, "idle");
    PrefixChain chain = PrefixChain.of(MODEL, "hi");
    timed.sent(timed.warmth(session, chain, 8_000, List.of("n")), chain, "n");
    assertThat(timed.sessions("n")).isEqualTo(1);

    now[0] = 15 * 60_000L + 1;

    assertThat(timed.warmth(session, chain, 8_000, List.of("n")).pinned()).isNull();
    assertThat(timed.sessions("n")).isZero();
  }

  @Test
  void aSessionIdIsScopedToItsModel() {
    long qwen = Affinity.sessionKey("qwen3:32b", "agent-4");
    long llama = Affinity.sessionKey("llama3:70b", "agent-4");
    PrefixChain chain = PrefixChain.of("qwen3:32b", "hi");
    affinity.sent(affinity.warmth(qwen, chain, 10, List.of("n1")), chain, "n1");

    assertThat(llama).isNotEqualTo(qwen);
    assertThat(affinity.warmth(llama, PrefixChain.of("llama3:70b", "hi"), 10, List.of("n1", "n2")).pinned()).isNull();
    assertThat(affinity.warmth(qwen, chain, 10, List.of("n1", "n2")).pinned()).isEqualTo("n1");
    assertThat(Affinity.sessionKey("qwen3:32b", " ")).isZero();
  }

  @Test
  void aNodeThatLeavesRotationLosesItsPinsAndItsIndex() {
    long session = Affinity.sessionKey(MODEL, "agent-5");
    PrefixChain chain = PrefixChain.of(MODEL, context("d", 20));
    affinity.sent(affinity.warmth(session, chain, 5_000, List.of("n1")), chain, "n1");
    assertThat(affinity.sessions("n1")).isEqualTo(1);

    affinity.drop("n1"); // the gateway calls this when the node turns DEGRADED, DOWN or is ejected

    Warmth after = affinity.warmth(session, chain, 5_000, List.of("n1", "n2"));
    assertThat(after.pinned()).isNull();
    assertThat(after.cachedTokens("n1")).isZero();
    assertThat(affinity.sessions("n1")).isZero();
    assertThat(affinity.indexEntries("n1")).isZero();
    assertThat(Affinity.outcome(after, "n2")).isEqualTo(Affinity.Outcome.MISS);
  }

  @Test
  void aPinToANodeThatIsNotACandidateIsIgnored() {
    long session = Affinity.sessionKey(MODEL, "agent-6");
    PrefixChain chain = PrefixChain.of(MODEL, "hi");
    affinity.sent(affinity.warmth(session, chain, 10, List.of("n1")), chain, "n1");

    assertThat(affinity.warmth(session, chain, 10, List.of("n2", "n3")).pinned()).isNull();
  }

  @Test
  void pinsAreBoundedLeastRecentlyRoutedFirst() {
    Affinity small = new Affinity(new Affinity.Settings(true, PENALTY, 2, 100));
    PrefixChain chain = PrefixChain.of(MODEL, "hi");
    for (String s : List.of("s1", "s2", "s3")) {
      long key = Affinity.sessionKey(MODEL, s);
      small.sent(small.warmth(key, chain, 10, List.of("n")), chain, "n");
    }

    assertThat(small.sessions()).isEqualTo(2);
    assertThat(small.sessions("n")).isEqualTo(2);
    assertThat(small.warmth(Affinity.sessionKey(MODEL, "s1"), chain, 10, List.of("n")).pinned()).isNull();
  }

  @Test
  void withAffinityOffTheWarmthIsIgnored() {
    PrefixChain chain = PrefixChain.of(MODEL, context("o", 40));
    affinity.sent(Warmth.NONE, chain, "warm");
    List<NodeView> nodes = List.of(Node.a100("warm").view());
    RouteRequest r = request(0, chain, 10_000, nodes);
    LeastDelayPolicy off = policy.withReleasePenalty(LeastDelayPolicy.NO_AFFINITY);

    assertThat(off.affinity()).isFalse();
    assertThat(off.estimate(r, nodes.get(0)).ownPrefillMillis()).isEqualTo(10_000 / 2.4);
    assertThat(policy.estimate(r, nodes.get(0)).ownPrefillMillis()).isLessThan(10_000 / 2.4 * 0.25);
  }
}
