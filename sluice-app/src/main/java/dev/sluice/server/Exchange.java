package dev.sluice.server;

import dev.sluice.api.Answers;
import dev.sluice.api.ApiFlavor;
import dev.sluice.api.Endpoint;
import dev.sluice.api.ErrorKind;
import dev.sluice.api.ParsedRequest;
import dev.sluice.api.StreamFramer;
import dev.sluice.config.ApiKind;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.SluiceConfig;
import dev.sluice.health.HealthSnapshot;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.health.Failure;
import dev.sluice.upstream.FailureClassifier;
import dev.sluice.node.NodeEntry;
import dev.sluice.routing.NodeSpeed;
import dev.sluice.routing.RetryBudget;
import dev.sluice.support.LogThrottle;
import dev.sluice.upstream.NodeClient;
import dev.sluice.upstream.NodeClients;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One proxied request, from validated body to exactly one outcome. All callbacks run on the event loop of the client
 * connection, so the state below needs no locks.
 *
 * <p>The rule that matters: nothing is sent to the client until the first complete upstream event arrives ("lazy
 * commit"). Until then any failure of a node is invisible and the next node in the plan is tried (at most
 * upstream.maxAttempts, each on a different node). After commit, bytes are relayed as they come, with backpressure;
 * a broken or stalled stream ends with one in-band error event and is never retried. A client that goes away resets
 * the upstream request at any stage.
 */
final class Exchange {
  private static final Logger log = LoggerFactory.getLogger(Exchange.class);

  /** Request headers never forwarded: hop-by-hop, credentials meant for Sluice, and Sluice's own control headers. */
  private static final Set<String> DROP_REQUEST_HEADERS = Set.of(
      "host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
      "proxy-authorization", "proxy-connection", "authorization", "x-api-key", "cookie", "accept-encoding", "expect",
      // where a request came from is the gateway's to say, not the client's
      "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "x-real-ip", "via",
      // the gateway sends its own: the request id it returned, and its span of the client's trace
      "x-request-id", "traceparent", "tracestate");
  /** Response headers not copied to the client: hop-by-hop, and length/encoding which Vert.x sets itself. */
  private static final Set<String> DROP_RESPONSE_HEADERS = Set.of(
      "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection",
      "content-length",
      // the client gets the gateway's request id, not the node's
      "x-request-id");
  /** Bytes of the end of an answer kept for its token usage, which nodes report last. */
  static final int USAGE_TAIL_BYTES = 2048;
  static final String NODE_HEADER = "x-sluice-node";
  /** Requests failing on every node, and streams broken mid-way: one line a second each, with the count left out. */
  private static final LogThrottle FAILURE_LOG = LogThrottle.perSecond();
  private static final LogThrottle BROKEN_LOG = LogThrottle.perSecond();
  /** RELIABILITY.md: Retry-After is honoured up to a cap, so one node cannot take itself out for long. */
  static final long MAX_COOL_DOWN_MILLIS = 10_000;
  /** A busy answer without Retry-After: a short pause, enough for a queue to drain a little. */
  static final long DEFAULT_COOL_DOWN_MILLIS = 1_000;

  private final Vertx vertx;
  private final HttpServerRequest req;
  private final HttpServerResponse resp;
  private final SluiceConfig config;
  private final ParsedRequest request;
  private final List<Target> plan;
  private final RetryBudget retryBudget;
  private final java.util.function.IntSupplier inFlightNow;
  private final long promptTokens;
  private final Listener listener;
  private final SluiceMetrics metrics;
  private final Arrival arrival;
  /** The last bytes relayed (at most twice {@link #USAGE_TAIL_BYTES}), where the node's usage report is. */
  private Buffer tail;
  /** Time spent waiting on nodes: from sending each attempt to its end (last byte or failure). */
  private long upstreamNanos;
  private String answeredBy;
  private long firstByteNanos = -1;
  private long meanChunkGapNanos = -1;
  /** Copy of the bytes relayed to the client, for the response cache and usage; null when not wanted or too big. */
  private Buffer captured;
  private final int captureLimit;
  private final long deadlineNanos;
  private final List<Failure> failures = new ArrayList<>();
  private final List<String> failureTexts = new ArrayList<>();

