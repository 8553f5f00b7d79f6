package dev.sluice.limit;

import dev.sluice.limit.LimitStore.BucketResult;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionStage;

/**
 * Token buckets kept outside the process (Redis) so that several gateway replicas enforce one limit together. Same
 * arithmetic as {@link LocalLimitStore} (token-milliseconds, one capacity of overdraft at most, idle buckets expire),
 * but asynchronous, and the store's own clock decides the time so that replica clocks do not matter.
 *
 * <p>Calls never block. A call that cannot be answered (store unreachable, too slow) completes exceptionally, at once
 * when the store is known to be down: {@link RateLimiter} then admits against its local store instead, so a request is
 * never refused or lost because of the shared store.
 */
public interface SharedLimitStore {
  /**
   * One bucket to take from: like {@link LimitStore#take} without the time.
   *
   * @param key the bucket's key (the store adds its own prefix)
   */
  record Take(String key, long cost, long capacity, long periodMillis) {
    public Take {
      Objects.requireNonNull(key, "key");
    }
  }

  /**
   * Takes every bucket's cost if each has it, atomically, else takes nothing. The results are in the order of
   * {@code takes}, up to and including the first refusal (all of them when everything was taken).
   */
  CompletionStage<List<BucketResult>> takeAll(List<Take> takes);

  /** Like {@link LimitStore#adjust}, fire and forget: a correction that cannot be made is dropped (and logged). */
  void adjust(String key, long delta, long capacity, long periodMillis);
}
