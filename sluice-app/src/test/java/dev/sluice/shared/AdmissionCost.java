package dev.sluice.shared;

import dev.sluice.config.SharedSettings;
import dev.sluice.limit.LimitSettings;
import dev.sluice.limit.Limits;
import dev.sluice.limit.LocalLimitStore;
import dev.sluice.limit.RateLimiter;
import dev.sluice.testkit.RedisServer;
import io.vertx.core.Vertx;
import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * What a shared rate limit costs a request: {@link RateLimiter#admitAsync} with the local store vs with Redis (a real
 * redis-server on loopback), one admission at a time, latency percentiles in microseconds. Not a test: the figures
 * depend on the machine; the baseline (local) is measured in the same run.
 *
 * <p>Run (from the repository root):
 * <pre>
 * mvn -B -o -q -pl sluice-app test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
 * java -cp "sluice-app/target/test-classes:sluice-app/target/classes:$(cat /tmp/cp.txt)" dev.sluice.shared.AdmissionCost
 * </pre>
 */
public final class AdmissionCost {
  private static final int WARMUP = 20_000;
  private static final int MEASURED = 50_000;

  private AdmissionCost() {}

  public static void main(String[] args) throws Exception {
    // a limit that never refuses: every call does the full work (requests and tokens buckets of tenant and model)
    LimitSettings limits = new LimitSettings(new Limits(1_000_000_000, 1_000_000_000, 0), Map.of(),
        Map.of("q", new Limits(1_000_000_000, 0, 0)), null);
    RateLimiter local = new RateLimiter(limits, new LocalLimitStore(System::currentTimeMillis),
        System::currentTimeMillis);
    Histogram localNanos = measure(local, "tenant-local");

    try (RedisServer redis = RedisServer.start()) {
      Vertx vertx = Vertx.vertx();
      RedisLink link = RedisLink.open(vertx, SharedSettings.redis(URI.create(redis.url()))
          .withTimeout(Duration.ofSeconds(1)));
      RateLimiter shared = new RateLimiter(limits, new LocalLimitStore(System::currentTimeMillis),
          System::currentTimeMillis);
      int[] fallbacks = {0};
      shared.useShared(new RedisLimitStore(link, () -> fallbacks[0]++));
      Histogram redisNanos = measure(shared, "tenant-redis");
      link.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      System.out.println(row("local store", localNanos));
      System.out.println(row("redis (1 Lua call)", redisNanos));
      System.out.printf(Locale.ROOT, "added by redis: p50 %.1f us, p99 %.1f us (fallbacks during the run: %d)%n",
          (redisNanos.getValueAtPercentile(50) - localNanos.getValueAtPercentile(50)) / 1000.0,
          (redisNanos.getValueAtPercentile(99) - localNanos.getValueAtPercentile(99)) / 1000.0, fallbacks[0]);
    }
  }

  private static Histogram measure(RateLimiter limiter, String tenant) throws Exception {
    Histogram h = new Histogram(3);
    for (int i = 0; i < WARMUP + MEASURED; i++) {
      long start = System.nanoTime();
      RateLimiter.Admission a = limiter.admitAsync(tenant, null, null, "q", 100).toCompletableFuture()
          .get(5, TimeUnit.SECONDS);
      long took = System.nanoTime() - start;
      if (a instanceof RateLimiter.Admitted ok) ok.permit().release();
      if (i >= WARMUP) h.recordValue(took);
    }
    return h;
  }

  private static String row(String name, Histogram h) {
    return String.format(Locale.ROOT, "%-20s p50 %8.1f us   p90 %8.1f us   p99 %8.1f us   (%d admissions)", name,
        h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(90) / 1000.0, h.getValueAtPercentile(99) / 1000.0,
        h.getTotalCount());
  }
}
