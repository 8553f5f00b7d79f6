package dev.sluice.flow;

import dev.sluice.support.Clock;
import java.util.Objects;

/**
 * How many requests one node may run at once, and where that figure came from. A node at its cap takes no new request:
 * the request waits in the gateway ({@link FlowQueue}) instead of queueing unseen inside the engine.
 *
 * <p>A <b>configured</b> cap ({@code maxConcurrent} on the node or its GPU profile) is used as it is. Otherwise the cap
 * is <b>learned</b>:
 * <ul>
 *   <li>its base is the node's KV capacity (vLLM's {@code cache_config_info}, else a guess by GPU type) divided by the
 *       mean KV footprint of the requests sent to it (prompt + expected output tokens, smoothed): how many of them its
 *       cache holds at once, less a margin for their spread ({@link #SPREAD_MARGIN} standard deviations of the sum of
 *       that many footprints), so a small cache (an A10 holds about four chats) is not filled past its KV half the
 *       time. Without a KV figure, the GPU type's default concurrency;</li>
 *   <li>a multiplier then follows what the node says: requests waiting inside it (vLLM {@code num_requests_waiting}
 *       &gt; 0) or a "busy" answer (Ollama's 503 "server busy", a 429) shrink it; a node that runs our cap with nothing
 *       waiting lets it grow; a first token much later than estimated on a node at its cap shrinks it a little;
 *       answers decoding slower than {@link #SLOW_DECODE_MILLIS_PER_TOKEN} on average shrink it, and keep it from
 *       growing back, however little waits inside the node (its saturation shows in its decode, not its queue).</li>
 * </ul>
 * Each adjustment waits {@link #ADJUST_EVERY_MILLIS} after the previous one, so one scrape or one burst of 503s counts
 * once. Thread-safe; pure (time from the injected {@link Clock}).
 */
public final class NodeCap {
  /** A cap and its origin, as {@code /admin/nodes} and the console show it. */
  public record Reading(int value, String source) {}

