package dev.sluice.server;

import dev.sluice.api.Endpoint;
import dev.sluice.api.ErrorKind;
import dev.sluice.config.ServerSettings;
import dev.sluice.http.Responses;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.support.Clock;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.impl.ConnectionBase;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Closes connections that hold the gateway without using it, on every listener it {@link #serve serves}:
 *
 * <ul>
 *   <li>no complete request head within {@code server.requestHeadTimeout} of its first byte (slowloris; over HTTPS, of
 *       the end of the TLS handshake, which has that limit too);
 *   <li>no byte at all within {@code server.keepAliveTimeout} of opening, or no new request within it of the last
 *       response's end (idle: a client's pool may open a connection before it needs it, as it keeps one after);
 *   <li>a request body not complete within {@code server.bodyReadTimeout} of its head: 408 in the API's format, then
 *       closed (the {@link BodyReader} answers for the bodies it reads, so the request is counted like any other);
 *   <li>more than {@code server.maxConnectionsPerClient} open connections from one peer address on one listener: the
 *       new one is closed at once.
 * </ul>
 *
 * <p>A request in progress is never idle, however long its answer takes to start or to stream: between the end of
 * its body and the end of its response no deadline runs. (Vert.x's own idle timeout counts the connection's reads and
 * writes, so it would cut a non-streaming request waiting a minute for its first token.)
 *
 * <p>Cost per request: a map lookup and two callbacks; the connection's one timer is left pending and moved lazily
 * (when it fires early it re-arms for the current deadline), so a busy keep-alive connection sets about one timer per
 * keep-alive period, not one per request. Each connection's state is guarded by its own lock: responses may end on
 * another thread than the connection's event loop. The guard takes each response's end handler (Vert.x has one slot
 * for it): nothing else in the gateway may set it.
 */
final class ConnectionGuard {
  private static final long NANOS_PER_MILLI = 1_000_000;

  /** Why a connection was closed; the label is the metric's {@code reason}. */
  enum Reason {
    HEAD_TIMEOUT("head_timeout"),
    KEEP_ALIVE_TIMEOUT("keep_alive_timeout"),
    BODY_TIMEOUT("body_timeout"),
    PER_CLIENT_CAP("per_client_cap");

    final String label;

    Reason(String label) {
      this.label = label;
    }
  }

  private final Vertx vertx;
  private final Supplier<ServerSettings> settings;
  private final SluiceMetrics metrics;
  private final Clock clock;
  private final Map<HttpConnection, Watch> watches = new ConcurrentHashMap<>();

  ConnectionGuard(Vertx vertx, Supplier<ServerSettings> settings, SluiceMetrics metrics, Clock clock) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** Open connections per peer address of one listener (its event loops share one). */
  static final class Clients {
    private final ConcurrentHashMap<String, Integer> open = new ConcurrentHashMap<>();

    /** Counts one more connection from {@code address} unless {@code cap} are open already. */
    boolean tryOpen(String address, int cap) {
      boolean[] admitted = {false};
      open.compute(address, (a, n) -> {
        int now = n == null ? 0 : n;
        if (now >= cap) return n;
        admitted[0] = true;
        return now + 1;
      });
      return admitted[0];
    }

    void closed(String address) {
      open.computeIfPresent(address, (a, n) -> n <= 1 ? null : n - 1);
    }

    /** Open connections counted for {@code address}. */
    int open(String address) {
      return open.getOrDefault(address, 0);
    }
  }

  /** {@code server} with its connections watched and its requests passed to {@code requests}. */
  HttpServer serve(HttpServer server, Clients clients, Handler<HttpServerRequest> requests) {
    Objects.requireNonNull(clients, "clients");
    Objects.requireNonNull(requests, "requests");
    return server.connectionHandler(conn -> opened(conn, clients)).requestHandler(req -> {
      Watch w = watches.get(req.connection());
      if (w != null) w.requestStarted(req);
      requests.handle(req);
    });
  }