  private Attempt attempt;
  private int attemptsMade;
  private boolean committed;
  private boolean finished;
  private long totalTimer = -1;

  /**
   * A node to try: its live entry (health, speed, counters), its HTTP client, how long this request may wait there for
   * its first token ({@link dev.sluice.routing.FirstTokenDeadline}; 0 = {@code timeouts.firstToken}) and the node's
   * estimate of that time the deadline was derived from.
   */
  record Target(NodeEntry entry, NodeClient client, long firstTokenDeadlineMillis, double expectedTtftMillis) {}

  /** What the request flow learns from an exchange. */
  interface Listener {
    /**
     * Every attempt failed before anything reached the client. Return true to answer the client yourself (the
     * degradation ladder); false and the exchange sends the error.
     *
     * @param nodeCaused the failure is the nodes' fault (not "every node busy")
     */
    boolean failedBeforeCommit(ErrorKind kind, String message, boolean nodeCaused);

    /**
     * The gateway-wide retry budget refused a retry although the plan has another node: true to retry anyway. The
     * request flow says yes when a failure would otherwise go down the degradation ladder, whose next tiers (a
     * downgrade) cost an attempt as well: a healthy node of the requested model is preferred to a smaller model.
     */
    default boolean retryBeyondBudget() {
      return false;
    }

    /**
     * The exchange answered the client (or the client left): exactly once, and never after
     * {@link #failedBeforeCommit} returned true.
     *
     * @param outcome ok, client_error (the node's 4xx), failed, cancelled
     * @param nodeFailure the outcome is the node's fault (failed before or after commit)
     * @param captured the complete relayed body when capture was asked for and it fitted; else null
     */
    void finished(int status, String outcome, boolean nodeFailure, Buffer captured);
  }

  Exchange(Vertx vertx, HttpServerRequest req, SluiceConfig config, ParsedRequest request, List<Target> plan,
      SluiceMetrics metrics, Arrival arrival, RetryBudget retryBudget, java.util.function.IntSupplier inFlightNow,
      long promptTokens, int captureLimit, Listener listener) {
    this.listener = listener;
    this.captureLimit = captureLimit;
    this.captured = captureLimit > 0 ? Buffer.buffer(512) : null;
    this.vertx = vertx;
    this.req = req;
    this.resp = req.response();
    this.config = config;
    this.request = request;
    this.plan = plan;
    this.retryBudget = retryBudget;
    this.inFlightNow = inFlightNow;
    this.promptTokens = promptTokens;
    this.metrics = metrics;
    this.arrival = arrival;
    this.deadlineNanos = arrival.startNanos + config.timeouts().total().toNanos();
  }

  void start() {
    resp.closeHandler(v -> clientGone());
    totalTimer = vertx.setTimer(Math.max(1, config.timeouts().total().toMillis()), id -> totalTimeout());
    nextAttempt();
  }

  // ------------------------------------------------------------------ attempts (before commit)

