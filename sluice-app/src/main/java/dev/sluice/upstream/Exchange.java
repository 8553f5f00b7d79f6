package dev.sluice.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.ChatTranslation;
import dev.sluice.api.ErrorKind;
import dev.sluice.api.ParsedRequest;
import dev.sluice.config.SluiceConfig;
import dev.sluice.health.Failure;
import dev.sluice.health.HealthSnapshot;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.node.NodeEntry;
import dev.sluice.observe.TraceContext;
import dev.sluice.resume.StreamSplice;
import dev.sluice.resume.Wire;
import dev.sluice.routing.FirstTokenDeadline;
import dev.sluice.routing.RetryBudget;
import dev.sluice.routing.StreamDeadlines;
import dev.sluice.support.Clock;
import dev.sluice.support.Json;
import dev.sluice.support.LogThrottle;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
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
 * a generation stream that breaks or stalls then (reset, closed before its end, an in-band error event, silent past
 * its idle deadline) is continued on another node of the plan where its {@link StreamSplice} allows
 * (docs/stream-resumption.md), else it ends with one in-band error event. A client that goes away resets the upstream
 * request at any stage. One try on one node is an {@link Attempt}; the headers that cross are
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

  /** The idle and total deadlines of this request's model ({@code timeouts.models}, else the global ones). */
  final StreamDeadlines deadlines;
  /** Continuations this stream may have: 0 (the default) when resumption is off for it. */
  private int maxResumptions;
  /** The committed generation stream's splice (what it relayed, how to continue it); null for other answers. */
  StreamSplice splice;
  /** Why no stream of this request can be continued (n &gt; 1, logprobs, ...); null when it can. */
  private String spliceRefusal;
  /** The committed stream's translation to the client's dialect, kept across continuations; null when passed through. */
  ChatTranslation.Relay relay;
  /** Whether the committed answer is an event stream (its end is an in-band error event, not a reset). */
  private boolean framed;
  /** Nodes that broke this request's stream, failed its continuation, or were unreachable: never continued on. */
  private final Set<String> failedNodes = new HashSet<>();
  /** When the stream last broke and is waiting for its continuation's first event; -1 when none waits. */
  private long brokeAtNanos = -1;
  /** Time the client's stream waited for continuations, summed. */
  private long resumeDelayNanos;

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
    this.deadlines = config.timeouts().streams(request.model());
    this.deadlineNanos = origin.startNanos() + deadlines.total().toNanos();
  }

  /**
   * Lets a stream that breaks after its first byte be continued on another node up to {@code max} times (0: never);
   * call before {@link #start}. The request flow decides from the config and the caller.
   */
  public void allowResumption(int max) {
    this.maxResumptions = Math.max(0, Math.min(max, StreamSplice.MAX_RESUMPTIONS));
  }

  public void start() {
    resp.closeHandler(v -> clientGone());
    totalTimer = vertx.setTimer(Math.max(1, deadlines.total().toMillis()), id -> totalTimeout());
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
    if (a.continuation) { // the client waits mid-stream: no waiting on a busy node, the next one is tried
      a.resetUpstream();
      attemptFailed(a, new Failure(Failure.Kind.FIRST_TOKEN_TIMEOUT, "no first event of the continuation within "
          + deadlineMs + " ms"));
      return;
    }
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
    if (a.continuation) {
      continuationFailed(a, f);
      return;
    }
    // a node that could not be reached or dropped the request is not asked to continue its stream; one that was full
    // or slow to a first token may be (the health model takes it out of rotation if it is really gone)
    if (f.kind() == Failure.Kind.CONNECT || f.kind() == Failure.Kind.RESET_BEFORE_FIRST_BYTE) failedNodes.add(a.nodeId());
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
    framed = a.framer != null;
    relay = a.relay;
    splice = newSplice(a);
    ForwardedHeaders.toClient(a.upstreamResp, resp, a.framer != null, a.nodeId(), a.relay != null || a.held != null);
    listener.committing(a.nodeId());
    a.armIdle(a.firstTokenNanos);
  }

  /**
   * The splice of a committed 2xx generation stream (chat, completions, Ollama chat and generate, Anthropic Messages
   * and OpenAI Responses passed through, and any dialect carried over chat completions), which watches it for in-band
   * errors and an early end and knows how to continue it; null for every other answer.
   */
  private StreamSplice newSplice(Attempt a) {
    if (!request.stream() || a.framer == null || a.upstreamResp.statusCode() / 100 != 2) return null;
    Wire wire = a.target.translate() ? Wire.OPENAI_CHAT : Wire.ofPath(request.endpoint().path());
    if (wire == null) return null;
    ObjectNode body = request.json();
    if (a.target.translate()) {
      try {
        JsonNode chat = Json.MAPPER.readTree(overChat.chatRequest().getBytes());
        if (!(chat instanceof ObjectNode o)) return null;
        body = o;
      } catch (IOException e) {
        return null;
      }
    }
    spliceRefusal = StreamSplice.refusal(wire, body);
    StreamSplice s = StreamSplice.of(wire, body, e -> FailureClassifier.ofStreamEvent(e) != null,
        () -> clock.nanos() - origin.startNanos());
    if (maxResumptions == 0 || spliceRefusal != null) s.watchOnly(); // never continued: only errors and the end
    return s;
  }

  /** The first event of continuation {@code a} goes on to the client: the stream flows again. */
  void resumedOn(Attempt a) {
    a.committed();
    if (brokeAtNanos >= 0) {
      resumeDelayNanos += clock.nanos() - brokeAtNanos;
      brokeAtNanos = -1;
    }
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
    if (resumptions() > 0) {
      metrics.streamResumption(request.model(), "ok");
      log.info("{} {} rid={}: continued stream ended whole on node {} after {} resumption(s), {} tokens, the client "
          + "waited {} ms for its continuations", request.endpoint().path(), request.model(), origin.requestId(),
          a.nodeId(), resumptions(), splice.relayedTokens(), resumeDelayNanos / 1_000_000);
      if (acceptsTrailers()) resp.putTrailer(RESUMED_TRAILER, resumptions() + "; waited-ms=" + resumeDelayNanos / 1_000_000);
    }
    resp.end(tail);
    int status = a.upstreamResp.statusCode();
    finish(status, status / 100 == 2 ? "ok" : "client_error", false);
  }

  /**
   * After commit, the node answering broke ({@code why}): continued on another node where the splice allows, else one
   * in-band error event for streams (the node's own, when it sent one) and a reset for plain bodies (a truncated JSON
   * is never "ok").
   */
  void streamBroken(Attempt a, String why) {
    a.resetUpstream();
    a.close();
    failedNodes.add(a.nodeId());
    a.entry.health().observe(new Failure(Failure.Kind.STREAM_BROKEN, why));
    metrics.attempt(a.nodeId(), Failure.Kind.STREAM_BROKEN.name().toLowerCase(Locale.ROOT));
    long quiet = BROKEN_LOG.tryLog();
    if (quiet >= 0) {
      log.warn("{} {} on node {}: {}{}", request.endpoint().path(), request.model(), a.nodeId(), why,
          LogThrottle.leftOut(quiet));
    }
    if (a.framer != null) a.framer.drain();
    flushPending(); // the whole events relayed before the break go out before a continuation or the error event
    if (splice != null && a.relaying) {
      splice.brokenNodeWorked(a.firstTokenNanos - a.connectedNanos, clock.nanos() - a.firstTokenNanos);
    }
    if (attempt == a) attempt = null;
    if (resume(a.nodeId(), why)) return;
    endBroken(why);
  }

  /** A continuation failed before its first event: the next node is tried where the rules allow, else the stream ends. */
  private void continuationFailed(Attempt a, Failure f) {
    a.close();
    failedNodes.add(a.nodeId());
    if (f.kind().countsAgainstNode()) a.entry.health().observe(f);
    metrics.attempt(a.nodeId(), f.kind().name().toLowerCase(Locale.ROOT));
    metrics.streamResumption(request.model(), "failed");
    if (attempt == a) attempt = null;
    String why = "the continuation on node " + a.nodeId() + " failed: " + f.detail();
    log.info("{} {} rid={}: {}", request.endpoint().path(), request.model(), origin.requestId(), why);
    if (resume(a.nodeId(), why)) return;
    endBroken(why);
  }

  /**
   * Continues the broken stream on the next node of the plan (not one that failed this request, reached the same way:
   * translated or not), if its splice, the resumption settings, the client and the deadline allow. The metric and one
   * log line record every decision.
   */
  private boolean resume(String brokenNode, String why) {
    if (splice == null || finished) return false;
    String model = request.model();
    if (maxResumptions == 0) {
      metrics.streamResumption(model, "off");
      return false;
    }
    String whyNot = spliceRefusal != null ? spliceRefusal : splice.whyNot(maxResumptions);
    if (whyNot == null && resp.closed()) whyNot = "the client has gone";
    if (whyNot == null && clock.nanos() >= deadlineNanos) {
      whyNot = "its total deadline (" + deadlines.total().toMillis() + " ms) has passed";
    }
    if (whyNot != null) {
      metrics.streamResumption(model, "refused");
      log.info("{} {} rid={}: stream broken on node {} ({}) is not continued: {}", request.endpoint().path(), model,
          origin.requestId(), brokenNode, why, whyNot);
      return false;
    }
    Target next = resumeTarget();
    if (next == null) {
      metrics.streamResumption(model, "no_node");
      log.info("{} {} rid={}: stream broken on node {} ({}) is not continued: no other node of the model is in "
          + "rotation", request.endpoint().path(), model, origin.requestId(), brokenNode, why);
      return false;
    }
    ObjectNode body = splice.continuation();
    if (brokeAtNanos < 0) brokeAtNanos = clock.nanos();
    log.info("{} {} rid={}: stream broken on node {} ({}) after {} tokens: continuing on node {} (resumption {} of at "
        + "most {})", request.endpoint().path(), model, origin.requestId(), brokenNode, why, splice.relayedTokens(),
        next.entry().id(), splice.resumptions(), maxResumptions);
    Attempt c = new Attempt(this, next, Buffer.buffer(body.toString()));
    attempt = c;
    listener.attemptSent(c.nodeId());
    c.send();
    return true;
  }

  /**
   * The first node the routing policy would take now ({@link ExchangeListener#resumeTargets}; the request's own plan
   * when it has none) that is in rotation, has not failed this request and is reached as the first was (translated or
   * not).
   */
  private Target resumeTarget() {
    Target t = firstUsable(listener.resumeTargets());
    return t != null ? t : firstUsable(plan);
  }

  private Target firstUsable(List<Target> targets) {
    long now = clock.millis();
    boolean translated = relay != null;
    for (Target t : targets) {
      if (failedNodes.contains(t.entry().id()) || t.translate() != translated) continue;
      if (mayContinueOn(t.entry(), now)) return t;
    }
    return null;
  }

  /**
   * Whether a stream may be continued on {@code node}: in rotation (not down, ejected or suspected) and serving the
   * model. A node cooling down after a busy answer is not skipped: a client waiting mid-stream is better served by
   * asking it (and the next node if it is still full) than by ending the stream.
   */
  private boolean mayContinueOn(NodeEntry node, long now) {
    Set<String> served = node.servedModels();
    return node.health().eligible(now) && (served == null || served.contains(request.model()));
  }

  /** Ends a committed answer that broke and is not continued. */
  private void endBroken(String why) {
    flushPending();
    if (framed) {
      byte[] nodeError = splice == null ? null : splice.errorEvent();
      Buffer end = null;
      if (nodeError != null) end = relay != null ? relay.events(Buffer.buffer(nodeError)) : Buffer.buffer(nodeError);
      if (end == null || end.length() == 0) end = request.endpoint().dialect().streamError(ErrorKind.STREAM_INTERRUPTED, why);
      resp.end(end);
    } else {
      resp.reset();
    }
    capture.drop();
    finish(ErrorKind.STREAM_INTERRUPTED.status(), "failed", true);
  }

  /** The response trailer that marks a continued stream, for clients that send {@code TE: trailers}. */
  public static final String RESUMED_TRAILER = "sluice-resumed";

  private boolean acceptsTrailers() {
    String te = req.getHeader("te");
    return te != null && te.toLowerCase(Locale.ROOT).contains("trailers");
  }

  private void totalTimeout() {
    if (finished) return;
    String why = "request exceeded the total timeout of " + deadlines.total().toMillis() + " ms";
    Attempt a = attempt;
    if (committed && a != null && a.relaying) {
      streamBroken(a, why);
      return;
    }
    if (committed) { // a continuation had not started: it is dropped and the stream ends
      if (a != null) {
        a.resetUpstream();
        a.close();
      }
      attempt = null;
      endBroken(why);
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

  /** Whether the request may be carried over chat completions to nodes that do not speak its dialect. */
  public boolean translated() {
    return overChat != null;
  }

  /** Continuations the stream had (0 when it never broke or was not continued). */
  public int resumptions() {
    return splice == null ? 0 : splice.resumptions();
  }

  /** Nanoseconds the client's stream waited for its continuations, summed. */
  public long resumeDelayNanos() {
    return resumeDelayNanos;
  }

  /** The last bytes relayed to the client (where usage is reported); null when nothing was. */
  public byte[] tail() {
    return capture.tail();
  }
}
