package dev.sluice.health;

import java.time.Duration;
import java.util.Objects;

/**
 * Every threshold of the health model, each default a named constant with its reason.
 *
 * @param probeInterval time between two shallow probes of one node (before jitter)
 * @param probeTimeout a shallow probe without an answer within this time failed
 * @param probeJitter fraction of {@code probeInterval} by which each gap may randomly differ, 0 to 0.5
 * @param failuresToDegrade consecutive failed shallow probes that take a node out of rotation (DEGRADED)
 * @param failuresToDown consecutive failed shallow probes after which the node is presumed gone (DOWN)
 * @param successesToRecover consecutive passed shallow probes needed (with a passed generation probe) to return to
 *     READY after DEGRADED or DOWN
 * @param healthWindowProbes number of most recent shallow probes {@link NodeHealth#healthRatio()} is taken over
 * @param failuresToEject consecutive live-traffic failures that count against the node before it is ejected
 * @param ejectionBase first ejection time; each further ejection in a streak doubles it
 * @param ejectionMax cap on one ejection time
 * @param ejectionMemory a node that has not been ejected for this long after its last ejection ended starts a new
 *     streak at {@code ejectionBase}
 */
public record HealthPolicy(
    Duration probeInterval,
    Duration probeTimeout,
    double probeJitter,
    int failuresToDegrade,
    int failuresToDown,
    int successesToRecover,
    int healthWindowProbes,
    int failuresToEject,
    Duration ejectionBase,
    Duration ejectionMax,
    Duration ejectionMemory) {

  /** The brief: "every 5 s the router sends GET /api/tags to each Ollama node". */
  public static final Duration DEFAULT_PROBE_INTERVAL = Duration.ofSeconds(5);
  /** /api/tags answers in milliseconds on a live node; 2 s covers a SYN retry and a GC pause, and ends before the next probe. */
  public static final Duration DEFAULT_PROBE_TIMEOUT = Duration.ofSeconds(2);
  /** ±10 %: probes of many nodes drift apart, while 3 failures are still detected within 13.5-16.5 s. */
  public static final double DEFAULT_PROBE_JITTER = 0.1;
  /** The brief: "3 consecutive failures ... mark the node DEGRADED". */
  public static final int DEFAULT_FAILURES_TO_DEGRADE = 3;
  /** 12 probes = one minute unreachable at the default interval: past a restart, so call it gone. */
  public static final int DEFAULT_FAILURES_TO_DOWN = 12;
  /** One lucky probe of a flapping node must not re-admit it; a second costs only one interval (5 s). */
  public static final int DEFAULT_SUCCESSES_TO_RECOVER = 2;
  /** 10 probes = the last 50 s: long enough to smooth one blip, short enough to follow a recovery in the weight formula. */
  public static final int DEFAULT_HEALTH_WINDOW_PROBES = 10;
  /** RELIABILITY.md: "eject after 3 consecutive node failures" (Envoy's consecutive_5xx default is 5; our retries are costlier). */
  public static final int DEFAULT_FAILURES_TO_EJECT = 3;
  /** RELIABILITY.md: 30 s, as Envoy's base_ejection_time: long enough for a restart, short enough to lose little capacity. */
  public static final Duration DEFAULT_EJECTION_BASE = Duration.ofSeconds(30);
  /**
   * A node with answers decoding that sends no byte at all for this long has stopped (a frozen process, a hung
   * engine): 1.5 s is 25–100 token intervals of every running sequence at once. A stalled node that still sends the
   * first chunks of new streams is caught per stream instead ({@code NodeEntry.STREAM_SILENCE_MILLIS}).
   */
  public static final long NODE_SILENCE_MILLIS = 1_500;
  /** A generation probe may hit a cold model: loading 20 GB of weights and the first prefill takes 10-25 s. */
  public static final Duration GENERATION_PROBE_TIMEOUT = Duration.ofSeconds(30);
  /**
   * Output tokens the generation probe asks for and must receive to the end of the answer: one token only shows that
   * prefill works, while an engine whose decode stalls after a few tokens cuts every real stream; 8 exercise decode
   * and cost well under a second on any GPU (15-60 ms per token).
   */
  public static final int GENERATION_PROBE_TOKENS = 8;
  /** RELIABILITY.md: doubling stops at 300 s, so a repaired node is back within 5 minutes at worst. */
  public static final Duration DEFAULT_EJECTION_MAX = Duration.ofSeconds(300);
  /** Two maximum ejections: a node flapping every few minutes keeps its growing penalty; 10 clean minutes forgive it. */
  public static final Duration DEFAULT_EJECTION_MEMORY = Duration.ofMinutes(10);

  public HealthPolicy {
    positive(probeInterval, "probeInterval");
    positive(probeTimeout, "probeTimeout");
    positive(ejectionBase, "ejectionBase");
    positive(ejectionMax, "ejectionMax");
    positive(ejectionMemory, "ejectionMemory");
    if (!(probeJitter >= 0 && probeJitter <= 0.5)) {
      throw new IllegalArgumentException("health.probeJitter: " + probeJitter + " is out of range (expected 0 to 0.5)");
    }
    atLeastOne(failuresToDegrade, "failuresToDegrade");
    atLeastOne(successesToRecover, "successesToRecover");
    atLeastOne(healthWindowProbes, "healthWindowProbes");
    atLeastOne(failuresToEject, "failuresToEject");
    if (failuresToDown < failuresToDegrade) {
      throw new IllegalArgumentException("health.failuresToDown: " + failuresToDown + " is below failuresToDegrade "
          + failuresToDegrade + " (a node must be DEGRADED before it is DOWN)");
    }
    if (ejectionMax.compareTo(ejectionBase) < 0) {
      throw new IllegalArgumentException("health.ejectionMax: " + ejectionMax + " is below ejectionBase " + ejectionBase);
    }
  }

  /** The defaults above. */
  public static HealthPolicy defaults() {
    return new HealthPolicy(DEFAULT_PROBE_INTERVAL, DEFAULT_PROBE_TIMEOUT, DEFAULT_PROBE_JITTER,
        DEFAULT_FAILURES_TO_DEGRADE, DEFAULT_FAILURES_TO_DOWN, DEFAULT_SUCCESSES_TO_RECOVER,
        DEFAULT_HEALTH_WINDOW_PROBES, DEFAULT_FAILURES_TO_EJECT, DEFAULT_EJECTION_BASE, DEFAULT_EJECTION_MAX,
        DEFAULT_EJECTION_MEMORY);
  }

  /** How long the {@code n}-th ejection of a streak lasts (n from 1): base, doubling, capped at max. */
  public Duration ejectionTime(int n) {
    if (n < 1) throw new IllegalArgumentException("ejection number " + n + " must be at least 1");
    Duration d = ejectionBase;
    for (int i = 1; i < n && d.compareTo(ejectionMax) < 0; i++) d = d.multipliedBy(2);
    return d.compareTo(ejectionMax) > 0 ? ejectionMax : d;
  }

  private static void positive(Duration d, String name) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException("health." + name + ": " + d + " must be positive");
    }
  }

  private static void atLeastOne(int n, String name) {
    if (n < 1) throw new IllegalArgumentException("health." + name + ": " + n + " must be at least 1");
  }
}