  private void nextAttempt() {
    if (finished) return;
    int max = Math.min(plan.size(), config.upstream().maxAttempts());
    if (attemptsMade >= max || System.nanoTime() >= deadlineNanos) {
      failBeforeCommit();
      return;
    }
    boolean retry = attemptsMade > 0;
    RetryBudget.Lease lease = null;
    if (retry) {
      lease = retryBudget.tryStart(inFlightNow.getAsInt(), attemptsMade - 1);
      if (lease == null && !(attemptsMade - 1 < retryBudget.maxRetriesPerRequest() && listener.retryBeyondBudget())) {
        failureTexts.add("retry budget exhausted (at most " + retryBudget.maxRetriesPerRequest()
            + " retries per request, and retries starting at once at most " + (int) (RetryBudget.DEFAULT_RATIO * 100)
            + " % of requests in flight)");
        failBeforeCommit();
        return;
      }
    }
    Attempt a = new Attempt(plan.get(attemptsMade++), lease);
    attempt = a;
    a.entry.requestStarted(promptTokens);
    a.backlogAtSend = Math.max(0, a.entry.inFlightPrefillTokens() - promptTokens);
    a.sentNanos = System.nanoTime();
    a.node.http().request(a.node.target(requestOptions(a.entry.spec()))).onComplete(ar -> {
      if (!live(a)) {
        if (ar.succeeded()) ar.result().reset();
        return;
      }
      if (ar.failed()) {
        Failure f = FailureClassifier.ofException(ar.cause(), false);
        if (f.kind() == Failure.Kind.BUSY) coolDown(a, null); // no free connection: back off from it for a moment
        attemptFailed(a, f);
        return;
      }
      // The deadline runs from here: time spent waiting for one of our own pooled connections (a node busy with
      // hundreds of streams) is not the node failing to answer, and is bounded (NodeClients.acquireTimeoutMillis).
      a.connectedNanos = System.nanoTime();
      long deadlineMs = a.deadlineMillis();
      a.firstTokenTimer = vertx.setTimer(Math.max(1, deadlineMs), id -> {
        if (live(a) && !committed) firstTokenDeadlinePassed(a, deadlineMs);
      });
      a.upstreamReq = ar.result();
      a.upstreamReq.send(request.raw()).onComplete(rr -> {
        if (!live(a)) {
          if (rr.succeeded()) a.resetUpstream();
          return;
        }
        if (rr.failed()) {
          attemptFailed(a, FailureClassifier.ofException(rr.cause(), true));
        } else {
          onResponse(a, rr.result());
        }
      });
    });
  }

  /**
   * No first token within the attempt's deadline. What the node did meanwhile decides:
   * <ul>
   *   <li>It sent nothing during the deadline period (no byte, no completed answer), or it is suspected already (a
   *       stalled stream): it stopped answering (hung, stalled, a black hole). The attempt is abandoned (upstream
   *       cancelled) and retried on another node, and the node is suspected at once (no new requests until a
   *       generation probe or an answer shows it works).</li>
   *   <li>It answered other requests meanwhile: it is busy, this request is queued behind them — not a failure of the
   *       node. The attempt waits on, checked again every deadline period, up to {@code timeouts.firstToken}.</li>
   *   <li>No other node to try: it waits on as well (a node slower than its estimate may still answer), suspected if
   *       silent.</li>
   * </ul>
   * Either way the speed estimate learns, once per attempt, that the node was at least this slow to a first token.
   */
  private void firstTokenDeadlinePassed(Attempt a, long deadlineMs) {
    long now = System.nanoTime();
    long waited = (now - a.connectedNanos) / 1_000_000;
    long ceilingMs = config.timeouts().firstToken().toMillis();
    // busy: it completed other answers, or sent bytes of them, within the last deadline period, so it works and this
    // request is queued behind them (a saturated engine may prefill for seconds without completing anything). A node
    // whose streams stall keeps sending first chunks of new streams: a stream silent for 3 s suspects it (see
    // Attempt.scheduleIdleCheck), and a suspected node is never "busy", so attempts waiting on it move on.
    HealthSnapshot health = a.entry.health().snapshot();
    boolean busy = !health.suspected()
        && (a.entry.completedWithin(now, deadlineMs) || a.entry.silentMillis(now) < deadlineMs);
    String why = "no first token within " + describeDeadline(a, deadlineMs) + (busy ? ""
        : health.suspected() ? ", and the node is suspected (" + health.suspicion() + ")"
        : ", and nothing from the node for " + a.entry.silentMillis(now) + " ms");
    if (!a.learnedSlowness && request.stream()) { // a censored sample: at least this slow to its first token
      a.learnedSlowness = true;
      a.entry.speed().observeFirstToken((int) Math.min(Integer.MAX_VALUE, promptTokens), waited, a.backlogAtSend);
    }
    if (waited < ceilingMs) {
      boolean elsewhere = attemptsMade < Math.min(plan.size(), config.upstream().maxAttempts()) && !noHealthyNodeLeft();
      if (busy || !elsewhere) {
        if (!busy) a.entry.health().suspect(why);
        a.firstTokenTimer = vertx.setTimer(Math.max(1, Math.min(deadlineMs, ceilingMs - waited)), id -> {
          if (live(a) && !committed) firstTokenDeadlinePassed(a, deadlineMs);
        });
        return;
      }
    } else {
      why = "no first token within " + ceilingMs + " ms (timeouts.firstToken)";
    }
    a.resetUpstream();
    if (!busy) a.entry.health().suspect(why);
    attemptFailed(a, new Failure(Failure.Kind.FIRST_TOKEN_TIMEOUT, why));
  }

