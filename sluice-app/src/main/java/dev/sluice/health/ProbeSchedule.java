package dev.sluice.health;

import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * When to probe a node next: the policy's interval with random jitter, so the probes of many nodes (all registered at
 * the same startup) spread out instead of arriving at the same instant. Times are milliseconds on the health clock.
 * The random generator is injected (seeded in tests, e.g. {@code new SplittableRandom(42)}); calls are serialised.
 */
public final class ProbeSchedule {
  private final long intervalMillis;
  private final double jitter;
  private final RandomGenerator random;

  public ProbeSchedule(HealthPolicy policy, RandomGenerator random) {
    Objects.requireNonNull(policy, "policy");
    this.intervalMillis = policy.probeInterval().toMillis();
    this.jitter = policy.probeJitter();
    this.random = Objects.requireNonNull(random, "random");
  }

  /** First probe of a newly registered node: uniformly within one interval from now, so nodes start out of phase. */
  public synchronized long firstProbeAt(long nowMillis) {
    return nowMillis + (long) (random.nextDouble() * intervalMillis);
  }

  /**
   * Next probe after one that started at {@code lastProbeAtMillis}: the interval times a factor drawn uniformly from
   * {@code [1 - jitter, 1 + jitter]}. Counting from the start of the last probe keeps the rate fixed whatever the
   * probe's own latency.
   */
  public synchronized long nextProbeAt(long lastProbeAtMillis) {
    double factor = 1 + jitter * (2 * random.nextDouble() - 1);
    return lastProbeAtMillis + Math.round(intervalMillis * factor);
  }

  /** Shortest gap {@link #nextProbeAt} can return. */
  public long minGapMillis() {
    return Math.round(intervalMillis * (1 - jitter));
  }

  /** Longest gap {@link #nextProbeAt} can return. */
  public long maxGapMillis() {
    return Math.round(intervalMillis * (1 + jitter));
  }
}