  /** Weight of a new request in the mean footprint. */
  static final double FOOTPRINT_ALPHA = 0.05;
  /**
   * Standard deviations of the summed footprints kept free: n requests fit when n × mean + this × sd × √n ≤ KV. The
   * routing lab measured it on C2 chat at 130 % (A10: 5,700 KV tokens, footprints about 1,000 ± 500): at 0 a fourth
   * or fifth request often waited inside an A10 for KV, for a whole answer (A10 TTFT p99 8–9 s, cluster 4.3 s); at
   * 1.3, 3.3 s; at 2, 2.7 s with goodput unchanged (94 % of capacity); at 3, no better. Nodes with a large cache lose
   * little (H100: 160,000 tokens ≈ 115 chats, 2 sd ≈ 8 of them).
   */
  static final double SPREAD_MARGIN = 2.0;
  /** Footprint assumed before any request was sent: a chat prompt and answer (UPSTREAMS.md's median, rounded). */
  static final double INITIAL_FOOTPRINT_TOKENS = 1_200;
  static final double SHRINK_ON_WAITING = 0.8;
  static final double SHRINK_ON_BUSY = 0.7;
  static final double SHRINK_ON_SLOW_FIRST_TOKEN = 0.9;
  static final double GROW_WHEN_CLEAR = 1.1;
  static final double MIN_MULTIPLIER = 0.05;
  static final double MAX_MULTIPLIER = 4;
  /**
   * With a KV figure the cap grows back to what the KV holds and no further: "nothing waiting" at one scrape says
   * the node held what ran then, not that one more fits (the routing lab: an A10 cap grew from 4 to 7 that way, and
   * its requests then waited inside it for KV, TTFT p99 8–9 s).
   */
  static final double MAX_MULTIPLIER_WITH_KV = 1;
  /** A first token this many times later than estimated (and at least {@link #SLOW_FLOOR_MILLIS}) counts as slow. */
  static final double SLOW_FACTOR = 3;
  static final long SLOW_FLOOR_MILLIS = 500;
  /**
   * A first token at most this many times its estimate counts as on time. A node that does not report its queue
   * (Ollama) grows its learned cap once a cap's worth of first tokens in a row came on time while it ran at the cap:
   * with fixed slots the request past the last slot waits inside the node for a whole answer, and that late first
   * token shrinks the cap back (additive increase, multiplicative decrease), so a node run with more slots than the
   * guess (OLLAMA_NUM_PARALLEL=16, or an engine that batches freely) is found instead of held at the guess.
   */
  static final double ON_TIME_FACTOR = 1.5;
  static final long ADJUST_EVERY_MILLIS = 2_000;
  /**
   * Output tokens a request without a length limit is expected to produce, for its footprint: the chat median of
   * UPSTREAMS.md's workload shape, as the router assumes.
   */
  public static final int DEFAULT_OUTPUT_TOKENS = 129;
  /**
   * Time per output token past which a node is past saturation: 200 ms, 5 tokens/s, slower than people read (the
   * routing lab's goodput SLO and {@code sluice bench --slo-tpot}'s default). A vLLM node sent prompts faster than it
   * prefills them runs every step with a full prefill chunk, and every answer decoding beside them streams at the
   * pace of those steps while nothing waits inside it: the routing lab measured an A100 at 125 % of its chat capacity
   * decoding at 300–800 ms per token, all its KV-based slots in use and its queue empty.
   */
  public static final double SLOW_DECODE_MILLIS_PER_TOKEN = 200;
  /**
   * Share of {@link #SLOW_DECODE_MILLIS_PER_TOKEN} above which the smoothed decode shrinks the cap: the mean, so that
   * most answers stay under the limit itself (the routing lab: C2 chat at 130 %, 1–2 % of answers over 200 ms).
   */
  static final double DECODE_SHRINK_SHARE = 0.8;
  /** Share of {@link #SLOW_DECODE_MILLIS_PER_TOKEN} above which the cap does not grow back. */
  static final double DECODE_GROW_SHARE = 0.6;
  /** Weight of a new answer in the smoothed time per output token. */
  static final double DECODE_ALPHA = 0.1;
  static final double SHRINK_ON_SLOW_DECODE = 0.9;
  /** Answers with fewer tokens after the first teach nothing about decode (one long step is most of them). */
  static final long MIN_DECODE_TOKENS = 8;
  /** No learned cap goes above this (a cap that never binds is no cap). */
  public static final int MAX_LEARNED = 4_096;

  private final Clock clock;
  private final int configured;
  private final String configuredSource;
  private final int fallback;
  private final String fallbackSource;
  private long kvTokens;
  private String kvSource;
  private double footprint = INITIAL_FOOTPRINT_TOKENS;
  /** Smoothed variance of the footprints sent (exponentially weighted like the mean). */
  private double footprintVariance;
  private double multiplier = 1;
  private String adjustment;
  private long lastAdjustMillis = Long.MIN_VALUE;
  /** The node has reported its own queue ({@link #nodeQueue}): late first tokens no longer teach. */
  private boolean reportsQueue;
  /** Smoothed time per output token of the answers it completed, ms; NaN until one was long enough. */
  private double decodeMillis = Double.NaN;
  /** First tokens in a row that came on time while the node ran at its cap (nodes that do not report their queue). */
  private int onTimeAtCap;

  private NodeCap(Clock clock, int configured, String configuredSource, int fallback, String fallbackSource) {
    this.clock = Objects.requireNonNull(clock, "clock");
    this.configured = configured;
    this.configuredSource = configuredSource;
    this.fallback = Math.max(1, fallback);
    this.fallbackSource = fallbackSource;
  }

  /** A fixed cap: {@code source} says where it is configured ({@code nodes[a10-1].maxConcurrent}). */
  public static NodeCap configured(int cap, String source) {
    if (cap < 1) throw new IllegalArgumentException("a configured cap must be ≥ 1, got " + cap);
    return new NodeCap(() -> 0L, cap, Objects.requireNonNull(source, "source"), cap, source);
  }

