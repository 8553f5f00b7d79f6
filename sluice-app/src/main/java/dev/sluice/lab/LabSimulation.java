package dev.sluice.lab;

import dev.sluice.lab.RunResult.NodeCounts;
import dev.sluice.lab.RunResult.Outcome;
import dev.sluice.lab.RunResult.RequestRecord;
import dev.sluice.lab.Scenario.LabEvent;
import dev.sluice.routing.NodeView;
import dev.sluice.routing.RouteDecision;
import dev.sluice.routing.RouteRequest;
import dev.sluice.routing.RoutingPolicy;
import dev.sluice.routing.SpeedEstimator;
import dev.sluice.sim.Admission;
import dev.sluice.sim.BatchEngine;
import dev.sluice.sim.EngineControl;
import dev.sluice.sim.EngineProfile;
import dev.sluice.sim.GpuProfile;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
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
 * scrape) and temperature scraped every 5–30 s (a fixed, seeded period per node), so stale; the share of the last 6
 * probes passed; a learned speed per node, the gateway's {@link SpeedEstimator} seeded from the GPU profile and fed
 * each attempt's TTFT (with the prefill backlog at send) and decode time (on Ollama nodes, the final line's timings).
 *
 * <p><b>What the gateway does</b> (docs and design/RELIABILITY.md): candidates are the nodes whose context fits,
 * not DEGRADED (3 failed probes; back to READY when a probe passes and a generation would succeed, i.e. not
 * hung) and not ejected (3 consecutive attempt failures eject for 30 s, doubling to 300 s); if that leaves none, all
 * nodes whose context fits (never eject the last node). The policy orders them or rejects (counted as shed); the
 * policy's {@link dev.sluice.routing.FailoverOrder} filters or regroups the plan. At most
 * 3 attempts per request go down the plan: a down node refuses at once, an Ollama node with a full queue answers
 * 503, and an attempt without a first token after {@link #FIRST_TOKEN_TIMEOUT_NANOS} is cancelled on the node and
 * retried on the next one. A node that goes down kills its streams: before the first token they fail over, after
 * it the request fails. Not modelled: the retry budget (20 % of in-flight), back-off jitter, network time, the
 * idle-between-chunks timeout (a hung node's decoding streams just wait), prefix caching.
 */
public final class LabSimulation {
  /** Per-attempt first-token timeout: the lab's {@code timeouts.firstToken} for an interactive model. */
  static final long FIRST_TOKEN_TIMEOUT_NANOS = 10_000_000_000L;
  /** Attempts per request (the gateway's {@code upstream.maxAttempts} default). */
  static final int MAX_ATTEMPTS = 3;
  /** Shallow health probe period (the brief's 5 s). */
  static final long PROBE_INTERVAL_NANOS = 5_000_000_000L;
  /** Consecutive failed probes that make a node DEGRADED (the brief's 3). */
  static final int PROBE_FAILURES_TO_DEGRADE = 3;
  /** Probes in the health ratio's window (30 s). */
  static final int HEALTH_WINDOW = 6;
  /** Consecutive attempt failures that eject a node. */
  static final int FAILURES_TO_EJECT = 3;
  /** First ejection; doubles on each ejection without a success in between. */
  static final long EJECT_BASE_NANOS = 30_000_000_000L;
  /** Longest ejection. */
  static final long EJECT_MAX_NANOS = 300_000_000_000L;
  /** DCGM scrape periods are drawn per node in [5 s, 30 s] (the exporter's default is 30 s). */
  static final long TELEMETRY_MIN_NANOS = 5_000_000_000L;
  static final long TELEMETRY_MAX_NANOS = 30_000_000_000L;
  /** Goodput SLO: time to first token. */
  public static final long TTFT_SLO_NANOS = 5_000_000_000L;
  /** Goodput SLO: time per output token after the first. */
  public static final long TPOT_SLO_NANOS = 200_000_000L;
  /** After the arrival window, how long the run goes on for requests in flight; then they count as failed. */
  static final long DRAIN_NANOS = 300_000_000_000L;
  /** The model every request asks for. */
  static final String MODEL = "qwen3:32b";

  private final Config config;
  private final LabPolicy labPolicy;
  private final RoutingPolicy policy;
  private final List<Node> nodes = new ArrayList<>();
  private final Map<String, Node> byId = new LinkedHashMap<>();
  private final Map<String, String> gpuTypeById = new LinkedHashMap<>();
  private final PriorityQueue<Timed> queue = new PriorityQueue<>();
  private final SplittableRandom arrivals;
  private final SplittableRandom decisions;
  private final SplittableRandom telemetry;
  private final List<Request> requests = new ArrayList<>();
  private long now;
  private long sequence;
  private int outstanding;
  private boolean arrivalsDone;

  private LabSimulation(Config config, LabPolicy labPolicy) {
    this.config = config;
    this.labPolicy = labPolicy;
    this.policy = Objects.requireNonNull(labPolicy.factory().apply(config.nodes()), "policy factory returned null");
    SplittableRandom root = new SplittableRandom(config.seed());
    // Independent streams, split in a fixed order: the request sequence never depends on the policy.
    this.arrivals = root.split();
    this.decisions = root.split();
    this.telemetry = root.split();
    for (LabCluster.NodeSpec spec : config.nodes()) {
      Node node = new Node(spec, telemetry);
      nodes.add(node);
      byId.put(spec.id(), node);
      gpuTypeById.put(spec.id(), spec.gpuLabel());
    }
  }

  /** Runs {@code policy} over {@code config} and returns what it measured. */
  public static RunResult run(Config config, LabPolicy policy) {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(policy, "policy");
    return new LabSimulation(config, policy).run();
  }

  private RunResult run() {
    for (LabEvent e : config.events()) {
      Node node = byId.get(e.nodeId());
      if (node == null) {
        throw new IllegalArgumentException("event " + e.kind() + " names node \"" + e.nodeId() + "\", not in "
            + byId.keySet());
      }
      at(e.fromNanos(), () -> fault(node, e.kind(), true));
      if (e.untilNanos() != Long.MAX_VALUE) {
        at(e.untilNanos(), () -> fault(node, e.kind(), false));
      }
    }
    for (Node node : nodes) {
      long probePhase = (long) (telemetry.nextDouble() * PROBE_INTERVAL_NANOS);
      at(probePhase, () -> probe(node));
      at((long) (telemetry.nextDouble() * node.telemetryPeriod), () -> scrape(node));
    }
    scheduleArrival(nextGap());
    loop();
    return result();
  }

  private void loop() {
    long horizon = config.durationNanos() + DRAIN_NANOS;
    long stuck = 0;
    while (!(arrivalsDone && outstanding == 0)) {
      Node engineNode = null;
      long engineAt = Long.MAX_VALUE;
      for (Node node : nodes) {
        long t = node.engine.nextEventAt();
        if (t < engineAt) {
          engineAt = t;
          engineNode = node;
        }
      }
      Timed head = queue.peek();
      long queueAt = head == null ? Long.MAX_VALUE : head.at;
      long next = Math.min(Math.max(engineAt, now), queueAt);
      if (next == Long.MAX_VALUE || next > horizon) {
        break;
      }
      if (engineNode != null && Math.max(engineAt, now) <= queueAt) {
        long before = now;
        now = Math.max(engineAt, now);
        engineNode.engine.advanceTo(now);
        stuck = now == before ? stuck + 1 : 0;
        if (stuck > 10_000_000) {
          throw new IllegalStateException("engine of " + engineNode.spec.id() + " makes no progress at " + now);
        }
        continue;
      }
      queue.poll();
      now = head.at;
      head.action.run();
    }
    for (Request r : requests) {
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
    Request r = new Request(now, size.promptTokens(), size.outputTokens());
    requests.add(r);
    outstanding++;
    List<NodeView> fits = new ArrayList<>();
    List<NodeView> eligible = new ArrayList<>();
    for (Node node : nodes) {
      if (!node.fits(r.prompt)) {
        continue;
      }
      NodeView view = node.view(now);
      fits.add(view);
      if (!node.degraded && node.ejectedUntil <= now) {
        eligible.add(view);
      }
    }
    if (fits.isEmpty()) {
      end(r, Outcome.FAILED);
      return;
    }
    RouteRequest route = new RouteRequest(MODEL, r.prompt, config.workload().typicalOutputTokens(),
        labPolicy.ttftBudgetMillis());
    RouteDecision decision = policy.decide(route, eligible.isEmpty() ? fits : eligible, decisions);
    if (decision instanceof RouteDecision.Reject) {
      end(r, Outcome.SHED);
      return;
    }
    r.plan = labPolicy.failover().apply(((RouteDecision.Plan) decision).nodeIds(), gpuTypeById);
    tryNext(r);
  }

  private void tryNext(Request r) {
    while (r.nextIndex < r.plan.size() && r.attempts < MAX_ATTEMPTS) {
      Node node = byId.get(r.plan.get(r.nextIndex++));
      if (node == null) {
        continue; // a policy naming an unknown node: skip it, as the gateway would
      }
      r.attempts++;
      node.attempts++;
      if (node.down) {
        nodeFailed(node); // connection refused
        continue;
      }
      Admission admission = node.engine.admission(r.prompt, 0);
      if (!(admission instanceof Admission.Accepted accepted)) {
        if (((Admission.Refused) admission).status() >= 500) {
          nodeFailed(node); // Ollama queue full: busy, try elsewhere
        }
        continue;
      }
      int prompt = accepted.promptTokens();
      int output = Math.min(r.output, accepted.maxOutputTokens());
      Attempt attempt = new Attempt(r, node, prompt, now, node.prefillTokens);
      attempt.sequence = new BatchEngine.Sequence(prompt, output, attempt);
      node.inFlight++;
      node.prefillTokens += prompt;
      node.active.add(attempt);
      node.engine.submit(attempt.sequence, now);
      at(now + FIRST_TOKEN_TIMEOUT_NANOS, () -> firstTokenTimeout(attempt));
      return;
    }
    end(r, Outcome.FAILED);
  }

  private void firstTokenTimeout(Attempt attempt) {
    if (!attempt.active || attempt.firstToken) {
      return;
    }
    attempt.node.engine.cancel(attempt.sequence, now);
    release(attempt);
    nodeFailed(attempt.node);
    tryNext(attempt.request);
  }

  private void release(Attempt a) {
    Node node = a.node;
    node.inFlight--;
    if (a.firstToken) {
      node.decodes--;
    } else {
      node.prefillTokens -= a.prompt;
    }
    a.active = false;
    node.active.remove(a);
  }

  private void nodeFailed(Node node) {
    node.consecutiveFailures++;
    if (node.consecutiveFailures >= FAILURES_TO_EJECT) {
      long ejection = Math.min(EJECT_MAX_NANOS, EJECT_BASE_NANOS << Math.min(node.ejections, 10));
      node.ejectedUntil = now + ejection;
      node.ejections++;
      node.consecutiveFailures = 0;
    }
  }

  private void end(Request r, Outcome outcome) {
    r.outcome = outcome;
    outstanding--;
  }

  // ---- faults, probes, telemetry ----

  private void fault(Node node, LabEvent.Kind kind, boolean on) {
    switch (kind) {
      case DOWN -> {
        node.down = on;
        if (on) {
          for (Attempt a : new ArrayList<>(node.active)) {
            node.engine.cancel(a.sequence, now);
            boolean afterFirstToken = a.firstToken;
            release(a);
            if (afterFirstToken) {
              end(a.request, Outcome.FAILED); // the stream broke after the client saw bytes: no retry
            } else {
              nodeFailed(node);
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

  private void probe(Node node) {
    boolean pass = !node.down; // a shallow probe (/health, /api/tags) passes on a hung engine
    node.probeHistory[node.probes++ % HEALTH_WINDOW] = pass;
    if (pass) {
      node.probeFailures = 0;
      if (node.degraded && !node.control.hung()) {
        node.degraded = false; // the generation probe that re-admits it succeeds
      }
    } else if (++node.probeFailures >= PROBE_FAILURES_TO_DEGRADE) {
      node.degraded = true;
    }
    if (!arrivalsDone || outstanding > 0) {
      at(now + PROBE_INTERVAL_NANOS, () -> probe(node));
    }
  }

  private void scrape(Node node) {
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
    }
    if (!arrivalsDone || outstanding > 0) {
      at(now + node.telemetryPeriod, () -> scrape(node));
    }
  }

  private void at(long atNanos, Runnable action) {
    queue.add(new Timed(atNanos, sequence++, action));
  }

  // ---- results ----

  private RunResult result() {
    int completed = 0;
    int good = 0;
    int shed = 0;
    int failed = 0;
    long[] ttft = new long[requests.size()];
    long[] e2e = new long[requests.size()];
    int ttftCount = 0;
    int e2eCount = 0;
    List<RequestRecord> records = new ArrayList<>(requests.size());
    for (Request r : requests) {
      long t = r.firstTokenAt < 0 ? -1 : r.firstTokenAt - r.arrival;
      long e = r.outcome == Outcome.COMPLETED ? r.finishedAt - r.arrival : -1;
      if (t >= 0) {
        ttft[ttftCount++] = t;
      }
      switch (r.outcome) {
        case COMPLETED -> {
          completed++;
          e2e[e2eCount++] = e;
          long tpot = r.generated <= 1 ? 0 : (r.finishedAt - r.firstTokenAt) / (r.generated - 1);
          if (t <= TTFT_SLO_NANOS && tpot <= TPOT_SLO_NANOS) {
            good++;
          }
        }
        case SHED -> shed++;
        case FAILED -> failed++;
      }
      records.add(new RequestRecord(r.arrival, r.prompt, r.generated, r.servedBy, r.outcome, t, e, r.attempts));
    }
    long[] ttftSorted = Arrays.copyOf(ttft, ttftCount);
    long[] e2eSorted = Arrays.copyOf(e2e, e2eCount);
    Arrays.sort(ttftSorted);
    Arrays.sort(e2eSorted);
    Map<String, NodeCounts> perNode = new LinkedHashMap<>();
    for (Node node : nodes) {
      perNode.put(node.spec.id(), new NodeCounts(node.attempts, node.completions));
    }
    return new RunResult(requests.size(), completed, good, shed, failed, config.durationNanos() / 1e9, ttftSorted,
        e2eSorted, perNode, records);
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
      long seed) {
    public Config {
      nodes = List.copyOf(nodes);
      events = List.copyOf(events);
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

    /** A cluster, workload and scenario of the lab grid. */
    public static Config of(LabCluster cluster, Workload workload, Scenario scenario, double offeredPerSecond,
        long durationNanos, long seed) {
      return new Config(cluster.nodes(), workload, scenario.events(cluster, durationNanos), offeredPerSecond,
          durationNanos, seed);
    }
  }

  // ---- state ----

  private static final class Timed implements Comparable<Timed> {
    final long at;
    final long order;
    final Runnable action;

    Timed(long at, long order, Runnable action) {
      this.at = at;
      this.order = order;
      this.action = action;
    }

    @Override
    public int compareTo(Timed o) {
      int c = Long.compare(at, o.at);
      return c != 0 ? c : Long.compare(order, o.order);
    }
  }

  private static final class Request {
    final long arrival;
    final int prompt;
    final int output;
    List<String> plan = List.of();
    int nextIndex;
    int attempts;
    long firstTokenAt = -1;
    long finishedAt = -1;
    int generated;
    String servedBy;
    Outcome outcome;

    Request(long arrival, int prompt, int output) {
      this.arrival = arrival;
      this.prompt = prompt;
      this.output = output;
    }
  }

  private final class Attempt implements BatchEngine.Listener {
    final Request request;
    final Node node;
    final int prompt;
    final long sentAt;
    final long prefillBacklogAtSend;
    BatchEngine.Sequence sequence;
    boolean firstToken;
    boolean active = true;

    Attempt(Request request, Node node, int prompt, long sentAt, long prefillBacklogAtSend) {
      this.request = request;
      this.node = node;
      this.prompt = prompt;
      this.sentAt = sentAt;
      this.prefillBacklogAtSend = prefillBacklogAtSend;
    }

    @Override
    public void token(BatchEngine.Sequence s, int index, long atNanos) {
      if (index != 0) {
        return;
      }
      firstToken = true;
      node.prefillTokens -= prompt;
      node.decodes++;
      node.consecutiveFailures = 0;
      node.ejections = 0;
      if (request.firstTokenAt < 0) {
        request.firstTokenAt = atNanos;
      }
      if (!node.profile.ollama()) {
        node.speed.observeFirstToken(prompt, (atNanos - sentAt) / 1e6, prefillBacklogAtSend);
      }
    }

    @Override
    public void finished(BatchEngine.Sequence s, long atNanos) {
      release(this);
      node.completions++;
      long decodeNanos = atNanos - s.firstTokenNanos();
      if (node.profile.ollama()) { // the final NDJSON line's timings: exact engine speeds
        node.speed.observeOllamaTimings(prompt, s.firstTokenNanos() - s.admittedNanos(), s.generated() - 1L,
            decodeNanos);
      } else {
        node.speed.observeDecode(s.generated() - 1L, decodeNanos / 1e6);
      }
      request.finishedAt = atNanos;
      request.generated = s.generated();
      request.servedBy = node.spec.id();
      end(request, Outcome.COMPLETED);
    }
  }

  private static final class Node {
    final LabCluster.NodeSpec spec;
    final EngineProfile profile;
    final EngineControl control = new EngineControl();
    final BatchEngine engine;
    final SpeedEstimator speed;
    final long telemetryPeriod;
    final LinkedHashSet<Attempt> active = new LinkedHashSet<>();
    int inFlight;
    long prefillTokens;
    int decodes;
    boolean down;
    boolean hot;
    boolean throttled;
    boolean degraded;
    int probeFailures;
    final boolean[] probeHistory = new boolean[HEALTH_WINDOW];
    int probes;
    int consecutiveFailures;
    int ejections;
    long ejectedUntil;
    double util = Double.NaN;
    double temp = Double.NaN;
    long scrapedAt = -1;
    long lastScrapeAt;
    long lastBusy;
    int attempts;
    int completions;

    Node(LabCluster.NodeSpec spec, SplittableRandom telemetry) {
      this.spec = spec;
      this.profile = EngineProfile.of(spec.gpu());
      this.engine = new BatchEngine(profile, control);
      this.speed = SpeedEstimator.seeded(profile.prefillTokensPerSecond(), profile.decodeMillisPerToken());
      this.telemetryPeriod = TELEMETRY_MIN_NANOS
          + (long) (telemetry.nextDouble() * (TELEMETRY_MAX_NANOS - TELEMETRY_MIN_NANOS));
    }

    boolean fits(int prompt) {
      return profile.ollama() || prompt < profile.maxModelLenTokens();
    }

    NodeView view(long now) {
      int window = Math.min(probes, HEALTH_WINDOW);
      double health = 1;
      if (window > 0) {
        int passed = 0;
        for (int i = 0; i < window; i++) {
          passed += probeHistory[i] ? 1 : 0;
        }
        health = (double) passed / window;
      }
      return new NodeView(spec.id(), spec.gpuLabel(), inFlight, prefillTokens, decodes, util, temp,
          scrapedAt < 0 ? -1 : (now - scrapedAt) / 1_000_000, health, speed.current());
    }

    /** DCGM temperature: idle-to-loaded by utilisation, 82 °C when "hot", 88–90 °C while throttled. */
    double temperature(SplittableRandom random) {
      double noise = random.nextDouble() * 2 - 1;
      if (throttled) {
        return 89 + noise;
      }
      if (hot) {
        return 82 + noise * 0.5;
      }
      GpuProfile gpu = spec.gpu();
      double idle = gpu.name().startsWith("H100") ? 36 : gpu.name().startsWith("A100") ? 38 : 40;
      double loaded = gpu.name().startsWith("H100") ? 72 : gpu.name().startsWith("A100") ? 70 : 76;
      return idle + (loaded - idle) * util / 100 + noise;
    }
  }
}
