package dev.sluice.upstream;

import dev.sluice.api.ChatTranslation;
import dev.sluice.api.ErrorKind;
import dev.sluice.api.ParsedRequest;
import dev.sluice.config.SluiceConfig;
import dev.sluice.health.Failure;
import dev.sluice.health.HealthSnapshot;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.node.NodeEntry;
import dev.sluice.observe.TraceContext;
import dev.sluice.routing.FirstTokenDeadline;
import dev.sluice.routing.RetryBudget;
import dev.sluice.support.Clock;
import dev.sluice.support.LogThrottle;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One proxied request, from validated body to exactly one outcome: the failover loop over the attempts of its plan.
 * All callbacks run on the event loop of the client connection, so the state below needs no locks.
 *
 * <p>The rule that matters: nothing is sent to the client until the first complete upstream event arrives ("lazy
 * commit"). Until then any failure of a node is invisible and the next node in the plan is tried (at most
 * upstream.maxAttempts, each on a different node). After commit, bytes are relayed as they come, with backpressure;
 * a broken or stalled stream ends with one in-band error event and is never retried. A client that goes away resets
 * the upstream request at any stage. One try on one node is an {@link Attempt}; the headers that cross are
 * {@link ForwardedHeaders}' rules; what is kept of the answer is an {@link AnswerCapture}.
 */
public final class Exchange {
  private static final Logger log = LoggerFactory.getLogger(Exchange.class);
  /** Requests failing on every node, and streams broken mid-way: one line a second each, with the count left out. */
  private static final LogThrottle FAILURE_LOG = LogThrottle.perSecond();
  private static final LogThrottle BROKEN_LOG = LogThrottle.perSecond();
  /** The smallest buffer relayed events are gathered in (a few SSE chunks). */
  private static final int COALESCE_INITIAL_BYTES = 4096;

  final Vertx vertx;
  final Clock clock;
  final SluiceMetrics metrics;
  final HttpServerRequest req;
  final HttpServerResponse resp;
  final SluiceConfig config;
  final ParsedRequest request;
  /** The request carried over chat completions, for targets that {@link Target#translate}; null when none may. */
  final ChatTranslation overChat;
  final Origin origin;
  final long promptTokens;
  final AnswerCapture capture;
  private final List<Target> plan;
  private final RetryBudget retryBudget;
  private final IntSupplier inFlightNow;
  private final ExchangeListener listener;
  /** Time spent waiting on nodes: from sending each attempt to its end (last byte or failure). */
  long upstreamNanos;
  private String answeredBy;
  private long firstByteNanos = -1;
  private long meanChunkGapNanos = -1;
  private final long deadlineNanos;
  private final List<Failure> failures = new ArrayList<>();
  private final List<String> failureTexts = new ArrayList<>();

  /** Relayed bytes not yet written ({@link #write}): owned once a second piece was added; the attempt they came from. */
  private Buffer pending;
  private boolean pendingOwned;
  private Attempt pendingFrom;
  private Attempt attempt;
  private int attemptsMade;
  private boolean committed;
  private boolean finished;
  private long totalTimer = -1;

  /**
   * A node to try: its live entry (health, speed, counters), its HTTP client, how long this request may wait there for
   * its first token ({@link FirstTokenDeadline}; 0 = {@code timeouts.firstToken}) and the node's estimate of that time
   * the deadline was derived from, and whether the node gets the request translated to chat completions (it does not
   * speak the client's dialect: see {@link #Exchange}'s {@code overChat}), and how many of the prompt's tokens the node
   * is estimated to hold in its prefix cache (0 without affinity): only the rest counts as the node's prefill work.
   */
  public record Target(NodeEntry entry, NodeClient client, long firstTokenDeadlineMillis, double expectedTtftMillis,
      boolean translate, int cachedTokens) {}

  /**
   * Where the request came from: the request id the client was given and the trace it belongs to (both forwarded to
   * the nodes), and when it arrived on the exchange's clock (the total timeout runs from there).
   */
  public record Origin(String requestId, TraceContext trace, long startNanos) {}

  /**
   * What every exchange of a gateway shares: the event loops, the clock, the metrics, the gateway-wide retry budget
   * and a count of the requests in flight (what the budget is a share of).
   */
  public record Shared(Vertx vertx, Clock clock, SluiceMetrics metrics, RetryBudget retryBudget,
      IntSupplier inFlightNow) {
    public Shared {
      Objects.requireNonNull(vertx, "vertx");
      Objects.requireNonNull(clock, "clock");
      Objects.requireNonNull(metrics, "metrics");
      Objects.requireNonNull(retryBudget, "retryBudget");
      Objects.requireNonNull(inFlightNow, "inFlightNow");
    }
  }

