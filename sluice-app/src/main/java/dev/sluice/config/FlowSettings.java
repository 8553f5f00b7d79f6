package dev.sluice.config;

import dev.sluice.flow.Band;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Flow control ({@code routing.flow}): requests that find every eligible node at its concurrency cap wait in the
 * gateway, one queue per model, instead of being pushed into a saturated node.
 *
 * @param enabled whether caps and the queue apply (off: every eligible node takes every request, as before)
 * @param queueLength requests that may wait per model at once; one more is answered 429
 * @param maxWait how long a request may wait for a slot; null: {@code routing.ttftBudget} (see {@link #maxWait(Duration)})
 * @param gpuMaxConcurrent caps per GPU type (upper case), for nodes without their own {@code maxConcurrent}
 * @param tenants per-tenant weight and highest band; tenants not listed get {@link #defaultWeight} and interactive
 * @param defaultWeight weight of a tenant not listed (and of keys and tokens that carry none)
 * @param batchMaxWait how long a batch request may wait for a slot (batch is served from spare capacity, so it waits
 *     as long as its client will)
 */
public record FlowSettings(boolean enabled, int queueLength, Duration maxWait, Map<String, Integer> gpuMaxConcurrent,
    Map<String, TenantShare> tenants, int defaultWeight, Duration batchMaxWait) {
  /** A tenant's weight in fair share and the highest band its requests may ask for. */
  public record TenantShare(int weight, Band maxBand) {
    public TenantShare {
      if (weight < 1) throw new IllegalArgumentException("weight must be ≥ 1, got " + weight);
      Objects.requireNonNull(maxBand, "maxBand");
    }
  }

  public static final int DEFAULT_QUEUE_LENGTH = 512;
  /** How long a request waits when {@code routing.ttftBudget} is 0 (admission control off) and maxWait is not set. */
  public static final Duration WAIT_WITHOUT_BUDGET = Duration.ofSeconds(30);
  /**
   * 5 minutes: a batch request (the brief's 100-report job) waits for spare capacity as long as a usual client timeout
   * allows (the OpenAI SDKs wait 10 minutes for an answer; half of that for the wait leaves time to answer). With the
   * interactive wait of 2 s the routing lab shed every report.
   */
  public static final Duration DEFAULT_BATCH_MAX_WAIT = Duration.ofMinutes(5);

  public FlowSettings {
    if (queueLength < 0) throw new IllegalArgumentException("queueLength: " + queueLength);
    if (maxWait != null && maxWait.isNegative()) throw new IllegalArgumentException("maxWait: " + maxWait);
    gpuMaxConcurrent = Map.copyOf(gpuMaxConcurrent);
    tenants = Map.copyOf(tenants);
    if (defaultWeight < 1) throw new IllegalArgumentException("defaultWeight: " + defaultWeight);
    Objects.requireNonNull(batchMaxWait, "batchMaxWait");
  }

  /** Settings with the default batch wait. */
  public FlowSettings(boolean enabled, int queueLength, Duration maxWait, Map<String, Integer> gpuMaxConcurrent,
      Map<String, TenantShare> tenants, int defaultWeight) {
    this(enabled, queueLength, maxWait, gpuMaxConcurrent, tenants, defaultWeight, DEFAULT_BATCH_MAX_WAIT);
  }

  /** On, 512 waiting requests per model, waits bounded by the TTFT budget, no configured caps, every tenant weight 1. */
  public static FlowSettings defaults() {
    return new FlowSettings(true, DEFAULT_QUEUE_LENGTH, null, Map.of(), Map.of(), 1);
  }

  /** These settings on or off. */
  public FlowSettings withEnabled(boolean on) {
    return new FlowSettings(on, queueLength, maxWait, gpuMaxConcurrent, tenants, defaultWeight, batchMaxWait);
  }

  /**
   * How long a request may wait for a slot: {@code maxWait} when set, else the TTFT budget (a request that waited
   * longer could not start within it anyway), else {@link #WAIT_WITHOUT_BUDGET}.
   */
  public Duration maxWait(Duration ttftBudget) {
    if (maxWait != null) return maxWait;
    return ttftBudget.isZero() ? WAIT_WITHOUT_BUDGET : ttftBudget;
  }

  /** The configured cap for nodes of {@code gpuType}, or 0 when none is configured. */
  public int gpuMaxConcurrent(String gpuType) {
    if (gpuType == null) return 0;
    return gpuMaxConcurrent.getOrDefault(gpuType.toUpperCase(Locale.ROOT), 0);
  }

  /** {@code tenant}'s weight: as configured, else {@link #defaultWeight}. */
  public int weight(String tenant) {
    TenantShare s = tenants.get(tenant);
    return s == null ? defaultWeight : s.weight();
  }

  /** The highest band {@code tenant} may ask for: as configured, else interactive. */
  public Band maxBand(String tenant) {
    TenantShare s = tenants.get(tenant);
    return s == null ? Band.INTERACTIVE : s.maxBand();
  }
}
