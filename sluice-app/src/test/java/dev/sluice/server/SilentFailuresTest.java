package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.FlowSettings;
import dev.sluice.config.RoutingSettings;
import dev.sluice.degrade.DegradationSettings;
import dev.sluice.health.HealthPolicy;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.sim.SimOptions;
import dev.sluice.testkit.ChaosLoad;
import dev.sluice.testkit.ChaosLoad.Outcome;
import dev.sluice.testkit.ChaosLoad.Result;
import dev.sluice.testkit.ChaosLoad.Shape;
import dev.sluice.testkit.GatewayWatch;
import dev.sluice.testkit.GatewayWatch.NodeSample;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.SimProcess;
import dev.sluice.testkit.TestCluster;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;
import org.assertj.core.api.SoftAssertions;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;

/**
 * Silent failures and overload under load, as an operator meets them: the cluster of the demo (qwen3:32b on an A10,
 * an A100 and an H100, qwen2:7b on another A10 as its downgrade target), nodes at time scale 10 while every timeout
 * of the gateway is wall-clock, the gateway's defaults (health, timeouts, routing, ladder) unless a test says
 * otherwise, and an open-loop load of {@value #RATE} requests a second, half of them streamed. A node that freezes
 * (SIGSTOP of a node in its own process), whose engine hangs, that swallows connections or whose streams stall must
 * leave the rotation within seconds without costing throughput or a single fallback answer while the other nodes of
 * its model are READY; a node that is merely busy stays READY; when the big model is gone the small one answers, but
 * never at the expense of its own users; and overload is shed early with Retry-After while goodput stays at capacity.
 *
 * <p>Every test prints the figures it measured in its assertion messages, so a failure says the number.
 */
class SilentFailuresTest {
  private static final String BIG = "qwen3:32b";
  private static final String SMALL = "qwen2:7b";
  /** The operator's set-up: {@code sim --time-scale 10}. */
  private static final double TIME_SCALE = 10;
  /** Requests a second of the steady load (the operator's figure was 30; 25 leaves CPU for the rest). */
  private static final double RATE = 25;
  /** Unanswered requests a client population holds before new arrivals are lost (the issue's "could not be sent"). */
  private static final int MAX_OUTSTANDING = 200;
  private static final Duration POLL = Duration.ofMillis(100);
  /** Load before the first judged phase (JIT, connections, speed estimates). */
  private static final Duration WARM_UP = Duration.ofSeconds(2);
  private static final Duration BEFORE = Duration.ofSeconds(5);
  /** Requests still unanswered this long after the load stops are given up (their latency is then a lower bound). */
  private static final Duration DRAIN = Duration.ofSeconds(5);

  /** The issue: "hung node out of rotation within 2 s". */
  private static final Duration OUT_OF_ROTATION = Duration.ofSeconds(2);
  /** The simulator's hung-engine, black-hole and stall faults: "taken out within a few seconds". */
  private static final Duration TAKEN_OUT = Duration.ofSeconds(5);
  /**
   * The first-token deadline of a node answering in tens of milliseconds: its own estimate times k is below any
   * floor, so the deadline is the floor; the issue's 2 s out-of-rotation figure bounds it (a node with requests past
   * their deadlines is suspected at once). The issue's bound on the hung node's p99 is this plus one normal answer.
   */
  private static final Duration DEADLINE_OF_A_FAST_NODE = Duration.ofSeconds(2);
  /** The brief: p99 ≤ 800 ms while the small model answers for the big one. */
  private static final double DOWNGRADED_P99_MS = 800;
  /** The issue: NORMAL within 15 s of the nodes being READY again. */
  private static final Duration NORMAL_AFTER_READY = Duration.ofSeconds(15);
  /** ROUTING.md's goodput: TTFT ≤ 5 s and time per output token ≤ 200 ms. */
  private static final double GOOD_TTFT_MS = 5_000;
  private static final double GOOD_TPOT_MS = 200;