  /**
   * @param overChat the request carried over chat completions for targets that translate; null when no target does
   * @param captureLimit bytes of the answer to keep for the listener (0: none)
   */
  public Exchange(Shared shared, HttpServerRequest req, SluiceConfig config, ParsedRequest request,
      ChatTranslation overChat, List<Target> plan, Origin origin, long promptTokens, int captureLimit,
      ExchangeListener listener) {
    this.vertx = shared.vertx();
    this.clock = shared.clock();
    this.metrics = shared.metrics();
    this.retryBudget = shared.retryBudget();
    this.inFlightNow = shared.inFlightNow();
    this.req = req;
    this.resp = req.response();
    this.config = config;
    this.request = request;
    this.overChat = overChat;
    for (Target t : plan) {
      if (t.translate() && overChat == null) throw new IllegalArgumentException("a target translates, no translation");
    }
    this.plan = plan;
    this.origin = origin;
    this.promptTokens = promptTokens;
    this.capture = new AnswerCapture(captureLimit);
    this.listener = listener;
    this.deadlineNanos = origin.startNanos() + config.timeouts().total().toNanos();
  }

  public void start() {
    resp.closeHandler(v -> clientGone());
    totalTimer = vertx.setTimer(Math.max(1, config.timeouts().total().toMillis()), id -> totalTimeout());
    nextAttempt();
  }

  /** An attempt gave its place on its node back (see {@link ExchangeListener#attemptEnded}). */
  void attemptEnded(String nodeId) {
    listener.attemptEnded(nodeId);
  }

  // ------------------------------------------------------------------ attempts (before commit)

