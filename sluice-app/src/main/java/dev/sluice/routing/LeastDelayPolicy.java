package dev.sluice.routing;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.ToIntFunction;
import java.util.random.RandomGenerator;

/**
 * Least expected delay, Sluice's default (ROUTING.md "The default we build"; config name {@code least-delay}): for
 * every candidate (full scan, never power-of-two sampling) estimate this request's time to first token and end-to-end
 * time from the router's own in-flight counts and the node's learned speed, and pick the minimum.
 *
 * <pre>
 * backlog   = inFlightPrefillTokens / prefillTokensPerSecond            (prompts ahead of us, not yet prefilled)
 * own       = promptTokens / prefillTokensPerSecond
 * queueWait = max(0, inFlightRequests − slots + 1) × expectedOutputTokens × decodeMillisPerToken / slots
 * stall     = silentMillis                                             (busy, yet nothing came back for this long)
 * est_TTFT  = queueWait + backlog + own + stall
 * perToken  = decodeMillisPerToken × (1 + batchSlope × inFlightDecodes)
 * est_E2E   = est_TTFT + expectedOutputTokens × perToken
 * </pre>
 *
 * <p>Documented choices:
 * <ul>
 *   <li>The speed figures are the <em>observed</em> ones ({@link SpeedEstimator}); {@link NodeSpeed#speedFactor()}
 *       is already in them and is not applied again, so a node throttled to 0.55 looks 1/0.55 slower.</li>
 *   <li>Queue wait models nodes with a fixed number of slots (Ollama {@code OLLAMA_NUM_PARALLEL}): each request ahead
 *       of ours holds a slot for about one typical decode (this request's expected output is the typical one); its
 *       prompt is already counted in the backlog. The slot count comes from a function of the node view; the default
 *       is unlimited (vLLM's continuous batching admits at once, the gateway enforces its own concurrency cap), which
 *       makes the term 0.</li>
 *   <li>Batch scaling: each running decode makes every decode step {@link #DEFAULT_BATCH_SLOPE} (2 %) slower, the
 *       slope of the simulator's vLLM profiles (A10 48 ms/token at batch 1, ≈ 57 at batch 8).</li>
 *   <li>Work that is not draining: a node that has sent nothing (no first token, no chunk) for {@code silentMillis}
 *       while requests are in flight on it is assumed to need at least that long again before it answers anything
 *       new, so a node that stopped answering loses its traffic within a few hundred milliseconds, before any
 *       deadline or probe notices, while a node that streams steadily (a chunk every 15–60 ms) pays nothing.</li>
 *   <li>Equal estimates are ordered randomly (idle identical nodes share the load); the plan is all candidates by
 *       ascending est_E2E.</li>
 * </ul>
 *
 * <p>Admission control, on when {@code request.ttftBudgetMillis() > 0} and the policy was built with it: a node
 * <em>meets the budget</em> when est_TTFT ≤ max(budget, own) (a prompt whose own prefill exceeds the budget is still
 * admitted to a node with nothing ahead of it: waiting cannot make it faster). Nodes that meet the budget come first
 * (by est_E2E), the others after them as failover candidates. When no node meets it the decision is
 * {@link RouteDecision.Reject} with {@code retryAfterMillis} = the least time until some node's work ahead drains
 * enough to meet it (min over nodes of est_TTFT − max(budget, own), at least 1 ms; the gateway rounds up to whole
 * seconds for {@code Retry-After}), assuming no new arrivals. A node whose speed is a guess
 * ({@link NodeView#speedGuessed()}: no GPU profile, nothing observed yet) is not judged: it meets the budget, so its
 * first requests teach the router its speed instead of being refused on the guess (a fast node without a GPU type had
 * 190 KB prompts refused at 200 req/s: ~47k tokens at the guessed 1,000 tokens/s, one request ahead). A budget of 0, or {@link #withoutAdmission()}, disables
 * admission control (config name {@code least-delay-no-admission}, the lab's "ours without admission control").
 *
 * <p><b>Affinity</b> (on unless built with {@link #NO_AFFINITY}): the request's {@link Warmth} says how many of its
 * prompt tokens each node is estimated to hold in its prefix cache, and {@code own} counts only the rest
 * ({@code (promptTokens − cached) / prefillTokensPerSecond}), for ordering and for admission control alike. The
 * sticky choice is then kept <em>until saturated</em>: the warm node ({@link Warmth#preferred()}) goes first when it
 * meets the budget and its est_E2E is at most {@code releasePenaltyMillis} more than the best node's; beyond that the
 * session moves to the best node (and its pin with it). A burst of sub-agents sharing a warm prefix stays on the warm
 * node while each one's wait there (the backlog of the uncached parts sent before it) stays below recomputing
 * elsewhere plus the penalty, then spills over to the next-best node.
 *
 * <p>Stateless, so thread-safe.
 */
