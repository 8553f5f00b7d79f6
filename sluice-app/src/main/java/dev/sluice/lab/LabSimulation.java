package dev.sluice.lab;

import dev.sluice.flow.Band;
import dev.sluice.flow.FlowQueue;
import dev.sluice.flow.NodeCap;
import dev.sluice.health.Failure;
import dev.sluice.health.HealthPolicy;
import dev.sluice.health.NodeHealth;
import dev.sluice.lab.RunResult.NodeCounts;
import dev.sluice.lab.RunResult.Outcome;
import dev.sluice.lab.Scenario.LabEvent;
import dev.sluice.loadtest.AgentWorkload;
import dev.sluice.routing.Affinity;
import dev.sluice.routing.LeastDelayPolicy;
import dev.sluice.routing.NodeView;
import dev.sluice.routing.PrefixChain;
import dev.sluice.routing.RouteDecision;
import dev.sluice.routing.RouteRequest;
import dev.sluice.routing.RoutingPolicy;
import dev.sluice.routing.SpeedEstimator;
import dev.sluice.routing.Warmth;
import dev.sluice.sim.Admission;
import dev.sluice.sim.BatchEngine;
import dev.sluice.sim.PromptTokens;
import dev.sluice.support.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * One run of the routing lab: a discrete-event simulation in simulated nanoseconds (no wall clock, no threads) of a
 * gateway routing an open-loop request stream over a cluster of {@link BatchEngine}s with one production
 * {@link RoutingPolicy}. Same config, same policy, same result: it is deterministic for a seed, and the request
 * sequence (arrival times and sizes) depends only on the seed, the workload and the rate, never on the policy.
 *
 * <p><b>The loop.</b> Timed router events (arrivals, first-token timeouts, 5 s health probes, DCGM scrapes, the
 * scenario's faults) sit in a priority queue; each engine says when its running step ends ({@link
 * BatchEngine#nextEventAt()}). The loop takes the earliest of the two, advancing that engine (whose callbacks report
 * first tokens and completions) or running the router event. Ties go to the engine.
 *
 * <p><b>What the router knows</b> (per node, as the gateway would): its own in-flight requests, the prompt tokens
 * of those without a first token yet, and those decoding; DCGM utilisation (share of time a step ran since the last
 * scrape) and temperature scraped every 5–30 s (a fixed, seeded period per node), so stale; its health, by the
 * production {@link NodeHealth} (state, ejection, suspicion, the share of the last probes passed) fed by the
 * {@link LabProber}; a learned speed per node, the gateway's {@link SpeedEstimator} seeded from the GPU profile and fed
 * each attempt's TTFT (with the prefill backlog at send) and decode time (on Ollama nodes, the final line's timings).
 *
 * <p><b>What the gateway does</b> (docs and design/RELIABILITY.md): candidates are the nodes whose context fits and
 * that are {@link NodeHealth#eligible(long) eligible}; if none is, the request fails (the gateway's 503). The policy
 * orders them or rejects (counted as shed); the policy's {@link dev.sluice.routing.FailoverOrder} filters or regroups
 * the plan. At most 3 attempts per request go down the plan: a down node refuses at once (a failure against the
 * node), an Ollama node with a full queue answers 503 (busy: not the node's fault), and an attempt without a first
 * token after {@link #FIRST_TOKEN_TIMEOUT_NANOS} is cancelled on the node (a failure against it; the node is also
 * suspected unless it completed or sent anything within that time) and retried on the next one. A node that goes down
 * kills its streams: before the first token they fail over, after it the request fails; both count against it. A
 * completed answer is a success for the node. The gateway's progress watchdog suspects a node with answers decoding
 * that sent nothing for 1.5 s. Not modelled: the retry budget (20 % of in-flight), back-off jitter, network time, the
 * idle-between-chunks timeout (a hung node's decoding streams just wait).
 *
 * <p><b>Agent workloads</b> ({@link Workload#agent()}): sessions of {@link AgentWorkload} start as a Poisson process
 * at {@code offeredPerSecond / }{@link Capacity#requestsPerSession(Workload)} sessions per second, from
 * {@link #AGENT_WARMUP_NANOS} before the window (turns before it are skipped, so the window opens on sessions in
 * progress and the request rate is near {@code offeredPerSecond} from the start); session {@code i} is the
 * workload's session {@code i}, the same for every policy. A session's step (one main turn, or a burst of sub-agents sent together) is
 * sent when every request of its previous step ended (answered, shed or failed) and the step's think time passed;
 * steps due after the arrival window are not sent. Each request carries its prompt's token ids ({@link PromptTokens}
 * of the tools and messages as JSON, the input {@link AgentWorkload.Request#inputTokens()} counts) so the engines'
 * prefix caches work, and generates {@code max_tokens} tokens. Only the session contents are policy-independent: the
 * times of later turns follow the answers.
 *
 * <p><b>Affinity</b> (agent workloads): the router keeps the production {@link Affinity} (default settings, each
 * node's prefix index bounded by its GPU profile's KV capacity), as the gateway does. Each agent request gets its
 * {@link PrefixChain} over the same text its token ids come from, and its session key from the workload's session id
 * (a sub-agent has its own {@code parent/sub-…} id: it shares its parent's prefix, not its pin); before routing,
 * {@link Affinity#warmth} over the candidates goes into the {@link RouteRequest}; each attempt submitted to an engine
 * is recorded with {@link Affinity#sent} and its outcome counted (hit, miss, moved). A node is dropped from the
 * affinity when it goes down and when it leaves rotation (checked at each agent request's routing). When the policy
 * uses affinity (least-delay with a release penalty), what the router adds to a node's prefill backlog and what it
 * feeds {@link SpeedEstimator#observeFirstToken} is the uncached estimate (prompt − the estimated cached tokens on
 * that node), as the gateway counts it; otherwise the whole prompt. The {@code oracle} ({@link OraclePolicy}) gets a
 * warmth read from the engines' prefix caches instead. Chat workloads have no text: {@link Warmth#NONE}.
 */
public final class LabSimulation {
  /** Per-attempt first-token timeout: the lab's {@code timeouts.firstToken} for an interactive model. */
  static final long FIRST_TOKEN_TIMEOUT_NANOS = 10_000_000_000L;
  /** Attempts per request (the gateway's {@code upstream.maxAttempts} default). */
  static final int MAX_ATTEMPTS = 3;
  /** How often the gateway's progress watchdog looks at every node: a sixth of the silence it detects. */
  static final long SILENCE_CHECK_NANOS = HealthPolicy.NODE_SILENCE_MILLIS / 6 * 1_000_000;
  /** Goodput SLO: time to first token. */
  public static final long TTFT_SLO_NANOS = 5_000_000_000L;
  /** Goodput SLO: time per output token after the first. */
  public static final long TPOT_SLO_NANOS = 200_000_000L;
  /** After the arrival window, how long the run goes on for requests in flight; then they count as failed. */
  static final long DRAIN_NANOS = 300_000_000_000L;
  /**
   * Agent workloads: sessions start from this long before the arrival window (their turns before it skipped), so
   * that the window opens on the sessions in progress a steady stream of starts would have (sessions last minutes).
   */
  static final long AGENT_WARMUP_NANOS = 1_800_000_000_000L;
  /** The model every request asks for. */
  static final String MODEL = "qwen3:32b";

  private final Config config;
  private final LabPolicy labPolicy;
  private final RoutingPolicy policy;
  private final List<LabNode> nodes = new ArrayList<>();
  private final Map<String, LabNode> byId = new LinkedHashMap<>();
  private final Map<String, String> gpuTypeById = new LinkedHashMap<>();
  private final EventQueue events = new EventQueue();
  private final SplittableRandom arrivals;
  private final SplittableRandom decisions;
  private final SplittableRandom telemetry;
  private final LabProber prober;
  private final List<LabRequest> requests = new ArrayList<>();
  private int outstanding;
  private boolean arrivalsDone;
  /** Agent sessions between two steps (thinking), whose next step is on the event queue. */
  private int thinking;
  private long nextSession;
  private final AgentWorkload agents;
  /** The router's session and prefix affinity (used by agent requests only). */
  private final Affinity affinity = new Affinity(Affinity.Settings.DEFAULT, () -> events.now() / 1_000_000);
  /** Whether the policy uses affinity, so the router counts only the uncached estimate of a prompt as backlog. */
  private final boolean uncachedBacklog;
  /** Simulated time for the production classes that take a clock (the caps, the queue). */
  private final Clock clock = new Clock() {
    @Override
    public long millis() {
      return events.now() / 1_000_000;
    }

    @Override
    public long nanos() {
      return events.now();
    }
  };
  /** Flow control of the policy, or null: off. */
  private final LabPolicy.Flow flow;
  /** Flow control: the model's waiting room (every tenant weight 1), or null. */
  private final FlowQueue<LabRequest> queue;
  /** Least-delay's estimates (the expected TTFT each cap compares first tokens with), or null for other policies. */
  private final LeastDelayPolicy estimator;
  /** Flow control: the speed a request's estimated GPU time is counted at (the cluster's mean profile speeds). */
  private final double costPrefillTokensPerSecond;
  private final double costDecodeMillisPerToken;
  private boolean dispatchPending;
  /** Tenant streams not yet done sending. */
  private int streamsLeft;
  private int affinityHits;
  private int affinityMisses;
  private int affinityMoves;

  private LabSimulation(Config config, LabPolicy labPolicy) {
    this.config = config;
    this.labPolicy = labPolicy;
    this.policy = Objects.requireNonNull(labPolicy.factory().apply(config.nodes()), "policy factory returned null");
    this.uncachedBacklog = policy instanceof LeastDelayPolicy leastDelay && leastDelay.affinity();
    this.estimator = policy instanceof LeastDelayPolicy leastDelay ? leastDelay : null;
    this.flow = labPolicy.flow();
    this.queue = flow == null ? null : new FlowQueue<>(flow.queue(), clock, tenant -> 1);
    SplittableRandom root = new SplittableRandom(config.seed());
    // Independent streams, split in a fixed order: the request sequence never depends on the policy.
    this.arrivals = root.split();
    this.decisions = root.split();
    this.telemetry = root.split();
    this.prober = new LabProber(events, root.split(), this::running);
    this.agents = config.workload().agent() ? config.workload().agentWorkload(config.seed()) : null;
    double prefill = 0;
    double decode = 0;
    for (LabCluster.NodeSpec spec : config.nodes()) {
      LabNode node = new LabNode(spec, prober.newHealth(spec.id()), telemetry, clock);
      prefill += node.profile.prefillTokensPerSecond();
      decode += node.profile.decodeMillisPerToken();
      nodes.add(node);
      byId.put(spec.id(), node);
      gpuTypeById.put(spec.id(), spec.gpuLabel());
      prober.add(node);
      affinity.capacity(spec.id(), spec.gpu().kvCapacityTokens());
    }
    this.costPrefillTokensPerSecond = prefill / nodes.size();
    this.costDecodeMillisPerToken = decode / nodes.size();
  }

  /** Runs {@code policy} over {@code config} and returns what it measured. */
  public static RunResult run(Config config, LabPolicy policy) {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(policy, "policy");
    return new LabSimulation(config, policy).run();
  }

  private RunResult run() {
    for (LabEvent e : config.events()) {
      LabNode node = byId.get(e.nodeId());
      if (node == null) {
        throw new IllegalArgumentException("event " + e.kind() + " names node \"" + e.nodeId() + "\", not in "
            + byId.keySet());
      }
      at(e.fromNanos(), () -> fault(node, e.kind(), true));
      if (e.untilNanos() != Long.MAX_VALUE) {
        at(e.untilNanos(), () -> fault(node, e.kind(), false));
      }
    }
    for (LabNode node : nodes) {
      prober.start(node, telemetry);
      at((long) (telemetry.nextDouble() * node.telemetryPeriod), () -> scrape(node));
    }
    at(SILENCE_CHECK_NANOS, this::suspectSilentNodes);
    if (agents != null) {
      scheduleSession(-AGENT_WARMUP_NANOS / 1e9 + sessionGap());
    } else if (!config.streams().isEmpty()) {
      streamsLeft = config.streams().size();
      for (TenantStream stream : config.streams()) {
        startStream(stream);
      }
    } else {
      scheduleArrival(nextGap());
    }
    loop();
    return result();
  }

  private void loop() {
    long horizon = config.durationNanos() + DRAIN_NANOS;
    long stuck = 0;
    while (running()) {
      LabNode engineNode = null;
      long engineAt = Long.MAX_VALUE;
      for (LabNode node : nodes) {
        long t = node.engine.nextEventAt();
        if (t < engineAt) {
          engineAt = t;
          engineNode = node;
        }
      }
      long now = events.now();
      long queueAt = events.nextAt();
      long next = Math.min(Math.max(engineAt, now), queueAt);
      if (next == Long.MAX_VALUE || next > horizon) {
        break;
      }
      if (engineNode != null && Math.max(engineAt, now) <= queueAt) {
        events.advanceTo(engineAt);
        engineNode.engine.advanceTo(events.now());
        stuck = events.now() == now ? stuck + 1 : 0;
        if (stuck > 10_000_000) {
          throw new IllegalStateException("engine of " + engineNode.id() + " makes no progress at " + events.now());
        }
        continue;
      }
      events.runNext();
    }
    for (LabRequest r : requests) {
      if (r.outcome == null) {
        r.outcome = Outcome.FAILED; // unfinished when the drain period ended
      }
    }
  }

  // ---- arrivals and attempts ----

  private double nextGap() {
    return config.workload().interArrivalSeconds(arrivals, config.offeredPerSecond());
  }

  private void scheduleArrival(double atSeconds) {
    long at = Math.round(atSeconds * 1e9);
    if (at >= config.durationNanos()) {
      arrivalsDone = true;
      return;
    }
    Workload.Size size = config.workload().size(arrivals);
    double gap = nextGap();
    at(at, () -> {
      arrive(size);
      scheduleArrival(atSeconds + gap);
    });
  }

  private void arrive(Workload.Size size) {
    arrive(new LabRequest(events.now(), size.promptTokens(), size.outputTokens()));
  }

  // ---- tenant streams ----

  private void startStream(TenantStream stream) {
    if (stream.burstCount() > 0) {
      if (stream.burstAtNanos() >= config.durationNanos()) {
        streamDone();
        return;
      }
      at(stream.burstAtNanos(), () -> {
        for (int i = 0; i < stream.burstCount(); i++) {
          LabRequest r = new LabRequest(events.now(), stream.burstPrompt(), stream.burstOutput());
          r.expectedOutput = stream.burstOutput(); // a report job sends its max_tokens
          tag(r, stream);
          arrive(r);
        }
        streamDone();
      });
      return;
    }
    SplittableRandom random = stream.random(config.seed());
    scheduleStreamArrival(stream, random, config.workload().interArrivalSeconds(random, stream.perSecond()));
  }

  private void scheduleStreamArrival(TenantStream stream, SplittableRandom random, double atSeconds) {
    long at = Math.round(atSeconds * 1e9);
    if (at >= config.durationNanos()) {
      streamDone();
      return;
    }
    Workload.Size size = config.workload().size(random);
    double gap = config.workload().interArrivalSeconds(random, stream.perSecond());
    at(at, () -> {
      LabRequest r = new LabRequest(events.now(), size.promptTokens(), size.outputTokens());
      tag(r, stream);
      arrive(r);
      scheduleStreamArrival(stream, random, atSeconds + gap);
    });
  }

  private static void tag(LabRequest r, TenantStream stream) {
    r.tenant = stream.tenant();
    r.band = stream.band();
  }

  private void streamDone() {
    if (--streamsLeft == 0) {
      arrivalsDone = true;
    }
  }

  // ---- agent sessions ----

  private double sessionGap() {
    double sessionsPerSecond = config.offeredPerSecond() / Capacity.requestsPerSession(config.workload());
    return config.workload().interArrivalSeconds(arrivals, sessionsPerSecond);
  }

  /** Starts the sessions from {@code atSeconds} on: those before 0 warm-started, the others on the event queue. */
  private void scheduleSession(double atSeconds) {
    while (true) {
      long at = Math.round(atSeconds * 1e9);
      if (at >= config.durationNanos()) {
        arrivalsDone = true;
        return;
      }
      double gap = sessionGap();
      long index = nextSession++;
      if (at < 0) {
        warmStart(new AgentSession(agents.session(index)), at);
        atSeconds += gap;
        continue;
      }
      double next = atSeconds + gap;
      at(at, () -> {
        AgentSession session = new AgentSession(agents.session(index));
        AgentWorkload.Step first = session.session.next();
        if (first != null) {
          send(session, first);
        }
        scheduleSession(next);
      });
      return;
    }
  }

  /**
   * A session that started at {@code startNanos} before the window: its steps before 0 are skipped as if answered at
   * once (think times only), and its first step at or after 0 is queued, so the run starts with sessions in progress.
   */
  private void warmStart(AgentSession session, long startNanos) {
    long t = startNanos;
    AgentWorkload.Step step = session.session.next();
    while (step != null && t < 0) {
      step = session.session.next();
      if (step != null) {
        t += step.thinkMillis() * 1_000_000;
      }
    }
    if (step == null || t >= config.durationNanos()) {
      return;
    }
    AgentWorkload.Step first = step;
    thinking++;
    at(t, () -> {
      thinking--;
      send(session, first);
    });
  }

  /**
   * Sends a session's step: every request of it at once. A request is cached-eligible when it reuses ≥ 90 % of the
   * session's previous input and that input was sent (not so for a warm-started session's first step).
   */
  private void send(AgentSession session, AgentWorkload.Step step) {
    SessionStep pending = new SessionStep(session, step.requests().size());
    boolean previousSent = session.sent;
    session.sent = true;
    for (AgentWorkload.Request request : step.requests()) {
      int[] ids = session.promptIds(request);
      LabRequest r = new LabRequest(events.now(), ids.length, request.maxTokens(), ids,
          previousSent && request.cachedEligible());
      r.step = pending;
      r.chain = PrefixChain.of(MODEL, session.previousText);
      r.session = request.sessionId();
      r.sessionKey = Affinity.sessionKey(MODEL, r.session);
      arrive(r);
    }
  }

  /** A request of {@code step} ended: once all have, the session's next step follows its think time. */
  private void stepRequestEnded(SessionStep step) {
    if (--step.pending > 0) {
      return;
    }
    AgentWorkload.Step next = step.session.session.next();
    if (next == null) {
      return;
    }
    long at = events.now() + next.thinkMillis() * 1_000_000;
    if (at >= config.durationNanos()) {
      return; // thinking past the arrival window: the session ends here
    }
    thinking++;
    at(at, () -> {
      thinking--;
      send(step.session, next);
    });
  }

  /** One running session and the text and token ids of its last request, which the next one mostly extends. */
  static final class AgentSession {
    /** Code points per {@link PromptTokens} token. */
    private static final int PIECE = 4;

    final AgentWorkload.Session session;
    /** Whether a step of it was sent in this run. */
    boolean sent;
    private String toolsJson;
    private Object tools;
    /** The text of the last request's prompt (tools then messages as JSON). */
    String previousText;
    private int[] previousIds;

    AgentSession(AgentWorkload.Session session) {
      this.session = session;
    }

    /**
     * The request's prompt token ids: the tools then the messages as JSON, tokenised by the simulator's rule
     * ({@link PromptTokens}: pieces of 4 code points from the start). The tokens of the whole pieces this text shares
     * with the previous request's are copied, and only the rest is tokenised: a turn mostly extends the last one.
     */
    int[] promptIds(AgentWorkload.Request request) {
      if (tools != request.tools()) {
        tools = request.tools();
        toolsJson = request.tools().toString();
      }
      String text = toolsJson + request.messages().toString();
      int[] ids = previousText == null ? PromptTokens.of(text) : extend(previousText, previousIds, text);
      previousText = text;
      previousIds = ids;
      return ids;
    }

    /** {@code PromptTokens.of(text)}, reusing {@code previousIds} for the whole pieces shared with the last text. */
    static int[] extend(String previousText, int[] previousIds, String text) {
      if (hasSurrogates(text) || hasSurrogates(previousText)) {
        return PromptTokens.of(text); // pieces count code points: chars only match them without surrogates
      }
      int common = Arrays.mismatch(previousText.toCharArray(), text.toCharArray());
      if (common < 0) {
        common = text.length();
      }
      int kept = Math.min(common / PIECE, previousIds.length);
      int[] rest = PromptTokens.of(text.substring(kept * PIECE));
      int[] ids = Arrays.copyOf(previousIds, kept + rest.length);
      System.arraycopy(rest, 0, ids, kept, rest.length);
      return ids;
    }

    private static boolean hasSurrogates(String text) {
      for (int i = 0; i < text.length(); i++) {
        if (Character.isSurrogate(text.charAt(i))) {
          return true;
        }
      }
      return false;
    }
  }

  /** The requests of one session step still in flight. */
  static final class SessionStep {
    final AgentSession session;
    int pending;

    SessionStep(AgentSession session, int pending) {
      this.session = session;
      this.pending = pending;
    }
  }

  // ---- routing ----

  private void arrive(LabRequest r) {
    long now = events.now();
    requests.add(r);
    outstanding++;
    if (r.expectedOutput < 0) {
      r.expectedOutput = config.workload().typicalOutputTokens();
    }
    if (r.chain != null) {
      leaveRotation(now);
    }
    if (flow != null) {
      admit(r);
      return;
    }
    List<NodeView> eligible = new ArrayList<>();
    for (LabNode node : nodes) {
      if (node.fits(r.prompt) && node.eligible(now)) {
        eligible.add(node.view(now));
      }
    }
    if (eligible.isEmpty()) {
      end(r, Outcome.FAILED); // no node fits, or none is in rotation: the gateway's 503
      return;
    }
    route(r, eligible, labPolicy.ttftBudgetMillis());
  }

  /** Asks the policy for a plan over {@code candidates} and follows it; a rejection is shed (429). */
  private void route(LabRequest r, List<NodeView> candidates, long ttftBudgetMillis) {
    follow(r, decide(r, candidates, ttftBudgetMillis));
  }

  private RouteDecision decide(LabRequest r, List<NodeView> candidates, long ttftBudgetMillis) {
    Warmth warmth = Warmth.NONE;
    if (r.chain != null) {
      List<String> ids = candidates.stream().map(NodeView::id).toList();
      r.warmth = affinity.warmth(r.sessionKey, r.chain, r.prompt, ids);
      warmth = labPolicy.oracle() ? engineWarmth(r, ids) : r.warmth;
    }
    RouteRequest route = new RouteRequest(MODEL, r.prompt, r.expectedOutput, ttftBudgetMillis, warmth);
    r.route = route;
    return policy.decide(route, candidates, decisions);
  }

  private void follow(LabRequest r, RouteDecision decision) {
    if (decision instanceof RouteDecision.Reject) {
      end(r, Outcome.SHED);
      return;
    }
    r.plan = labPolicy.failover().apply(((RouteDecision.Plan) decision).nodeIds(), gpuTypeById);
    tryNext(r);
  }

  // ---- flow control ----

  /**
   * Flow control at arrival, as the gateway does it: no eligible node fits the request → failed (503); a node with
   * room for its band that least-delay would start it on within the TTFT budget, and nothing of its band or higher
   * waiting → routed now; otherwise it waits in the queue until its deadline (arrival + maxWait), and is shed (429)
   * then.
   */
  private void admit(LabRequest r) {
    long now = events.now();
    boolean any = false;
    for (LabNode node : nodes) {
      if (node.fits(r.prompt) && node.eligible(now)) {
        any = true;
        break;
      }
    }
    if (!any) {
      end(r, Outcome.FAILED);
      return;
    }
    long wait = r.band == Band.INTERACTIVE ? flow.maxWaitMillis() : flow.batchMaxWaitMillis();
    r.deadline = now + wait * 1_000_000;
    if (!queue.waitingAtOrAbove(r.band) && dispatchNow(r) == Start.STARTED) {
      return; // it has not waited, so it is never shed here
    }
    enqueue(r);
  }

  /** What became of a request flow control tried to start. */
  private enum Start { STARTED, WAITS, SHED }

  /**
   * Routes {@code r} over the eligible nodes that fit it and have room for its band ({@link Band#fits}); it waits
   * instead when none has, when the policy rejects it (no node with room is estimated to start it within the budget:
   * the nodes are saturated by TTFT before their caps), or when the node chosen misses the budget while a faster one
   * at its cap would meet it. An interactive request's TTFT budget is what is left of it after its wait (TTFT counts
   * from arrival); a batch request's is the whole budget. An interactive request that waited and would start past its
   * budget is not started late ({@link #lateAfterWait}).
   */
  private Start dispatchNow(LabRequest r) {
    long now = events.now();
    List<NodeView> room = new ArrayList<>();
    for (LabNode node : nodes) {
      if (node.fits(r.prompt) && node.eligible(now) && r.band.fits(node.inFlight, node.cap.value())) {
        room.add(node.view(now));
      }
    }
    if (room.isEmpty()) {
      return Start.WAITS;
    }
    long budget = labPolicy.ttftBudgetMillis();
    if (r.band == Band.INTERACTIVE && budget > 0) {
      budget = Math.max(1, budget - (now - r.arrival) / 1_000_000);
    }
    RouteDecision decision = decide(r, room, budget);
    if (!(decision instanceof RouteDecision.Plan plan)
        || budget > 0 && fasterElsewhere(r, plan.nodeIds().get(0), budget)) {
      r.route = null;
      return Start.WAITS;
    }
    Start late = lateAfterWait(r, plan.nodeIds().get(0), budget);
    if (late != Start.STARTED) {
      r.route = null;
      return late;
    }
    follow(r, decision);
    return Start.STARTED;
  }

  /**
   * The gateway's rule for an interactive request that waited (server/Router): least-delay admits a prompt whose own
   * prefill exceeds the budget left on a node with nothing ahead (waiting cannot make that node faster), but after a
   * wait that start is late by the wait itself. So when the node chosen would start it past what is left of its
   * budget: it waits on ({@link Start#WAITS}) while some eligible node could still start it in time by its own
   * prefill (and any silence: {@link LeastDelayPolicy.Estimate#stallMillis}); it is shed at once ({@link Start#SHED},
   * the gateway's 429) when none can any more but one could have within the whole budget; and a prompt no node
   * prefills within the whole budget keeps the exception ({@link Start#STARTED}): it cannot be on time anywhere.
   */
  private Start lateAfterWait(LabRequest r, String chosen, long remaining) {
    long now = events.now();
    if (estimator == null || r.band != Band.INTERACTIVE || remaining <= 0 || now == r.arrival
        || estimator.estimate(r.route, byId.get(chosen).view(now)).ttftMillis() <= remaining) {
      return Start.STARTED;
    }
    long budget = labPolicy.ttftBudgetMillis();
    boolean couldHave = false;
    for (LabNode node : nodes) {
      if (!node.fits(r.prompt) || !node.eligible(now)) {
        continue;
      }
      LeastDelayPolicy.Estimate there = estimator.estimate(r.route, node.view(now));
      double own = there.ownPrefillMillis() + there.stallMillis();
      if (own <= remaining) {
        return Start.WAITS;
      }
      couldHave |= own <= budget;
    }
    return couldHave ? Start.SHED : Start.STARTED;
  }

  /**
   * Whether the node with room least-delay chose misses the TTFT budget (a long prompt on a slow idle node, which
   * least-delay admits because waiting cannot make that node faster) while some eligible node now at its cap would
   * meet it by its own prefill alone: then the request waits for that node's slot rather than take the slow one.
   */
  private boolean fasterElsewhere(LabRequest r, String chosen, long budget) {
    if (estimator == null) {
      return false;
    }
    long now = events.now();
    if (estimator.estimate(r.route, byId.get(chosen).view(now)).ttftMillis() <= budget) {
      return false;
    }
    for (LabNode node : nodes) {
      if (!node.id().equals(chosen) && node.fits(r.prompt) && node.eligible(now)
          && estimator.estimate(r.route, node.view(now)).ownPrefillMillis() <= budget) {
        return true;
      }
    }
    return false;
  }

  private void enqueue(LabRequest r) {
    double cost = FlowQueue.gpuMillis(r.prompt, r.expectedOutput, costPrefillTokensPerSecond,
        costDecodeMillisPerToken);
    FlowQueue.Offer<LabRequest> offer = queue.offer(r, r.tenant, r.band, cost, r.deadline / 1_000_000);
    if (!(offer instanceof FlowQueue.Queued<LabRequest> queued)) {
      end(r, Outcome.SHED); // the queue is full, or the wait ahead is longer than the request may wait: 429
      return;
    }
    FlowQueue.Ticket<LabRequest> ticket = queued.ticket();
    r.ticket = ticket;
    at(Math.max(events.now(), r.deadline), () -> {
      if (queue.cancel(ticket)) {
        r.ticket = null;
        end(r, Outcome.SHED); // waited its maxWait without a slot: 429
      }
    });
  }

  /** A slot may have freed: dispatch from the queue once the current engine step's callbacks are done. */
  private void slotFreed() {
    if (queue == null || dispatchPending || queue.size() == 0) {
      return;
    }
    dispatchPending = true;
    at(events.now(), () -> {
      dispatchPending = false;
      dispatch();
    });
  }

  /**
   * Dispatches waiting requests as the gateway's queue does ({@code FlowControl.kick}): as many as the eligible nodes
   * have free slots (interactive below each cap; batch only while some node keeps a slot free after it), in the
   * queue's order; each is routed over the nodes with room for it. One that cannot start (no node with room fits it or
   * would start it within what is left of its budget) goes back to the head of its tenant's queue, keeping its turn,
   * and the others polled after it still go: a long prompt waiting for a fast node does not hold back a short one a
   * slower node can start.
   */
  private void dispatch() {
    if (queue == null || queue.size() == 0) {
      return;
    }
    long now = events.now();
    int interactive = 0;
    int batch = 0;
    for (LabNode node : nodes) {
      if (!node.eligible(now)) {
        continue;
      }
      int cap = node.cap.value();
      interactive += Math.max(0, cap - node.inFlight);
      if (Band.BATCH.fits(node.inFlight, cap)) {
        batch += Math.max(1, cap - 1) - node.inFlight;
      }
    }
    List<FlowQueue.Ticket<LabRequest>> back = new ArrayList<>();
    while (interactive > 0) {
      FlowQueue.Ticket<LabRequest> ticket = queue.poll(batch > 0 ? Band.BATCH : Band.INTERACTIVE);
      if (ticket == null) {
        break;
      }
      interactive--;
      batch--;
      LabRequest r = ticket.payload();
      r.ticket = null;
      Start start = dispatchNow(r);
      if (start == Start.SHED) {
        end(r, Outcome.SHED); // it waited past the point where any node could start it within its budget: 429
      } else if (start == Start.WAITS) {
        r.ticket = ticket;
        back.add(ticket);
      }
    }
    for (int i = back.size() - 1; i >= 0; i--) {
      queue.putBack(back.get(i));
    }
  }

  /** Drops from the affinity every node that left rotation since the last look (its pins and prefix index). */
  private void leaveRotation(long now) {
    for (LabNode node : nodes) {
      boolean inRotation = !node.down && node.eligible(now);
      if (node.inRotation && !inRotation) {
        affinity.drop(node.id());
      }
      node.inRotation = inRotation;
    }
  }

  /** The oracle's warmth: what each candidate's engine holds of the prompt now, instead of the router's estimate. */
  private Warmth engineWarmth(LabRequest r, List<String> candidates) {
    Map<String, Integer> cached = new LinkedHashMap<>();
    for (String id : candidates) {
      int tokens = byId.get(id).engine.cachedPrefixTokens(r.promptIds);
      if (tokens > 0) {
        cached.put(id, tokens);
      }
    }
    return new Warmth(r.warmth.sessionKey(), r.warmth.routingKey(), r.warmth.pinned(), cached);
  }

  private void tryNext(LabRequest r) {
    long now = events.now();
    while (r.nextIndex < r.plan.size() && r.attempts < MAX_ATTEMPTS) {
      LabNode node = byId.get(r.plan.get(r.nextIndex++));
      if (node == null) {
        continue; // a policy naming an unknown node: skip it, as the gateway would
      }
      r.attempts++;
      node.attempts++;
      if (node.down) {
        node.health.observe(Failure.Kind.CONNECT); // connection refused
        continue;
      }
      Admission admission = node.engine.admission(r.prompt, 0);
      if (!(admission instanceof Admission.Accepted accepted)) {
        if (((Admission.Refused) admission).status() >= 500) {
          node.health.observe(Failure.Kind.BUSY); // Ollama queue full: busy, try elsewhere (not the node's fault)
          if (flow != null) {
            node.cap.busy(node.inFlight);
          }
        }
        continue;
      }
      int prompt = accepted.promptTokens();
      int output = Math.min(r.output, accepted.maxOutputTokens());
      int backlog = uncachedBacklog ? Math.max(0, prompt - r.route.cachedTokens(node.id())) : prompt;
      Attempt attempt = new Attempt(r, node, backlog, now, node.prefillTokens);
      if (flow != null) {
        node.cap.sent(backlog, r.expectedOutput); // its KV footprint: a cached prefix is shared, not reserved again
        attempt.expectedTtftMillis = estimator == null ? Double.NaN
            : estimator.estimate(r.route, node.view(now)).expectedTtftMillis();
      }
      attempt.sequence = r.promptIds == null ? new BatchEngine.Sequence(prompt, output, attempt)
          : new BatchEngine.Sequence(prompt, r.promptIds, output, attempt);
      node.requestStarted(now, backlog);
      r.sentAt = now;
      r.expectedTtftMillis = attempt.expectedTtftMillis;
      if (r.chain != null) {
        count(affinity.sent(r.warmth, r.chain, node.id()));
      }
      node.active.add(attempt);
      node.engine.submit(attempt.sequence, now);
      at(now + FIRST_TOKEN_TIMEOUT_NANOS, () -> firstTokenTimeout(attempt));
      return;
    }
    end(r, Outcome.FAILED);
  }

  /**
   * The gateway's first-token timeout: the attempt is cancelled and counts against the node; unless the node is busy
   * (it answered or sent something within the timeout: the request was queued behind others), it is also suspected.
   */
  private void firstTokenTimeout(Attempt attempt) {
    if (!attempt.active || attempt.firstToken) {
      return;
    }
    LabNode node = attempt.node;
    boolean busy = node.busy(events.now(), FIRST_TOKEN_TIMEOUT_NANOS);
    String why = "no first token within " + FIRST_TOKEN_TIMEOUT_NANOS / 1_000_000 + " ms (timeouts.firstToken)";
    node.engine.cancel(attempt.sequence, events.now());
    if (!busy) {
      node.health.suspect(why);
    }
    release(attempt);
    node.health.observe(new Failure(Failure.Kind.FIRST_TOKEN_TIMEOUT, why));
    tryNext(attempt.request);
  }

  private void count(Affinity.Outcome outcome) {
    switch (outcome) {
      case HIT -> affinityHits++;
      case MISS -> affinityMisses++;
      case MOVED -> affinityMoves++;
    }
  }

  private void release(Attempt a) {
    LabNode node = a.node;
    node.inFlight--;
    if (a.firstToken) {
      node.decodes--;
    } else {
      node.prefillTokens -= a.prompt;
    }
    a.active = false;
    node.active.remove(a);
    slotFreed();
  }

  private void end(LabRequest r, Outcome outcome) {
    r.outcome = outcome;
    r.promptIds = null;
    r.chain = null;
    r.warmth = null;
    r.route = null;
    outstanding--;
    if (r.step != null) {
      stepRequestEnded(r.step);
    }
  }

  private boolean running() {
    return !arrivalsDone || outstanding > 0 || thinking > 0;
  }

  // ---- faults, the progress watchdog, telemetry ----

  private void fault(LabNode node, LabEvent.Kind kind, boolean on) {
    long now = events.now();
    switch (kind) {
      case DOWN -> {
        node.down = on;
        if (on) {
          affinity.drop(node.id()); // its cache is gone with it
          for (Attempt a : new ArrayList<>(node.active)) {
            node.engine.cancel(a.sequence, now);
            boolean afterFirstToken = a.firstToken;
            release(a);
            if (afterFirstToken) { // the stream broke after the client saw bytes: no retry
              node.health.observe(Failure.Kind.STREAM_BROKEN);
              end(a.request, Outcome.FAILED);
            } else {
              node.health.observe(Failure.Kind.RESET_BEFORE_FIRST_BYTE);
              tryNext(a.request);
            }
          }
        }
      }
      case HUNG -> {
        node.control.hung(on);
        if (!on) {
          node.engine.advanceTo(now);
        }
      }
      case THROTTLE -> {
        node.throttled = on;
        node.control.speedFactor(on ? Scenario.THROTTLE_FACTOR : 1.0);
      }
      case HOT -> node.hot = on;
    }
  }

  /** The gateway's node-level progress watchdog: a node with answers decoding that sent nothing for 1.5 s. */
  private void suspectSilentNodes() {
    for (LabNode node : nodes) {
      String why = node.silenceSuspicion(events.now());
      if (why != null) {
        node.health.suspect(why);
      }
    }
    if (running()) {
      at(events.now() + SILENCE_CHECK_NANOS, this::suspectSilentNodes);
    }
  }

  private void scrape(LabNode node) {
    long now = events.now();
    if (!node.down) {
      node.engine.advanceTo(now);
      long busy = node.engine.busySimNanosTotal();
      long span = now - node.lastScrapeAt;
      double util = span <= 0 ? 0 : 100.0 * (busy - node.lastBusy) / span;
      node.util = Math.max(0, Math.min(100, util));
      node.lastBusy = busy;
      node.lastScrapeAt = now;
      node.temp = node.temperature(telemetry);
      node.scrapedAt = now;
      if (flow != null && !node.profile.ollama()) { // vLLM's cache_config_info and num_requests_waiting
        node.cap.kvCapacity(node.engine.kvCapacityTokens(), "node telemetry");
        node.cap.nodeQueue(node.engine.waiting(), node.inFlight);
        dispatch();
      }
    }
    if (running()) {
      at(now + node.telemetryPeriod, () -> scrape(node));
    }
  }

  private void at(long atNanos, Runnable action) {
    events.at(atNanos, action);
  }

  // ---- results ----

  private RunResult result() {
    Map<String, NodeCounts> perNode = new LinkedHashMap<>();
    long prefixQueries = 0;
    long prefixHits = 0;
    for (LabNode node : nodes) {
      perNode.put(node.id(), new NodeCounts(node.attempts, node.completions, node.engine.busySimNanosTotal()));
      prefixQueries += node.engine.prefixCacheQueriesTotal();
      prefixHits += node.engine.prefixCacheHitsTotal();
    }
    return RunResult.of(requests, perNode, config.durationNanos() / 1e9, prefixQueries, prefixHits,
        new RunResult.AffinityCounts(affinityHits, affinityMisses, affinityMoves));
  }

  /**
   * What to simulate.
   *
   * @param nodes the cluster's nodes
   * @param workload request sizes and arrival process
   * @param events faults on the timeline
   * @param offeredPerSecond mean arrival rate
   * @param durationNanos arrival window (the run goes on up to {@link #DRAIN_NANOS} longer to finish requests)
   * @param seed seeds arrivals, sizes, tie-breaks and telemetry
   */
  public record Config(
      List<LabCluster.NodeSpec> nodes,
      Workload workload,
      List<LabEvent> events,
      double offeredPerSecond,
      long durationNanos,
      long seed,
      List<TenantStream> streams) {
    public Config {
      nodes = List.copyOf(nodes);
      events = List.copyOf(events);
      streams = List.copyOf(streams);
      if (!streams.isEmpty() && workload.agent()) {
        throw new IllegalArgumentException("tenant streams draw chat-like sizes, not agent sessions");
      }
      Objects.requireNonNull(workload, "workload");
      if (nodes.isEmpty()) {
        throw new IllegalArgumentException("a lab cluster needs at least one node");
      }
      if (!(offeredPerSecond > 0)) {
        throw new IllegalArgumentException("offeredPerSecond: " + offeredPerSecond + " (expected > 0)");
      }
      if (durationNanos <= 0) {
        throw new IllegalArgumentException("durationNanos: " + durationNanos + " (expected > 0)");
      }
    }

    /** One stream of {@code workload} at {@code offeredPerSecond}, every request the default tenant's, interactive. */
    public Config(List<LabCluster.NodeSpec> nodes, Workload workload, List<LabEvent> events, double offeredPerSecond,
        long durationNanos, long seed) {
      this(nodes, workload, events, offeredPerSecond, durationNanos, seed, List.of());
    }

    /** This config with {@code streams} instead of the one stream (offeredPerSecond becomes their sum). */
    public Config withStreams(List<TenantStream> streams) {
      double sum = streams.stream().mapToDouble(TenantStream::offeredPerSecond).sum();
      return new Config(nodes, workload, events, sum > 0 ? sum : offeredPerSecond, durationNanos, seed, streams);
    }

    /** A cluster, workload and scenario of the lab grid. */
    public static Config of(LabCluster cluster, Workload workload, Scenario scenario, double offeredPerSecond,
        long durationNanos, long seed) {
      return new Config(cluster.nodes(), workload, scenario.events(cluster, durationNanos), offeredPerSecond,
          durationNanos, seed);
    }
  }

  /**
   * One tenant's requests in the tenant scenarios: Poisson arrivals of the run's workload sizes at {@code perSecond},
   * or {@code burstCount} requests of {@code burstPrompt}/{@code burstOutput} tokens all at {@code burstAtNanos}. Each
   * stream draws from its own generator (seeded by the run's seed and the tenant), so a tenant's requests are the same
   * alone and among others.
   *
   * @param tenant whose requests
   * @param band their priority band
   * @param perSecond Poisson rate (0 for a burst)
   * @param burstCount requests sent at once at {@code burstAtNanos} (0 for a Poisson stream)
   * @param burstAtNanos when the burst is sent
   * @param burstPrompt each burst request's prompt tokens
   * @param burstOutput each burst request's output tokens
   */
  public record TenantStream(String tenant, Band band, double perSecond, int burstCount, long burstAtNanos,
      int burstPrompt, int burstOutput) {
    public TenantStream {
      Objects.requireNonNull(tenant, "tenant");
      Objects.requireNonNull(band, "band");
      if (perSecond < 0 || burstCount < 0 || (perSecond > 0) == (burstCount > 0)) {
        throw new IllegalArgumentException("a tenant stream is Poisson (perSecond > 0) or a burst (burstCount > 0)");
      }
    }

    /** Poisson arrivals at {@code perSecond}. */
    public static TenantStream poisson(String tenant, Band band, double perSecond) {
      return new TenantStream(tenant, band, perSecond, 0, 0, 0, 0);
    }

    /** {@code count} requests at once at {@code atNanos}. */
    public static TenantStream burst(String tenant, Band band, int count, long atNanos, int prompt, int output) {
      return new TenantStream(tenant, band, 0, count, atNanos, prompt, output);
    }

    /** Mean requests per second over a run of {@code durationNanos} (a burst spread over the run). */
    double offeredPerSecond(long durationNanos) {
      return perSecond > 0 ? perSecond : burstCount / (durationNanos / 1e9);
    }

    double offeredPerSecond() {
      return perSecond;
    }

    /** This stream's own generator for {@code seed}. */
    SplittableRandom random(long seed) {
      return new SplittableRandom(seed * 1_000_003L + tenant.hashCode() * 31L + band.ordinal());
    }
  }

  // ---- state ----

  final class Attempt implements BatchEngine.Listener {
    final LabRequest request;
    final LabNode node;
    /** The prompt tokens the router counts in the node's prefill backlog: the uncached estimate under affinity. */
    final int prompt;
    final long sentAt;
    final long prefillBacklogAtSend;
    BatchEngine.Sequence sequence;
    boolean firstToken;
    boolean active = true;
    /** Flow control: least-delay's expected TTFT on this node at send, milliseconds (NaN: none). */
    double expectedTtftMillis = Double.NaN;

    Attempt(LabRequest request, LabNode node, int prompt, long sentAt, long prefillBacklogAtSend) {
      this.request = request;
      this.node = node;
      this.prompt = prompt;
      this.sentAt = sentAt;
      this.prefillBacklogAtSend = prefillBacklogAtSend;
    }

    @Override
    public void token(BatchEngine.Sequence s, int index, long atNanos) {
      node.lastProgressAt = atNanos;
      if (index != 0) {
        return;
      }
      firstToken = true;
      node.prefillTokens -= prompt;
      node.decodes++;
      if (request.firstTokenAt < 0) {
        request.firstTokenAt = atNanos;
      }
      if (!node.profile.ollama()) {
        node.speed.observeFirstToken(prompt, (atNanos - sentAt) / 1e6, prefillBacklogAtSend);
      }
      slotFreed(); // its prefill is done: the node's TTFT estimate dropped
      if (flow != null && !Double.isNaN(expectedTtftMillis)) {
        node.cap.firstTokenCame((atNanos - sentAt) / 1_000_000, expectedTtftMillis, node.inFlight);
      }
    }

    @Override
    public void finished(BatchEngine.Sequence s, long atNanos) {
      release(this);
      node.completions++;
      node.lastCompletionAt = atNanos;
      node.health.observeSuccess();
      long decodeNanos = atNanos - s.firstTokenNanos();
      if (node.profile.ollama()) { // the final NDJSON line's timings: exact engine speeds
        node.speed.observeOllamaTimings(prompt, s.firstTokenNanos() - s.admittedNanos(), s.generated() - 1L,
            decodeNanos);
      } else {
        node.speed.observeDecode(s.generated() - 1L, decodeNanos / 1e6);
      }
      if (flow != null) {
        node.cap.decoded(s.generated() - 1L, decodeNanos / 1e6);
      }
      request.finishedAt = atNanos;
      request.generated = s.generated();
      request.servedBy = node.id();
      end(request, Outcome.COMPLETED);
    }
  }
}