  /** {@code "1500 ms (the floor; 3 × its estimate of 12 ms)"}, or {@code "60000 ms"} at the ceiling. */
  private String describeDeadline(Attempt a, long deadlineMs) {
    return a.target.firstTokenDeadlineMillis() == deadlineMs
        ? config.timeouts().firstTokenDeadline().describe(a.target.expectedTtftMillis()) : deadlineMs + " ms";
  }

  /**
   * Whether the failure that ended this exchange is the model's, not only its nodes': before commit, no untried node
   * of the plan is in rotation now ({@link #noHealthyNodeLeft}); after commit (a broken stream), no other node of the
   * plan is. While another node of the model answers, the degradation ladder is not the place for one node's fault.
   */
  boolean modelFailed() {
    if (!committed) return noHealthyNodeLeft();
    long now = System.currentTimeMillis();
    for (Target t : plan) {
      if (!t.entry().id().equals(answeredBy) && t.entry().canServe(request.model(), now)) return false;
    }
    return true;
  }

  /**
   * Whether no node of the plan is left that is in rotation now and was not tried: the model itself could not answer,
   * rather than the nodes this request happened to try.
   */
  boolean noHealthyNodeLeft() {
    long now = System.currentTimeMillis();
    for (int i = attemptsMade; i < plan.size(); i++) {
      if (plan.get(i).entry().canServe(request.model(), now)) return false;
    }
    return true;
  }

  private RequestOptions requestOptions(NodeSpec node) {
    URI baseUri = request.endpoint().flavor() == ApiFlavor.OPENAI ? node.openAiBase() : node.root();
    String base = baseUri.getRawPath();
    RequestOptions o = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setURI((base == null ? "" : base) + request.endpoint().upstreamPath())
        .setConnectTimeout(NodeClients.acquireTimeoutMillis(config.timeouts())) // busy pool vs hung connect
        .setFollowRedirects(false);
    MultiMap h = o.getHeaders() == null ? MultiMap.caseInsensitiveMultiMap() : o.getHeaders();
    for (var e : req.headers()) {
      String name = e.getKey().toLowerCase(Locale.ROOT);
      if (DROP_REQUEST_HEADERS.contains(name) || name.startsWith("x-sluice-")) continue;
      h.add(e.getKey(), e.getValue());
    }
    if (!h.contains(HttpHeaders.CONTENT_TYPE)) h.set(HttpHeaders.CONTENT_TYPE, "application/json");
    if (node.apiKey() != null && !node.apiKey().isEmpty()) h.set(HttpHeaders.AUTHORIZATION, "Bearer " + node.apiKey());
    h.set(Arrival.REQUEST_ID_HEADER, arrival.requestId);
    h.set("traceparent", arrival.trace.traceparent());
    if (arrival.trace.tracestate() != null) h.set("tracestate", arrival.trace.tracestate());
    o.setHeaders(h);
    return o;
  }

  private void onResponse(Attempt a, HttpClientResponse r) {
    a.upstreamResp = r;
    Failure f = FailureClassifier.ofStatus(r.statusCode());
    if (f != null) {
      if (f.kind() == Failure.Kind.BUSY) coolDown(a, r.getHeader(HttpHeaders.RETRY_AFTER));
      r.exceptionHandler(t -> { }); // our reset's StreamResetException: expected, attemptFailed reports the answer
      a.resetUpstream();
      attemptFailed(a, f);
      return;
    }
    StreamFramer.Mode mode = r.statusCode() / 100 == 2 ? StreamFramer.modeFor(r.getHeader(HttpHeaders.CONTENT_TYPE)) : null;
    a.framer = mode == null ? null : new StreamFramer(mode);
    r.handler(buf -> onChunk(a, buf));
    r.endHandler(v -> onEnd(a));
    r.exceptionHandler(t -> onUpstreamError(a, t));
  }

