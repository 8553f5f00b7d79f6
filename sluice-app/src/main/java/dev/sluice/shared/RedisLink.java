package dev.sluice.shared;

import dev.sluice.config.SharedSettings;
import dev.sluice.support.Clock;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClientOptions;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.redis.client.ResponseType;
import java.net.ConnectException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's connection to Redis and whether Redis is usable right now. Every call is bounded by
 * {@link SharedSettings#timeout()}; a call that fails for want of Redis (refused, closed, or
 * {@value #TIMEOUTS_TO_DOWN} calls in a row too slow) marks the link down, after which calls fail at once — callers fall back to local state without waiting — while a PING retries with
 * backoff ({@value #FIRST_RETRY_MILLIS} ms doubling to {@value #MAX_RETRY_MILLIS} ms) until Redis answers again. Each
 * transition is logged once: WARN when it goes, INFO when it returns. An error reply from Redis (a script error, a
 * key of the wrong type) fails only its own call.
 *
 * <p>A call made on an event loop goes out on that event loop's own connection (see {@link Lanes}), other calls and
 * the PING of a retry on a pooled one.
 *
 * <p>A link opened with listeners also holds one subscriber connection (pub/sub), outside the pool: it is opened with
 * the link, its loss marks the link down like any other connection's, and the retry that finds Redis back subscribes
 * again before the link counts as up. Messages published while it was away are not delivered.
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
  /**
   * Opening the subscriber connection and subscribing may take this long: it is on no request's path, and a new
   * connection's handshake is slower than a call on a warm one (as for {@link #FIRST_PING_MILLIS}).
   */
  static final long SUBSCRIBE_MILLIS = FIRST_PING_MILLIS;
  /**
   * Dedicated connections at most, one per event loop that calls (Vert.x runs two event loops per CPU by default);
   * an event loop past them calls through the pool.
   */
  static final int MAX_LANES = 64;
  /**
   * An event loop whose dedicated connection could not be opened calls through the pool, and tries again after this
   * long: often enough to get the cheaper path back soon, rarely enough not to knock at a Redis refusing connections.
   */
  static final long LANE_RETRY_MILLIS = MAX_RETRY_MILLIS;

  private final Vertx vertx;
  private final Clock clock;
  private final SharedSettings settings;
  private final Redis client;
  private final String uses;
  private volatile boolean up = true;
  private final AtomicBoolean retrying = new AtomicBoolean();
  private final AtomicInteger timeoutsInARow = new AtomicInteger();
  private volatile boolean closed;
  /** Channel → what to do with a message published on it; empty = no subscriber connection. */
  private final Map<String, Consumer<String>> listeners;
  /** The subscriber connection's own client (a pool of one, named {@code pubsub-…}); null without listeners. */
  private final Redis subscriberClient;
  /** The subscribed connection; null while there is none (guarded by this). */
  private RedisConnection subscriber;
  private volatile boolean subscribeRefused;
  /** The event loops' dedicated connections; null while Redis is away (replaced whole when it returns). */
  private volatile Lanes lanes;

  private RedisLink(Vertx vertx, SharedSettings settings, Map<String, Consumer<String>> listeners, Clock clock) {
    this.vertx = vertx;
    this.clock = clock;
    this.settings = settings;
    this.listeners = Map.copyOf(listeners);
    this.client = Redis.createClient(vertx, options(settings).setMaxPoolSize(POOL_SIZE)
        .setMaxPoolWaiting(POOL_WAITING).setMaxWaitingHandlers(POOL_WAITING));
    // a pool of its own, so the subscribed connection never takes a slot from calls (nor shows as a call in progress)
    this.subscriberClient = this.listeners.isEmpty() ? null : Redis.createClient(vertx, options(settings)
        .setMaxPoolSize(1).setMaxPoolWaiting(1).setPoolName("pubsub-" + UUID.randomUUID()));
    this.uses = settings.sharesLimits() && settings.sharesCache() ? "rate limits and cache"
        : settings.sharesLimits() ? "rate limits" : "the response cache";
    this.lanes = new Lanes();
  }

  private static RedisOptions options(SharedSettings settings) {
    long timeout = settings.timeout().toMillis();
    return new RedisOptions()
        .setConnectionString(settings.redis().toString())
        .setNetClientOptions(new NetClientOptions().setTcpNoDelay(true).setTcpKeepAlive(true)
            .setConnectTimeout((int) Math.max(timeout, 1_000)));
  }

  /**
   * A link to the Redis of {@code settings}, checked at once with a PING (a Redis that is away is logged now, not at
   * the first request).
   */
  public static RedisLink open(Vertx vertx, SharedSettings settings) {
    return open(vertx, settings, Map.of());
  }

  /**
   * A link to the Redis of {@code settings} that also listens: each message published on a channel of
   * {@code listeners} is given to that channel's consumer, on an event loop (it must not block). The subscriber
   * connection is opened now, with the PING.
   */
  public static RedisLink open(Vertx vertx, SharedSettings settings, Map<String, Consumer<String>> listeners) {
    return open(vertx, settings, listeners, Clock.SYSTEM);
  }

  /** {@link #open(Vertx, SharedSettings, Map)} with the clock that times its reconnection attempts. */
  public static RedisLink open(Vertx vertx, SharedSettings settings, Map<String, Consumer<String>> listeners,
      Clock clock) {
    Objects.requireNonNull(vertx, "vertx");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(settings, "settings");
    Objects.requireNonNull(listeners, "listeners");
    if (settings.redis() == null) {
      throw new IllegalArgumentException("shared.redis: missing (expected redis://host:port)");
    }
    RedisLink link = new RedisLink(vertx, settings, listeners, clock);
    // one PING per pooled connection, so the pool is open before the first request needs it
    List<Future<?>> pings = new ArrayList<>();
    for (int i = 0; i < POOL_SIZE; i++) {
      pings.add(link.client.send(Request.cmd(Command.PING)).timeout(FIRST_PING_MILLIS, TimeUnit.MILLISECONDS));
    }
    pings.add(link.listen());
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
    RedisConnection lane = lane();
    return (lane != null ? lane.send(request) : client.send(request))
        .timeout(settings.timeout().toMillis(), TimeUnit.MILLISECONDS)
        .onSuccess(r -> timeoutsInARow.set(0)).onFailure(this::failed);
  }

  /** The calling event loop's dedicated connection; null off an event loop or while it has none (yet). */
  private RedisConnection lane() {
    Lanes l = lanes;
    Context context = Vertx.currentContext();
    if (l == null || context == null || !context.isEventLoopContext() || context.owner() != vertx) {
      return null;
    }
    return l.connection();
  }

  /** How many event loops have a dedicated connection open (tests). */
  int lanesOpen() {
    Lanes l = lanes;
    return l == null ? 0 : (int) l.byThread.values().stream().filter(lane -> lane.connection != null).count();
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
      dropLanes();
      log.warn("redis at {} unreachable ({}): {} are per replica until it returns", settings.redisAddress(),
          reason(e), uses);
    }
    // a subscriber that outlived the outage may sit on a dead path (a hung Redis): subscribe afresh when it returns
    dropSubscriber();
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
          .compose(r -> listen())
          .onComplete(ar -> {
            if (ar.succeeded()) {
              retrying.set(false);
              timeoutsInARow.set(0);
              if (!closed && lanes == null) {
                lanes = new Lanes();
                if (closed) dropLanes(); // closed meanwhile: its close may have missed these
              }
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

  /**
   * Opens the subscriber connection and subscribes to every listened channel; succeeds at once without listeners or
   * when it is open already. Redis refusing SUBSCRIBE (an ACL) is logged once and not retried: the link stays usable.
   */
  private Future<Void> listen() {
    synchronized (this) {
      if (subscriberClient == null || subscriber != null || subscribeRefused || closed) {
        return Future.succeededFuture();
      }
    }
    Promise<Void> subscribed = Promise.promise();
    long timer = vertx.setTimer(SUBSCRIBE_MILLIS, id -> subscribed.tryFail(new TimeoutException()));
    subscriberClient.connect().onComplete(ar -> {
      if (ar.failed()) {
        subscribed.tryFail(ar.cause());
        return;
      }
      RedisConnection connection = ar.result();
      subscribed.future().onFailure(e -> connection.close()); // also when it connected after the timeout
      connection.handler(r -> pushed(connection, r, subscribed));
      connection.exceptionHandler(e -> lost(connection, e, subscribed));
      connection.endHandler(v -> lost(connection, new ConnectException("subscriber connection closed"), subscribed));
      Request subscribe = Request.cmd(Command.SUBSCRIBE);
      listeners.keySet().forEach(subscribe::arg);
      connection.send(subscribe).onFailure(subscribed::tryFail);
    });
    return subscribed.future().onComplete(ar -> vertx.cancelTimer(timer)).recover(e -> {
      if (!(e instanceof Response refused)) {
        return Future.failedFuture(e);
      }
      subscribeRefused = true;
      log.warn("redis at {} refused SUBSCRIBE {} ({}): this replica hears nothing published there until the user of "
          + "shared.redis may subscribe to it (ACL &{})", settings.redisAddress(), String.join(" ", listeners.keySet()),
          refused, String.join(" &", listeners.keySet()));
      return Future.succeededFuture();
    });
  }

  /** A reply or message on the subscriber connection: the confirmation of SUBSCRIBE, or a published message. */
  private void pushed(RedisConnection connection, Response r, Promise<Void> subscribed) {
    if (r.type() == ResponseType.ERROR) {
      subscribed.tryFail((Throwable) r);
      return;
    }
    if ((r.type() != ResponseType.PUSH && r.type() != ResponseType.MULTI) || r.size() < 3) {
      return;
    }
    String kind = r.get(0).toString();
    if (kind.equals("subscribe") && r.get(2).toInteger() == listeners.size() && subscribed.tryComplete()) {
      adopt(connection);
    } else if (kind.equals("message")) {
      Consumer<String> listener = listeners.get(r.get(1).toString());
      if (listener != null) listener.accept(r.get(2).toString());
    }
  }

  private void adopt(RedisConnection connection) {
    synchronized (this) {
      if (!closed) {
        subscriber = connection;
        return;
      }
    }
    connection.close();
  }

  /** The subscriber connection failed or closed: Redis is probably gone, and the retry subscribes again. */
  private void lost(RedisConnection connection, Throwable e, Promise<Void> subscribed) {
    subscribed.tryFail(e);
    synchronized (this) {
      if (subscriber != connection) {
        return; // dropped on purpose, or never adopted
      }
      subscriber = null;
    }
    down(e);
  }

  private void dropSubscriber() {
    RedisConnection s;
    synchronized (this) {
      s = subscriber;
      subscriber = null;
    }
    if (s != null) s.close();
  }

  /** Closes the dedicated connections: Redis went away, or the link closes; they reopen when it answers again. */
  private Future<Void> dropLanes() {
    Lanes l = lanes;
    lanes = null;
    return l == null ? Future.succeededFuture() : l.close();
  }

  /** Stops retrying and closes the connections, the subscriber's too. */
  public Future<Void> close() {
    closed = true;
    dropSubscriber();
    Future<Void> lanesClosed = dropLanes();
    return subscriberClient == null ? Future.all(client.close(), lanesClosed).mapEmpty()
        : Future.all(client.close(), subscriberClient.close(), lanesClosed).mapEmpty();
  }

  /**
   * One connection per event loop, opened on that event loop by its first call and held: a call made there is
   * written, answered and completed on that thread, pipelined behind the event loop's other calls. Through the pool a
   * call also leases and returns a connection, and that connection usually lives on another event loop, so the call
   * wakes that thread and the answer wakes this one again — which cost the gateway more CPU than the call itself.
   *
   * <p>A lane is read and written on its own event loop only. Until its connection is open (or after it was lost) the
   * event loop calls through the pool; a connection that cannot be opened is tried again after
   * {@value #LANE_RETRY_MILLIS} ms. The whole set is closed when Redis goes away (a connection may sit on a dead path)
   * and a new one starts when it answers again.
   */
  private final class Lanes {
    /** A pool of its own, so dedicated connections never take a slot from pooled calls, and closing it closes them. */
    private final Redis lanesClient = Redis.createClient(vertx, options(settings).setMaxPoolSize(MAX_LANES)
        .setMaxPoolWaiting(MAX_LANES).setMaxWaitingHandlers(POOL_WAITING).setPoolName("lanes-" + UUID.randomUUID()));
    private final Map<Thread, Lane> byThread = new ConcurrentHashMap<>();
    private volatile boolean lanesClosed;

    /** The calling event loop's connection, opening it on first use; null while there is none (call the pool). */
    RedisConnection connection() {
      Thread thread = Thread.currentThread();
      Lane lane = byThread.get(thread);
      if (lane == null) {
        lane = new Lane();
        byThread.put(thread, lane);
      }
      RedisConnection connection = lane.connection;
      if (connection != null) {
        return connection.pendingQueueFull() ? null : connection;
      }
      if (!lane.opening && clock.millis() >= lane.retryAtMillis) {
        open(lane);
      }
      return null;
    }

    private void open(Lane lane) {
      lane.opening = true;
      lanesClient.connect().onComplete(ar -> {
        lane.opening = false;
        if (ar.failed()) {
          lane.retryAtMillis = clock.millis() + LANE_RETRY_MILLIS;
          return;
        }
        RedisConnection connection = ar.result();
        if (lanesClosed) {
          connection.close();
          return;
        }
        // lost (Redis closed it, or it broke): the next call on this event loop opens another
        connection.exceptionHandler(e -> lost(lane, connection));
        connection.endHandler(v -> lost(lane, connection));
        lane.connection = connection;
      });
    }

    private void lost(Lane lane, RedisConnection connection) {
      if (lane.connection == connection) {
        lane.connection = null;
      }
    }

    Future<Void> close() {
      lanesClosed = true;
      return lanesClient.close();
    }
  }

  /** One event loop's dedicated connection (fields used on that event loop only). */
  private static final class Lane {
    /** Volatile only so that {@link #lanesOpen} sees it from another thread. */
    volatile RedisConnection connection;
    boolean opening;
    long retryAtMillis;
  }

  /** Failed at once because Redis is known to be unreachable (no call was made). */
  public static final class RedisUnavailable extends RuntimeException {
    private static final long serialVersionUID = 1L;

    RedisUnavailable(String address) {
      super("redis at " + address + " is unreachable; using local state", null, false, false);
    }
  }
}