  private void nextAttempt() {
    if (finished) return;
    int max = Math.min(plan.size(), config.upstream().maxAttempts());
    if (attemptsMade >= max || clock.nanos() >= deadlineNanos) {
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
    Attempt a = new Attempt(this, plan.get(attemptsMade++), lease);
    attempt = a;
    listener.attemptSent(a.nodeId());
    a.send();
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
  void firstTokenDeadlinePassed(Attempt a, long deadlineMs) {
    long now = clock.nanos();
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
    a.learnSlowness(waited);
    if (waited < ceilingMs) {
      boolean elsewhere = attemptsMade < Math.min(plan.size(), config.upstream().maxAttempts()) && !noHealthyNodeLeft();
      if (busy || !elsewhere) {
        if (!busy) a.entry.health().suspect(why);
        a.armFirstTokenTimer(Math.min(deadlineMs, ceilingMs - waited), deadlineMs);
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
  public boolean modelFailed() {
    if (!committed) return noHealthyNodeLeft();
    long now = clock.millis();
    for (Target t : plan) {
      if (!t.entry().id().equals(answeredBy) && t.entry().canServe(request.model(), now)) return false;
    }
    return true;
  }

  /**
   * Whether no node of the plan is left that is in rotation now and was not tried: the model itself could not answer,
   * rather than the nodes this request happened to try.
   */
  private boolean noHealthyNodeLeft() {
    long now = clock.millis();
    for (int i = attemptsMade; i < plan.size(); i++) {
      if (plan.get(i).entry().canServe(request.model(), now)) return false;
    }
    return true;
  }

  void attemptFailed(Attempt a, Failure f) {
    a.close();
    if (f.kind().countsAgainstNode()) a.entry.health().observe(f);
    metrics.attempt(a.nodeId(), f.kind().name().toLowerCase(Locale.ROOT));
    failures.add(f);
    failureTexts.add(a.nodeId() + ": " + f.detail());
    log.debug("{} {} on node {} failed before the first byte: {}", request.endpoint().path(), request.model(),
        a.nodeId(), f.detail());
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
        || clock.nanos() >= deadlineNanos) {
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
    finish(kind.status(), "failed", nodeCaused);
  }

  // ------------------------------------------------------------------ relay (commit and after)

  /** Whether callbacks of {@code a} still matter. */
  boolean live(Attempt a) {
    return attempt == a && !a.abandoned && !finished;
  }

  boolean committed() {
    return committed;
  }

  /** The first complete event (or a plain body's first byte) of {@code a}: the client gets the node's head now. */
  void commit(Attempt a) {
    committed = true;
    a.committed();
    firstByteNanos = a.firstTokenNanos;
    answeredBy = a.nodeId();
    ForwardedHeaders.toClient(a.upstreamResp, resp, a.framer != null, a.nodeId(), a.relay != null || a.held != null);
    listener.committing(a.nodeId());
    a.armIdle(a.firstTokenNanos);
  }

  /**
   * Relays {@code data} of {@code a} to the client: what the node's one read delivered (a burst of events the node
   * wrote together, decoded chunk by chunk) goes out in one write, made when the event loop has finished that read
   * ({@link #flushPending}); no event waits longer. The node is paused while the client's write queue is full.
   */
  void write(Attempt a, Buffer data) {
    capture.add(data);
    if (pending == null) {
      pending = data;
      pendingOwned = false;
      pendingFrom = a;
      vertx.getOrCreateContext().runOnContext(v -> flushPending());
      return;
    }
    if (!pendingOwned) { // the first piece may be a slice of the node's buffer: gather into a buffer of our own
      pending = Buffer.buffer(Math.max(COALESCE_INITIAL_BYTES, 2 * (pending.length() + data.length())))
          .appendBuffer(pending);
      pendingOwned = true;
    }
    pending.appendBuffer(data);
  }

  /** Writes what {@link #write} gathered, if anything; before anything else is written to the client. */
  private void flushPending() {
    Buffer data = pending;
    Attempt a = pendingFrom;
    pending = null;
    pendingFrom = null;
    if (data == null || finished) return;
    resp.write(data);
    if (resp.writeQueueFull() && live(a)) {
      a.upstreamResp.pause();
      resp.drainHandler(v -> {
        if (live(a)) a.upstreamResp.resume();
      });
    }
  }

  /** {@code a}'s answer ended whole; {@code tail} is what its framer still held. */
  void ended(Attempt a, Buffer tail, long chunkGapNanos) {
    if (chunkGapNanos >= 0) meanChunkGapNanos = chunkGapNanos;
    flushPending();
    resp.end(tail);
    int status = a.upstreamResp.statusCode();
    finish(status, status / 100 == 2 ? "ok" : "client_error", false);
  }

  /** After commit: one in-band error event for streams; a reset for plain bodies (a truncated JSON is never "ok"). */
  void streamBroken(Attempt a, String why) {
    a.resetUpstream();
    a.close();
    a.entry.health().observe(new Failure(Failure.Kind.STREAM_BROKEN, why));
    metrics.attempt(a.nodeId(), Failure.Kind.STREAM_BROKEN.name().toLowerCase(Locale.ROOT));
    long quiet = BROKEN_LOG.tryLog();
    if (quiet >= 0) {
      log.warn("{} {} on node {}: {}{}", request.endpoint().path(), request.model(), a.nodeId(), why,
          LogThrottle.leftOut(quiet));
    }
    if (a.framer != null) {
      a.framer.drain();
      flushPending(); // the whole events relayed before the break, then the error event
      resp.end(request.endpoint().dialect().streamError(ErrorKind.STREAM_INTERRUPTED, why));
    } else {
      resp.reset();
    }
    capture.drop();
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
      failureTexts.add(a.nodeId() + ": " + why);
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
      metrics.attempt(a.nodeId(), Failure.Kind.CLIENT_CANCELLED.name().toLowerCase(Locale.ROOT));
    }
    log.debug("{} {}: client went away, upstream request reset", request.endpoint().path(), request.model());
    capture.drop();
    finish(499, "cancelled", false);
  }

  private void finish(int status, String outcome, boolean nodeFailure) {
    if (finished) return;
    release();
    listener.finished(status, outcome, nodeFailure, "ok".equals(outcome) ? capture.body() : null);
  }

  /** Ends this exchange's own bookkeeping (timers); the listener takes it from here. */
  private void release() {
    finished = true;
    if (totalTimer >= 0) vertx.cancelTimer(totalTimer);
    if (attempt != null) attempt.cancelTimers();
  }

  // ------------------------------------------------------------------ what the request record needs

  /** Attempts made so far (each on a different node). */
  public int attempts() {
    return attemptsMade;
  }

  /** Nanoseconds spent waiting on nodes, over every attempt that ended. */
  public long upstreamNanos() {
    return upstreamNanos;
  }

  /** The node whose answer reached the client; null before commit. */
  public String answeredBy() {
    return answeredBy;
  }

  /** The clock's {@link Clock#nanos} of the first byte sent to the client; -1 before commit. */
  public long firstByteNanos() {
    return firstByteNanos;
  }

  /** Mean gap between the chunks of a streamed answer after the first; -1 when not streamed or one chunk only. */
  public long meanChunkGapNanos() {
    return meanChunkGapNanos;
  }

  /** The last bytes relayed to the client (where usage is reported); null when nothing was. */
  public byte[] tail() {
    return capture.tail();
  }
}