  /**
   * A busy node's Retry-After (seconds) keeps new requests away from it for that long, capped at
   * {@link #MAX_COOL_DOWN_MILLIS}; a busy answer without one cools it for {@link #DEFAULT_COOL_DOWN_MILLIS}.
   */
  private void coolDown(Attempt a, String retryAfter) {
    long millis = DEFAULT_COOL_DOWN_MILLIS;
    if (retryAfter != null) {
      try {
        millis = Math.min(MAX_COOL_DOWN_MILLIS, Math.max(0, Long.parseLong(retryAfter.trim())) * 1000);
      } catch (NumberFormatException e) {
        // an HTTP date or garbage: keep the default
      }
    }
    a.entry.coolDown(System.currentTimeMillis() + millis);
  }

  private void attemptFailed(Attempt a, Failure f) {
    a.close();
    if (f.kind().countsAgainstNode()) a.entry.health().observe(f);
    metrics.attempt(a.node.spec().id(), f.kind().name().toLowerCase(Locale.ROOT));
    failures.add(f);
    failureTexts.add(a.node.spec().id() + ": " + f.detail());
    log.debug("{} {} on node {} failed before the first byte: {}", request.endpoint().path(), request.model(),
        a.node.spec().id(), f.detail());
    if (attempt == a) attempt = null;
    if (f.kind().retryable()) {
      nextAttempt();
    } else {
      failBeforeCommit();
    }
  }

  private void failBeforeCommit() {
    if (finished) return;
    ErrorKind kind = ErrorKind.UPSTREAM_UNAVAILABLE;
    if (!failures.isEmpty() && failures.stream().allMatch(f -> f.kind() == Failure.Kind.BUSY)) {
      kind = ErrorKind.UPSTREAM_BUSY;
    } else if (!failures.isEmpty() && failures.get(failures.size() - 1).kind() == Failure.Kind.FIRST_TOKEN_TIMEOUT
        || System.nanoTime() >= deadlineNanos) {
      kind = ErrorKind.UPSTREAM_TIMEOUT;
    }
    String msg = "no node could answer for model \"" + request.model() + "\" ("
        + failureTexts.size() + (failureTexts.size() == 1 ? " attempt" : " attempts") + ")"
        + (failureTexts.isEmpty() ? "" : ": " + String.join("; ", failureTexts));
    long quiet = FAILURE_LOG.tryLog();
    if (quiet >= 0) log.warn("{} {}: {}{}", request.endpoint().path(), request.model(), msg, LogThrottle.leftOut(quiet));
    boolean nodeCaused = kind != ErrorKind.UPSTREAM_BUSY;
    if (listener.failedBeforeCommit(kind, msg, nodeCaused)) {
      release();
      return;
    }
    if (kind == ErrorKind.UPSTREAM_BUSY) resp.putHeader(HttpHeaders.RETRY_AFTER, "1");
    Responses.error(resp, request.endpoint().flavor(), kind, msg, null);
    finish(kind.status(), "failed", nodeCaused);
  }

  // ------------------------------------------------------------------ relay (commit and after)

  /** Whether callbacks of {@code a} still matter. */
  private boolean live(Attempt a) {
    return attempt == a && !a.abandoned && !finished;
  }

  private void onChunk(Attempt a, Buffer buf) {
    if (!live(a)) return;
    long now = System.nanoTime();
    a.entry.progress(now);
    if (!committed) {
      Buffer ready = a.framer == null ? buf : a.framer.push(buf);
      if (ready.length() == 0) return;
      if (a.framer != null) {
        Failure f = FailureClassifier.ofFirstEvent(ready.getBytes(0, Math.min(ready.length(), 64)));
        if (f != null) {
          a.resetUpstream();
          attemptFailed(a, f);
          return;
        }
      }
      commit(a);
      write(a, ready);
      return;
    }
    a.armIdle(now);
    a.chunksAfterFirst++;
    Buffer ready = a.framer == null ? buf : a.framer.push(buf);
    if (ready.length() > 0) write(a, ready);
  }

