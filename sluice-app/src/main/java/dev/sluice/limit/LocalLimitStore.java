package dev.sluice.limit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.sluice.support.Clock;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * {@link LimitStore} in this process's memory: exact token buckets and slot counters, each key updated atomically.
 *
 * <p>A bucket is two numbers, its debt and the time of that debt, kept in integer "token-milliseconds" (one token =
 * {@code periodMillis} units, refilled at {@code capacity} units per millisecond), so a bucket of capacity N admits
 * exactly N in a burst and then exactly one every period/N, with no rounding drift. A full bucket is the same as no
 * bucket, so full buckets are dropped, and idle ones expire after {@value #IDLE_PERIODS_BEFORE_EVICTION} periods
 * (by then they are full again even from the deepest overdraft). Slot counters are removed when they reach 0.
 */
public final class LocalLimitStore implements LimitStore {
  /**
   * How far below empty {@link #adjust} may overdraw a bucket, in capacities: one, so a request that used far more
   * than its estimate delays the tenant by at most one extra period instead of locking it out.
   */
  static final long MAX_OVERDRAFT_CAPACITIES = 1;
  /** Idle periods before a bucket is evicted: {@link #MAX_OVERDRAFT_CAPACITIES} + 1, the longest refill from debt. */
  static final long IDLE_PERIODS_BEFORE_EVICTION = MAX_OVERDRAFT_CAPACITIES + 1;

  private final Cache<String, Bucket> buckets;
  private final ConcurrentMap<String, Integer> slots = new ConcurrentHashMap<>();

  /** @param clock the clock the callers pass as {@code nowMillis}; it also times bucket eviction */
  public LocalLimitStore(Clock clock) {
    Objects.requireNonNull(clock, "clock");
    buckets = Caffeine.newBuilder()
        .ticker(() -> clock.millis() * 1_000_000L)
        .executor(Runnable::run)
        .expireAfter(new IdleExpiry())
        .build();
  }

  /** Debt in token-milliseconds at {@code atMillis}; 0 = full. */
  private record Bucket(long debt, long atMillis, long periodMillis) {}

  @Override
  public BucketResult take(String key, long cost, long capacity, long periodMillis, long nowMillis) {
    Objects.requireNonNull(key, "key");
    checkBucket(capacity, periodMillis);
    if (cost < 0) {
      throw new IllegalArgumentException("bucket " + key + ": cost " + cost + " is negative");
    }
    BucketResult[] result = new BucketResult[1];
    buckets.asMap().compute(key, (k, old) -> {
      long debt = debtAt(old, capacity, periodMillis, nowMillis);
      long full = capacity * periodMillis;
      long need = cost <= capacity ? cost * periodMillis : Long.MAX_VALUE;
      boolean allowed = debt <= full - need;
      if (allowed) {
        debt += need;
      }
      long retryAfter = allowed ? 0 : cost > capacity ? periodMillis : ceilDiv(debt + need - full, capacity);
      result[0] = new BucketResult(allowed, Math.max(0, (full - debt) / periodMillis), ceilDiv(debt, capacity),
          retryAfter);
      return store(old, debt, periodMillis, nowMillis);
    });
    return result[0];
  }

  @Override
  public void adjust(String key, long delta, long capacity, long periodMillis, long nowMillis) {
    Objects.requireNonNull(key, "key");
    checkBucket(capacity, periodMillis);
    long maxDebt = (1 + MAX_OVERDRAFT_CAPACITIES) * capacity * periodMillis;
    long clamped = Math.max(-(1 + MAX_OVERDRAFT_CAPACITIES) * capacity, Math.min(delta, maxDebt / periodMillis));
    buckets.asMap().compute(key, (k, old) -> {
      long debt = debtAt(old, capacity, periodMillis, nowMillis) + clamped * periodMillis;
      return store(old, Math.max(0, Math.min(maxDebt, debt)), periodMillis, nowMillis);
    });
  }

  @Override
  public boolean acquireSlot(String key, int max) {
    Objects.requireNonNull(key, "key");
    if (max < 1) {
      throw new IllegalArgumentException("slot " + key + ": max " + max + " must be at least 1");
    }
    boolean[] acquired = new boolean[1];
    slots.compute(key, (k, held) -> {
      int now = held == null ? 0 : held;
      if (now >= max) {
        return held;
      }
      acquired[0] = true;
      return now + 1;
    });
    return acquired[0];
  }

  @Override
  public void releaseSlot(String key) {
    slots.computeIfPresent(Objects.requireNonNull(key, "key"), (k, held) -> held <= 1 ? null : held - 1);
  }

  @Override
  public int slotsInUse(String key) {
    return slots.getOrDefault(Objects.requireNonNull(key, "key"), 0);
  }

  /** Buckets held (not full and not expired), after pending evictions; for tests. */
  long bucketCount() {
    buckets.cleanUp();
    return buckets.estimatedSize();
  }

  /** Slot counters held; for tests. */
  int slotKeyCount() {
    return slots.size();
  }

  /** The bucket's debt refilled up to {@code nowMillis}, capped at the deepest overdraft (after a capacity change). */
  private static long debtAt(Bucket old, long capacity, long periodMillis, long nowMillis) {
    if (old == null || old.periodMillis != periodMillis) {
      return 0;
    }
    long elapsed = Math.max(0, nowMillis - old.atMillis);
    long debt = elapsed >= ceilDiv(old.debt, capacity) ? 0 : old.debt - elapsed * capacity;
    return Math.min(debt, (1 + MAX_OVERDRAFT_CAPACITIES) * capacity * periodMillis);
  }

  /** The new state; null (no entry) when the bucket is full. Time never moves back if callers race. */
  private static Bucket store(Bucket old, long debt, long periodMillis, long nowMillis) {
    if (debt == 0) {
      return null;
    }
    long at = old == null || old.periodMillis != periodMillis ? nowMillis : Math.max(old.atMillis, nowMillis);
    return new Bucket(debt, at, periodMillis);
  }

  private static void checkBucket(long capacity, long periodMillis) {
    if (capacity < 1 || periodMillis < 1
        || capacity > Long.MAX_VALUE / periodMillis / (2 * (1 + MAX_OVERDRAFT_CAPACITIES))) {
      throw new IllegalArgumentException("bucket: capacity " + capacity + " per " + periodMillis
          + " ms is out of range (both must be at least 1, and their product fit in a long)");
    }
  }

  private static long ceilDiv(long a, long b) {
    return a <= 0 ? 0 : (a - 1) / b + 1;
  }

  /** Entries expire after {@link #IDLE_PERIODS_BEFORE_EVICTION} of their own period without use. */
  private static final class IdleExpiry implements Expiry<String, Bucket> {
    private static long idleNanos(Bucket bucket) {
      return IDLE_PERIODS_BEFORE_EVICTION * bucket.periodMillis * 1_000_000L;
    }

    @Override
    public long expireAfterCreate(String key, Bucket bucket, long currentTime) {
      return idleNanos(bucket);
    }

    @Override
    public long expireAfterUpdate(String key, Bucket bucket, long currentTime, long currentDuration) {
      return idleNanos(bucket);
    }

    @Override
    public long expireAfterRead(String key, Bucket bucket, long currentTime, long currentDuration) {
      return idleNanos(bucket);
    }
  }
}