  /**
   * A learned cap. Until a KV capacity is known the base is {@code fallback} ({@code fallbackSource} says what it is,
   * e.g. "A10 default").
   */
  public static NodeCap learned(Clock clock, int fallback, String fallbackSource) {
    return new NodeCap(clock, 0, null, fallback, Objects.requireNonNull(fallbackSource, "fallbackSource"));
  }

  /** Whether this cap is configured (fixed) rather than learned. */
  public boolean isConfigured() {
    return configured > 0;
  }

  /** The cap now: at least 1. */
  public synchronized int value() {
    if (configured > 0) return configured;
    return (int) Math.max(1, Math.min(MAX_LEARNED, Math.round(base() * multiplier)));
  }

  /** The cap now and where it came from. */
  public synchronized Reading reading() {
    if (configured > 0) return new Reading(configured, configuredSource);
    String from = kvTokens > 0
        ? "learned: KV " + kvTokens + " tokens (" + kvSource + ") ÷ " + Math.round(footprint) + " per request"
        : "learned: " + fallbackSource;
    if (adjustment != null) from += "; " + adjustment;
    return new Reading(value(), from);
  }

  private double base() {
    if (kvTokens <= 0) return fallback;
    double mean = Math.max(1, footprint);
    double spread = SPREAD_MARGIN * Math.sqrt(footprintVariance);
    // the n with n × mean + spread × √n = KV: a quadratic in √n
    double root = (-spread + Math.sqrt(spread * spread + 4 * mean * kvTokens)) / (2 * mean);
    return root * root;
  }

  /** The node's KV capacity in tokens and where the figure came from ("node telemetry", "A10 guess"); ≤ 0: unknown. */
  public synchronized void kvCapacity(long tokens, String source) {
    kvTokens = Math.max(0, tokens);
    kvSource = source;
  }

  /** A request was sent: its prompt and expected output tokens join the mean footprint. */
  public synchronized void sent(long promptTokens, long outputTokens) {
    double tokens = Math.max(1, promptTokens) + Math.max(0, outputTokens);
    double diff = tokens - footprint;
    footprint += FOOTPRINT_ALPHA * diff;
    footprintVariance = (1 - FOOTPRINT_ALPHA) * (footprintVariance + FOOTPRINT_ALPHA * diff * diff);
  }

  /**
   * What the node reports of its own queue (vLLM {@code num_requests_waiting}) while this router has {@code inFlight}
   * requests on it: waiting requests shrink the cap; none waiting while we run at the cap grows it.
   */
  public synchronized void nodeQueue(int waiting, int inFlight) {
    reportsQueue = true;
    if (configured > 0 || !mayAdjust()) return;
    if (waiting > 0) {
      // toward what the node holds now (in flight − waiting), at most SHRINK_ON_WAITING at once: a scrape often
      // catches a request that arrived since the engine's last step, and at a cap of 100 that one is no reason to
      // drop 20 (the routing lab measured a learned H100 cap sliding from 115 to 30 that way)
      int holds = Math.max(1, inFlight - waiting);
      if (holds >= value()) return; // the cap is below what the node holds already
      adjust(Math.max(SHRINK_ON_WAITING, holds / (double) value()), "node reported " + waiting + " waiting");
    } else if (inFlight >= value() && !(decodeMillis > DECODE_GROW_SHARE * SLOW_DECODE_MILLIS_PER_TOKEN)) {
      adjust(GROW_WHEN_CLEAR, "nothing waiting on the node at the cap");
    }
  }

  /** The node answered "busy" (Ollama's 503 "server busy", a 429) while this router had {@code inFlight} on it. */
  public synchronized void busy(int inFlight) {
    if (configured > 0 || !mayAdjust()) return;
    adjust(SHRINK_ON_BUSY, "node answered busy at " + inFlight + " in flight");
  }