  private void commit(Attempt a) {
    committed = true;
    vertx.cancelTimer(a.firstTokenTimer);
    a.firstTokenNanos = System.nanoTime();
    firstByteNanos = a.firstTokenNanos;
    answeredBy = a.node.spec().id();
    a.entry.firstToken(promptTokens);
    a.sawFirstToken = true;
    if (a.lease != null) a.lease.firstToken(); // a retry holds the budget while it tries, not for its whole answer
    if (a.upstreamResp.statusCode() / 100 == 2 && a.framer != null) { // a plain body's first byte is its whole answer
      double ttftMillis = (a.firstTokenNanos - a.connectedNanos) / 1_000_000.0;
      a.entry.speed().observeFirstToken((int) Math.min(Integer.MAX_VALUE, promptTokens), ttftMillis, a.backlogAtSend);
    }
    HttpClientResponse r = a.upstreamResp;
    resp.setStatusCode(r.statusCode());
    for (var e : r.headers()) {
      if (!DROP_RESPONSE_HEADERS.contains(e.getKey().toLowerCase(Locale.ROOT))) resp.headers().add(e.getKey(), e.getValue());
    }
    String len = r.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (a.framer == null && len != null) {
      resp.putHeader(HttpHeaders.CONTENT_LENGTH, len);
    } else {
      resp.setChunked(true);
    }
    resp.putHeader(NODE_HEADER, a.node.spec().id());
    a.armIdle(a.firstTokenNanos);
  }

  private void write(Attempt a, Buffer data) {
    capture(data);
    resp.write(data);
    if (resp.writeQueueFull()) {
      a.upstreamResp.pause();
      resp.drainHandler(v -> {
        if (live(a)) a.upstreamResp.resume();
      });
    }
  }

  /** Keeps a copy of what reaches the client, up to the capture limit; past it, relays only. */
  private void capture(Buffer data) {
    keepTail(data);
    if (captured == null || data.length() == 0) return;
    if (captured.length() + data.length() > captureLimit) captured = null;
    else captured.appendBuffer(data);
  }

  private void keepTail(Buffer data) {
    int n = data.length();
    if (n == 0) return;
    if (n >= USAGE_TAIL_BYTES) {
      tail = data.getBuffer(n - USAGE_TAIL_BYTES, n);
      return;
    }
    if (tail == null) tail = Buffer.buffer(USAGE_TAIL_BYTES * 2);
    if (tail.length() + n > USAGE_TAIL_BYTES * 2) tail = tail.getBuffer(tail.length() - USAGE_TAIL_BYTES, tail.length());
    tail.appendBuffer(data);
  }

  private void onEnd(Attempt a) {
    if (!live(a)) return;
    if (!committed) commit(a);
    Buffer tail = a.framer == null ? Buffer.buffer() : a.framer.drain();
    a.close();
    if (a.upstreamResp.statusCode() / 100 == 2) {
      a.entry.completed(System.nanoTime());
      a.entry.health().observeSuccess();
      if (a.framer != null && a.chunksAfterFirst >= 1) {
        meanChunkGapNanos = (System.nanoTime() - a.firstTokenNanos) / a.chunksAfterFirst;
      }
      if (a.framer != null && a.chunksAfterFirst >= 2) {
        a.entry.speed().observeDecode(a.chunksAfterFirst, (System.nanoTime() - a.firstTokenNanos) / 1_000_000.0);
      }
    }
    metrics.attempt(a.node.spec().id(), "ok");
    capture(tail);
    if (a.framer == null && a.upstreamResp.statusCode() / 100 == 2) learnFromPlainAnswer(a);
    resp.end(tail);
    int status = a.upstreamResp.statusCode();
    finish(status, status / 100 == 2 ? "ok" : "client_error", false);
  }

  /**
   * A plain (non-streamed) answer arrives whole: its time is its prefill plus its completion tokens' decode, one
   * equation for two speeds. The part the node's current estimate says dominates is the one learned, the other taken
   * from the estimate: a short prompt with a long answer teaches the decode speed, a long prompt with a short answer
   * the prefill speed. So a node that only ever gets plain requests still has its speed known. Answers without a token
   * count (embeddings) teach nothing.
   */
  private void learnFromPlainAnswer(Attempt a) {
    long completion = Answers.usageInTail(request.endpoint().flavor(), tail())[1];
    if (completion < 0) return;
    double total = (System.nanoTime() - a.connectedNanos) / 1_000_000.0;
    NodeSpeed speed = a.entry.speed().current();
    long prefillTokens = Math.max(0, promptTokens) + a.backlogAtSend;
    double prefillMs = prefillTokens * 1000.0 / speed.prefillTokensPerSecond();
    double decodeMs = completion * speed.decodeMillisPerToken();
    if (decodeMs >= prefillMs) {
      a.entry.speed().observeDecode(completion, total - prefillMs);
    } else {
      a.entry.speed().observeFirstToken((int) Math.min(Integer.MAX_VALUE, promptTokens), total - decodeMs,
          a.backlogAtSend);
    }
  }