  // ------------------------------------------------------------------ a node that stops answering

  @Test
  void aFrozenNodeLeavesTheRotationWithinTwoSecondsWithoutCostingThroughputOrFallbacks() {
    try (SimProcess h100 = SimProcess.start(sim("h100", GpuProfile.H100, BIG, Map.of("maxModelLenTokens", 24576.0)));
        TestCluster c = demoCluster().node(h100).start()) {
      long t0 = System.nanoTime();
      try (GatewayWatch watch = new GatewayWatch(c.url(""), t0, POLL);
          ChaosLoad load = new ChaosLoad(c.port(), 256, t0)) {
        load.open("users", RATE, MAX_OUTSTANDING, SilentFailuresTest::shortChat);
        runFor(WARM_UP.plus(BEFORE));
        long faultAt = load.now();
        h100.pause();
        runFor(Duration.ofSeconds(15));
        long clearedAt = load.now();
        h100.resume();
        runFor(Duration.ofSeconds(6));
        long endAt = load.now();
        load.stopAndDrain(DRAIN);
        judgeSingleNodeFault("SIGSTOP of h100 for 15 s", load, watch, "h100", WARM_UP.toNanos(), faultAt, clearedAt,
            endAt, OUT_OF_ROTATION, true, null);
      }
    }
  }

  @Test
  void aHungEngineWhoseProbesPassIsTakenOutWithinSecondsWithoutFallbacks() {
    singleSimulatedFault(SimFault.node(SimFault.Kind.HUNG_ENGINE));
  }

  @Test
  void aBlackHoledNodeIsTakenOutWithinSecondsWithoutFallbacks() {
    singleSimulatedFault(SimFault.node(SimFault.Kind.BLACK_HOLE));
  }

  @Test
  void aNodeWhoseStreamsStallIsTakenOutWithinSecondsWithoutFallbacks() {
    singleSimulatedFault(SimFault.stall(2));
  }

  /** The fault on the H100 (the fastest node, least-delay's favourite) for 12 s under the steady load. */
  private static void singleSimulatedFault(SimFault fault) {
    try (TestCluster c = demoCluster().node(sim("h100", GpuProfile.H100, BIG, Map.of("maxModelLenTokens", 24576.0)))
        .start()) {
      long t0 = System.nanoTime();
      try (GatewayWatch watch = new GatewayWatch(c.url(""), t0, POLL);
          ChaosLoad load = new ChaosLoad(c.port(), 256, t0)) {
        load.open("users", RATE, MAX_OUTSTANDING, SilentFailuresTest::shortChat);
        runFor(WARM_UP.plus(BEFORE));
        long faultAt = load.now();
        long receivedBefore = c.sim("h100").stats().requestsReceived();
        c.sim("h100").injectFault(fault);
        runFor(Duration.ofSeconds(12));
        long clearedAt = load.now();
        long receivedDuring = c.sim("h100").stats().requestsReceived() - receivedBefore;
        c.sim("h100").clearFault(fault.kind());
        runFor(Duration.ofSeconds(6));
        long endAt = load.now();
        load.stopAndDrain(DRAIN);
        judgeSingleNodeFault(fault.describe() + " on h100 for 12 s", load, watch, "h100", WARM_UP.toNanos(), faultAt,
            clearedAt, endAt, TAKEN_OUT, false, "generation requests h100 received during the fault: "
                + receivedDuring);
      }
    }
  }

