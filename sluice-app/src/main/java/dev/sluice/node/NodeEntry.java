package dev.sluice.node;

import dev.sluice.flow.NodeCap;
import dev.sluice.api.NodeDialect;
import dev.sluice.config.NodeSpec;
import dev.sluice.health.HealthPolicy;
import dev.sluice.health.NodeHealth;
import dev.sluice.routing.NodeView;
import dev.sluice.routing.SpeedEstimator;
import dev.sluice.support.Clock;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Everything the gateway knows about one node at run time: its config, health, learned speed, router-local load
 * counters and last telemetry. Counters are updated by the data path from any event loop.
 */
public final class NodeEntry {
  /**
   * A stream that sends nothing for this long has stalled, and its node is suspected: 3 s is 50–200 token intervals of
   * a decoding engine, and 10× shorter than the streams' idle timeout. A working node suspected by mistake (a sequence
   * preempted under memory pressure) is back with its next completed answer.
   */
  public static final long STREAM_SILENCE_MILLIS = 3_000;
  /** The source of a KV capacity read from the node's own metrics, as a cap's reading names it. */
  static final String KV_FROM_TELEMETRY = "node telemetry";
  private final NodeSpec spec;
  private final NodeHealth health;
  private final SpeedEstimator speed;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicLong inFlightPrefillTokens = new AtomicLong();
  private final AtomicInteger inFlightDecodes = new AtomicInteger();
  private volatile NodeTelemetry telemetry = NodeTelemetry.NONE;
  private volatile Set<String> servedModels;
  /** Dialects the prober found the node serving beyond its configured ones (empty until discovered). */
  private volatile Set<NodeDialect> discoveredDialects = Set.of();
  private volatile double vramShare = Double.NaN;
  private volatile long coolingUntilMillis;
  private final Clock clock;
  /** {@link Clock#nanos()} of the node's last sign of progress (a first token, a chunk) or of turning busy. */
  private volatile long lastProgressNanos;
  /** {@link Clock#nanos()} of the last answer the node completed (at first: when the gateway learned of it). */
  private volatile long lastCompletionNanos;
  /** When the router last sent this node a request to learn its speed ({@code Router} explores idle nodes). */
  private final AtomicLong lastExploredNanos;

  /** How many requests the node may run at once (flow control), configured or learned; kept across config swaps. */
  private final NodeCap cap;

  NodeEntry(NodeSpec spec, NodeHealth health, SpeedEstimator speed, Clock clock, NodeCap cap) {
    this.spec = spec;
    this.cap = cap;
    this.health = health;
    this.speed = speed;
    this.clock = clock;
    long now = clock.nanos();
    this.lastProgressNanos = now;
    this.lastCompletionNanos = now - 3_600_000_000_000L;
    this.lastExploredNanos = new AtomicLong(now);
  }

  public NodeSpec spec() { return spec; }

  public String id() { return spec.id(); }

  public NodeHealth health() { return health; }

  public SpeedEstimator speed() { return speed; }

  /** The node's concurrency cap (flow control): its value and where it came from. */
  public NodeCap cap() { return cap; }

  /** The clock whose {@link Clock#nanos()} every {@code nanoTime} argument of this class is read from. */
  public Clock clock() { return clock; }

  public NodeTelemetry telemetry() { return telemetry; }

  /**
   * Stores a scrape's telemetry and teaches a learned cap what it says: a restart (its prefix-cache counters went down:
   * what was learned of the old process no longer holds), its KV capacity (vLLM's cache_config_info), and the requests
   * waiting inside it while this router has {@link #inFlight} on it. A configured cap ignores all of it.
   */
  public void telemetry(NodeTelemetry t) {
    telemetry = t;
    telemetryError = null;
    if (t.prefixCache().resetNow()) cap.reset();
    kvCapacity(t);
    if (!Double.isNaN(t.requestsWaiting())) {
      cap.nodeQueue((int) Math.min(Integer.MAX_VALUE, Math.round(t.requestsWaiting())), inFlight.get());
    }
  }

  /** Why the last telemetry scrape failed (the values kept are from an earlier one); null when it did not. */
  private volatile String telemetryError;

