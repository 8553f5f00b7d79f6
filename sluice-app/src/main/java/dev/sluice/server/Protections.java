package dev.sluice.server;

import dev.sluice.config.SluiceConfig;
import dev.sluice.degrade.DegradationController;
import dev.sluice.degrade.DegradationLevel;
import dev.sluice.degrade.ResponseCache;
import dev.sluice.limit.LocalLimitStore;
import dev.sluice.limit.RateLimiter;
import dev.sluice.metrics.SluiceMetrics;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway-wide state behind the degradation ladder and the limits: the error-rate state machines, the response
 * cache and the rate limiter. One instance per gateway, shared by every event loop; {@link #apply} follows config
 * swaps without losing windows, cached answers or counters.
 */
final class Protections {
  private static final Logger log = LoggerFactory.getLogger(Protections.class);

  final DegradationController degradation;
  final ResponseCache cache;
  final RateLimiter limiter;

  Protections(SluiceConfig config, SluiceMetrics metrics, LongSupplier clockMillis) {
    this.degradation = new DegradationController(config.degradation(), clockMillis,
        (scope, from, to, reason) -> transition(metrics, scope, from, to, reason));
    this.cache = new ResponseCache(config.cache(), clockMillis);
    this.limiter = new RateLimiter(config.limits(), new LocalLimitStore(clockMillis), clockMillis);
    metrics.bindProtections(degradation::level, degradation::clusterLevel,
        () -> degradation.snapshot(), cache::stats);
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
  }
}