  /**
   * Hands the body deadline of {@code req} to {@code onTimeout}, which answers it (408) before the guard closes the
   * connection; without it the guard answers itself.
   */
  void onBodyTimeout(HttpServerRequest req, Runnable onTimeout) {
    Watch w = watches.get(req.connection());
    if (w != null) w.bodyTimeoutHandler(req, onTimeout);
  }

  /** The 408 message: the deadline, the key and what to do. */
  static String bodyTimeoutMessage(Duration deadline) {
    return "request body not received within " + show(deadline) + " of the request head (server.bodyReadTimeout): "
        + "send the whole body at once; the connection is closed";
  }

  /** "500ms", "10s", "2m": how the config spells durations. */
  static String show(Duration d) {
    long ms = d.toMillis();
    if (ms % 60_000 == 0) return ms / 60_000 + "m";
    if (ms % 1_000 == 0) return ms / 1_000 + "s";
    return ms + "ms";
  }

  private void opened(HttpConnection conn, Clients clients) {
    ServerSettings s = settings.get();
    String counted = null;
    if (s.maxConnectionsPerClient() > 0 && conn.remoteAddress() != null) {
      String address = conn.remoteAddress().hostAddress();
      if (address == null) address = conn.remoteAddress().host();
      if (!clients.tryOpen(address, s.maxConnectionsPerClient())) {
        metrics.connectionClosed(Reason.PER_CLIENT_CAP.label);
        conn.close();
        return;
      }
      counted = address;
    }
    Watch w = new Watch(conn, clients, counted);
    watches.put(conn, w);
    closeFuture(conn).onComplete(v -> w.closed());
    if (!conn.isSsl() && watchFirstByte(conn, w)) {
      w.arm(Reason.KEEP_ALIVE_TIMEOUT, s.keepAliveTimeout()); // silent so far: idle, until its first byte
    } else {
      w.arm(Reason.HEAD_TIMEOUT, s.requestHeadTimeout()); // the TLS handshake was its first bytes
    }
  }