  private void onUpstreamError(Attempt a, Throwable t) {
    if (!live(a)) return;
    if (!committed) {
      attemptFailed(a, FailureClassifier.ofException(t, true));
      return;
    }
    streamBroken(a, "node " + a.node.spec().id() + " closed the stream before it ended");
  }

  /** After commit: one in-band error event for streams; a reset for plain bodies (a truncated JSON is never "ok"). */
  private void streamBroken(Attempt a, String why) {
    a.resetUpstream();
    a.close();
    a.entry.health().observe(new Failure(Failure.Kind.STREAM_BROKEN, why));
    metrics.attempt(a.node.spec().id(), Failure.Kind.STREAM_BROKEN.name().toLowerCase(Locale.ROOT));
    long quiet = BROKEN_LOG.tryLog();
    if (quiet >= 0) {
      log.warn("{} {} on node {}: {}{}", request.endpoint().path(), request.model(), a.node.spec().id(), why,
          LogThrottle.leftOut(quiet));
    }
    if (a.framer != null) {
      a.framer.drain();
      resp.end(request.endpoint().flavor().streamErrorEvent(ErrorKind.STREAM_INTERRUPTED, why));
    } else {
      resp.reset();
    }
    captured = null;
    finish(ErrorKind.STREAM_INTERRUPTED.status(), "failed", true);
  }

  private void totalTimeout() {
    if (finished) return;
    String why = "request exceeded the total timeout of " + config.timeouts().total().toMillis() + " ms";
    Attempt a = attempt;
    if (committed && a != null) {
      streamBroken(a, why);
      return;
    }
    if (a != null) {
      a.resetUpstream();
      a.close();
      failures.add(new Failure(Failure.Kind.FIRST_TOKEN_TIMEOUT, why));
      failureTexts.add(a.node.spec().id() + ": " + why);
      attempt = null;
    }
    failBeforeCommit();
  }

  private void clientGone() {
    if (finished) return;
    Attempt a = attempt;
    if (a != null) {
      a.resetUpstream();
      a.close();
      metrics.attempt(a.node.spec().id(), Failure.Kind.CLIENT_CANCELLED.name().toLowerCase(Locale.ROOT));
    }
    log.debug("{} {}: client went away, upstream request reset", request.endpoint().path(), request.model());
    captured = null;
    finish(499, "cancelled", false);
  }

  private void finish(int status, String outcome, boolean nodeFailure) {
    if (finished) return;
    release();
    listener.finished(status, outcome, nodeFailure, "ok".equals(outcome) ? captured : null);
  }

  /** Ends this exchange's own bookkeeping (timers); the listener takes it from here. */
  private void release() {
    finished = true;
    if (totalTimer >= 0) vertx.cancelTimer(totalTimer);
    if (attempt != null) attempt.cancelTimers();
  }

  // ------------------------------------------------------------------ what the request record needs

  /** Attempts made so far (each on a different node). */
  int attempts() {
    return attemptsMade;
  }

  /** Nanoseconds spent waiting on nodes, over every attempt that ended. */
  long upstreamNanos() {
    return upstreamNanos;
  }

  /** The node whose answer reached the client; null before commit. */
  String answeredBy() {
    return answeredBy;
  }

  /** {@link System#nanoTime} of the first byte sent to the client; -1 before commit. */
  long firstByteNanos() {
    return firstByteNanos;
  }

  /** Mean gap between the chunks of a streamed answer after the first; -1 when not streamed or one chunk only. */
  long meanChunkGapNanos() {
    return meanChunkGapNanos;
  }

  /** The last bytes relayed to the client (where usage is reported); null when nothing was. */
  byte[] tail() {
    return tail == null ? null : tail.getBytes();
  }

