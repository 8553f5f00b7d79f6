package dev.sluice.probe;

import dev.sluice.config.NodeSpec;
import dev.sluice.upstream.FailureClassifier;
import dev.sluice.upstream.NodeClient;
import io.netty.channel.ConnectTimeoutException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLException;

/**
 * One bounded HTTP exchange for probes, warm-ups, webhooks and scrapes: a hard deadline over the whole exchange
 * (connect, headers and body; the request is reset when it passes), a cap on the body, and a short cause for the
 * reason text of a failure.
 */
final class ProbeHttp {
  /** Longest body read from a node (metrics pages with histograms are the largest; a few hundred KiB). */
  static final int MAX_BODY_BYTES = 8 * 1024 * 1024;
  /** Longest failure cause put into a reason text. */
  private static final int MAX_WHY_CHARS = 120;

  private ProbeHttp() {}

  /** A complete answer. */
  record Reply(int status, Buffer body) {
    boolean ok() {
      return status >= 200 && status < 300;
    }
  }

  /** The deadline passed; {@link #received} holds the body bytes that had arrived (empty before any). */
  static final class DeadlineException extends TimeoutException {
    final long timeoutMs;
    final transient Buffer received;

    DeadlineException(long timeoutMs, Buffer received) {
      super("timeout after " + timeoutMs + " ms");
      this.timeoutMs = timeoutMs;
      this.received = received;
    }
  }

  /**
   * Sends one request and reads the whole answer, or fails within {@code timeoutMs}. Call on a Vert.x context: the
   * deadline timer and the callbacks run there.
   */
  static Future<Reply> call(Vertx vertx, HttpClient client, HttpMethod method, URI uri, String apiKey, String json,
      long timeoutMs) {
    return call(vertx, client, null, method, uri, apiKey, json, timeoutMs);
  }

  /**
   * As above for a URL of {@code node} (its root, OpenAI base or metricsUrl): the connection goes where the node may
   * be reached ({@link dev.sluice.upstream.NodeClient#target(NodeSpec, RequestOptions)}).
   */
  static Future<Reply> call(Vertx vertx, HttpClient client, NodeSpec node, HttpMethod method, URI uri, String apiKey,
      String json, long timeoutMs) {
    return call(vertx, client, node, method, uri, apiKey, json, timeoutMs, MAX_BODY_BYTES);
  }

  /** As above, failing once the body passes {@code maxBodyBytes}. */
  static Future<Reply> call(Vertx vertx, HttpClient client, NodeSpec node, HttpMethod method, URI uri, String apiKey,
      String json, long timeoutMs, int maxBodyBytes) {
    Promise<Reply> promise = Promise.promise();
    AtomicReference<HttpClientRequest> sent = new AtomicReference<>();
    Buffer body = Buffer.buffer();
    long timer = vertx.setTimer(timeoutMs, t -> {
      if (promise.tryFail(new DeadlineException(timeoutMs, body.copy()))) {
        HttpClientRequest r = sent.get();
        if (r != null) r.reset();
      }
    });
    RequestOptions options = new RequestOptions()
        .setMethod(method)
        .setAbsoluteURI(uri.toString())
        .setConnectTimeout(timeoutMs)
        .setIdleTimeout(timeoutMs);
    client.request(NodeClient.target(node, options)).compose(req -> {
      sent.set(req);
      if (promise.future().isComplete()) {
        req.reset();
        return Future.failedFuture(new DeadlineException(timeoutMs, Buffer.buffer()));
      }
      if (apiKey != null && !apiKey.isEmpty()) req.putHeader("authorization", "Bearer " + apiKey);
      if (json == null) return req.send();
      req.putHeader("content-type", "application/json");
      return req.send(Buffer.buffer(json));
    }).onSuccess(resp -> {
      resp.handler(chunk -> {
        if (body.length() + chunk.length() > maxBodyBytes) {
          if (promise.tryFail("body larger than " + maxBodyBytes + " bytes")) sent.get().reset();
        } else {
          body.appendBuffer(chunk);
        }
      });
      resp.exceptionHandler(promise::tryFail);
      resp.endHandler(v -> promise.tryComplete(new Reply(resp.statusCode(), body)));
    }).onFailure(promise::tryFail);
    return promise.future().onComplete(x -> vertx.cancelTimer(timer));
  }

  /** A short cause: {@code connect refused}, {@code timeout after 2000 ms}, {@code HTTP 503}. */
  static String why(Throwable t, long timeoutMs) {
    if (t instanceof DeadlineException d) return "timeout after " + d.timeoutMs + " ms";
    if (t instanceof ConnectTimeoutException) return "connect timeout after " + timeoutMs + " ms";
    if (t instanceof ConnectException) return "connect refused";
    if (t instanceof UnknownHostException) return "unknown host " + t.getMessage();
    if (t instanceof HttpClosedException) return "connection closed";
    if (t instanceof SSLException || t.getCause() instanceof SSLException) {
      return FailureClassifier.ofException(t, false).detail(); // names the setting to fix
    }
    if (t instanceof TimeoutException || t.getClass().getSimpleName().contains("Timeout")) {
      return "timeout after " + timeoutMs + " ms";
    }
    String m = t.getMessage();
    String s = m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
    return truncate(s, MAX_WHY_CHARS);
  }

  static String httpWhy(Reply r) {
    return "HTTP " + r.status();
  }

  static String truncate(String s, int max) {
    if (s == null) return "";
    String oneLine = s.replace('\n', ' ').replace('\r', ' ').strip();
    return oneLine.length() <= max ? oneLine : oneLine.substring(0, max) + "…";
  }

  /** {@code base} with {@code suffix} appended to its path ({@code http://h:1/v1} + {@code /models}). */
  static URI resolve(URI base, String suffix) {
    String s = base.toString();
    while (s.endsWith("/")) s = s.substring(0, s.length() - 1);
    return URI.create(s + suffix);
  }
}
