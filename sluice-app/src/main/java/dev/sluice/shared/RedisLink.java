package dev.sluice.shared;

import dev.sluice.config.SharedSettings;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClientOptions;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.net.ConnectException;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's connection to Redis and whether Redis is usable right now. Every call is bounded by
 * {@link SharedSettings#timeout()}; a call that fails for want of Redis (refused, closed, or
 * {@value #TIMEOUTS_TO_DOWN} calls in a row too slow) marks the link down, after which calls fail at once — callers fall back to local state without waiting — while a PING retries with
 * backoff ({@value #FIRST_RETRY_MILLIS} ms doubling to {@value #MAX_RETRY_MILLIS} ms) until Redis answers again. Each
 * transition is logged once: WARN when it goes, INFO when it returns. An error reply from Redis (a script error, a
 * key of the wrong type) fails only its own call.
 */
public final class RedisLink {
  private static final Logger log = LoggerFactory.getLogger(RedisLink.class);
  /** First PING after Redis went away: soon, since a restart or a failover takes about that long. */
  static final long FIRST_RETRY_MILLIS = 100;
  /** At most one PING every 5 s while Redis stays away: cheap, and recovery is noticed within 5 s. */
  static final long MAX_RETRY_MILLIS = 5_000;
  /**
   * Connections in the pool: each carries one call at a time and a call takes well under a millisecond on a LAN, so 8
   * carry tens of thousands of calls a second.
   */
  static final int POOL_SIZE = 8;
  /** Calls waiting for a pooled connection; past this Redis is too slow for the load and calls fall back. */
  static final int POOL_WAITING = 4_096;
  /**
   * Consecutive timed-out calls that mark the link down: one slow call (a GC pause, a busy CPU) only sends its own
   * request to local state; three in a row mean Redis is hanging, and waiting on every call would slow every request.
   */
  static final int TIMEOUTS_TO_DOWN = 3;
  /**
   * The first PING (and the connections it opens) may take this long: a cold JVM and a new connection's handshake are
   * slower than a call on a warm one, and a false "unreachable" at start-up would mislead.
   */
  static final long FIRST_PING_MILLIS = 2_000;

  private final Vertx vertx;
  private final SharedSettings settings;
  private final Redis client;
  private final String uses;
  private volatile boolean up = true;
  private final AtomicBoolean retrying = new AtomicBoolean();
  private final java.util.concurrent.atomic.AtomicInteger timeoutsInARow = new java.util.concurrent.atomic.AtomicInteger();
  private volatile boolean closed;

  private RedisLink(Vertx vertx, SharedSettings settings) {
    this.vertx = vertx;
    this.settings = settings;
    long timeout = settings.timeout().toMillis();
    RedisOptions options = new RedisOptions()
        .setConnectionString(settings.redis().toString())
        .setMaxPoolSize(POOL_SIZE)
        .setMaxPoolWaiting(POOL_WAITING)
        .setMaxWaitingHandlers(POOL_WAITING)
        .setNetClientOptions(new NetClientOptions().setTcpNoDelay(true).setTcpKeepAlive(true)
            .setConnectTimeout((int) Math.max(timeout, 1_000)));
    this.client = Redis.createClient(vertx, options);
    this.uses = settings.sharesLimits() && settings.sharesCache() ? "rate limits and cache"
        : settings.sharesLimits() ? "rate limits" : "the response cache";
  }

  /**
   * A link to the Redis of {@code settings}, checked at once with a PING (a Redis that is away is logged now, not at
   * the first request).
   */
  public static RedisLink open(Vertx vertx, SharedSettings settings) {
    Objects.requireNonNull(vertx, "vertx");
    Objects.requireNonNull(settings, "settings");
    if (settings.redis() == null) {
      throw new IllegalArgumentException("shared.redis: missing (expected redis://host:port)");
    }
    RedisLink link = new RedisLink(vertx, settings);
    // one PING per pooled connection, so the pool is open before the first request needs it
    List<Future<Response>> pings = new java.util.ArrayList<>();
    for (int i = 0; i < POOL_SIZE; i++) {
      pings.add(link.client.send(Request.cmd(Command.PING)).timeout(FIRST_PING_MILLIS, TimeUnit.MILLISECONDS));
    }
    Future.all(pings)
        .onSuccess(r -> log.info("redis at {}: {} shared across replicas (key prefix \"{}\")",
            settings.redisAddress(), link.uses, settings.keyPrefix()))
        .onFailure(e -> link.down(e));
    return link;
  }

  /** Whether Redis answered the last call (calls fail at once while it is false). */
  public boolean up() {
    return up && !closed;
  }

  public SharedSettings settings() {
    return settings;
  }

  /**
   * Sends {@code request}: fails at once while the link is down, and after {@link SharedSettings#timeout()} when
   * Redis does not answer.
   */
  public Future<Response> send(Request request) {
    if (!up()) {
      return Future.failedFuture(new RedisUnavailable(settings.redisAddress()));
    }
    return client.send(request).timeout(settings.timeout().toMillis(), TimeUnit.MILLISECONDS)
        .onSuccess(r -> timeoutsInARow.set(0)).onFailure(this::failed);
  }

  /** Runs {@code script} (EVALSHA, loading it with EVAL when Redis does not know it yet). */
  public Future<Response> eval(LuaScript script, List<String> keys, List<String> args) {
    Request sha = script.request(Command.EVALSHA, script.sha1(), keys, args);
    return send(sha).recover(e -> e instanceof Response error && error.toString().startsWith("NOSCRIPT")
        ? send(script.request(Command.EVAL, script.source(), keys, args))
        : Future.failedFuture(e));
  }

  /** A call failed: an error reply is the call's own problem; anything else means Redis is unusable for now. */
  private void failed(Throwable e) {
    if (e instanceof Response || e instanceof RedisUnavailable || closed) {
      return;
    }
    if (e instanceof TimeoutException && timeoutsInARow.incrementAndGet() < TIMEOUTS_TO_DOWN) {
      return;
    }
    down(e);
  }

  private void down(Throwable e) {
    if (closed) {
      return;
    }
    if (up) {
      up = false;
      log.warn("redis at {} unreachable ({}): {} are per replica until it returns", settings.redisAddress(),
          reason(e), uses);
    }
    if (retrying.compareAndSet(false, true)) {
      retry(FIRST_RETRY_MILLIS);
    }
  }

  private void retry(long delayMillis) {
    if (closed) {
      return;
    }
    vertx.setTimer(delayMillis, id -> {
      if (closed) {
        return;
      }
      client.send(Request.cmd(Command.PING)).timeout(settings.timeout().toMillis(), TimeUnit.MILLISECONDS)
          .onComplete(ar -> {
            if (ar.succeeded()) {
              retrying.set(false);
              timeoutsInARow.set(0);
              up = true;
              log.info("redis at {} answers again: {} are shared across replicas again", settings.redisAddress(),
                  uses);
            } else {
              retry(Math.min(MAX_RETRY_MILLIS, delayMillis * 2));
            }
          });
    });
  }

  /** A short reason for the log line: what failed, never a stack trace. */
  private String reason(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      if (t instanceof ConnectException) {
        break;
      }
      t = t.getCause();
    }
    if (e instanceof TimeoutException || t instanceof TimeoutException) {
      return "no answer within " + settings.timeout().toMillis() + " ms";
    }
    String message = t.getMessage();
    if (message == null || message.isBlank()) {
      return t.getClass().getSimpleName();
    }
    return message.length() > 120 ? message.substring(0, 120) + "…" : message;
  }

  /** Stops retrying and closes the connections. */
  public Future<Void> close() {
    closed = true;
    return client.close();
  }

  /** Failed at once because Redis is known to be unreachable (no call was made). */
  public static final class RedisUnavailable extends RuntimeException {
    private static final long serialVersionUID = 1L;

    RedisUnavailable(String address) {
      super("redis at " + address + " is unreachable; using local state", null, false, false);
    }
  }
}