  /** The last scrape failed ({@code why}): the telemetry kept is stale until a scrape succeeds. */
  public void telemetryFailed(String why) {
    telemetryError = why;
  }

  /** Why the last telemetry scrape failed, or null when it succeeded (or none was made). */
  public String telemetryError() { return telemetryError; }

  /**
   * Whether the telemetry shown for the node is stale at {@code nowMillis}: scraped once, and either the last scrape
   * failed or no scrape succeeded for two scrape intervals ({@code intervalMillis}). Never-scraped telemetry is unknown,
   * not stale.
   */
  public boolean telemetryStale(long nowMillis, long intervalMillis) {
    long age = telemetry.ageMillis(nowMillis);
    return age >= 0 && (telemetryError != null || age > 2 * intervalMillis);
  }

  /** The telemetry of the entry this one replaces (a config swap): kept, its KV figure given to the cap, no signal. */
  void keepTelemetry(NodeTelemetry t) {
    telemetry = t;
    kvCapacity(t);
  }

  private void kvCapacity(NodeTelemetry t) {
    if (t.kvCacheTokens() > 0) cap.kvCapacity(t.kvCacheTokens(), KV_FROM_TELEMETRY);
  }

  /** The node's KV cache in tokens as scraped (vLLM's cache_config_info); 0 when unknown. */
  public long kvCacheTokens() { return telemetry.kvCacheTokens(); }

  /** The node's prefix-cache hit rate (tokens) between its last two scrapes, in [0, 1]; NaN when unknown. */
  public double prefixCacheHitRate() { return telemetry.prefixCache().hitRate(); }

  /** The node's prefix-cache hit rate (tokens) since the gateway first scraped it, in [0, 1]; NaN when unknown. */
  public double prefixCacheHitRateTotal() { return telemetry.prefixCache().hitRateTotal(); }

  /**
   * How many times the scraper saw the node's prefix-cache counters go down (the node restarted, its KV cache is
   * empty); compare with the count seen before to know the node's cached prefixes are gone.
   */
  public int prefixCacheResets() { return telemetry.prefixCache().resets(); }

  /**
   * Smallest size_vram / size over the models an Ollama node has loaded (its /api/ps): below 1 the model is partly
   * offloaded to the CPU and throughput collapses. NaN when unknown.
   */
  public double vramShare() { return vramShare; }

  public void vramShare(double share) { vramShare = share; }

  /** Models the node reported serving (its /api/tags or /v1/models), or null while unknown. */
  public Set<String> servedModels() { return servedModels; }

  public void servedModels(Set<String> models) { servedModels = models == null ? null : Set.copyOf(models); }

  /**
   * Whether the node serves {@code dialect}: by its config ({@link NodeSpec#dialects}) or, unless the config lists its
   * dialects, by what the prober discovered ({@link #discoveredDialects(Set)}).
   */
  public boolean speaks(NodeDialect dialect) {
    return spec.dialects().contains(dialect) || discoveredDialects.contains(dialect);
  }

  /** The dialects the node serves now: configured, and discovered unless the config lists them. */
  public Set<NodeDialect> dialects() {
    if (discoveredDialects.isEmpty()) return spec.dialects();
    EnumSet<NodeDialect> all = EnumSet.copyOf(spec.dialects());
    all.addAll(discoveredDialects);
    return all;
  }

  /** What the prober found the node serving beyond its configured dialects (empty until discovered). */
  public Set<NodeDialect> discoveredDialects() {
    return discoveredDialects;
  }

  /**
   * What the prober found the node serving (its Ollama version, its vLLM routes); ignored when the config lists the
   * node's dialects, since the operator's word wins.
   */
  public void discoveredDialects(Set<NodeDialect> found) {
    if (spec.dialectsDeclared()) return;
    discoveredDialects = found == null ? Set.of() : Set.copyOf(found);
  }

  /** Whether the node may get a request for {@code model} now: eligible by health and, once known, serving it. */
  public boolean canServe(String model, long nowMillis) {
    Set<String> served = servedModels;
    return health.eligible(nowMillis) && nowMillis >= coolingUntilMillis
        && (served == null || served.contains(model));
  }

