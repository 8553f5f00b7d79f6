package dev.sluice.limit;

/**
 * Where rate-limit counters live: {@link LocalLimitStore} in this process; a shared store (Redis) lets replicas enforce
 * one limit together. Kept to a few operations, each one atomic read-modify-write of one key, so that a Redis version
 * is one small script per method. Time is always passed in, never read.
 */
public interface LimitStore {
  /**
   * Token bucket {@code key} with {@code capacity} tokens, refilled continuously at {@code capacity} per
   * {@code periodMillis}: takes {@code cost} tokens if that many are available, else takes nothing. A cost larger than
   * the capacity is never allowed ({@code retryAfterMillis} = the period; the caller reports it as unfulfillable).
   */
  BucketResult take(String key, long cost, long capacity, long periodMillis, long nowMillis);

  /**
   * Corrects the bucket by {@code delta} tokens (positive = charge more, negative = refund), typically the real usage
   * minus the estimate charged by {@link #take}. Never blocks and never fails: a refund cannot fill the bucket beyond
   * its capacity, and a charge can overdraw it to at most one capacity below empty (later requests wait for the debt
   * to refill, at most one extra period).
   */
  void adjust(String key, long delta, long capacity, long periodMillis, long nowMillis);

  /** Concurrency slot: true and counted when fewer than {@code max} are held, else false and nothing held. */
  boolean acquireSlot(String key, int max);

  /** Gives back a slot taken by {@link #acquireSlot}; a counter that reaches 0 is removed. */
  void releaseSlot(String key);

  /** Slots held now under {@code key}. */
  int slotsInUse(String key);

  /**
   * @param allowed whether the cost was taken
   * @param remaining whole tokens left after this call (never negative)
   * @param resetMillis until the bucket is full again
   * @param retryAfterMillis until {@code cost} would be available; 0 when allowed
   */
  record BucketResult(boolean allowed, long remaining, long resetMillis, long retryAfterMillis) {}
}