  /**
   * A first token came after {@code observedMillis} where {@code expectedMillis} was estimated, with {@code inFlight}
   * requests on the node: much later than estimated on a node at its cap means it queues inside. Used only for a node
   * that does not report its own queue (Ollama): where the node says how many wait ({@link #nodeQueue}), that says it
   * directly, while a late first token may only be the estimate being wrong (a prompt thought cached, a long prefill);
   * the routing lab measured the inference costing goodput and tail on vLLM nodes (docs/routing-lab.md).
   */
  public synchronized void firstToken(long observedMillis, double expectedMillis, int inFlight) {
    if (configured > 0 || reportsQueue || inFlight < value() || !(expectedMillis > 0)) return;
    if (observedMillis < SLOW_FLOOR_MILLIS || observedMillis < SLOW_FACTOR * expectedMillis) return;
    onTimeAtCap = 0;
    if (!mayAdjust()) return;
    adjust(SHRINK_ON_SLOW_FIRST_TOKEN, "first token " + observedMillis + " ms vs " + Math.round(expectedMillis)
        + " ms estimated");
  }

  /**
   * A first token came on time or late ({@link #firstToken}), measured when it came (not a lower bound of a wait still
   * running): a cap's worth in a row on time ({@link #ON_TIME_FACTOR}) while the node ran at its cap grows the cap of
   * a node that does not report its queue, up to 4 times its base; a late one resets the count and is judged by
   * {@link #firstToken}.
   */
  public synchronized void firstTokenCame(long observedMillis, double expectedMillis, int inFlight) {
    if (configured > 0 || reportsQueue || inFlight < value() || !(expectedMillis > 0)) return;
    if (observedMillis > ON_TIME_FACTOR * expectedMillis) {
      firstToken(observedMillis, expectedMillis, inFlight);
      if (observedMillis > ON_TIME_FACTOR * expectedMillis) onTimeAtCap = 0;
      return;
    }
    if (++onTimeAtCap < value() || decodeMillis > DECODE_GROW_SHARE * SLOW_DECODE_MILLIS_PER_TOKEN || !mayAdjust()) {
      return;
    }
    onTimeAtCap = 0;
    adjust(GROW_WHEN_CLEAR, value() + " first tokens in a row on time at the cap");
  }

  /**
   * An answer's decode on this node: {@code tokens} after the first in {@code millis}. The smoothed time per token
   * above {@link #DECODE_SHRINK_SHARE} of {@link #SLOW_DECODE_MILLIS_PER_TOKEN} shrinks the cap: the node runs what it
   * is sent, but slower than an answer may stream.
   */
  public synchronized void decoded(long tokens, double millis) {
    if (tokens < MIN_DECODE_TOKENS || !(millis >= 0)) return;
    double sample = millis / tokens;
    decodeMillis = Double.isNaN(decodeMillis) ? sample : decodeMillis + DECODE_ALPHA * (sample - decodeMillis);
    if (configured > 0 || !(decodeMillis > DECODE_SHRINK_SHARE * SLOW_DECODE_MILLIS_PER_TOKEN) || !mayAdjust()) return;
    adjust(SHRINK_ON_SLOW_DECODE, "decoding at " + Math.round(decodeMillis) + " ms per token");
  }

  private boolean mayAdjust() {
    long now = clock.millis();
    return lastAdjustMillis == Long.MIN_VALUE || now - lastAdjustMillis >= ADJUST_EVERY_MILLIS;
  }

  /** Scales the multiplier by {@code factor}, moving the cap by at least one (a cap of 4 × 1.1 would stay 4). */
  private void adjust(double factor, String why) {
    double base = Math.max(1e-9, base());
    int now = value();
    double next = multiplier * factor;
    if (factor > 1) next = Math.max(next, (now + 1) / base);
    else next = Math.min(next, Math.max(1, now - 1) / base);
    multiplier = Math.max(MIN_MULTIPLIER, Math.min(kvTokens > 0 ? MAX_MULTIPLIER_WITH_KV : MAX_MULTIPLIER, next));
    adjustment = why;
    lastAdjustMillis = clock.millis();
  }

  /** Forgets what the node said (it restarted, or left rotation and came back): the base alone again. */
  public synchronized void reset() {
    reportsQueue = false;
    decodeMillis = Double.NaN;
    onTimeAtCap = 0;
    multiplier = 1;
    adjustment = null;
    lastAdjustMillis = Long.MIN_VALUE;
  }
}