public final class LeastDelayPolicy implements RoutingPolicy {
  /** Config name. */
  public static final String NAME = "least-delay";
  /** Config name of the variant without admission control. */
  public static final String NAME_NO_ADMISSION = "least-delay-no-admission";
  /** Relative slowdown of a decode step per running sequence (simulator vLLM profiles: about 2 %). */
  public static final double DEFAULT_BATCH_SLOPE = 0.02;
  /** Slot count meaning "no fixed slots, no queue-wait term". */
  public static final int UNLIMITED_SLOTS = Integer.MAX_VALUE;
  /** Release penalty meaning "affinity off": the request's {@link Warmth} is ignored (every prompt uncached). */
  public static final long NO_AFFINITY = -1;

  private final boolean admissionControl;
  private final double batchSlope;
  private final ToIntFunction<NodeView> slots;
  private final long releasePenaltyMillis;

  /** With admission control, {@link #DEFAULT_BATCH_SLOPE}, unlimited slots, affinity with the default penalty. */
  public LeastDelayPolicy() {
    this(true, DEFAULT_BATCH_SLOPE, node -> UNLIMITED_SLOTS);
  }

  /** Affinity with {@link Affinity.Settings#DEFAULT_RELEASE_PENALTY_MILLIS}. */
  public LeastDelayPolicy(boolean admissionControl, double batchSlope, ToIntFunction<NodeView> slots) {
    this(admissionControl, batchSlope, slots, Affinity.Settings.DEFAULT_RELEASE_PENALTY_MILLIS);
  }

  /**
   * @param admissionControl whether a positive TTFT budget can reject requests
   * @param batchSlope relative decode slowdown per running decode (≥ 0)
   * @param slots concurrent sequences a node runs before it queues ({@link #UNLIMITED_SLOTS} = no queue term)
   * @param releasePenaltyMillis how much longer (est_E2E) the warm node may be than the best before a session moves;
   *     {@link #NO_AFFINITY} ignores the request's warmth
   */
  public LeastDelayPolicy(boolean admissionControl, double batchSlope, ToIntFunction<NodeView> slots,
      long releasePenaltyMillis) {
    if (!(batchSlope >= 0)) {
      throw new IllegalArgumentException("batchSlope: " + batchSlope + " (expected ≥ 0, default "
          + DEFAULT_BATCH_SLOPE + ")");
    }
    this.admissionControl = admissionControl;
    this.batchSlope = batchSlope;
    this.slots = Objects.requireNonNull(slots, "slots");
    if (releasePenaltyMillis < 0 && releasePenaltyMillis != NO_AFFINITY) {
      throw new IllegalArgumentException("releasePenaltyMillis: " + releasePenaltyMillis + " (expected ≥ 0, or "
          + NO_AFFINITY + " for no affinity)");
    }
    this.releasePenaltyMillis = releasePenaltyMillis;
  }

  /** This policy with affinity off ({@link #NO_AFFINITY}) or with another release penalty. */
  public LeastDelayPolicy withReleasePenalty(long penaltyMillis) {
    return new LeastDelayPolicy(admissionControl, batchSlope, slots, penaltyMillis);
  }

  /** Whether the request's warmth counts (affinity on). */
  public boolean affinity() {
    return releasePenaltyMillis != NO_AFFINITY;
  }

  /** The same policy with admission control off. */
  public static LeastDelayPolicy withoutAdmission() {
    return new LeastDelayPolicy(false, DEFAULT_BATCH_SLOPE, node -> UNLIMITED_SLOTS);
  }

  /**
   * One node's estimate for one request, in milliseconds.
   *
   * @param ttftMillis estimated time to first token
   * @param e2eMillis estimated time to the last token
   * @param ownPrefillMillis the part of the TTFT that is this request's own prefill
   * @param stallMillis the part of the TTFT that is the node's silence while busy ({@link NodeView#silentMillis()})
   */
  public record Estimate(double ttftMillis, double e2eMillis, double ownPrefillMillis, double stallMillis) {
    /** The TTFT the node would give if it were answering normally (without the stall term): what deadlines use. */
    public double expectedTtftMillis() {
      return ttftMillis - stallMillis;
    }

    /** Whether the node can start answering within {@code budgetMillis} (see the class comment). */
    public boolean meets(long budgetMillis) {
      return ttftMillis <= Math.max(budgetMillis, ownPrefillMillis);
    }

    /** Milliseconds until the work ahead drains enough to meet {@code budgetMillis}; 0 when it already does. */
    public double excessMillis(long budgetMillis) {
      return Math.max(0, ttftMillis - Math.max(budgetMillis, ownPrefillMillis));
    }
  }

