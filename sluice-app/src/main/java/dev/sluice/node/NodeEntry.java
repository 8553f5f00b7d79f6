package dev.sluice.node;

import dev.sluice.config.NodeSpec;
import dev.sluice.health.NodeHealth;
import dev.sluice.routing.NodeView;
import dev.sluice.routing.SpeedEstimator;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Everything the gateway knows about one node at run time: its config, health, learned speed, router-local load
 * counters and last telemetry. Counters are updated by the data path from any event loop.
 */
public final class NodeEntry {
  private final NodeSpec spec;
  private final NodeHealth health;
  private final SpeedEstimator speed;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicLong inFlightPrefillTokens = new AtomicLong();
  private final AtomicInteger inFlightDecodes = new AtomicInteger();
  private volatile NodeTelemetry telemetry = NodeTelemetry.NONE;
  private volatile Set<String> servedModels;
  private volatile double vramShare = Double.NaN;
  private volatile long coolingUntilMillis;

  NodeEntry(NodeSpec spec, NodeHealth health, SpeedEstimator speed) {
    this.spec = spec;
    this.health = health;
    this.speed = speed;
  }

  public NodeSpec spec() { return spec; }

  public String id() { return spec.id(); }

  public NodeHealth health() { return health; }

  public SpeedEstimator speed() { return speed; }

  public NodeTelemetry telemetry() { return telemetry; }

  public void telemetry(NodeTelemetry t) { telemetry = t; }

  /**
   * Smallest size_vram / size over the models an Ollama node has loaded (its /api/ps): below 1 the model is partly
   * offloaded to the CPU and throughput collapses. NaN when unknown.
   */
  public double vramShare() { return vramShare; }

  public void vramShare(double share) { vramShare = share; }

  /** Models the node reported serving (its /api/tags or /v1/models), or null while unknown. */
  public Set<String> servedModels() { return servedModels; }

  public void servedModels(Set<String> models) { servedModels = models == null ? null : Set.copyOf(models); }

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
    inFlight.incrementAndGet();
    inFlightPrefillTokens.addAndGet(promptTokens);
  }

  /** The request's first token arrived: its prefill is done, it now decodes. */
  public void firstToken(long promptTokens) {
    inFlightPrefillTokens.addAndGet(-promptTokens);
    inFlightDecodes.incrementAndGet();
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
        health.healthRatio(), speed.current());
  }
}
