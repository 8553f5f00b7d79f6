package dev.sluice.server;

import dev.sluice.api.Endpoint;
import dev.sluice.api.NodeDialect;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.RoutingSettings;
import dev.sluice.config.SluiceConfig;
import dev.sluice.flow.Band;
import dev.sluice.flow.NodeCap;
import dev.sluice.health.NodeState;
import dev.sluice.node.GpuDefaults;
import dev.sluice.node.NodeEntry;
import dev.sluice.node.NodeRegistry;
import dev.sluice.routing.Affinity;
import dev.sluice.routing.FailoverOrder;
import dev.sluice.routing.FirstTokenDeadline;
import dev.sluice.routing.GpuWeightedPolicy;
import dev.sluice.routing.LeastDelayPolicy;
import dev.sluice.routing.LeastRequestPolicy;
import dev.sluice.routing.NodeSpeed;
import dev.sluice.routing.NodeView;
import dev.sluice.routing.Policies;
import dev.sluice.routing.PrefixChain;
import dev.sluice.routing.PrefixHashPolicy;
import dev.sluice.routing.RoundRobinPolicy;
import dev.sluice.routing.RouteDecision;
import dev.sluice.routing.RouteRequest;
import dev.sluice.routing.RoutingPolicy;
import dev.sluice.routing.Warmth;
import dev.sluice.support.Clock;
import dev.sluice.support.Durations;
import dev.sluice.upstream.Exchange;
import dev.sluice.upstream.NodeClient;
import dev.sluice.upstream.NodeClients;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Turns a request into an attempt plan: eligible nodes (healthy, serving the model, speaking the endpoint's API) →
 * the configured {@link RoutingPolicy} → the configured {@link FailoverOrder}. Rebuilt on every config swap, so a
 * policy change by hot reload takes effect for the next request.
 *
 * <p>Affinity ({@link #affinityOn}): with least-delay and {@code routing.affinity.enabled}, or with prefix-hash, the
 * request's {@link Warmth} (its session's pin, each candidate's estimated cached prompt tokens) is read from the
 * gateway's {@link Affinity} before the policy decides, and the first-token deadlines are derived from the same
 * cache-aware estimate; each target carries its cached tokens so the node's backlog counts only the uncached rest.
 */
final class Router {
  /**
   * Output tokens assumed when the request gives no limit: the chat median of UPSTREAMS.md's workload shape, the same
   * figure the node caps count a request's KV footprint with.
   */
  static final int DEFAULT_EXPECTED_OUTPUT_TOKENS = NodeCap.DEFAULT_OUTPUT_TOKENS;

  private final NodeRegistry registry;
  private final NodeClients clients;
  private final Clock clock;
  private final RoutingSettings settings;
  private final RoutingPolicy policy;
  private final FailoverOrder failover;
  private final long probeSeconds;
  private final FirstTokenDeadline deadline;
  /** The gateway's affinity (kept across swaps); read only when {@link #affinityOn}. */
  private final Affinity affinity;
  private final boolean affinityOn;
  /** Estimates for deadlines, whatever the configured policy (least-delay's estimate is a pure function). */
  private static final LeastDelayPolicy ESTIMATOR = new LeastDelayPolicy();
  /**
   * An idle node that has not answered for this long gets the next request once, so its learned speed stays current:
   * a node that no policy picks would otherwise keep its GPU profile's figures for ever (an A100 idling beside a
   * throttled H100, or an A10 left unused while the fast nodes saturate, because the others' speeds were learned and
   * its own never was). At most one request per idle node per period.
   */
  static final long EXPLORE_AFTER_NANOS = 5_000_000_000L;

  Router(NodeRegistry registry, NodeClients clients, SluiceConfig config, Clock clock, Affinity affinity) {
    this.registry = registry;
    this.clients = clients;
    this.clock = clock;
    this.settings = config.routing();
    this.affinity = affinity;
    RoutingPolicy configured = GpuWeightedPolicy.NAME.equals(settings.policy())
        ? new GpuWeightedPolicy(settings.gpuBases(),
            GpuWeightedPolicy.DEFAULT_UNKNOWN_BASE)
        : Policies.byName(settings.policy());
    boolean enabled = settings.affinity().enabled();
    if (configured instanceof LeastDelayPolicy leastDelay) {
      configured = leastDelay.withReleasePenalty(enabled ? settings.affinity().releasePenalty().toMillis()
          : LeastDelayPolicy.NO_AFFINITY);
    }
    this.policy = configured;
    this.affinityOn = affinity != null
        && (configured instanceof LeastDelayPolicy && enabled || configured instanceof PrefixHashPolicy);
    this.failover = FailoverOrder.fromConfig(settings.failover());
    this.probeSeconds = Durations.retryAfterSeconds(config.health().probeInterval().toMillis());
    this.deadline = config.timeouts().firstTokenDeadline();
  }

  RoutingSettings settings() {
    return settings;
  }

  /**
   * Whether requests are routed with affinity: least-delay with {@code routing.affinity.enabled}, or prefix-hash
   * (which hashes the session or prefix whatever that says). Only then is a request's prefix chain worth computing.
   */
  boolean affinityOn() {
    return affinityOn;
  }

  /** The affinity this router reads; null when {@link #affinityOn} is false. */
  Affinity affinity() {
    return affinityOn ? affinity : null;
  }

  /** Seconds until the next health probe could change eligibility: what Retry-After says when no node is healthy. */
  long healthProbeSeconds() {
    return probeSeconds;
  }

  /** The outcome of routing one request. */
  sealed interface Result {}

  /**
   * Try these targets in order. {@code warmth}: what affinity knew of the request before routing ({@link Warmth#NONE}
   * when affinity is off).
   */
  record Plan(List<Exchange.Target> targets, Warmth warmth, String route) implements Result {
    /** A plan without a route explanation ({@code routing.explain} off). */
    Plan(List<Exchange.Target> targets, Warmth warmth) {
      this(targets, warmth, null);
    }
  }

  /** Admission control refused the request. */
  record Overloaded(long retryAfterMillis, String reason) implements Result {}

  /**
   * Flow control: the model has eligible nodes, but every one of them is at its concurrency cap for the request's
   * band; {@code why} lists each node's in-flight count and cap ({@code a10-1 2/2 (learned …)}). The request waits in
   * the gateway's queue ({@link FlowControl}), not on a node.
   */
  record Full(String why) implements Result {}

  /**
   * No node of the model is in rotation; {@code why} lists each node's state. {@code warmingUp}: every one of them is
   * STARTING or WARMING (start-up or warm-up), which is not evidence of failure.
   */
  record NoHealthyNode(String why, boolean warmingUp) implements Result {}

  /**
   * No node of the model is in rotation, but some are only cooling down after saying they are busy (a 429 or 503, or
   * no free connection): the model is busy, not broken. {@code retryAfterMillis}: until the first of them cools down.
   */
  record Busy(long retryAfterMillis, String why) implements Result {}

  /**
   * The model has no node that speaks the endpoint's API (an Ollama path, only OpenAI nodes), nor, for a dialect the
   * gateway translates, one that speaks chat completions.
   */
  record NoNodeSpeaksApi() implements Result {}

  /**
   * The plan for one request. {@code expectedOutputTokens}: the request's own limit, 0 when it gives none. {@code
   * stream}: the client asked for a stream. Each target's first-token deadline ({@link FirstTokenDeadline}) is derived
   * from what its first byte waits for: for a stream, the node's estimate of the time to first token; for a plain body
   * with a token limit, its estimate of the whole answer; for a plain body without one (its length is unknown), the
   * ceiling {@code timeouts.firstToken}. {@code overChat}: the request can be carried over chat completions
   * ({@link dev.sluice.api.Dialect#overChat}), so a node that does not speak its dialect but speaks OpenAI is eligible,
   * its target marked to translate. {@code sessionId}: the session the client named ({@link SessionKey}), or null;
   * {@code chain}: the prompt's prefix chain under {@code model}, or null when {@link #affinityOn} is false.
   */
  Result route(String model, Endpoint endpoint, List<NodeSpec> nodes, long promptTokens, int expectedOutputTokens,
      boolean stream, boolean overChat, String sessionId, PrefixChain chain) {
    return route(model, endpoint, nodes, promptTokens, expectedOutputTokens, stream, overChat, sessionId, chain,
        Band.INTERACTIVE, 0);
  }

  /**
   * As above, for a request of {@code band}. With flow control on ({@code routing.flow.enabled}), the candidates are
   * the eligible nodes with room for the band ({@link Band#fits} under each node's cap); when eligible nodes exist but
   * none has room, {@link Full}. Admission control then judges the nodes with room, against the
   * TTFT budget less {@code waitedMillis} (what an interactive request already spent in the queue); when it refuses
   * them while faster nodes are only full, the request is {@link Full} too: it waits for a slot on one of those
   * rather than being refused while its answer is a slot away (the routing lab measured fair share failing without
   * this, docs/routing-lab.md).
   */
  Result route(String model, Endpoint endpoint, List<NodeSpec> nodes, long promptTokens, int expectedOutputTokens,
      boolean stream, boolean overChat, String sessionId, PrefixChain chain, Band band, long waitedMillis) {
    NodeDialect needed = endpoint.dialect().nodeDialect();
    long now = registry.nowMillis();
    List<NodeView> views = new ArrayList<>(nodes.size());
    Map<String, Exchange.Target> byId = new HashMap<>();
    Map<String, String> gpuById = new HashMap<>();
    StringBuilder why = new StringBuilder();
    boolean anySpeaks = false;
    boolean allWarming = true;
    long coolestUntil = Long.MAX_VALUE;
    for (NodeSpec n : nodes) {
      NodeEntry e = registry.get(n.id());
      NodeClient c = clients.get(n.id());
      if (e == null || c == null) continue;
      boolean translate = !e.speaks(needed);
      if (translate && !(overChat && e.speaks(NodeDialect.OPENAI))) continue;
      anySpeaks = true;
      if (!e.canServe(model, now)) {
        if (!why.isEmpty()) why.append("; ");
        var snap = e.health().snapshot();
        allWarming &= snap.state() == NodeState.STARTING
            || snap.state() == NodeState.WARMING;
        why.append(n.id()).append(' ').append(snap.state());
        if (snap.ejection().ejectedAt(now)) why.append(" (ejected)");
        else if (snap.suspected()) why.append(" (suspected: ").append(snap.suspicion()).append(')');
        else if (e.coolingUntilMillis() > now) {
          why.append(" (busy, cooling down)");
          if (snap.eligible(now)) coolestUntil = Math.min(coolestUntil, e.coolingUntilMillis());
        }
        else if (e.servedModels() != null && !e.servedModels().contains(model)) why.append(" (does not serve it)");
        else why.append(" (").append(snap.reason()).append(')');
        continue;
      }
      views.add(e.view(now));
      byId.put(n.id(), new Exchange.Target(e, c, 0, 0, translate, 0));
      gpuById.put(n.id(), n.gpuType() == null ? "" : n.gpuType());
    }
    if (!anySpeaks) return new NoNodeSpeaksApi();
    if (views.isEmpty() && coolestUntil != Long.MAX_VALUE) return new Busy(coolestUntil - now, why.toString());
    if (views.isEmpty()) return new NoHealthyNode(why.toString(), allWarming && !why.isEmpty());
    List<NodeView> atCap = List.of();
    List<NodeView> eligible = views;
    if (flowOn()) {
      List<NodeView> withRoom = new ArrayList<>(views.size());
      atCap = new ArrayList<>();
      for (NodeView v : views) {
        if (band.fits(v.inFlightRequests(), byId.get(v.id()).entry().cap().value())) withRoom.add(v);
        else atCap.add(v);
      }
      if (withRoom.isEmpty()) return new Full(atCaps(atCap, byId));
      views = withRoom;
    }
    int prompt = (int) Math.min(Integer.MAX_VALUE, promptTokens);
    Warmth warmth = Warmth.NONE;
    if (affinityOn && chain != null) {
      List<String> candidates = new ArrayList<>(views.size());
      for (NodeView v : views) candidates.add(v.id());
      warmth = affinity.warmth(Affinity.sessionKey(model, sessionId), chain, prompt, candidates);
    }
    long budget = settings.ttftBudget().toMillis();
    if (budget > 0 && waitedMillis > 0) budget = Math.max(1, budget - waitedMillis);
    RouteRequest request = new RouteRequest(model, prompt,
        expectedOutputTokens > 0 ? expectedOutputTokens : DEFAULT_EXPECTED_OUTPUT_TOKENS, budget, warmth);
    RouteDecision decision = policy.decide(request, views, ThreadLocalRandom.current());
    if (decision instanceof RouteDecision.Reject r) {
      if (!atCap.isEmpty()) return new Full(r.reason() + "; at their caps: " + atCaps(atCap, byId));
      return new Overloaded(r.retryAfterMillis(), r.reason());
    }
    String slower = fasterAtCap(request, ((RouteDecision.Plan) decision).nodeIds().get(0), views, atCap, budget);
    if (slower != null) return new Full(slower + "; at their caps: " + atCaps(atCap, byId));
    if (flowOn() && waitedMillis > 0) {
      Result late = lateAfterWait(request, ((RouteDecision.Plan) decision).nodeIds().get(0), views, eligible,
          waitedMillis, settings.ttftBudget().toMillis());
      if (late instanceof Full full) return new Full(full.why() + "; at their caps: " + atCaps(atCap, byId));
      if (late != null) return late;
    }
    List<String> order = new ArrayList<>(failover.apply(((RouteDecision.Plan) decision).nodeIds(), gpuById));
    // the brief's gpu-weighted stays exact; a request warm somewhere is not the one to spend on exploring (its
    // session would move to the idle node and recompute its prompt there)
    String planned = order.get(0);
    if (policy instanceof LeastDelayPolicy && warmth.preferred() == null) explore(order, byId);
    boolean explored = !order.get(0).equals(planned);
    Map<String, NodeView> viewById = new HashMap<>();
    for (NodeView v : views) viewById.put(v.id(), v);
    List<Exchange.Target> targets = new ArrayList<>(order.size());
    for (String id : order) {
      Exchange.Target t = byId.get(id);
      int cached = request.cachedTokens(id); // the estimator and the node's backlog count only the uncached rest
      LeastDelayPolicy.Estimate estimate = ESTIMATOR.estimate(request, viewById.get(id));
      if (!stream && expectedOutputTokens <= 0) {
        targets.add(new Exchange.Target(t.entry(), t.client(), 0, 0, t.translate(), cached)); // 0: the ceiling
        continue;
      }
      double expected = stream ? estimate.expectedTtftMillis() : estimate.e2eMillis() - estimate.stallMillis();
      targets.add(new Exchange.Target(t.entry(), t.client(), deadline.millis(expected), expected, t.translate(),
          cached));
    }
    if (!settings.explain()) return new Plan(targets, warmth);
    return new Plan(targets, warmth, explain(request, order, viewById, warmth, explored));
  }

  /**
   * Why the first node of {@code order} goes first, for {@code x-sluice-route} ({@code routing.explain} on only):
   * {@code node=h100-01; policy=least-delay; reason=lowest est. answer 1180 ms (TTFT 310 ms); next a100-01 2050 ms}.
   */
  private String explain(RouteRequest request, List<String> order, Map<String, NodeView> views, Warmth warmth,
      boolean explored) {
    String first = order.get(0);
    StringBuilder b = new StringBuilder(128).append("node=").append(first).append("; policy=").append(policy.name())
        .append("; reason=");
    if (explored) {
      return b.append("idle for ").append(EXPLORE_AFTER_NANOS / 1_000_000_000L)
          .append(" s or more: one request to keep its speed estimate current").toString();
    }
    if (first.equals(warmth.preferred())) {
      return b.append("session kept where its prompt is cached (about ").append(request.cachedTokens(first))
          .append(" tokens)").toString();
    }
    if (policy instanceof LeastDelayPolicy) {
      LeastDelayPolicy.Estimate e = ESTIMATOR.estimate(request, views.get(first));
      b.append(order.size() == 1 ? "only candidate: est. answer " : "lowest est. answer ")
          .append(Math.round(e.e2eMillis())).append(" ms (TTFT ").append(Math.round(e.ttftMillis())).append(" ms)");
      if (order.size() > 1 && views.get(order.get(1)) != null) {
        b.append("; next ").append(order.get(1)).append(' ')
            .append(Math.round(ESTIMATOR.estimate(request, views.get(order.get(1))).e2eMillis())).append(" ms");
      }
      return b.toString();
    }
    NodeView v = views.get(first);
    return switch (policy.name()) {
      case RoundRobinPolicy.NAME -> b.append("its turn of ").append(order.size()).toString();
      case LeastRequestPolicy.NAME -> b.append("fewest requests in flight (").append(v.inFlightRequests()).append(')')
          .toString();
      case GpuWeightedPolicy.NAME -> b.append("weighted draw (weight ").append(GpuWeightedPolicy.weight(v,
          settings.gpuBases())).append(')').toString();
      case PrefixHashPolicy.NAME -> b.append("hash of the session or prompt prefix").toString();
      default -> b.append("first in the policy's order of ").append(order.size()).toString();
    };
  }

  /**
   * Why the request should wait, or null: the node with room least-delay chose misses the TTFT budget (a long prompt on
   * a slow idle node, which least-delay admits because waiting cannot make that node faster) while a node now at its
   * cap would meet it by its own prefill alone; then it waits for that node's slot (the routing lab's rule,
   * docs/routing-lab.md).
   */
  private static String fasterAtCap(RouteRequest request, String chosen, List<NodeView> withRoom,
      List<NodeView> atCap, long budget) {
    if (budget <= 0 || atCap.isEmpty()) return null;
    NodeView first = null;
    for (NodeView v : withRoom) {
      if (v.id().equals(chosen)) first = v;
    }
    if (first == null) return null;
    double there = ESTIMATOR.estimate(request, first).ttftMillis();
    if (there <= budget) return null;
    for (NodeView v : atCap) {
      double own = ESTIMATOR.estimate(request, v).ownPrefillMillis();
      if (own <= budget) {
        return chosen + " would take about " + Math.round(there) + " ms to a first token (budget " + budget
            + " ms) where " + v.id() + " needs " + Math.round(own) + " ms once a slot frees";
      }
    }
    return null;
  }

  /**
   * What becomes of an interactive request that waited {@code waitedMillis} in the queue when the node chosen would
   * start it past what is left of its budget ({@code request.ttftBudgetMillis()}), or null: it starts. Least-delay
   * admits a prompt whose own prefill exceeds that on a node with nothing ahead (waiting cannot make that node faster),
   * but after a wait the start is late by the wait itself. So it waits on ({@link Full}) while some eligible node
   * could still start it in time by its own prefill (and any silence); it is refused ({@link Overloaded}: 429) when
   * none can any more though one could have within the whole {@code budgetMillis}; a prompt no node prefills within
   * the whole budget keeps the exception (null): it cannot be on time anywhere. The routing lab's rule (C2 chat at
   * 130 %: TTFT p99 of the requests admitted 4.4 → about 3 s, goodput 90 → 100 % of capacity with the skip-ahead
   * dispatch and the decode cap, docs/routing-lab.md).
   */
  private static Result lateAfterWait(RouteRequest request, String chosen, List<NodeView> withRoom,
      List<NodeView> eligible, long waitedMillis, long budgetMillis) {
    long remaining = request.ttftBudgetMillis();
    if (remaining <= 0 || budgetMillis <= 0) return null;
    NodeView first = null;
    for (NodeView v : withRoom) {
      if (v.id().equals(chosen)) first = v;
    }
    if (first == null) return null;
    double there = ESTIMATOR.estimate(request, first).ttftMillis();
    if (there <= remaining) return null;
    boolean couldHave = false;
    for (NodeView v : eligible) {
      LeastDelayPolicy.Estimate e = ESTIMATOR.estimate(request, v);
      double own = e.ownPrefillMillis() + e.stallMillis();
      if (own <= remaining) {
        return new Full(chosen + " would start it in about " + Math.round(there) + " ms, past the " + remaining
            + " ms left of its budget after " + waitedMillis + " ms waiting, where " + v.id() + " needs "
            + Math.round(own) + " ms once a slot frees");
      }
      couldHave |= own <= budgetMillis;
    }
    if (!couldHave) return null;
    return new Overloaded(Math.max(1, Math.round(there - remaining)), "it waited " + waitedMillis + " ms for a "
        + "slot and no node can start it within the " + remaining + " ms left of its budget any more (" + chosen
        + ", the soonest with room, in about " + Math.round(there) + " ms)");
  }

  /**
   * The nodes at their caps as a request that waits is told: {@code a10-01 4/4 (where the cap came from)}; built only
   * when a request waits, not on every routing decision.
   */
  private static String atCaps(List<NodeView> atCap, Map<String, Exchange.Target> byId) {
    StringBuilder out = new StringBuilder();
    for (NodeView v : atCap) {
      NodeCap.Reading cap = byId.get(v.id()).entry().cap().reading();
      if (!out.isEmpty()) out.append("; ");
      out.append(v.id()).append(' ').append(v.inFlightRequests()).append('/').append(cap.value()).append(" (")
          .append(cap.source()).append(')');
    }
    return out.toString();
  }

  /**
   * Moves to the front of {@code order} one idle node that has not answered for {@link #EXPLORE_AFTER_NANOS}, if
   * there is one and it can claim the turn (one request per node per period, across event loops).
   */
  private void explore(List<String> order, Map<String, Exchange.Target> byId) {
    if (order.size() < 2) return;
    long now = clock.nanos();
    for (int i = 1; i < order.size(); i++) {
      NodeEntry e = byId.get(order.get(i)).entry();
      if (e.inFlight() == 0 && e.claimExploration(now, EXPLORE_AFTER_NANOS)) {
        order.add(0, order.remove(i));
        return;
      }
    }
  }

  /** Whether flow control applies: per-node caps, the per-model queue ({@code routing.flow.enabled}). */
  boolean flowOn() {
    return settings.flow().enabled();
  }

  /**
   * Free slots on {@code model}'s nodes in rotation (health and model only, not the API a waiting request speaks):
   * for an interactive request ({@code [0]}) and a batch one ({@code [1]}), summed over the nodes. What the queue
   * dispatches against.
   */
  int[] room(String model, List<NodeSpec> nodes) {
    long now = registry.nowMillis();
    int[] room = new int[2];
    for (NodeSpec n : nodes) {
      NodeEntry e = registry.get(n.id());
      if (e == null || !e.canServe(model, now)) continue;
      int inFlight = e.inFlight();
      int cap = e.cap().value();
      room[0] += Math.max(0, cap - inFlight);
      if (Band.BATCH.fits(inFlight, cap)) room[1] += Math.max(1, cap - 1) - inFlight;
    }
    return room;
  }

  /**
   * The best learned speed over {@code model}'s nodes in rotation (the highest prefill rate, the lowest decode time
   * per token; an unknown GPU type's figures when none is in rotation): what a waiting request's GPU time, the unit of
   * fair share, is estimated at.
   */
  NodeSpeed bestSpeed(String model, List<NodeSpec> nodes) {
    long now = registry.nowMillis();
    double prefill = 0;
    double decode = Double.MAX_VALUE;
    for (NodeSpec n : nodes) {
      NodeEntry e = registry.get(n.id());
      if (e == null || !e.canServe(model, now)) continue;
      NodeSpeed s = e.speed().current();
      prefill = Math.max(prefill, s.prefillTokensPerSecond());
      if (s.decodeMillisPerToken() > 0) decode = Math.min(decode, s.decodeMillisPerToken());
    }
    if (prefill <= 0 || decode == Double.MAX_VALUE) return GpuDefaults.expectedSpeed(null);
    return new NodeSpeed(prefill, decode, 1);
  }

  /** Whether every node of {@code nodes} speaks {@code dialect} now (configured or discovered). */
  boolean allSpeak(List<NodeSpec> nodes, NodeDialect dialect) {
    for (NodeSpec n : nodes) {
      NodeEntry e = registry.get(n.id());
      if (e != null && !e.speaks(dialect)) return false;
    }
    return true;
  }

  /**
   * Requests {@code model}'s nodes in rotation run well at once: what the share of downgraded traffic a smaller model
   * takes is measured against. With flow control, the sum of their caps (what they will run at once, the rest waits);
   * without, their GPU types' default concurrency ({@link GpuDefaults#concurrency}).
   */
  int capacity(String model, List<NodeSpec> nodes) {
    long now = registry.nowMillis();
    int sum = 0;
    for (NodeSpec n : nodes) {
      NodeEntry e = registry.get(n.id());
      if (e == null || !e.canServe(model, now)) continue;
      sum += flowOn() ? e.cap().value() : GpuDefaults.concurrency(n.gpuType());
    }
    return sum;
  }

  /**
   * Where a stream broken after its first byte may be continued (docs/stream-resumption.md): the routing policy's
   * plan for the request now first, then every other node of the model in rotation, the least loaded first (also
   * those at their cap or cooling down after a busy answer, and when admission control refuses): a stream that is
   * already answering is not held back by caps, and the plan may hold only the node that just broke.
   */
  List<Exchange.Target> resumeTargets(String model, Endpoint endpoint, List<NodeSpec> nodes, long promptTokens,
      int expectedOutputTokens, boolean overChat, String sessionId, PrefixChain chain) {
    Result routed = route(model, endpoint, nodes, promptTokens, expectedOutputTokens, true, overChat, sessionId, chain);
    List<Exchange.Target> planned = routed instanceof Plan plan ? plan.targets() : List.of();
    NodeDialect needed = endpoint.dialect().nodeDialect();
    long now = registry.nowMillis();
    List<Exchange.Target> any = new ArrayList<>();
    for (NodeSpec n : nodes) {
      NodeEntry e = registry.get(n.id());
      NodeClient c = clients.get(n.id());
      if (e == null || c == null || !e.health().eligible(now)) continue; // a busy node cooling down is asked too
      if (e.servedModels() != null && !e.servedModels().contains(model)) continue;
      boolean translate = !e.speaks(needed);
      if (translate && !(overChat && e.speaks(NodeDialect.OPENAI))) continue;
      any.add(new Exchange.Target(e, c, 0, 0, translate, 0));
    }
    any.sort(Comparator.comparingInt(t -> t.entry().inFlight()));
    // the policy's choice first (it may hold only the node that just broke, still in rotation), then every other one
    List<Exchange.Target> all = new ArrayList<>(planned);
    for (Exchange.Target t : any) {
      if (all.stream().noneMatch(p -> p.entry() == t.entry())) all.add(t);
    }
    return all;
  }
}
