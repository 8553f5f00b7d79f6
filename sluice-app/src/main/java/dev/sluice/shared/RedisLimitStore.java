package dev.sluice.shared;

import dev.sluice.limit.LimitStore.BucketResult;
import dev.sluice.limit.LocalLimitStore;
import dev.sluice.limit.SharedLimitStore;
import dev.sluice.support.LogThrottle;
import io.vertx.core.Future;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rate-limit buckets in Redis: one Lua script ({@code buckets.lua}) does a whole admission — every bucket of the
 * tenant and the model, all or nothing — in one round trip, with {@link LocalLimitStore}'s exact token-millisecond
 * arithmetic and Redis's clock. Idle buckets expire ({@code PEXPIRE}); a full bucket is no key at all.
 *
 * <p>Keys: {@code <keyPrefix>rl:<bucket>}, e.g. {@code sluice:rl:t:team-a:rpm}.
 */
public final class RedisLimitStore implements SharedLimitStore {
  private static final Logger log = LoggerFactory.getLogger(RedisLimitStore.class);
  /** Same as the local store: one capacity of overdraft, idle buckets expire after two periods. */
  static final long MAX_OVERDRAFT_CAPACITIES = 1;
  static final long IDLE_PERIODS_BEFORE_EVICTION = MAX_OVERDRAFT_CAPACITIES + 1;
  /** Lua numbers are doubles: every integer the script handles must stay below 2^53 to be exact. */
  static final long MAX_EXACT = 1L << 53;
  /** Asks the script to read Redis's TIME. */
  private static final long REDIS_TIME = -1;

  private static final LuaScript BUCKETS = LuaScript.load("buckets.lua");

  private final RedisLink link;
  private final String prefix;
  private final Runnable onFallback;
  private final LogThrottle adjustLog = LogThrottle.perSecond();

  /**
   * @param link the connection
   * @param onFallback told each time a {@link #takeAll} fails, so the caller admits locally (a metric)
   */
  public RedisLimitStore(RedisLink link, Runnable onFallback) {
    this.link = Objects.requireNonNull(link, "link");
    this.prefix = link.settings().keyPrefix() + "rl:";
    this.onFallback = Objects.requireNonNull(onFallback, "onFallback");
  }

  @Override
  public CompletionStage<List<BucketResult>> takeAll(List<Take> takes) {
    return takeAll(takes, REDIS_TIME).toCompletionStage();
  }

  /** {@link #takeAll(List)} at a given time instead of Redis's (tests compare with the local store). */
  Future<List<BucketResult>> takeAll(List<Take> takes, long nowMillis) {
    Objects.requireNonNull(takes, "takes");
    if (takes.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    List<String> keys = new ArrayList<>(takes.size());
    List<String> args = new ArrayList<>(4 + 3 * takes.size());
    header(args, "take", nowMillis);
    for (Take t : takes) {
      if (!exact(t.capacity(), t.periodMillis()) || t.cost() < 0) {
        onFallback.run();
        return Future.failedFuture(new IllegalArgumentException("bucket " + t.key() + ": capacity " + t.capacity()
            + " per " + t.periodMillis() + " ms is beyond what the shared store computes exactly; counted locally"));
      }
      keys.add(prefix + t.key());
      args.add(Long.toString(Math.min(t.cost(), t.capacity() + 1))); // above the capacity = refused, whatever it is
      args.add(Long.toString(t.capacity()));
      args.add(Long.toString(t.periodMillis()));
    }
    return link.eval(BUCKETS, keys, args).map(RedisLimitStore::results).onFailure(e -> onFallback.run());
  }

  @Override
  public void adjust(String key, long delta, long capacity, long periodMillis) {
    adjust(key, delta, capacity, periodMillis, REDIS_TIME);
  }

  /** {@link #adjust(String, long, long, long)} at a given time; completes when Redis has applied it. */
  Future<Response> adjust(String key, long delta, long capacity, long periodMillis, long nowMillis) {
    Objects.requireNonNull(key, "key");
    if (!exact(capacity, periodMillis) || delta == 0) {
      return Future.succeededFuture();
    }
    long bound = (1 + MAX_OVERDRAFT_CAPACITIES) * capacity; // the script clamps to this anyway
    List<String> args = new ArrayList<>(7);
    header(args, "adjust", nowMillis);
    args.add(Long.toString(Math.max(-bound, Math.min(bound, delta))));
    args.add(Long.toString(capacity));
    args.add(Long.toString(periodMillis));
    return link.eval(BUCKETS, List.of(prefix + key), args).onFailure(e -> {
      long quiet = adjustLog.tryLog();
      if (quiet >= 0 && !(e instanceof RedisLink.RedisUnavailable)) {
        log.warn("redis: bucket {} not corrected by {} tokens ({}){}", key, delta, e.getMessage(),
            LogThrottle.leftOut(quiet));
      }
    });
  }

  private static void header(List<String> args, String op, long nowMillis) {
    args.add(op);
    args.add(Long.toString(nowMillis));
    args.add(Long.toString(MAX_OVERDRAFT_CAPACITIES));
    args.add(Long.toString(IDLE_PERIODS_BEFORE_EVICTION));
  }

  /** Whether the deepest overdraft of this bucket, in token-milliseconds, is an exact Lua number. */
  static boolean exact(long capacity, long periodMillis) {
    return capacity >= 1 && periodMillis >= 1
        && capacity <= MAX_EXACT / periodMillis / (2 * (1 + MAX_OVERDRAFT_CAPACITIES));
  }

  private static List<BucketResult> results(Response r) {
    List<BucketResult> out = new ArrayList<>(r.size() / 4);
    for (int i = 0; i + 3 < r.size(); i += 4) {
      out.add(new BucketResult(r.get(i).toLong() == 1, r.get(i + 1).toLong(), r.get(i + 2).toLong(),
          r.get(i + 3).toLong()));
    }
    return out;
  }
}