  /**
   * The issue's figures for one node's fault: out of rotation within {@code outBound}, 0 static or downgraded answers
   * during and after the fault while the model's other nodes are READY, and (for a frozen node) completed requests a
   * second ≥ 80 % of before and p99 of the requests sent during the fault ≤ the node's deadline + one normal answer.
   */
  private static void judgeSingleNodeFault(String what, ChaosLoad load, GatewayWatch watch, String node, long from,
      long faultAt, long clearedAt, long endAt, Duration outBound, boolean throughputAndP99, String extra) {
    List<Result> all = load.results();
    double beforeRate = rate(all, Result::real, from, faultAt);
    double duringRate = rate(all, Result::real, faultAt, clearedAt);
    List<Result> before = sentIn(all, from, faultAt);
    List<Result> during = sentIn(all, faultAt, clearedAt);
    // one normal answer: requests of the steady phase that also ended before the fault (none it caught)
    double normalP99 = ChaosLoad.latencyPercentile(before.stream().filter(r -> r.doneNanos() < faultAt).toList(), 99);
    double duringP99 = ChaosLoad.latencyPercentile(during, 99);
    NodeSample out = watch.first(node, faultAt, s -> !s.inRotation());
    long outAfter = out == null ? -1 : out.atNanos() - faultAt;
    List<Result> fallbacks = all.stream().filter(r -> r.doneNanos() >= faultAt)
        .filter(r -> r.outcome() == Outcome.STATIC || r.outcome() == Outcome.DOWNGRADED).toList();
    List<String> others = List.of("a10", "a100");
    boolean othersReady = others.stream().allMatch(o -> watch.matching(o, faultAt, endAt, s -> !s.inRotation())
        .isEmpty());
    String figures = String.format(Locale.ROOT, "%s: out of rotation %s after the fault (bound %s); completed "
            + "real answers %.1f/s before, %.1f/s during (%.0f %%); p99 before %s, of requests sent during the fault "
            + "%s (bound %s + %s); static or downgraded answers during and after: %d (first %s after the fault); "
            + "arrivals not sent: %d; outcomes before %s, during %s, after %s; answered by (during) %s; states %s; "
            + "levels of %s %s%s",
        what, outAfter < 0 ? "never" : ChaosLoad.sec(outAfter), ChaosLoad.sec(outBound.toNanos()), beforeRate,
        duringRate, beforeRate == 0 ? 0 : 100 * duringRate / beforeRate, ChaosLoad.ms(normalP99),
        ChaosLoad.ms(duringP99), ChaosLoad.sec(DEADLINE_OF_A_FAST_NODE.toNanos()), ChaosLoad.ms(normalP99),
        fallbacks.size(), fallbacks.isEmpty() ? "-" : ChaosLoad.sec(fallbacks.stream()
            .mapToLong(Result::doneNanos).min().orElse(0) - faultAt), load.notSent(),
        ChaosLoad.outcomes(before), ChaosLoad.outcomes(during), ChaosLoad.outcomes(sentIn(all, clearedAt, endAt)),
        ChaosLoad.byNode(during), watch.states(faultAt, endAt), BIG, watch.levels(BIG, from, endAt),
        extra == null ? "" : "; " + extra);
    System.out.println(figures);
    SoftAssertions soft = new SoftAssertions();
    soft.assertThat(othersReady).as("the other %s nodes stayed READY (precondition); %s", BIG, figures).isTrue();
    soft.assertThat(outAfter).as("time out of rotation; %s", figures).isNotNegative()
        .isLessThanOrEqualTo(outBound.toNanos());
    soft.assertThat(fallbacks).as("static or downgraded answers; %s", figures).isEmpty();
    if (throughputAndP99) {
      soft.assertThat(duringRate).as("completed requests/s during the fault vs before; %s", figures)
          .isGreaterThanOrEqualTo(0.8 * beforeRate);
      soft.assertThat(duringP99).as("p99 of requests sent during the fault; %s", figures)
          .isLessThanOrEqualTo(DEADLINE_OF_A_FAST_NODE.toMillis() + normalP99);
    }
    soft.assertAll();
  }

  // ------------------------------------------------------------------ busy is not broken

