package dev.sluice.shared;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.SharedSettings;
import dev.sluice.limit.LimitStore.BucketResult;
import dev.sluice.limit.LocalLimitStore;
import dev.sluice.limit.SharedLimitStore.Take;
import dev.sluice.testkit.RedisServer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The Redis buckets against a real redis-server: the local store's exact arithmetic, all-or-nothing, expiry. */
class RedisLimitStoreTest {
  private static RedisServer redis;
  private static Vertx vertx;
  private static RedisLink link;
  private static final AtomicInteger fallbacks = new AtomicInteger();
  private static RedisLimitStore store;

  @BeforeAll
  static void startRedis() {
    redis = RedisServer.start();
    vertx = Vertx.vertx();
    link = RedisLink.open(vertx, SharedSettings.redis(URI.create(redis.url())).withTimeout(java.time.Duration
        .ofSeconds(2)));
    store = new RedisLimitStore(link, fallbacks::incrementAndGet);
  }

  @AfterAll
  static void stopRedis() {
    if (link != null) await(link.close());
    if (vertx != null) await(vertx.close());
    if (redis != null) redis.close();
  }

  @BeforeEach
  void empty() {
    redis.command("FLUSHALL");
  }

  static <T> T await(Future<T> f) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static BucketResult take(String key, long cost, long capacity, long period, long now) {
    List<BucketResult> r = await(store.takeAll(List.of(new Take(key, cost, capacity, period)), now));
    assertThat(r).hasSize(1);
    return r.get(0);
  }

  @Test
  void bucketsAgreeWithTheLocalStoreToTheTokenMillisecondOverAThousandRandomOperations() {
    long[] clock = {1_700_000_000_000L};
    LocalLimitStore local = new LocalLimitStore(() -> clock[0]);
    SplittableRandom random = new SplittableRandom(42);
    String[] keys = {"t:a:rpm", "t:a:tpm", "m:q:tpm"};
    long[][] shapes = {{5, 60_000}, {1_000, 60_000}, {7, 1_000}};
    for (int i = 0; i < 1_000; i++) {
      clock[0] += random.nextInt(4) == 0 ? random.nextInt(30_000) : random.nextInt(50);
      int k = random.nextInt(keys.length);
      long capacity = shapes[k][0];
      long period = shapes[k][1];
      if (random.nextInt(4) == 0) {
        long delta = random.nextLong(-2 * capacity, 2 * capacity + 1);
        local.adjust(keys[k], delta, capacity, period, clock[0]);
        await(store.adjust(keys[k], delta, capacity, period, clock[0]));
        continue;
      }
      long cost = random.nextInt(10) == 0 ? capacity + 1 : random.nextLong(0, Math.max(2, capacity / 3));
      BucketResult expected = local.take(keys[k], cost, capacity, period, clock[0]);
      assertThat(take(keys[k], cost, capacity, period, clock[0]))
          .as("operation %d: take %d from %s (capacity %d per %d ms) at %d", i, cost, keys[k], capacity, period,
              clock[0])
          .isEqualTo(expected);
    }
    assertThat(fallbacks).hasValue(0);
  }

  @Test
  void aBurstOfTheCapacityIsAdmittedThenRefusedWithTheTimeToTheNextTokenOnRedissClock() {
    List<Take> one = List.of(new Take("t:burst:rpm", 1, 5, 60_000));
    for (int i = 0; i < 5; i++) {
      BucketResult r = await(store.takeAll(one, -1)).get(0);
      assertThat(r.allowed()).isTrue();
      assertThat(r.remaining()).isEqualTo(4 - i);
    }
    BucketResult refused = await(store.takeAll(one, -1)).get(0);
    assertThat(refused.allowed()).isFalse();
    assertThat(refused.remaining()).isZero();
    assertThat(refused.retryAfterMillis()).isBetween(1L, 12_000L); // one token every 12 s
    assertThat(refused.resetMillis()).isBetween(48_000L, 60_000L);
  }

  @Test
  void takesNothingFromAnyBucketWhenOneRefuses() {
    take("m:q:rpm", 1, 1, 60_000, 1_000);
    List<BucketResult> r = await(store.takeAll(List.of(new Take("t:a:rpm", 1, 10, 60_000),
        new Take("t:a:tpm", 100, 1_000, 60_000), new Take("m:q:rpm", 1, 1, 60_000)), 1_000));
    assertThat(r).extracting(BucketResult::allowed).containsExactly(true, true, false);
    assertThat(take("t:a:rpm", 0, 10, 60_000, 1_000).remaining()).as("the tenant's request was not taken")
        .isEqualTo(10);
    assertThat(take("t:a:tpm", 0, 1_000, 60_000, 1_000).remaining()).isEqualTo(1_000);
  }

  @Test
  void aRefundRefillsTheBucketAndAFullBucketIsNoKeyWhileAnUsedOneExpiresAfterTwoPeriods() {
    take("t:a:tpm", 400, 1_000, 60_000, 5_000);
    assertThat(redis.keys("sluice:rl:*")).containsExactly("sluice:rl:t:a:tpm");
    long ttl = Long.parseLong(redis.command("PTTL", "sluice:rl:t:a:tpm"));
    assertThat(ttl).isBetween(1L, 120_000L);

    await(store.adjust("t:a:tpm", 150, 1_000, 60_000, 5_000)); // used more than estimated
    assertThat(take("t:a:tpm", 0, 1_000, 60_000, 5_000).remaining()).isEqualTo(450);
    await(store.adjust("t:a:tpm", -550, 1_000, 60_000, 5_000)); // the whole charge back
    assertThat(redis.keys("sluice:rl:*")).as("a full bucket is no key").isEmpty();
  }

  @Test
  void aChargeOverdrawsAtMostOneCapacity() {
    await(store.adjust("t:a:tpm", 1_000_000, 1_000, 60_000, 0));
    BucketResult r = take("t:a:tpm", 1, 1_000, 60_000, 0);
    assertThat(r.allowed()).isFalse();
    assertThat(r.resetMillis()).as("two capacities of debt refill in two periods").isEqualTo(120_000);
    assertThat(r.retryAfterMillis()).isEqualTo(60_000 + 60);
  }

  @Test
  void aCapacityBeyondExactArithmeticIsCountedLocallyInstead() {
    int before = fallbacks.get();
    Future<List<BucketResult>> f = store.takeAll(List.of(new Take("t:huge:tpm", 1, Long.MAX_VALUE / 4, 60_000)), -1);
    assertThat(f.toCompletionStage().toCompletableFuture()).isCompletedExceptionally();
    assertThat(fallbacks.get()).isEqualTo(before + 1);
  }

  @Test
  void keysCarryTheConfiguredPrefix() {
    RedisLink other = RedisLink.open(vertx, SharedSettings.redis(URI.create(redis.url())).withKeyPrefix("acme:"));
    try {
      RedisLimitStore prefixed = new RedisLimitStore(other, () -> {});
      await(prefixed.takeAll(List.of(new Take("t:a:rpm", 1, 5, 60_000)), -1));
      assertThat(redis.keys("*")).containsExactly("acme:rl:t:a:rpm");
    } finally {
      await(other.close());
    }
  }

  static List<Take> takes(Take... t) {
    return new ArrayList<>(List.of(t));
  }
}
