package dev.sluice.degrade;

import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * Limits and lifetimes of the {@link ResponseCache}.
 *
 * @param maxBytes bound on all entries together (bodies plus keys)
 * @param maxEntryBytes an answer larger than this is never stored
 * @param freshTtl an entry this young is a fresh hit
 * @param staleTtl an entry older than {@code freshTtl} and at most this old is a stale hit, served only while degraded
 * @param models models whose fresh hits are served even outside degradation; for every other model the cache only
 *     answers while the cluster is degraded
 */
public record CacheSettings(long maxBytes, long maxEntryBytes, Duration freshTtl, Duration staleTtl, Set<String> models) {
  /** 64 MiB: about a thousand long chat answers, a small share of a gateway's heap. */
  public static final long DEFAULT_MAX_BYTES = 64L << 20;
  /** 1 MiB: far above a long answer streamed in full; a larger body would crowd out many useful entries. */
  public static final long DEFAULT_MAX_ENTRY_BYTES = 1L << 20;
  /** 60 s: the brief's "cache TTL 60 s to avoid stale results". */
  public static final Duration DEFAULT_FRESH_TTL = Duration.ofSeconds(60);
  /** 10 min: the brief's "the latest successful response from the last 10 minutes", served while degraded. */
  public static final Duration DEFAULT_STALE_TTL = Duration.ofMinutes(10);
  /** None: outside degradation caching is off unless enabled per model, since sampling makes answers vary. */
  public static final Set<String> DEFAULT_MODELS = Set.of();

  public CacheSettings {
    Objects.requireNonNull(freshTtl, "freshTtl");
    Objects.requireNonNull(staleTtl, "staleTtl");
    models = models == null ? Set.of() : Set.copyOf(models);
    if (maxBytes < 1) {
      throw new IllegalArgumentException("cache.maxBytes: " + maxBytes + " (expected at least 1, e.g. 67108864 = 64 MiB)");
    }
    if (maxEntryBytes < 1) {
      throw new IllegalArgumentException(
          "cache.maxEntryBytes: " + maxEntryBytes + " (expected at least 1, e.g. 1048576 = 1 MiB)");
    }
    if (maxEntryBytes > maxBytes) {
      throw new IllegalArgumentException("cache.maxEntryBytes: " + maxEntryBytes + " > cache.maxBytes " + maxBytes
          + " (lower cache.maxEntryBytes or raise cache.maxBytes)");
    }
    if (freshTtl.isNegative()) {
      throw new IllegalArgumentException("cache.freshTtl: " + freshTtl + " is negative (expected >= 0, e.g. 60s)");
    }
    if (staleTtl.isNegative() || staleTtl.isZero()) {
      throw new IllegalArgumentException("cache.staleTtl: " + staleTtl + " (expected > 0, e.g. 10m)");
    }
    if (freshTtl.compareTo(staleTtl) > 0) {
      throw new IllegalArgumentException("cache.freshTtl: " + freshTtl + " > cache.staleTtl " + staleTtl
          + " (cache.freshTtl must be at most cache.staleTtl: lower it or raise cache.staleTtl)");
    }
  }

  /** The defaults above. */
  public static CacheSettings defaults() {
    return new CacheSettings(DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRY_BYTES, DEFAULT_FRESH_TTL, DEFAULT_STALE_TTL,
        DEFAULT_MODELS);
  }

  /** Whether fresh hits for {@code model} are served outside degradation. */
  public boolean cachesOutsideDegradation(String model) {
    return model != null && models.contains(model);
  }
}
