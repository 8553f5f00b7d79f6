package dev.sluice.lab;

import dev.sluice.flow.NodeCap;
import dev.sluice.health.HealthPolicy;
import dev.sluice.health.NodeHealth;
import dev.sluice.routing.NodeView;
import dev.sluice.routing.SpeedEstimator;
import dev.sluice.sim.BatchEngine;
import dev.sluice.sim.EngineControl;
import dev.sluice.sim.EngineProfile;
import dev.sluice.sim.GpuProfile;
import dev.sluice.support.Clock;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * One node of a lab run: its engine and faults, and what the gateway keeps about it ({@code NodeEntry}'s counters,
 * the production {@link NodeHealth} and {@link SpeedEstimator}, the last DCGM scrape). Mutated by the run only.
 */
final class LabNode {
  /** DCGM scrape periods are drawn per node in [5 s, 30 s] (the exporter's default is 30 s). */
  static final long TELEMETRY_MIN_NANOS = 5_000_000_000L;
  static final long TELEMETRY_MAX_NANOS = 30_000_000_000L;
  /**
   * A learned cap's base before the first KV figure, by GPU class: the gateway's {@code GpuDefaults.concurrency}
   * (the lab may not import {@code node}; keep the two equal). Ollama nodes: their {@code parallel} slots.
   */
  static final Map<String, Integer> DEFAULT_CONCURRENCY = Map.of("A10", 8, "A100", 32, "H100", 64);

  final LabCluster.NodeSpec spec;
  final EngineProfile profile;
  final EngineControl control = new EngineControl();
  final BatchEngine engine;
  final SpeedEstimator speed;
  final NodeHealth health;
  final long telemetryPeriod;
  final LinkedHashSet<LabSimulation.Attempt> active = new LinkedHashSet<>();
  /** Flow control: how many requests the router lets run on it at once (learned as the gateway learns it). */
  final NodeCap cap;
  int inFlight;
  long prefillTokens;
  int decodes;
  boolean down;
  boolean hot;
  boolean throttled;
  /** Whether the router last saw it in rotation (up and eligible): leaving drops it from the affinity. */
  boolean inRotation = true;
  /** When the node last sent a token, or turned busy ({@code NodeEntry}'s last progress). */
  long lastProgressAt;
  /** When the node last completed an answer (long before the run at first). */
  long lastCompletionAt = -3_600_000_000_000L;
  double util = Double.NaN;
  double temp = Double.NaN;
  long scrapedAt = -1;
  long lastScrapeAt;
  long lastBusy;
  int attempts;
  int completions;

  LabNode(LabCluster.NodeSpec spec, NodeHealth health, SplittableRandom telemetry, Clock clock) {
    this.spec = spec;
    this.cap = spec.gpu().ollama()
        ? NodeCap.learned(clock, Math.max(1, spec.gpu().parallel()), "Ollama parallel " + spec.gpu().parallel())
        : NodeCap.learned(clock, DEFAULT_CONCURRENCY.getOrDefault(spec.gpuLabel(), 8),
            spec.gpuLabel() + " default concurrency");
    this.health = health;
    this.profile = EngineProfile.of(spec.gpu());
    this.engine = new BatchEngine(profile, control);
    this.speed = SpeedEstimator.seeded(profile.prefillTokensPerSecond(), profile.decodeMillisPerToken());
    this.telemetryPeriod = TELEMETRY_MIN_NANOS
        + (long) (telemetry.nextDouble() * (TELEMETRY_MAX_NANOS - TELEMETRY_MIN_NANOS));
  }

  String id() {
    return spec.id();
  }

  boolean fits(int prompt) {
    return profile.ollama() || prompt < profile.maxModelLenTokens();
  }

  /** Eligible for new requests by its health at {@code now} (READY, not ejected, not suspected). */
  boolean eligible(long now) {
    return health.eligible(now / 1_000_000);
  }

  /** An attempt was sent to the node at {@code now}: silence counts from turning busy. */
  void requestStarted(long now, int promptTokens) {
    if (inFlight++ == 0) {
      lastProgressAt = now;
    }
    prefillTokens += promptTokens;
  }

  /** Milliseconds the node has sent nothing while requests were in flight on it; 0 when none is. */
  long silentMillis(long now) {
    return inFlight == 0 ? 0 : Math.max(0, (now - lastProgressAt) / 1_000_000);
  }

  /**
   * The gateway's "busy, not broken" test when an attempt's first-token deadline passes: not suspected, and it
   * completed an answer or sent something within the deadline period (it works; the request is queued behind others).
   */
  boolean busy(long now, long deadlineNanos) {
    return !health.snapshot().suspected()
        && (now - lastCompletionAt < deadlineNanos || silentMillis(now) < deadlineNanos / 1_000_000);
  }

  /**
   * Why the gateway's progress watchdog suspects the node at {@code now}, or null: answers are decoding on it, yet it
   * has sent nothing for {@link HealthPolicy#NODE_SILENCE_MILLIS}.
   */
  String silenceSuspicion(long now) {
    if (decodes <= 0) {
      return null;
    }
    long silent = silentMillis(now);
    if (silent < HealthPolicy.NODE_SILENCE_MILLIS) {
      return null;
    }
    return "sent nothing for " + silent + " ms while " + decodes + (decodes == 1 ? " answer was" : " answers were")
        + " decoding on it";
  }

  NodeView view(long now) {
    return new NodeView(spec.id(), spec.gpuLabel(), inFlight, prefillTokens, decodes, util, temp,
        scrapedAt < 0 ? -1 : (now - scrapedAt) / 1_000_000, health.healthRatio(), speed.current());
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