  @Test
  void aNodeHoldingThreeHundredLongStreamsStaysReadyAndOtherModelsAreAnswered() {
    // the busy H100 runs at a tenth of real speed, so 300 streams of 200 tokens last the whole test while the
    // gateway relays only ~300 chunks a second; probes every 500 ms make a starved probe show within seconds
    // the busy node is to hold 300 streams: flow control off, or the gateway would keep it at its cap (64 on an H100)
    try (TestCluster c = new TestCluster().health(TestCluster.fastProbes(Duration.ofMillis(500)))
        .routing(RoutingSettings.defaults().withFlow(FlowSettings.defaults().withEnabled(false)))
        .node(sim("busy", GpuProfile.H100, BIG, Map.of("maxModelLenTokens", 24576.0)).withTimeScale(0.1))
        .node(sim("small", GpuProfile.A10, SMALL, Map.of("kvCapacityTokens", 32768.0)))
        .start()) {
      long t0 = System.nanoTime();
      try (GatewayWatch watch = new GatewayWatch(c.url(""), t0, POLL);
          ChaosLoad streams = new ChaosLoad(c.port(), 400, t0);
          ChaosLoad users = new ChaosLoad(c.port(), 64, t0)) {
        long streamsAt = streams.now();
        streams.closed("long streams", 300, Duration.ofSeconds(1),
            n -> new Shape(BIG, true, 200, "#" + n + " Write a long essay on backpressure."));
        try {
          Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> c.sim("busy").stats().active() >= 250);
        } catch (ConditionTimeoutException e) {
          // judged below with the figure
        }
        long heldAt = streams.now();
        long heldOnNode = c.sim("busy").stats().active();
        users.open("small users", 5, 64, n -> new Shape(SMALL, n % 2 == 0, 16, "#" + n + " Say hi."));
        runFor(Duration.ofSeconds(12));
        long endAt = streams.now();
        users.stopAndDrain(DRAIN);
        List<Result> small = sentIn(users.results(), heldAt, endAt);
        List<Result> streamEnds = streams.results(r -> r.doneIn(streamsAt, endAt));
        List<NodeSample> notReady = watch.matching("busy", streamsAt, endAt,
            s -> !"READY".equals(s.state()) || s.ejected());
        String figures = String.format(Locale.ROOT, "streams running on busy when the hold began: %d (%s after the "
                + "first was sent); busy samples not READY or ejected: %d of %d (first %s: %s); states %s; short "
                + "%s requests: %s, TTFT p99 %s; long streams ended during the hold: %s; levels of %s %s",
            heldOnNode, ChaosLoad.sec(heldAt - streamsAt), notReady.size(),
            watch.matching("busy", streamsAt, endAt, s -> true).size(),
            notReady.isEmpty() ? "-" : ChaosLoad.sec(notReady.get(0).atNanos() - streamsAt),
            notReady.isEmpty() ? "-" : notReady.get(0).state() + " " + notReady.get(0).reason(),
            watch.states(streamsAt, endAt), SMALL, ChaosLoad.outcomes(small),
            ChaosLoad.ms(ChaosLoad.percentile(small.stream().map(Result::ttftMillis).toList(), 99)),
            ChaosLoad.outcomes(streamEnds), BIG, watch.levels(BIG, streamsAt, endAt));
        System.out.println(figures);
        SoftAssertions soft = new SoftAssertions();
        soft.assertThat(heldOnNode).as("streams held on the busy node (precondition); %s", figures)
            .isGreaterThanOrEqualTo(250);
        soft.assertThat(notReady.size()).as("busy node samples not READY or ejected; %s", figures).isZero();
        soft.assertThat(small).as("short requests to the other model; %s", figures).isNotEmpty()
            .allMatch(r -> r.outcome() == Outcome.ANSWERED, "answered by their model");
        soft.assertAll();
      }
    }
  }

  // ------------------------------------------------------------------ the ladder and the small model

  @Test
  void whenEveryBigModelNodeIsDownTheSmallModelAnswersAndNormalReturnsSoonAfterTheNodes() {
    try (TestCluster c = demoCluster().health(TestCluster.fastProbes(Duration.ofSeconds(1)))
        .node(sim("h100", GpuProfile.H100, BIG, Map.of("maxModelLenTokens", 24576.0))).start()) {
      long t0 = System.nanoTime();
      List<String> bigNodes = List.of("a10", "a100", "h100");
      try (GatewayWatch watch = new GatewayWatch(c.url(""), t0, POLL);
          ChaosLoad load = new ChaosLoad(c.port(), 256, t0)) {
        // 20 requests a second: well within one A10's capacity for 16-token answers
        load.open("users", 20, MAX_OUTSTANDING, SilentFailuresTest::shortChat);
        runFor(WARM_UP.plus(Duration.ofSeconds(3)));
        long downAt = load.now();
        bigNodes.forEach(n -> c.sim(n).injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS)));
        runFor(Duration.ofSeconds(12));
        long restartAt = load.now();
        bigNodes.forEach(n -> c.sim(n).clearFault(SimFault.Kind.REFUSE_CONNECTIONS));
        long readyAt = -1;
        try {
          Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(POLL).until(() -> bigNodes.stream()
              .allMatch(n -> watch.first(n, restartAt, s -> "READY".equals(s.state())) != null));
          readyAt = bigNodes.stream().mapToLong(n -> watch.first(n, restartAt, s -> "READY".equals(s.state()))
              .atNanos()).max().orElse(-1);
        } catch (ConditionTimeoutException e) {
          // judged below
        }
        long normalAt = -1;
        if (readyAt >= 0) {
          long ready = readyAt;
          try {
            Awaitility.await().atMost(NORMAL_AFTER_READY.plusSeconds(1)).pollInterval(POLL)
                .until(() -> watch.firstLevel(BIG, "NORMAL", ready) >= 0
                    || load.now() - ready > NORMAL_AFTER_READY.toNanos());
          } catch (ConditionTimeoutException e) {
            // judged below
          }
          normalAt = watch.firstLevel(BIG, "NORMAL", ready);
        }
        long endAt = load.now();
        load.stopAndDrain(DRAIN);
        List<Result> down = sentIn(load.results(), downAt, restartAt);
        List<Result> downgraded = down.stream().filter(r -> r.outcome() == Outcome.DOWNGRADED).toList();
        double share = down.isEmpty() ? 0 : (double) downgraded.size() / down.size();
        double p99 = ChaosLoad.latencyPercentile(downgraded, 99);
        long afterRestart = sentIn(load.results(), restartAt, endAt).stream()
            .filter(r -> r.outcome() == Outcome.STATIC).count();
        String figures = String.format(Locale.ROOT, "all %s nodes down for 12 s: %d requests, real (downgraded) "
                + "answers %.1f %% (bound 90 %%), p99 of those %s (bound %s), outcomes %s, answered by %s; restart "
                + "→ all READY %s; READY → %s NORMAL %s (bound %s); static answers to requests sent after the "
                + "restart: %d; levels %s; states %s",
            BIG, down.size(), 100 * share, ChaosLoad.ms(p99), ChaosLoad.ms(DOWNGRADED_P99_MS),
            ChaosLoad.outcomes(down), ChaosLoad.byNode(down),
            readyAt < 0 ? "not within 20 s" : ChaosLoad.sec(readyAt - restartAt), BIG,
            normalAt < 0 ? "not within " + ChaosLoad.sec(endAt - Math.max(readyAt, restartAt))
                : ChaosLoad.sec(normalAt - readyAt), ChaosLoad.sec(NORMAL_AFTER_READY.toNanos()), afterRestart,
            watch.levels(BIG, downAt - WARM_UP.toNanos(), endAt), watch.states(downAt, endAt));
        System.out.println(figures);
        SoftAssertions soft = new SoftAssertions();
        soft.assertThat(share).as("share of real downgraded answers while %s is down; %s", BIG, figures)
            .isGreaterThanOrEqualTo(0.9);
        soft.assertThat(p99).as("p99 of the downgraded answers; %s", figures).isLessThanOrEqualTo(DOWNGRADED_P99_MS);
        soft.assertThat(readyAt).as("the nodes READY again (precondition); %s", figures).isNotNegative();
        soft.assertThat(normalAt).as("%s back at NORMAL; %s", BIG, figures).isNotNegative();
        if (normalAt >= 0 && readyAt >= 0) {
          soft.assertThat(normalAt - readyAt).as("READY → NORMAL; %s", figures)
              .isLessThanOrEqualTo(NORMAL_AFTER_READY.toNanos());
        }
        soft.assertAll();
      }
    }
  }

  @Test
  void downgradedTrafficLeavesTheSmallModelsOwnUsersTheirShare() {
    try (TestCluster c = demoCluster().health(TestCluster.fastProbes(Duration.ofSeconds(1)))
        .node(sim("h100", GpuProfile.H100, BIG, Map.of("maxModelLenTokens", 24576.0))).start()) {
      long t0 = System.nanoTime();
      List.of("a10", "a100", "h100").forEach(n -> c.sim(n).injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS)));
      // the operator's level, so the test measures the isolation alone whatever the ladder decides by itself
      assertThat(Http.post(c.url("/admin/degradation"), "{\"level\":\"downgrade\",\"model\":\"" + BIG + "\"}")
          .statusCode()).isEqualTo(200);
      try (GatewayWatch watch = new GatewayWatch(c.url(""), t0, POLL);
          ChaosLoad big = new ChaosLoad(c.port(), 400, t0);
          ChaosLoad own = new ChaosLoad(c.port(), 64, t0)) {
        // 300 users of the big model with long answers: more than the small node's 256 sequences can run at once
        big.closed("big model users", 300, Duration.ofSeconds(1),
            n -> new Shape(BIG, false, 300, "#" + n + " Write a long essay on backpressure."));
        runFor(Duration.ofSeconds(4));
        long ownAt = own.now();
        own.open("small model users", 4, 64, n -> new Shape(SMALL, n % 2 == 0, 16, "#" + n + " Say hi."));
        runFor(Duration.ofSeconds(15));
        long endAt = own.now();
        own.stopAndDrain(DRAIN);
        List<Result> mine = sentIn(own.results(), ownAt, endAt);
        Predicate<Result> good = r -> r.outcome() == Outcome.ANSWERED && "small".equals(r.node())
            && r.ttftMillis() <= GOOD_TTFT_MS;
        long served = mine.stream().filter(good).count();
        double share = mine.isEmpty() ? 0 : (double) served / mine.size();
        List<Result> bigDuring = big.results(r -> r.doneIn(ownAt, endAt));
        String figures = String.format(Locale.ROOT, "small model's own users: %d requests, answered by small with "
                + "TTFT ≤ 5 s: %d (%.1f %%, bound 90 %%), outcomes %s, TTFT p50 %s p99 %s, first other answer %s; big "
                + "model's downgraded users during that time: outcomes %s; small node running %d at the end; levels "
                + "%s %s, %s %s",
            mine.size(), served, 100 * share, ChaosLoad.outcomes(mine),
            ChaosLoad.ms(ChaosLoad.percentile(mine.stream().map(Result::ttftMillis).toList(), 50)),
            ChaosLoad.ms(ChaosLoad.percentile(mine.stream().map(Result::ttftMillis).toList(), 99)),
            mine.stream().filter(r -> r.outcome() != Outcome.ANSWERED)
                .map(r -> r.outcome() + " " + r.status() + (r.detail() == null ? "" : " " + r.detail())).findFirst()
                .orElse("-"),
            ChaosLoad.outcomes(bigDuring), c.sim("small").stats().active(), BIG, watch.levels(BIG, 0, endAt), SMALL,
            watch.levels(SMALL, 0, endAt));
        System.out.println(figures);
        assertThat(share).as("share of the small model's own users served; %s", figures).isGreaterThanOrEqualTo(0.9);
      }
    }
  }

  // ------------------------------------------------------------------ overload

  @Test
  void atTwiceCapacityTheDefaultsShedWithRetryAfterAndKeepGoodputAtCapacity() {
    // two A10s (the demo's KV) and chat-sized prompts of ~1,000 tokens: prefill makes each node's capacity a few
    // requests a second at time scale 10, low enough that this machine can offer twice of it
    try (TestCluster c = new TestCluster().health(HealthPolicy.defaults())
        .node(sim("a10-1", GpuProfile.A10, BIG, Map.of("kvCapacityTokens", 24576.0)))
        .node(sim("a10-2", GpuProfile.A10, BIG, Map.of("kvCapacityTokens", 24576.0)))
        .start()) {
      long t0 = System.nanoTime();
      double capacity;
      String capacityBy;
      try (GatewayWatch watch = new GatewayWatch(c.url(""), t0, POLL)) {
        try (ChaosLoad saturate = new ChaosLoad(c.port(), 64, t0)) {
          // capacity: what the nodes complete a second while 24 closed-loop clients keep them busy
          saturate.closed("capacity", 24, Duration.ZERO, SilentFailuresTest::longChat);
          runFor(Duration.ofSeconds(8));
          long endAt = saturate.now();
          List<Result> counted = saturate.results(r -> r.doneIn(Duration.ofSeconds(3).toNanos(), endAt));
          capacity = rate(counted, Result::real, Duration.ofSeconds(3).toNanos(), endAt);
          capacityBy = ChaosLoad.byNode(counted).toString();
          saturate.stopAndDrain(Duration.ofSeconds(10));
        }
        try (ChaosLoad load = new ChaosLoad(c.port(), 512, t0)) {
          overload(watch, load, capacity, capacityBy);
        }
      }
    }
  }

  /** Twice {@code capacity}, open loop, for 20 s: 429s with Retry-After and goodput at capacity. */
  private static void overload(GatewayWatch watch, ChaosLoad load, double capacity, String capacityBy) {
    long overloadAt = load.now();
    load.open("users", 2 * capacity, 5_000, SilentFailuresTest::longChat);
    runFor(Duration.ofSeconds(20));
    long endAt = load.now();
    load.stopAndDrain(Duration.ofSeconds(6));
    List<Result> sent = sentIn(load.results(), overloadAt, endAt);
    long good = sent.stream().filter(SilentFailuresTest::good).count();
    double goodput = good / ((endAt - overloadAt) / 1e9);
    List<Result> shed = sent.stream().filter(r -> r.status() == 429 && r.retryAfter() != null).toList();
    String figures = String.format(Locale.ROOT, "capacity %.1f req/s (answered by %s), offered %.1f req/s "
            + "for 20 s: %d requests, outcomes %s, 429 with Retry-After %d (first says %s s), goodput (TTFT ≤ 5 "
            + "s, TPOT ≤ 200 ms) %.1f req/s = %.0f %% of capacity (bound 90 %%), TTFT p50 %s p99 %s of answered, "
            + "answered by %s; states %s",
        capacity, capacityBy, 2 * capacity, sent.size(), ChaosLoad.outcomes(sent), shed.size(),
        shed.isEmpty() ? "-" : shed.get(0).retryAfter(), goodput, capacity == 0 ? 0 : 100 * goodput / capacity,
        ChaosLoad.ms(ChaosLoad.percentile(sent.stream().filter(Result::real).map(Result::ttftMillis).toList(),
            50)),
        ChaosLoad.ms(ChaosLoad.percentile(sent.stream().filter(Result::real).map(Result::ttftMillis).toList(),
            99)),
        ChaosLoad.byNode(sent), watch.states(0, endAt));
    System.out.println(figures);
    SoftAssertions soft = new SoftAssertions();
    soft.assertThat(capacity).as("measured capacity (precondition); %s", figures).isPositive();
    soft.assertThat(shed).as("429s with Retry-After; %s", figures).isNotEmpty();
    soft.assertThat(goodput).as("goodput; %s", figures).isGreaterThanOrEqualTo(0.9 * capacity);
    soft.assertAll();
  }

  /** ROUTING.md's goodput: a real answer with TTFT ≤ 5 s and ≤ 200 ms per output token (streams; a non-streamed
   * answer's TTFT is taken as its whole latency, an upper bound). */
  private static boolean good(Result r) {
    if (!r.real() || r.ttftMillis() > GOOD_TTFT_MS) return false;
    if (!r.shape().stream()) return r.latencyMillis() <= GOOD_TTFT_MS;
    double tpot = (r.doneNanos() - r.firstByteNanos()) / 1e6 / Math.max(1, r.shape().maxTokens() - 1);
    return tpot <= GOOD_TPOT_MS;
  }

  // ------------------------------------------------------------------ helpers

  /**
   * The demo's cluster without its H100 (each test adds it, in process or as a {@link SimProcess}): qwen3:32b on an
   * A10 with the demo's KV and an A100, qwen2:7b on an A10, qwen3:32b → qwen2:7b as the downgrade, the default health
   * policy (probes every 5 s).
   */
  private static TestCluster demoCluster() {
    return new TestCluster().health(HealthPolicy.defaults())
        .degradation(DegradationSettings.defaults().withDowngrade(Map.of(BIG, SMALL)))
        .node(sim("a10", GpuProfile.A10, BIG, Map.of("kvCapacityTokens", 24576.0)))
        .node(sim("a100", GpuProfile.A100, BIG, Map.of("maxModelLenTokens", 24576.0)))
        .node(sim("small", GpuProfile.A10, SMALL, Map.of("kvCapacityTokens", 32768.0)));
  }

  private static SimOptions sim(String id, GpuProfile gpu, String model, Map<String, Double> overrides) {
    return SimOptions.defaults().withId(id).withGpu(gpu).withModels(model).withTimeScale(TIME_SCALE)
        .withOverrides(overrides);
  }

  /** Short chat, half of them streamed, each prompt distinct (no cache hit can stand in for an answer). */
  private static Shape shortChat(int n) {
    return new Shape(BIG, n % 2 == 0, 16, "#" + n + " Explain backpressure in one sentence.");
  }

  private static final String LONG_PROMPT = "Summarise the following design notes for a new engineer. "
      + "The gateway routes each request to the node with the least expected delay. ".repeat(50);

  /** A chat-sized prompt of ~1,000 tokens, 32 tokens out, half streamed. */
  private static Shape longChat(int n) {
    return new Shape(BIG, n % 2 == 0, 32, "#" + n + " " + LONG_PROMPT);
  }

  private static List<Result> sentIn(List<Result> rs, long from, long to) {
    return rs.stream().filter(r -> r.sentIn(from, to)).toList();
  }

  /** Requests that ended in {@code [from, to)} and match, per second. */
  private static double rate(List<Result> rs, Predicate<Result> p, long from, long to) {
    if (to <= from) return 0;
    return rs.stream().filter(r -> r.doneIn(from, to)).filter(p).count() / ((to - from) / 1e9);
  }

  /** Lets the load run for {@code d} (a phase of fixed length, not a wait for state). */
  private static void runFor(Duration d) {
    long end = System.nanoTime() + d.toNanos();
    Awaitility.await().atMost(d.plusSeconds(5)).pollInterval(Duration.ofMillis(20))
        .until(() -> System.nanoTime() >= end);
  }
}