  /** The node said it is busy (429/503 with Retry-After): keep new requests away until {@code untilMillis}. */
  public void coolDown(long untilMillis) {
    if (untilMillis > coolingUntilMillis) coolingUntilMillis = untilMillis;
  }

  /** Until when the node is cooling down after a busy answer (0 = not). */
  public long coolingUntilMillis() { return coolingUntilMillis; }

  public int inFlight() { return inFlight.get(); }

  /** Prompt tokens of in-flight requests still waiting for their first token. */
  public long inFlightPrefillTokens() { return inFlightPrefillTokens.get(); }

  /** A request was sent with this many prompt tokens (estimate). */
  public void requestStarted(long promptTokens) {
    if (inFlight.getAndIncrement() == 0) lastProgressNanos = clock.nanos(); // silence counts from turning busy
    inFlightPrefillTokens.addAndGet(promptTokens);
  }

  /** The request's first token arrived: its prefill is done, it now decodes. */
  public void firstToken(long promptTokens) {
    lastProgressNanos = clock.nanos();
    inFlightPrefillTokens.addAndGet(-promptTokens);
    inFlightDecodes.incrementAndGet();
  }

  /**
   * Claims this node's exploration turn at {@code nanoTime} when it has had no progress and no turn for
   * {@code periodNanos}; true for exactly one caller per period.
   */
  public boolean claimExploration(long nanoTime, long periodNanos) {
    long last = lastExploredNanos.get();
    if (nanoTime - lastProgressNanos < periodNanos || nanoTime - last < periodNanos) return false;
    return lastExploredNanos.compareAndSet(last, nanoTime);
  }

  /** The node sent part of an answer at {@code nanoTime} ({@link Clock#nanos()}). */
  public void progress(long nanoTime) {
    lastProgressNanos = nanoTime;
  }

  /**
   * Milliseconds the node has sent nothing (no first token, no chunk) while requests were in flight on it, at
   * {@code nanoTime}; 0 when nothing is in flight.
   */
  public long silentMillis(long nanoTime) {
    if (inFlight.get() == 0) return 0;
    return Math.max(0, (nanoTime - lastProgressNanos) / 1_000_000);
  }

  /**
   * Why this node is to be suspected for its silence at {@code nanoTime}, or null: answers are decoding on it, yet it
   * has sent nothing for {@link HealthPolicy#NODE_SILENCE_MILLIS}. A long prefill beside them (chunked in vLLM, batched in
   * llama.cpp) does not stop the others' tokens; a prefill alone is left to its first-token deadline.
   */
  public String silenceSuspicion(long nanoTime) {
    int decoding = inFlightDecodes.get();
    if (decoding <= 0) return null;
    long silent = silentMillis(nanoTime);
    if (silent < HealthPolicy.NODE_SILENCE_MILLIS) return null;
    return "sent nothing for " + silent + " ms while " + decoding + (decoding == 1 ? " answer was" : " answers were")
        + " decoding on it";
  }

  /** The node completed an answer at {@code nanoTime} ({@link Clock#nanos()}). */
  public void completed(long nanoTime) {
    lastCompletionNanos = nanoTime;
  }

  /** Whether the node completed an answer within {@code millis} before {@code nanoTime}. */
  public boolean completedWithin(long nanoTime, long millis) {
    return nanoTime - lastCompletionNanos < millis * 1_000_000;
  }

  /** The request ended (any outcome). */
  public void requestEnded(long promptTokens, boolean sawFirstToken) {
    inFlight.decrementAndGet();
    if (sawFirstToken) {
      inFlightDecodes.decrementAndGet();
    } else {
      inFlightPrefillTokens.addAndGet(-promptTokens);
    }
  }

  /** The routing view of this node at {@code nowMillis}. */
  public NodeView view(long nowMillis) {
    NodeTelemetry t = telemetry;
    return new NodeView(spec.id(), spec.gpuType(), inFlight.get(), Math.max(0, inFlightPrefillTokens.get()),
        Math.max(0, inFlightDecodes.get()), t.gpuUtilPercent(), t.gpuTempCelsius(), t.ageMillis(nowMillis),
        health.healthRatio(), speed.current(), silentMillis(clock.nanos()),
        !GpuDefaults.hasProfile(spec.gpuType()) && speed.prefillSamples() == 0);
  }
}
