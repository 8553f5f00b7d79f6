package dev.sluice.config.etcd;

import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.parsetools.RecordParser;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The gateway's non-blocking client of etcd's v3 JSON gateway: unary calls that fail over to the next endpoint when one
 * refuses, times out or answers an error (no quorum), and a streamed watch. Endpoints are tried starting with the one
 * that answered last ({@link #current()}); the watch uses that one.
 */
final class EtcdClient {
  /** A member on loopback or a LAN connects in milliseconds; past 1 s it is down or cut off. */
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(1);
  /**
   * A linearizable read answers in milliseconds with a quorum; a member without one stalls. 2 s keeps a full cycle
   * over three members well inside the 10 s recovery objective.
   */
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(2);

  private final EtcdUrl url;
  private final HttpClientAgent http;
  private volatile int current;

  EtcdClient(Vertx vertx, EtcdUrl url) {
    this.url = url;
    this.http = vertx.createHttpClient(
        new HttpClientOptions().setConnectTimeout((int) CONNECT_TIMEOUT.toMillis()).setKeepAlive(true),
        new PoolOptions().setHttp1MaxSize(4));
  }

  /** The endpoint that answered last (the first one at start). */
  URI current() {
    return url.endpoints().get(current);
  }

  /** POSTs {@code body} to {@code path}, failing over across every endpoint; fails with all their reasons. */
  Future<JsonNode> post(String path, String body) {
    return attempt(path, body, 0, current, new ArrayList<>());
  }

  /** POSTs to the current endpoint only (the heartbeat: is the member we watch still part of a quorum?). */
  Future<JsonNode> postCurrent(String path, String body) {
    return once(current(), path, body);
  }

  private Future<JsonNode> attempt(String path, String body, int tried, int idx, List<String> failures) {
    int n = url.endpoints().size();
    if (tried == n) {
      return Future.failedFuture(new EtcdUnavailableException(String.join(", ", failures)));
    }
    URI endpoint = url.endpoints().get(idx);
    return once(endpoint, path, body)
        .map(json -> {
          current = idx;
          return json;
        })
        .recover(e -> {
          failures.add(EtcdConfigStore.hostPort(endpoint) + " " + reason(e));
          return attempt(path, body, tried + 1, (idx + 1) % n, failures);
        });
  }

  private Future<JsonNode> once(URI endpoint, String path, String body) {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost(endpoint.getHost())
        .setPort(endpoint.getPort()).setURI(path).setConnectTimeout(CONNECT_TIMEOUT.toMillis())
        .setIdleTimeout(REQUEST_TIMEOUT.toMillis()).putHeader("Content-Type", "application/json");
    return http.request(options)
        .compose(req -> req.send(body))
        .compose(resp -> resp.body().compose(b -> {
          if (resp.statusCode() != 200) {
            return Future.failedFuture(
                new IOException("HTTP " + resp.statusCode() + ": " + EtcdJson.cut(b.toString())));
          }
          try {
            return Future.succeededFuture(EtcdJson.parse(b.toString(), path));
          } catch (IOException e) {
            return Future.failedFuture(e);
          }
        }));
  }

  /** A short reason for a failed call: "(connection refused)", "(timed out)", "(HTTP 503: …)". */
  static String reason(Throwable e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    if (e instanceof ConnectException || m.contains("Connection refused")) return "(connection refused)";
    if (m.contains("timeout") || m.contains("timed out") || e instanceof TimeoutException) {
      return "(timed out)";
    }
    return "(" + m + ")";
  }

  /** A running watch; {@link #cancel} ends it without calling its end handler. */
  static final class Watch {
    private final AtomicBoolean ended = new AtomicBoolean();
    private volatile HttpClientRequest request;

    void cancel() {
      ended.set(true);
      HttpClientRequest r = request;
      if (r != null) r.reset();
    }
  }

  /**
   * Watches every key under {@code prefix} from {@code startRevision} on the current endpoint. {@code onMessage} gets
   * each message of the stream in order; {@code onEnd} is called once when the stream ends or fails (not after
   * {@link Watch#cancel}).
   */
  Watch watch(String prefix, long startRevision, Handler<EtcdJson.WatchMessage> onMessage, Handler<Throwable> onEnd) {
    Watch watch = new Watch();
    URI endpoint = current();
    Handler<Throwable> end = e -> {
      if (watch.ended.compareAndSet(false, true)) onEnd.handle(e);
    };
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost(endpoint.getHost())
        .setPort(endpoint.getPort()).setURI(EtcdJson.WATCH).setConnectTimeout(CONNECT_TIMEOUT.toMillis())
        .putHeader("Content-Type", "application/json");
    http.request(options).onFailure(end).onSuccess(req -> {
      watch.request = req;
      if (watch.ended.get()) {
        req.reset();
        return;
      }
      req.exceptionHandler(end);
      req.send(EtcdJson.watchPrefix(prefix, startRevision)).onFailure(end).onSuccess(resp -> {
        if (resp.statusCode() != 200) {
          resp.body().onComplete(b -> end.handle(new IOException("watch answered HTTP " + resp.statusCode())));
          return;
        }
        RecordParser lines = RecordParser.newDelimited("\n", line -> {
          if (watch.ended.get() || line.length() == 0) return;
          EtcdJson.WatchMessage m;
          try {
            m = EtcdJson.watchMessage(line.toString());
          } catch (IOException e) {
            end.handle(e);
            return;
          }
          onMessage.handle(m);
        });
        resp.handler(lines);
        resp.exceptionHandler(end);
        resp.endHandler(v -> end.handle(
            new IOException("watch stream closed by " + EtcdConfigStore.hostPort(endpoint))));
      });
    });
    return watch;
  }

  Future<Void> close() {
    Promise<Void> p = Promise.promise();
    http.close().onComplete(ar -> p.complete());
    return p.future();
  }
}