  /** This policy's estimate of {@code request} on {@code node} (for the admin API, the lab and tests). */
  public Estimate estimate(RouteRequest request, NodeView node) {
    NodeSpeed speed = node.speed();
    double msPerPrefillToken = 1000.0 / speed.prefillTokensPerSecond();
    double output = Math.max(0, request.expectedOutputTokens());
    double backlog = Math.max(0, node.inFlightPrefillTokens()) * msPerPrefillToken;
    int cached = affinity() ? request.cachedTokens(node.id()) : 0;
    double own = Math.max(0, request.promptTokens() - cached) * msPerPrefillToken;
    int nodeSlots = slots.applyAsInt(node);
    double queueWait = 0;
    if (nodeSlots > 0 && nodeSlots != UNLIMITED_SLOTS && node.inFlightRequests() >= nodeSlots) {
      double ahead = node.inFlightRequests() - nodeSlots + 1;
      queueWait = ahead * output * speed.decodeMillisPerToken() / nodeSlots;
    }
    double stall = Math.max(0, node.silentMillis());
    double ttft = queueWait + backlog + own + stall;
    double perToken = speed.decodeMillisPerToken() * (1 + batchSlope * Math.max(0, node.inFlightDecodes()));
    return new Estimate(ttft, ttft + output * perToken, own, stall);
  }

  @Override
  public RouteDecision decide(RouteRequest request, List<NodeView> candidates, RandomGenerator random) {
    Ordering.check(request, candidates, random);
    long budget = request.ttftBudgetMillis();
    if (!admissionControl || budget <= 0) {
      List<String> plan = Ordering.ascending(candidates, v -> estimate(request, v).e2eMillis(), random);
      return new RouteDecision.Plan(sticky(request, candidates, plan, 0));
    }
    List<NodeView> meeting = new ArrayList<>(candidates.size());
    List<NodeView> missing = new ArrayList<>(candidates.size());
    double leastExcess = Double.POSITIVE_INFINITY;
    NodeView closest = null;
    for (NodeView node : candidates) {
      Estimate estimate = estimate(request, node);
      if (node.speedGuessed() || estimate.meets(budget)) {
        meeting.add(node);
      } else {
        missing.add(node);
        double excess = estimate.excessMillis(budget);
        if (excess < leastExcess) {
          leastExcess = excess;
          closest = node;
        }
      }
    }
    if (meeting.isEmpty()) {
      long retryAfter = Math.max(1, (long) Math.ceil(leastExcess));
      Estimate best = estimate(request, closest);
      return new RouteDecision.Reject(retryAfter, String.format(Locale.ROOT,
          "no node can start answering %s within its TTFT budget of %,d ms: the soonest, %s, is estimated at %,.0f ms"
              + " (%,d prefill tokens and %,d requests in flight); retry in %,d ms",
          request.model(), budget, closest.id(), best.ttftMillis(), closest.inFlightPrefillTokens(),
          closest.inFlightRequests(), retryAfter));
    }
    List<String> plan = new ArrayList<>(Ordering.ascending(meeting, v -> estimate(request, v).e2eMillis(), random));
    plan.addAll(Ordering.ascending(missing, v -> estimate(request, v).e2eMillis(), random));
    return new RouteDecision.Plan(sticky(request, candidates, plan, budget));
  }

  /**
   * The release rule: the warm node moves to the front of {@code plan} when it meets {@code budget} (0: no budget)
   * and its est_E2E is within the release penalty of the first node's; otherwise the plan stands.
   */
  private List<String> sticky(RouteRequest request, List<NodeView> candidates, List<String> plan, long budget) {
    String warm = affinity() ? request.warmth().preferred() : null;
    if (warm == null || plan.get(0).equals(warm)) {
      return plan;
    }
    NodeView warmView = null;
    NodeView bestView = null;
    for (NodeView v : candidates) {
      if (v.id().equals(warm)) warmView = v;
      if (v.id().equals(plan.get(0))) bestView = v;
    }
    if (warmView == null || bestView == null) {
      return plan;
    }
    Estimate warmEstimate = estimate(request, warmView);
    if (budget > 0 && !warmView.speedGuessed() && !warmEstimate.meets(budget)) {
      return plan;
    }
    if (warmEstimate.e2eMillis() > estimate(request, bestView).e2eMillis() + releasePenaltyMillis) {
      return plan;
    }
    List<String> kept = new ArrayList<>(plan);
    kept.remove(warm);
    kept.add(0, warm);
    return kept;
  }

  @Override
  public String name() {
    return admissionControl ? NAME : NAME_NO_ADMISSION;
  }
}
