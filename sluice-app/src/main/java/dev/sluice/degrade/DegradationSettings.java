package dev.sluice.degrade;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.Map;

/**
 * Every knob of the degradation ladder, each default a named constant with its reason. Immutable: a config reload
 * builds a new instance and hands it to {@link DegradationController#apply}.
 *
 * @param enabled false: every model is at NORMAL unless an operator overrides it; windows are still recorded for
 *     display
 * @param scope MODEL: each model has its own level; CLUSTER: every model uses the cluster-wide level (the brief's
 *     literal behaviour)
 * @param window sliding window of request outcomes the error rate is taken over
 * @param minRequests fewer samples than this in the evidence never escalate
 * @param cacheThreshold error rate at which the CACHE level starts
 * @param downgradeThreshold error rate at which the DOWNGRADE level starts
 * @param staticThreshold error rate at which the STATIC level starts
 * @param dwell minimum time at a level before stepping down
 * @param minEvidenceTime escalating needs evidence reaching at least this far back (from its earliest sample), so a
 *     burst of failures within a second or two does not decide a level on its own; longer than the window counts as
 *     the window
 * @param recoveryWindow once the dwell has passed, the recent period a step down is judged on; longer than the window
 *     counts as the window
 * @param probeShare share of requests at a degraded level still sent to the model's nodes, so recovery is seen
 * @param fallbackOnFailure a request that fails on every node falls down the ladder (carried for the server)
 * @param downgrade model id to the smaller model id used at DOWNGRADE, e.g. {@code qwen3:32b → qwen2:7b}
 * @param downgradeShare the most of a smaller model's capacity that downgraded requests may take at once
 *     ({@link DowngradeCap}); its own users keep the rest
 * @param staticMessage the human-readable message of the static fallback
 * @param staticReply the JSON body of the static fallback
 */
