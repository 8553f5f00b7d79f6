package dev.sluice.upstream;

import dev.sluice.health.Failure;
import io.netty.channel.ConnectTimeoutException;
import io.vertx.core.http.ConnectionPoolTooBusyException;
import io.vertx.core.http.HttpClosedException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;

/**
 * The one place that knows every upstream error shape and what it means: retry on another node or not, and whether it
 * counts against the node. Each rule carries its reason and says which it is: <b>busy</b> (the node or our pool for it
 * is full: another node, or a 503 upstream_busy with Retry-After when every attempt was busy; never evidence against the
 * node, so never ejection or a degradation level) or a <b>node failure</b> (counts toward ejection, the health ratio
 * and the degradation ladder). {@link Failure.Kind} holds the retryable / counts-against-node flags of each kind.
 */
public final class FailureClassifier {
  /**
   * Vert.x 5's text for a request that got no pooled connection within its connect timeout:
   * {@code "The timeout of 4000 ms has been exceeded when getting a connection to host:port"}
   * (a {@link TimeoutException}, raised by the HTTP client's connection pool).
   */
  static final String POOL_TIMEOUT_TEXT = "when getting a connection";
  private static final Pattern POOL_TIMEOUT_MILLIS = Pattern.compile("timeout of (\\d+) ms");

  private FailureClassifier() {}

  /** What an upstream HTTP status means, or null when the response is to be relayed to the client as it is. */
  public static Failure ofStatus(int status) {
    // Not a failure: 2xx is an answer; 4xx other than 429 is the request's own fault (bad params, unknown model on the
    // node): the client must see it, and another node would say the same.
    if (status < 500 && status != 429) return null;
    // BUSY: 429 and 503: the node is alive but full (Ollama answers 503 "server busy" past OLLAMA_MAX_QUEUE).
    if (status == 429 || status == 503) return new Failure(Failure.Kind.BUSY, "busy (HTTP " + status + ")");
    // Node failure: 500/502/504 and the rest of 5xx: the engine or something in front of it failed.
    return new Failure(Failure.Kind.NODE_ERROR, "HTTP " + status);
  }

  /** What an exception raised while sending or before the first byte means. */
  public static Failure ofException(Throwable t, boolean connected) {
    if (t instanceof ConnectionPoolTooBusyException) {
      // BUSY: our own bound: more waiting requests than upstream.maxWaitQueuePerNode. Try a node with room.
      return new Failure(Failure.Kind.BUSY, "connection pool full");
    }
    if (t instanceof TimeoutException && String.valueOf(t.getMessage()).contains(POOL_TIMEOUT_TEXT)) {
      // BUSY: every pooled connection to the node stayed in use for the request's whole acquire timeout (timeouts.
      // connect + NodeClients.POOL_WAIT). A TCP connect that hangs fails earlier, as ConnectTimeoutException (below),
      // because the client's own connect timeout is the shorter one (NodeClients.acquireTimeoutMillis).
      return new Failure(Failure.Kind.BUSY, "no free connection to the node within " + poolWaitMillis(t)
          + " (all its upstream.maxConnectionsPerNode connections in use)");
    }
    if (t instanceof ConnectException || t instanceof NoRouteToHostException || t instanceof UnknownHostException
        || t instanceof ConnectTimeoutException) {
      // Node failure: the node's process is down (refused), the host unreachable or unknown, or it never completed
      // the TCP handshake within timeouts.connect (ConnectTimeoutException: "connection timed out after 2000 ms").
      return new Failure(Failure.Kind.CONNECT, "connect failed (" + shortText(t) + ")");
    }
    SSLException tls = sslCause(t);
    if (tls != null) {
      // Node failure: no TLS session with the node (certificate not trusted or not for its host, or no TLS on that
      // port): like a refused connect, nothing reached the engine; another node may work, and this one stays unusable
      // until fixed.
      return new Failure(Failure.Kind.CONNECT, "TLS handshake failed: " + tlsReason(tls));
    }
    if (t instanceof HttpClosedException || t instanceof IOException) {
      // Node failure: connection closed or reset after the request went out and before any response byte.
      return new Failure(Failure.Kind.RESET_BEFORE_FIRST_BYTE, "connection closed before the first byte");
    }
    // Node failure: anything else between sending and the first byte is the node's side breaking.
    return new Failure(Failure.Kind.RESET_BEFORE_FIRST_BYTE, shortText(t));
  }