  /**
   * Tells {@code w} when the first byte arrives on {@code conn} (a handler at the head of its Netty pipeline that
   * removes itself after one read: a cost per connection, not per request); false when the connection is not one of
   * Vert.x's own (then the head deadline runs from opening).
   */
  private static boolean watchFirstByte(HttpConnection conn, Watch w) {
    if (!(conn instanceof ConnectionBase base)) return false;
    base.channel().pipeline().addFirst(new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ctx.pipeline().remove(this);
        w.firstByte();
        ctx.fireChannelRead(msg);
      }
    });
    return true;
  }

  /**
   * Completes when {@code conn} has closed. The connection's own close handler has one slot, which request handling
   * may take (a refused framing does), so the guard listens on the close future of Vert.x's connection instead.
   */
  private static Future<Void> closeFuture(HttpConnection conn) {
    if (conn instanceof ConnectionBase base) return base.closeFuture();
    Promise<Void> closed = Promise.promise();
    conn.closeHandler(v -> closed.tryComplete());
    return closed.future();
  }

  /** A request head that announces a body: a length above 0, or any transfer coding. */
  private static boolean announcesBody(HttpServerRequest req) {
    String length = req.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (length != null) return !length.trim().equals("0");
    return req.headers().contains(HttpHeaders.TRANSFER_ENCODING);
  }

  /** One connection's deadline and its pending timer. */
  private final class Watch {
    private final HttpConnection conn;
    private final Clients clients;
    private final String countedAddress;
    private final Context context = vertx.getOrCreateContext();
    private final Thread loop = Thread.currentThread();
    /** Requests whose response has not ended. */
    private int inProgress;
    /** The request whose body is still arriving, and who answers when its deadline passes. */
    private HttpServerRequest receiving;
    private Runnable onBodyTimeout;
    /** The deadline in force ({@link Clock#nanos}) and why; no deadline while {@code reason} is null. */
    private long deadline;
    private Reason reason;
    private long timerId = -1;
    private long timerDue;
    private boolean closed;
    /** Whether a request head has arrived on this connection. */
    private boolean started;

    Watch(HttpConnection conn, Clients clients, String countedAddress) {
      this.conn = conn;
      this.clients = clients;
      this.countedAddress = countedAddress;
    }

    /** The connection's first byte arrived: from now on its head must be complete within the head deadline. */
    synchronized void firstByte() {
      if (!started) arm(Reason.HEAD_TIMEOUT, settings.get().requestHeadTimeout());
    }

    void requestStarted(HttpServerRequest req) {
      boolean body = announcesBody(req);
      synchronized (this) {
        started = true;
        inProgress++;
        if (body) {
          receiving = req;
          onBodyTimeout = null;
          arm(Reason.BODY_TIMEOUT, settings.get().bodyReadTimeout());
        } else {
          reason = null;
        }
      }
      req.response().endHandler(v -> responseEnded());
      if (!body) return;
      try {
        req.end().onComplete(ar -> bodyEnded(req));
      } catch (IllegalStateException alreadyEnded) {
        bodyEnded(req);
      }
    }

    synchronized void bodyTimeoutHandler(HttpServerRequest req, Runnable handler) {
      if (receiving == req) onBodyTimeout = handler;
    }

    private synchronized void bodyEnded(HttpServerRequest req) {
      if (receiving != req) return;
      receiving = null;
      onBodyTimeout = null;
      if (inProgress == 0) arm(Reason.KEEP_ALIVE_TIMEOUT, settings.get().keepAliveTimeout());
      else reason = null;
    }

    private synchronized void responseEnded() {
      if (inProgress > 0) inProgress--;
      // a body still arriving after its answer keeps its own deadline
      if (inProgress == 0 && receiving == null) arm(Reason.KEEP_ALIVE_TIMEOUT, settings.get().keepAliveTimeout());
    }

    /** Sets the deadline; a new timer only when none is pending or the pending one would fire too late. */
    synchronized void arm(Reason why, Duration timeout) {
      if (closed) return;
      long now = clock.nanos();
      reason = why;
      deadline = now + timeout.toNanos();
      if (timerId >= 0 && timerDue - deadline <= 0) return;
      if (timerId >= 0) vertx.cancelTimer(timerId);
      schedule(now);
    }

    private void schedule(long now) {
      timerDue = deadline;
      long delayMillis = Math.max(1, (deadline - now + NANOS_PER_MILLI - 1) / NANOS_PER_MILLI);
      timerId = vertx.setTimer(delayMillis, this::fired);
    }

    private void fired(long id) {
      if (Thread.currentThread() != loop) { // armed from another thread: act on the connection's own event loop
        context.runOnContext(v -> fired(id));
        return;
      }
      Reason why;
      HttpServerRequest req;
      Runnable answer;
      synchronized (this) {
        if (id != timerId) return;
        timerId = -1;
        if (closed || reason == null) return;
        long now = clock.nanos();
        if (now - deadline < 0) {
          schedule(now);
          return;
        }
        why = reason;
        req = receiving;
        answer = onBodyTimeout;
        closed = true;
      }
      expire(why, req, answer);
    }

    /** Answers a body timeout with 408 unless the answer has begun already, then closes the connection. */
    private void expire(Reason why, HttpServerRequest req, Runnable answer) {
      metrics.connectionClosed(why.label);
      try {
        if (why != Reason.BODY_TIMEOUT || req == null) return;
        if (answer != null) {
          answer.run();
        } else if (!req.response().headWritten() && !req.response().ended()) {
          req.response().putHeader(HttpHeaders.CONNECTION, "close");
          Responses.error(req.response(), Endpoint.flavorOf(req.path()), ErrorKind.BODY_TIMEOUT,
              bodyTimeoutMessage(settings.get().bodyReadTimeout()), null);
        }
      } finally {
        conn.close();
      }
    }

    void closed() {
      synchronized (this) {
        closed = true;
        reason = null;
        receiving = null;
        onBodyTimeout = null;
        if (timerId >= 0) vertx.cancelTimer(timerId);
        timerId = -1;
      }
      watches.remove(conn);
      if (countedAddress != null) clients.closed(countedAddress);
    }
  }
}
