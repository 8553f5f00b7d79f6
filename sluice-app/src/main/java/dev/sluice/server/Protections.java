package dev.sluice.server;

import dev.sluice.config.SharedSettings;
import dev.sluice.config.SluiceConfig;
import dev.sluice.console.Ladder;
import dev.sluice.degrade.DegradationController;
import dev.sluice.degrade.DegradationLevel;
import dev.sluice.degrade.DowngradeCap;
import dev.sluice.degrade.ResponseCache;
import dev.sluice.degrade.SharedCache;
import dev.sluice.limit.LocalLimitStore;
import dev.sluice.limit.RateLimiter;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.shared.RedisLimitStore;
import dev.sluice.shared.RedisLink;
import dev.sluice.shared.RedisSharedCache;
import dev.sluice.support.Clock;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway-wide state behind the degradation ladder and the limits: the error-rate state machines, the response
 * cache and the rate limiter, and — with a {@code shared} config section — their Redis tier, which replicas share.
 * One instance per gateway, shared by every event loop; {@link #apply} follows config swaps without losing windows,
 * cached answers or counters. A change of the {@code shared} section (another Redis, prefix or use) takes effect at
 * once: a new link is opened and the old one closed; requests in flight finish on the link they started with.
 *
 * <p>With a shared cache, the link listens for purges made on other replicas and empties this replica's local tier.
 */
final class Protections {
  private static final Logger log = LoggerFactory.getLogger(Protections.class);

  final DegradationController degradation;
  final ResponseCache cache;
  final RateLimiter limiter;
  /** Downgraded requests in flight per smaller model, capped at a share of its capacity. */
  final DowngradeCap downgrades = new DowngradeCap();
  private final Vertx vertx;
  private final SluiceMetrics metrics;
  /** Names this replica in the purges it announces, so it knows its own: $HOSTNAME (else the pid) and a nonce. */
  final String replicaId = System.getenv().getOrDefault("HOSTNAME", "pid" + ProcessHandle.current().pid()) + "/"
      + Long.toHexString(new SplittableRandom().nextLong() >>> 40);
  /** The Redis tier in use; null when nothing is shared. */
  private volatile Shared shared;

  /** A link and what uses it. */
  private record Shared(SharedSettings settings, RedisLink link, SharedCache cache) {}

  /**
   * @param servable whether a model has a node in rotation now: the ladder never goes to STATIC for a model whose
   *     downgrade model can answer
   */
  Protections(Vertx vertx, SluiceConfig config, SluiceMetrics metrics, Clock clock,
      DegradationController.ModelHealth servable) {
    this.vertx = vertx;
    this.metrics = metrics;
    this.degradation = new DegradationController(config.degradation(), clock, servable,
        (scope, from, to, reason) -> transition(metrics, scope, from, to, reason));
    this.cache = new ResponseCache(config.cache(), clock);
    this.limiter = new RateLimiter(config.limits(), new LocalLimitStore(clock), clock);
    metrics.bindProtections(degradation::level, degradation::clusterLevel,
        () -> degradation.snapshot(), cache::stats);
    metrics.bindSharedStore("redis", () -> {
      Shared s = shared;
      return s == null ? Double.NaN : s.link.up() ? 1 : 0;
    });
  }

  private static void transition(SluiceMetrics metrics, String scope, DegradationLevel from, DegradationLevel to,
      String reason) {
    if (to.ordinal() > from.ordinal()) {
      log.warn("degradation {} {} → {}: {}", scope, from, to, reason);
    } else {
      log.info("degradation {} {} → {}: {}", scope, from, to, reason);
    }
    metrics.degradationTransition(scope, to.label());
  }

  void apply(SluiceConfig config) {
    degradation.apply(config.degradation());
    for (String model : config.models().keySet()) degradation.level(model); // every configured model shows up at once
    cache.apply(config.cache());
    limiter.apply(config.limits());
    applyShared(config.shared());
  }

  /** The shared cache tier, or null when answers are not shared. */
  /** The ladder as the admin plane shows and steers it. */
  Ladder ladder() {
    return new Ladder(degradation, cache, this::sharedCache);
  }

  SharedCache sharedCache() {
    Shared s = shared;
    return s == null ? null : s.cache;
  }

  private synchronized void applyShared(SharedSettings next) {
    Shared current = shared;
    SharedSettings before = current == null ? SharedSettings.none() : current.settings;
    if (next.equals(before) || !next.enabled() && current == null) {
      return;
    }
    Shared replacement = null;
    if (next.enabled()) {
      Map<String, Consumer<String>> listeners = next.sharesCache() ? Map.of(RedisSharedCache.purgeChannel(next),
          RedisSharedCache.purgeListener(replicaId, this::purgedElsewhere)) : Map.of();
      RedisLink link = RedisLink.open(vertx, next, listeners);
      SharedCache sharedCache = next.sharesCache() ? new RedisSharedCache(link, replicaId, metrics::sharedCacheLookup,
          () -> metrics.sharedStoreFallback("cache")) : null;
      replacement = new Shared(next, link, sharedCache);
      limiter.useShared(next.sharesLimits() ? new RedisLimitStore(link, () -> metrics.sharedStoreFallback("limits"))
          : null);
    } else {
      limiter.useShared(null);
      log.info("shared state off: rate limits and cache are per replica");
    }
    shared = replacement;
    if (current != null) {
      if (replacement != null) {
        log.info("shared state now in redis at {} (was {})", next.redisAddress(), before.redisAddress());
      }
      current.link.close();
    }
  }

  /** Another replica purged the cache (and Redis's): the answers here are purged too, or they would outlive it. */
  private void purgedElsewhere(String origin) {
    long dropped = cache.purge();
    log.info("cache purged on replica {}: {} answers dropped here too", origin, dropped);
  }

  /** Closes the Redis link, if any. */
  Future<Void> close() {
    Shared s;
    synchronized (this) {
      s = shared;
      shared = null;
      limiter.useShared(null);
    }
    return s == null ? Future.succeededFuture() : s.link.close();
  }
}