  /** One try on one node. */
  private final class Attempt {
    final Target target;
    final NodeEntry entry;
    final NodeClient node;
    /** A retry's hold on the gateway-wide budget (null for a first attempt, or a retry beyond the budget). */
    final RetryBudget.Lease lease;
    long sentNanos;
    /** When the attempt got its connection to the node: its first-token deadline and TTFT count from here. */
    long connectedNanos;
    /** The speed estimate already learned from this attempt's passed deadline. */
    boolean learnedSlowness;
    /** This stream's silence already made its node suspected (once per stream). */
    boolean stallReported;
    long firstTokenNanos;
    long backlogAtSend;
    int chunksAfterFirst;
    boolean sawFirstToken;
    HttpClientRequest upstreamReq;
    HttpClientResponse upstreamResp;
    StreamFramer framer;
    long firstTokenTimer = -1;
    long idleTimer = -1;
    long lastChunkNanos;
    boolean abandoned;
    private boolean closed;

    Attempt(Target target, RetryBudget.Lease lease) {
      this.target = target;
      this.entry = target.entry();
      this.node = target.client();
      this.lease = lease;
    }

    /**
     * Notes activity and makes sure an idle check is pending. One timer per idle period rather than one per chunk:
     * when it fires early relative to the last chunk it re-arms for the remainder.
     */
    void armIdle(long nanoTime) {
      lastChunkNanos = nanoTime;
      if (idleTimer < 0) scheduleIdleCheck(nextCheckNanos(0));
    }

    /**
     * When to look again after {@code silent} nanoseconds without a chunk: at {@link NodeEntry#STREAM_SILENCE_MILLIS}
     * (the node is suspected: a decoding engine never pauses a stream that long) unless that was reported already,
     * then at the idle timeout (the stream is broken).
     */
    private long nextCheckNanos(long silent) {
      long idle = config.timeouts().idle().toNanos();
      long stall = NodeEntry.STREAM_SILENCE_MILLIS * 1_000_000;
      return (stallReported || stall >= idle ? idle : stall) - silent;
    }

    private void scheduleIdleCheck(long inNanos) {
      idleTimer = vertx.setTimer(Math.max(1, inNanos / 1_000_000), id -> {
        idleTimer = -1;
        if (!live(this) || !committed) return;
        long silent = System.nanoTime() - lastChunkNanos;
        if (!stallReported && silent >= NodeEntry.STREAM_SILENCE_MILLIS * 1_000_000) {
          stallReported = true;
          entry.health().suspect("a stream it serves sent nothing for " + silent / 1_000_000 + " ms");
        }
        if (silent < config.timeouts().idle().toNanos()) {
          scheduleIdleCheck(nextCheckNanos(silent));
          return;
        }
        streamBroken(this, "node " + node.spec().id() + " sent nothing for " + config.timeouts().idle().toMillis()
            + " ms (idle timeout)");
      });
    }

    /** Abandons this attempt: its late callbacks (including the reset's own exception) are ignored from now on. */
    void resetUpstream() {
      abandoned = true;
      if (upstreamReq != null) upstreamReq.reset();
    }

    void cancelTimers() {
      if (firstTokenTimer >= 0) vertx.cancelTimer(firstTokenTimer);
      if (idleTimer >= 0) vertx.cancelTimer(idleTimer);
    }

    /** Releases the node's in-flight slot, once. */
    void close() {
      cancelTimers();
      if (closed) return;
      closed = true;
      if (sentNanos > 0) upstreamNanos += System.nanoTime() - sentNanos;
      entry.requestEnded(promptTokens, sawFirstToken);
      if (lease != null) lease.end();
    }

    /** This attempt's first-token deadline in milliseconds. */
    long deadlineMillis() {
      long derived = target.firstTokenDeadlineMillis();
      return derived > 0 ? derived : config.timeouts().firstToken().toMillis();
    }
  }

  /** Whether a node can serve an endpoint: Ollama-native paths need a node that speaks the Ollama API. */
  static boolean speaks(NodeSpec node, Endpoint endpoint) {
    return endpoint.flavor() == ApiFlavor.OPENAI || node.api() == ApiKind.OLLAMA;
  }
}