  /** "4000 ms" from Vert.x's pool timeout text, or "its acquire timeout" when the text has no number. */
  private static String poolWaitMillis(Throwable t) {
    Matcher m = POOL_TIMEOUT_MILLIS.matcher(t.getMessage());
    return m.find() ? m.group(1) + " ms" : "its acquire timeout";
  }

  /**
   * Whether the first event of a 200 stream is really an error (vLLM and Ollama report some engine failures as an
   * in-band error after a 200). Node failure; before commit this is still a failover, so the client never sees it.
   * Shapes: OpenAI SSE {@code data: {"error":…}}, Ollama NDJSON {@code {"error":…}}, and the named error event of
   * Anthropic Messages and OpenAI Responses streams ({@code event: error}), and a Responses stream's {@code
   * event: response.failed} (the response failed after it was created).
   */
  public static Failure ofFirstEvent(byte[] event) {
    String head = new String(event, 0, Math.min(event.length, 32), StandardCharsets.UTF_8).stripLeading();
    if (head.startsWith("data: {\"error\"") || head.startsWith("data:{\"error\"") || head.startsWith("{\"error\"")
        || head.startsWith("event: error\n") || head.startsWith("event:error\n") || head.startsWith("event: error\r")
        || head.startsWith("event: response.failed") || head.startsWith("event:response.failed")) {
      return new Failure(Failure.Kind.NODE_ERROR, "error as first stream event");
    }
    return null;
  }

  /**
   * Whether an event of a stream that has already started is an in-band error (the shapes of {@link #ofFirstEvent}):
   * the node failed mid-answer although its status was 200. A node failure, never a success: the stream is broken
   * there (and continued elsewhere where it can be).
   */
  public static Failure ofStreamEvent(byte[] event) {
    return ofFirstEvent(event) == null ? null : new Failure(Failure.Kind.STREAM_BROKEN, "error event mid-stream");
  }

  /** The innermost TLS error in {@code t}'s cause chain (Vert.x wraps the JDK's handshake error), or null. */
  private static SSLException sslCause(Throwable t) {
    SSLException found = null;
    int depth = 0;
    for (Throwable c = t; c != null && depth < 16; c = c.getCause(), depth++) {
      if (c instanceof SSLException e) found = e;
    }
    return found;
  }

  /** The JDK's reason in words an operator acts on, with the setting to check; never certificate contents. */
  private static String tlsReason(SSLException e) {
    String m = String.valueOf(e.getMessage());
    if (m.contains("PKIX") || m.contains("certification path")) {
      return "the node's certificate is not trusted (set upstream.tls.caFile to the CA that signed it)";
    }
    if (m.contains("No subject alternative") || m.contains("No name matching")) {
      return "the node's certificate does not name the host of its baseUrl (use a host the certificate names, "
          + "or see upstream.tls.verifyHostname)";
    }
    if (m.contains("plaintext") || m.contains("Unsupported or unrecognized SSL message")) {
      return "the node does not speak TLS on that port (use http:// in its baseUrl)";
    }
    return shortText(e) + " (check upstream.tls.caFile and the node's certificate)";
  }

  private static String shortText(Throwable t) {
    String m = t.getMessage();
    if (m == null || m.isBlank()) return t.getClass().getSimpleName();
    return m.length() > 120 ? m.substring(0, 120) + "…" : m;
  }
}