public record DegradationSettings(
    boolean enabled,
    Scope scope,
    Duration window,
    int minRequests,
    double cacheThreshold,
    double downgradeThreshold,
    double staticThreshold,
    Duration dwell,
    Duration minEvidenceTime,
    Duration recoveryWindow,
    double probeShare,
    boolean fallbackOnFailure,
    Map<String, String> downgrade,
    double downgradeShare,
    String staticMessage,
    ObjectNode staticReply) {

  /** Which error rate decides a model's level. */
  public enum Scope {
    /** Each model follows its own error rate: one broken model does not degrade the others. */
    MODEL,
    /** Every model follows the cluster-wide error rate, as the brief words it. */
    CLUSTER
  }

  /** One minute smooths bursts of a few failing requests yet follows a node loss within seconds at moderate load. */
  public static final Duration DEFAULT_WINDOW = Duration.ofSeconds(60);
  /** Below 20 samples one failure is already 5 %: a quiet model must not degrade on a single error. */
  public static final int DEFAULT_MIN_REQUESTS = 20;
  /** The brief: "5–15 %: serve cached responses". */
  public static final double DEFAULT_CACHE_THRESHOLD = 0.05;
  /** The brief: "15–30 %: model downgrade". */
  public static final double DEFAULT_DOWNGRADE_THRESHOLD = 0.15;
  /** The brief: "> 30 %: static fallback" (we start at exactly 30 %). */
  public static final double DEFAULT_STATIC_THRESHOLD = 0.30;
  /** 20 s covers a node restart plus the health model's recovery (2 probes at 5 s), so the ladder does not flap. */
  public static final Duration DEFAULT_DWELL = Duration.ofSeconds(20);
  /**
   * A burst of late failures (requests timing out together, one node's queue failing at once) lasts a second or two;
   * 5 s of evidence tells sustained failure from it, and a model that really fails is still degraded within seconds.
   */
  public static final Duration DEFAULT_MIN_EVIDENCE_TIME = Duration.ofSeconds(5);
  /**
   * 5 s holds at least 5 of the probes sent at a raised level (one a second even without traffic share), enough to
   * see the nodes answer again, and brings NORMAL back within seconds of the last failure.
   */
  public static final Duration DEFAULT_RECOVERY_WINDOW = Duration.ofSeconds(5);
  /** 10 % of traffic keeps testing the nodes, so recovery is seen, while 90 % is shielded from them. */
  public static final double DEFAULT_PROBE_SHARE = 0.10;
  /** A request that failed on every node is better answered by the next level than with an error (100 % answered). */
  public static final boolean DEFAULT_FALLBACK_ON_FAILURE = true;
  /** Half: the smaller model's own users keep at least the other half of its capacity. */
  public static final double DEFAULT_DOWNGRADE_SHARE = 0.5;
  /** The brief's example text of the static fallback. */
  public static final String DEFAULT_STATIC_MESSAGE = "High load, using fallback response";

  /** Validates every field; messages name the config key, the value and the fix. */
  public DegradationSettings {
    require(scope, "degradation.scope: missing (expected MODEL or CLUSTER)");
    require(window, "degradation.window: missing (expected a duration of at least 1 s, e.g. 60s)");
    require(dwell, "degradation.dwell: missing (expected a duration of at least 0 s, e.g. 20s)");
    require(minEvidenceTime, "degradation.minEvidenceTime: missing (expected a duration of at least 0 s, e.g. 5s)");
    require(recoveryWindow, "degradation.recoveryWindow: missing (expected a duration of at least 1 s, e.g. 5s)");
    require(downgrade, "degradation.downgrade: missing (expected a map of model id to smaller model id, may be empty)");
    require(staticMessage, "degradation.staticMessage: missing (expected the text of the static fallback)");
    require(staticReply, "degradation.staticReply: missing (expected a JSON object, e.g. {\"status\":\"degraded\"})");
    if (window.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("degradation.window: " + window + " is below 1 s (the window counts "
          + "requests per second; use at least 1s, default 60s)");
    }
    if (dwell.isNegative()) {
      throw new IllegalArgumentException("degradation.dwell: " + dwell + " is negative (use 0s or more, default 20s)");
    }
    if (minEvidenceTime.isNegative()) {
      throw new IllegalArgumentException("degradation.minEvidenceTime: " + minEvidenceTime + " is negative (use 0s or "
          + "more, default " + DEFAULT_MIN_EVIDENCE_TIME.toSeconds() + "s)");
    }
    if (recoveryWindow.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("degradation.recoveryWindow: " + recoveryWindow + " is below 1 s (the window "
          + "counts requests per second; use at least 1s, default " + DEFAULT_RECOVERY_WINDOW.toSeconds() + "s)");
    }
    if (minRequests < 1) {
      throw new IllegalArgumentException("degradation.minRequests: " + minRequests + " is below 1 (use at least 1, "
          + "default " + DEFAULT_MIN_REQUESTS + ")");
    }
    if (!(cacheThreshold > 0 && cacheThreshold <= 1)) {
      throw new IllegalArgumentException("degradation.thresholds: cache " + cacheThreshold
          + " is out of range (expected an error rate above 0 and at most 1, e.g. 0.05)");
    }
    if (!(downgradeThreshold > 0 && downgradeThreshold <= 1)) {
      throw new IllegalArgumentException("degradation.thresholds: downgrade " + downgradeThreshold
          + " is out of range (expected an error rate above 0 and at most 1, e.g. 0.15)");
    }
    if (!(staticThreshold > 0 && staticThreshold <= 1)) {
      throw new IllegalArgumentException("degradation.thresholds: static " + staticThreshold
          + " is out of range (expected an error rate above 0 and at most 1, e.g. 0.30)");
    }
    if (cacheThreshold >= downgradeThreshold) {
      throw new IllegalArgumentException("degradation.thresholds: cache " + cacheThreshold + " must be below downgrade "
          + downgradeThreshold + " (levels escalate cache < downgrade < static)");
    }
    if (downgradeThreshold >= staticThreshold) {
      throw new IllegalArgumentException("degradation.thresholds: downgrade " + downgradeThreshold
          + " must be below static " + staticThreshold + " (levels escalate cache < downgrade < static)");
    }
    if (!(probeShare >= 0 && probeShare <= 1)) {
      throw new IllegalArgumentException("degradation.probeShare: " + probeShare
          + " is out of range (expected a share from 0 to 1, default " + DEFAULT_PROBE_SHARE + ")");
    }
    for (Map.Entry<String, String> e : downgrade.entrySet()) {
      if (e.getKey() == null || e.getKey().isBlank() || e.getValue() == null || e.getValue().isBlank()) {
        throw new IllegalArgumentException("degradation.downgrade: " + e.getKey() + " → " + e.getValue()
            + " has a blank model id (expected model id → smaller model id, e.g. qwen3:32b → qwen2:7b)");
      }
      if (e.getKey().equals(e.getValue())) {
        throw new IllegalArgumentException("degradation.downgrade." + e.getKey()
            + ": downgrades to itself (name a smaller model, or remove the entry)");
      }
    }
    if (!(downgradeShare > 0 && downgradeShare <= 1)) {
      throw new IllegalArgumentException("degradation.downgradeShare: " + downgradeShare + " is out of range (expected "
          + "a share above 0 and at most 1 of the smaller model's capacity, default " + DEFAULT_DOWNGRADE_SHARE + ")");
    }
    downgrade = Map.copyOf(downgrade);
    staticReply = staticReply.deepCopy();
  }

  /** The defaults: enabled, per-model scope and the brief's thresholds, no downgrade targets. */
  public static DegradationSettings defaults() {
    return new DegradationSettings(true, Scope.MODEL, DEFAULT_WINDOW, DEFAULT_MIN_REQUESTS, DEFAULT_CACHE_THRESHOLD,
        DEFAULT_DOWNGRADE_THRESHOLD, DEFAULT_STATIC_THRESHOLD, DEFAULT_DWELL, DEFAULT_MIN_EVIDENCE_TIME,
        DEFAULT_RECOVERY_WINDOW, DEFAULT_PROBE_SHARE, DEFAULT_FALLBACK_ON_FAILURE, Map.of(), DEFAULT_DOWNGRADE_SHARE, DEFAULT_STATIC_MESSAGE,
        defaultStaticReply(DEFAULT_STATIC_MESSAGE));
  }

  /** The defaults with {@code enabled = false}: every model stays NORMAL unless overridden. */
  public static DegradationSettings disabled() {
    return defaults().withEnabled(false);
  }

  /** The brief's static reply: {@code {"status":"degraded","message":<message>}}. */
  public static ObjectNode defaultStaticReply(String message) {
    ObjectNode reply = JsonNodeFactory.instance.objectNode();
    reply.put("status", "degraded");
    reply.put("message", message);
    return reply;
  }

  /** The error rate at which {@code level} starts; NORMAL starts at 0. */
  public double threshold(DegradationLevel level) {
    return switch (level) {
      case NORMAL -> 0;
      case CACHE -> cacheThreshold;
      case DOWNGRADE -> downgradeThreshold;
      case STATIC -> staticThreshold;
    };
  }

  /** A copy of the static reply: callers may change it freely. */
  @Override
  public ObjectNode staticReply() {
    return staticReply.deepCopy();
  }

  /** The smaller model configured for {@code model}, or null when none is. */
  public String downgradeTarget(String model) {
    return downgrade.get(model);
  }

  /** A copy with {@code enabled} replaced. */
  public DegradationSettings withEnabled(boolean enabled) {
    return new DegradationSettings(enabled, scope, window, minRequests, cacheThreshold, downgradeThreshold,
        staticThreshold, dwell, minEvidenceTime, recoveryWindow, probeShare, fallbackOnFailure, downgrade,
        downgradeShare, staticMessage, staticReply);
  }

  /** A copy with {@code scope} replaced. */
  public DegradationSettings withScope(Scope scope) {
    return new DegradationSettings(enabled, scope, window, minRequests, cacheThreshold, downgradeThreshold,
        staticThreshold, dwell, minEvidenceTime, recoveryWindow, probeShare, fallbackOnFailure, downgrade,
        downgradeShare, staticMessage, staticReply);
  }

  /** A copy with {@code window} replaced. */
  public DegradationSettings withWindow(Duration window) {
    return new DegradationSettings(enabled, scope, window, minRequests, cacheThreshold, downgradeThreshold,
        staticThreshold, dwell, minEvidenceTime, recoveryWindow, probeShare, fallbackOnFailure, downgrade,
        downgradeShare, staticMessage, staticReply);
  }

  /** A copy with {@code minRequests} replaced. */
  public DegradationSettings withMinRequests(int minRequests) {
    return new DegradationSettings(enabled, scope, window, minRequests, cacheThreshold, downgradeThreshold,
        staticThreshold, dwell, minEvidenceTime, recoveryWindow, probeShare, fallbackOnFailure, downgrade,
        downgradeShare, staticMessage, staticReply);
  }

  /** A copy with the three thresholds replaced. */
  public DegradationSettings withThresholds(double cache, double downgrade, double staticLevel) {
    return new DegradationSettings(enabled, scope, window, minRequests, cache, downgrade, staticLevel, dwell,
        minEvidenceTime, recoveryWindow, probeShare, fallbackOnFailure, this.downgrade, downgradeShare, staticMessage, staticReply);
  }

  /** A copy with {@code dwell} replaced. */
  public DegradationSettings withDwell(Duration dwell) {
    return new DegradationSettings(enabled, scope, window, minRequests, cacheThreshold, downgradeThreshold,
        staticThreshold, dwell, minEvidenceTime, recoveryWindow, probeShare, fallbackOnFailure, downgrade,
        downgradeShare, staticMessage, staticReply);
  }

  /** A copy with {@code minEvidenceTime} replaced. */
  public DegradationSettings withMinEvidenceTime(Duration minEvidenceTime) {
    return new DegradationSettings(enabled, scope, window, minRequests, cacheThreshold, downgradeThreshold,
        staticThreshold, dwell, minEvidenceTime, recoveryWindow, probeShare, fallbackOnFailure, downgrade,
        downgradeShare, staticMessage, staticReply);
  }

  /** A copy with {@code recoveryWindow} replaced. */
  public DegradationSettings withRecoveryWindow(Duration recoveryWindow) {
    return new DegradationSettings(enabled, scope, window, minRequests, cacheThreshold, downgradeThreshold,
        staticThreshold, dwell, minEvidenceTime, recoveryWindow, probeShare, fallbackOnFailure, downgrade,
        downgradeShare, staticMessage, staticReply);
  }

  /** A copy with {@code probeShare} replaced. */
  public DegradationSettings withProbeShare(double probeShare) {
    return new DegradationSettings(enabled, scope, window, minRequests, cacheThreshold, downgradeThreshold,
        staticThreshold, dwell, minEvidenceTime, recoveryWindow, probeShare, fallbackOnFailure, downgrade,
        downgradeShare, staticMessage, staticReply);
  }

  /** A copy with {@code downgradeShare} replaced. */
  public DegradationSettings withDowngradeShare(double downgradeShare) {
    return new DegradationSettings(enabled, scope, window, minRequests, cacheThreshold, downgradeThreshold,
        staticThreshold, dwell, minEvidenceTime, recoveryWindow, probeShare, fallbackOnFailure, downgrade,
        downgradeShare, staticMessage, staticReply);
  }

  /** A copy with the downgrade map replaced. */
  public DegradationSettings withDowngrade(Map<String, String> downgrade) {
    return new DegradationSettings(enabled, scope, window, minRequests, cacheThreshold, downgradeThreshold,
        staticThreshold, dwell, minEvidenceTime, recoveryWindow, probeShare, fallbackOnFailure, downgrade,
        downgradeShare, staticMessage, staticReply);
  }

  private static void require(Object value, String message) {
    if (value == null) {
      throw new IllegalArgumentException(message);
    }
  }
}
