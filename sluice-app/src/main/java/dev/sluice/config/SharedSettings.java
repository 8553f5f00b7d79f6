package dev.sluice.config;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * State shared by gateway replicas through Redis (config {@code shared}): rate-limit buckets and a second tier of the
 * response cache. Without a {@code shared} section everything stays in the process, as for a single gateway.
 *
 * @param redis {@code redis://[:password@]host:port[/db]}; null = nothing shared
 * @param limits whether requests- and tokens-per-minute buckets live in Redis (concurrency stays per replica)
 * @param cache whether cached answers are also stored in and looked up from Redis
 * @param keyPrefix starts every Redis key Sluice writes, so several gateways (or other programs) can share a Redis
 * @param timeout how long a call to Redis may take before the request goes on with local state instead
 */
public record SharedSettings(URI redis, boolean limits, boolean cache, String keyPrefix, Duration timeout) {
  /** {@code sluice:}: readable in {@code redis-cli --scan}, and distinct from other programs' keys. */
  public static final String DEFAULT_KEY_PREFIX = "sluice:";
  /**
   * 100 ms: a Redis round trip on a LAN takes well under a millisecond, so a call this slow means Redis is overloaded
   * or gone; a request then waits at most this long before it is admitted against local limits.
   */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofMillis(100);
  /** Redis's own default port, used when the URL names none. */
  public static final int DEFAULT_REDIS_PORT = 6379;

  private static final SharedSettings NONE = new SharedSettings(null, false, false, DEFAULT_KEY_PREFIX, DEFAULT_TIMEOUT);

  public SharedSettings {
    Objects.requireNonNull(keyPrefix, "keyPrefix");
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("shared.timeout: " + timeout + " (expected > 0, e.g. 100ms)");
    }
    if (redis != null && (!"redis".equals(redis.getScheme()) || redis.getHost() == null)) {
      throw new IllegalArgumentException("shared.redis: \"" + address(redis)
          + "\" is not a Redis URL (expected redis://host:port)");
    }
  }

  /** Nothing shared: limits and cache in this process only. */
  public static SharedSettings none() {
    return NONE;
  }

  /** Limits and cache in Redis at {@code redis}, with the default prefix and timeout. */
  public static SharedSettings redis(URI redis) {
    return new SharedSettings(Objects.requireNonNull(redis, "redis"), true, true, DEFAULT_KEY_PREFIX, DEFAULT_TIMEOUT);
  }

  /** Whether anything is shared (a Redis URL and at least one of limits and cache). */
  public boolean enabled() {
    return redis != null && (limits || cache);
  }

  /** Whether rate-limit buckets are shared. */
  public boolean sharesLimits() {
    return redis != null && limits;
  }

  /** Whether cached answers are shared. */
  public boolean sharesCache() {
    return redis != null && cache;
  }

  /** {@code host:port} of Redis, for logs: never the password. */
  public String redisAddress() {
    return redis == null ? "(none)" : address(redis);
  }

  /** The Redis port: the URL's, else {@link #DEFAULT_REDIS_PORT}. */
  public int redisPort() {
    return redis == null || redis.getPort() < 0 ? DEFAULT_REDIS_PORT : redis.getPort();
  }

  public SharedSettings withKeyPrefix(String prefix) {
    return new SharedSettings(redis, limits, cache, prefix, timeout);
  }

  public SharedSettings withTimeout(Duration t) {
    return new SharedSettings(redis, limits, cache, keyPrefix, t);
  }

  public SharedSettings withUses(boolean sharedLimits, boolean sharedCache) {
    return new SharedSettings(redis, sharedLimits, sharedCache, keyPrefix, timeout);
  }

  /** The URL without its user information (password). */
  private static String address(URI uri) {
    if (uri.getHost() == null) {
      String s = uri.toString();
      int at = s.lastIndexOf('@');
      return at < 0 ? s : s.substring(0, s.indexOf("//") + 2) + "…@" + s.substring(at + 1);
    }
    return uri.getHost() + ":" + (uri.getPort() < 0 ? DEFAULT_REDIS_PORT : uri.getPort());
  }

  @Override
  public String toString() {
    return "SharedSettings[redis=" + redisAddress() + ", limits=" + limits + ", cache=" + cache + ", keyPrefix="
        + keyPrefix + ", timeout=" + timeout + "]";
  }
}
