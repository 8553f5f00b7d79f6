package dev.sluice.degrade;

import java.time.Duration;
import java.util.concurrent.CompletionStage;

/**
 * The second tier of the {@link ResponseCache}: answers stored where every gateway replica finds them (Redis), so an
 * answer cached by one replica can be served by another. Keys are {@link CacheKey}s, which start with the tenant: two
 * tenants never share an entry.
 *
 * <p>Calls never block. A lookup that cannot be answered (store unreachable, too slow) completes exceptionally; the
 * caller treats it as a miss.
 */
public interface SharedCache {
  /** The answer stored under {@code key}, or null when there is none (or it expired). */
  CompletionStage<CachedAnswer> get(String key);

  /** Stores {@code answer} under {@code key} for {@code ttl} (the stale TTL), fire and forget. */
  void put(String key, CachedAnswer answer, Duration ttl);

  /**
   * Drops every shared answer (an operator's purge: a purge that left the shared tier would be undone by the next
   * lookup), then tells the other replicas to empty their local tier. Completes with what was done, or exceptionally
   * when the store is unreachable.
   */
  CompletionStage<Purged> purge();

  /**
   * @param dropped answers dropped from the shared tier
   * @param replicasNotified replicas told to empty their local tier, this one included (each ignores its own word)
   */
  record Purged(long dropped, long replicasNotified) {}
}
