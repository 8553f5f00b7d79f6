package dev.sluice.degrade;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.sluice.support.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Complete successful upstream answers by {@link CacheKey}, bounded in bytes (W-TinyLFU eviction by Caffeine) and
 * dropped {@link CacheSettings#staleTtl()} after they were written. A lookup is <em>fresh</em> while the entry's age
 * is at most {@link CacheSettings#freshTtl()}, <em>stale</em> after that up to {@code staleTtl}; stale entries are
 * only returned to callers that allow them (the degradation level "serve cached"). Thread-safe; time comes from the
 * injected clock only.
 */
public final class ResponseCache {
  /**
   * Caffeine treats an entry as expired once its age reaches the TTL; the cache promises entries up to and
   * including {@code staleTtl}, so Caffeine's expiry runs one millisecond later and {@link #get} decides by age.
   */
  private static final long EXPIRY_SLACK_MILLIS = 1;

  /** An entry younger than this is not replaced (see {@link #wants}). */
  public static final long MIN_REPLACE_AGE_MILLIS = 1_000;
  /** Fingerprints of requests stored in the last second: far more distinct requests a second than one gateway sees. */
  private static final long RECENT_FINGERPRINTS = 100_000;
  private final com.github.benmanes.caffeine.cache.Cache<Long, Boolean> recentlyHandled;

  private final Cache<String, CachedAnswer> cache;
  private final Clock clock;
  private volatile CacheSettings settings;
  private final LongAdder hits = new LongAdder();
  private final LongAdder staleHits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder puts = new LongAdder();
  private final LongAdder oversized = new LongAdder();
  private final LongAdder evictions = new LongAdder();

  /**
   * A cache reading time from {@code clock} (epoch millis). Eviction and expiry housekeeping run on the calling
   * thread, a little after each write or read.
   */
  public ResponseCache(CacheSettings settings, Clock clock) {
    this(settings, clock, null);
  }

  /** As above, with housekeeping on {@code executor} ({@code Runnable::run} makes eviction synchronous, for tests). */
  ResponseCache(CacheSettings settings, Clock clock, Executor executor) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.clock = Objects.requireNonNull(clock, "clock");
    Ticker ticker = () -> TimeUnit.MILLISECONDS.toNanos(clock.millis());
    Caffeine<String, CachedAnswer> builder = Caffeine.newBuilder()
        .maximumWeight(settings.maxBytes())
        .weigher((String key, CachedAnswer answer) -> weight(key, answer))
        .expireAfterWrite(expiry(settings))
        .ticker(ticker)
        .evictionListener((String key, CachedAnswer answer, RemovalCause cause) -> evictions.increment());
    // Housekeeping runs on the calling thread (amortised, a few entries at a time) rather than as a task handed to
    // the common fork-join pool after writes: no cross-thread wake-up per stored answer on the event loop.
    builder.executor(executor != null ? executor : Runnable::run);
    this.cache = builder.build();
    this.recentlyHandled = Caffeine.newBuilder().maximumSize(RECENT_FINGERPRINTS)
        .expireAfterWrite(Duration.ofMillis(MIN_REPLACE_AGE_MILLIS)).ticker(ticker)
        .executor(executor != null ? executor : Runnable::run).build();
  }

  /** A successful lookup: the answer, whether it is fresh, and its age. */
  public record Lookup(CachedAnswer answer, boolean fresh, long ageMillis) {}

  /** Counters since start, and the current size. */
  public record Stats(
      long entries, long weightBytes, long hits, long staleHits, long misses, long puts, long oversized,
      long evictions) {}

  /**
   * Whether an answer stored now under {@code key} would be news: false while the entry there is younger than
   * {@link #MIN_REPLACE_AGE_MILLIS}. A hot request answered hundreds of times a second is then stored once a second,
   * not on every answer ("the latest success" stays at most a second old), and its answer is neither checked nor
   * copied.
   */
  public boolean wants(String key) {
    CachedAnswer current = cache.getIfPresent(key);
    return current == null || clock.millis() - current.storedAtMillis() >= MIN_REPLACE_AGE_MILLIS;
  }

  /**
   * Whether a request with this fingerprint (a cheap hash of its tenant, endpoint and raw body) was handled by
   * {@link #noteHandled} in the last {@link #MIN_REPLACE_AGE_MILLIS}: then the canonical key need not even be computed.
   * A collision only delays storing another request's answer by a second.
   */
  public boolean handledRecently(long fingerprint) {
    return recentlyHandled.getIfPresent(fingerprint) != null;
  }

  /** Notes that the answer of the request with this fingerprint was stored (or not wanted) just now. */
  public void noteHandled(long fingerprint) {
    recentlyHandled.put(fingerprint, Boolean.TRUE);
  }

  /**
   * Stores {@code answer} under {@code key}, replacing an older entry; false (and counted as oversized) when the entry
   * would weigh more than {@link CacheSettings#maxEntryBytes()}.
   */
  public boolean put(String key, CachedAnswer answer) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(answer, "answer");
    if (weight(key, answer) > settings.maxEntryBytes()) {
      oversized.increment();
      return false;
    }
    puts.increment();
    cache.put(key, answer);
    return true;
  }

  /**
   * The entry under {@code key}, or null: on a miss, when the entry is older than {@code staleTtl}, or when it is
   * stale and {@code allowStale} is false.
   */
  public Lookup get(String key, boolean allowStale) {
    Objects.requireNonNull(key, "key");
    CacheSettings s = settings;
    CachedAnswer answer = cache.getIfPresent(key);
    if (answer == null) {
      misses.increment();
      return null;
    }
    long age = Math.max(0, clock.millis() - answer.storedAtMillis());
    if (age <= s.freshTtl().toMillis()) {
      hits.increment();
      return new Lookup(answer, true, age);
    }
    if (age > s.staleTtl().toMillis()) {
      cache.asMap().remove(key, answer); // stored with an older timestamp than its write time
      misses.increment();
      return null;
    }
    if (!allowStale) {
      misses.increment();
      return null;
    }
    staleHits.increment();
    return new Lookup(answer, false, age);
  }

  /**
   * Takes an answer found in the {@link SharedCache} after a local miss: keeps it here too (so the next lookup is
   * local) and judges it like {@link #get}, by its age since it was first stored. Null when it is too old, or stale and
   * {@code allowStale} is false. The local counters are left alone: the lookup was already counted as a miss.
   */
  public Lookup adopt(String key, CachedAnswer answer, boolean allowStale) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(answer, "answer");
    CacheSettings s = settings;
    long age = Math.max(0, clock.millis() - answer.storedAtMillis());
    if (age > s.staleTtl().toMillis()) {
      return null;
    }
    if (weight(key, answer) <= s.maxEntryBytes()) {
      cache.asMap().putIfAbsent(key, answer);
    }
    boolean fresh = age <= s.freshTtl().toMillis();
    return fresh || allowStale ? new Lookup(answer, fresh, age) : null;
  }

  /** Drops the entry under {@code key}, if any. */
  public void invalidate(String key) {
    cache.invalidate(Objects.requireNonNull(key, "key"));
  }

  /** Drops every entry; returns how many live (unexpired) entries were removed. */
  public long purge() {
    long removed = 0;
    for (var it = cache.asMap().keySet().iterator(); it.hasNext(); ) {
      it.next();
      it.remove();
      removed++;
    }
    cache.invalidateAll(); // expired entries not yet cleaned up, and any put racing the loop
    recentlyHandled.invalidateAll(); // the next answer of a request handled just before the purge is stored again
    return removed;
  }

  /** The counters and current size (after pending housekeeping). */
  public Stats stats() {
    cache.cleanUp();
    long weight = cache.policy().eviction().map(e -> e.weightedSize().orElse(0)).orElse(0L);
    return new Stats(cache.estimatedSize(), weight, hits.sum(), staleHits.sum(), misses.sum(), puts.sum(),
        oversized.sum(), evictions.sum());
  }

  /**
   * Takes new settings on a config reload without dropping the cache: a new {@code maxBytes} evicts down to the new
   * bound, a new {@code staleTtl} applies to existing entries too, entries above a lowered {@code maxEntryBytes} are
   * dropped, and {@code freshTtl} and {@code models} apply from the next lookup.
   */
  public synchronized void apply(CacheSettings next) {
    Objects.requireNonNull(next, "settings");
    CacheSettings previous = settings;
    settings = next;
    if (next.maxBytes() != previous.maxBytes()) {
      cache.policy().eviction().ifPresent(e -> e.setMaximum(next.maxBytes()));
    }
    if (!next.staleTtl().equals(previous.staleTtl())) {
      cache.policy().expireAfterWrite().ifPresent(e -> e.setExpiresAfter(expiry(next)));
    }
    if (next.maxEntryBytes() < previous.maxEntryBytes()) {
      cache.asMap().entrySet().removeIf(e -> weight(e.getKey(), e.getValue()) > next.maxEntryBytes());
    }
  }

  /** The settings in force. */
  public CacheSettings settings() {
    return settings;
  }

  /** An entry's cost against the byte bound: its answer plus its key. */
  static int weight(String key, CachedAnswer answer) {
    long w = (long) key.length() + answer.weightBytes();
    return (int) Math.min(Integer.MAX_VALUE, w);
  }

  private static Duration expiry(CacheSettings s) {
    return s.staleTtl().plusMillis(EXPIRY_SLACK_MILLIS);
  }
}
