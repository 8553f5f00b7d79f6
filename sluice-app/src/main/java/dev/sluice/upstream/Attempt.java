package dev.sluice.upstream;

import dev.sluice.api.ChatTranslation;
import dev.sluice.api.StreamFramer;
import dev.sluice.flow.NodeCap;
import dev.sluice.health.Failure;
import dev.sluice.node.NodeEntry;
import dev.sluice.routing.NodeSpeed;
import dev.sluice.routing.RetryBudget;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;

/**
 * One try of an {@link Exchange} on one node: sends the request, reads the answer up to its first complete event,
 * relays the rest through the exchange, watches the stream for silence, and teaches the node's speed estimate what it
 * saw. Whatever decides the request (another node, commit, the end) is the exchange's; callbacks that come after the
 * exchange moved on are ignored ({@link Exchange#live}).
 */
final class Attempt {
  /** RELIABILITY.md: Retry-After is honoured up to a cap, so one node cannot take itself out for long. */
  static final long MAX_COOL_DOWN_MILLIS = 10_000;
  /** A busy answer without Retry-After: a short pause, enough for a queue to drain a little. */
  static final long DEFAULT_COOL_DOWN_MILLIS = 1_000;
  /**
   * The largest plain (non-streamed) answer translated from chat completions: it is read whole before it is
   * translated, so it is bounded; a longer one ends as a broken answer. 16 MiB is hundreds of thousands of tokens.
   */
  static final int MAX_TRANSLATED_BODY_BYTES = 16 << 20;

  private final Exchange x;
  final Exchange.Target target;
  final NodeEntry entry;
  final NodeClient node;
  /** A retry's hold on the gateway-wide budget (null for a first attempt, or a retry beyond the budget). */
  private final RetryBudget.Lease lease;
  private long sentNanos;
  /** When the attempt got its connection to the node: its first-token deadline and TTFT count from here. */
  long connectedNanos;
  /** The speed estimate already learned from this attempt's passed deadline. */
  private boolean learnedSlowness;
  /** This stream's silence already made its node suspected (once per stream). */
  private boolean stallReported;
  long firstTokenNanos;
  private long backlogAtSend;
  /**
   * The prompt tokens this node has to prefill: the request's, less those estimated in its prefix cache
   * ({@link Exchange.Target#cachedTokens}). What its backlog counts and what its speed estimate learns from.
   */
  private final long prefillTokens;
  private int chunksAfterFirst;
  private boolean sawFirstToken;
  private HttpClientRequest upstreamReq;
  HttpClientResponse upstreamResp;
  StreamFramer framer;
  /** A translated stream: turns the node's chat events into the client's dialect (null when passed through). */
  ChatTranslation.Relay relay;
  /** A translated plain answer (or a translated node error), read whole before it is translated; else null. */
  Buffer held;
  private long firstTokenTimer = -1;
  private long idleTimer = -1;
  private long lastChunkNanos;
  boolean abandoned;
  private boolean closed;
  /** A continuation of a stream that broke on another node ({@link Exchange#resumedOn}); its body is {@link #body}. */
  final boolean continuation;
  /** The continuation's request body; null for an attempt of the client's request. */
  private final Buffer body;
  /** This attempt's events reach the client (it committed, or it is a continuation past its first event). */
  boolean relaying;

  Attempt(Exchange x, Exchange.Target target, RetryBudget.Lease lease) {
    this(x, target, lease, null);
  }

  /** A continuation: {@code body} (the request continuing the broken stream) goes to {@code target}. */
  Attempt(Exchange x, Exchange.Target target, Buffer body) {
    this(x, target, null, body);
  }

  private Attempt(Exchange x, Exchange.Target target, RetryBudget.Lease lease, Buffer body) {
    this.x = x;
    this.target = target;
    this.entry = target.entry();
    this.node = target.client();
    this.lease = lease;
    this.prefillTokens = Math.max(0, x.promptTokens - Math.max(0, target.cachedTokens()));
    this.continuation = body != null;
    this.body = body;
  }

  String nodeId() {
    return node.spec().id();
  }

  /** Takes a place on the node and sends the request; the first-token deadline runs once connected. */
  void send() {
    entry.requestStarted(prefillTokens);
    int maxTokens = x.request.requestedMaxTokens();
    // its KV footprint: a prefix the node holds already is shared by every request reusing it, not this one's cost
    entry.cap().sent(prefillTokens, maxTokens > 0 ? maxTokens : NodeCap.DEFAULT_OUTPUT_TOKENS);
    backlogAtSend = Math.max(0, entry.inFlightPrefillTokens() - prefillTokens);
    sentNanos = x.clock.nanos();
    boolean overChat = target.translate();
    Buffer body = this.body != null ? this.body : overChat ? x.overChat.chatRequest() : x.request.raw();
    node.http().request(node.target(ForwardedHeaders.toNode(entry.spec(), x.request, overChat, x.req.headers(),
        x.config.timeouts(), x.origin.requestId(), x.origin.trace()))).onComplete(ar -> {
          if (!x.live(this)) {
            if (ar.succeeded()) ar.result().reset();
            return;
          }
          if (ar.failed()) {
            Failure f = FailureClassifier.ofException(ar.cause(), false);
            if (f.kind() == Failure.Kind.BUSY) coolDown(null); // no free connection: back off from it for a moment
            x.attemptFailed(this, f);
            return;
          }
          // The deadline runs from here: time spent waiting for one of our own pooled connections (a node busy with
          // hundreds of streams) is not the node failing to answer, and is bounded (NodeClients.acquireTimeoutMillis).
          connectedNanos = x.clock.nanos();
          long deadlineMs = deadlineMillis();
          armFirstTokenTimer(deadlineMs, deadlineMs);
          upstreamReq = ar.result();
          upstreamReq.send(body).onComplete(rr -> {
            if (!x.live(this)) {
              if (rr.succeeded()) resetUpstream();
              return;
            }
            if (rr.failed()) {
              x.attemptFailed(this, FailureClassifier.ofException(rr.cause(), true));
            } else {
              onResponse(rr.result());
            }
          });
        });
  }

  /** In {@code inMillis}, unless committed by then, the exchange judges the passed deadline {@code deadlineMs}. */
  void armFirstTokenTimer(long inMillis, long deadlineMs) {
    firstTokenTimer = x.vertx.setTimer(Math.max(1, inMillis), id -> {
      if (x.live(this) && !relaying) x.firstTokenDeadlinePassed(this, deadlineMs);
    });
  }

  /**
   * A censored sample, once per attempt: a stream's node was at least {@code waitedMillis} slow to its first token (its
   * speed estimate learns it, and its cap, if the node is at it: the request queues inside the node).
   */
  void learnSlowness(long waitedMillis) {
    if (learnedSlowness || !x.request.stream()) return;
    learnedSlowness = true;
    entry.speed().observeFirstToken((int) Math.min(Integer.MAX_VALUE, prefillTokens), waitedMillis, backlogAtSend);
    entry.cap().firstToken(waitedMillis, target.expectedTtftMillis(), entry.inFlight());
  }

  private void onResponse(HttpClientResponse r) {
    upstreamResp = r;
    Failure f = FailureClassifier.ofStatus(r.statusCode());
    if (f != null) {
      if (f.kind() == Failure.Kind.BUSY) {
        coolDown(r.getHeader(HttpHeaders.RETRY_AFTER));
        entry.cap().busy(entry.inFlight()); // the node itself said so (429, Ollama's 503 "server busy")
      }
      r.exceptionHandler(t -> { }); // our reset's StreamResetException: expected, attemptFailed reports the answer
      resetUpstream();
      x.attemptFailed(this, f);
      return;
    }
    StreamFramer.Mode mode = r.statusCode() / 100 == 2 ? StreamFramer.modeFor(r.getHeader(HttpHeaders.CONTENT_TYPE)) : null;
    framer = mode == null ? null : new StreamFramer(mode);
    if (continuation && framer == null) { // a node that cannot continue (e.g. a 400 to continue_final_message)
      r.exceptionHandler(t -> { });
      resetUpstream();
      x.attemptFailed(this, new Failure(Failure.Kind.NODE_ERROR, "HTTP " + r.statusCode() + " ("
          + r.getHeader(HttpHeaders.CONTENT_TYPE) + ") instead of a stream"));
      return;
    }
    if (target.translate()) {
      if (framer != null) relay = continuation ? x.relay : x.overChat.relay();
      else held = Buffer.buffer();
    }
    r.handler(this::onChunk);
    r.endHandler(v -> onEnd());
    r.exceptionHandler(this::onUpstreamError);
  }

  /**
   * A busy node's Retry-After (seconds) keeps new requests away from it for that long, capped at
   * {@link #MAX_COOL_DOWN_MILLIS}; a busy answer without one cools it for {@link #DEFAULT_COOL_DOWN_MILLIS}.
   */
  private void coolDown(String retryAfter) {
    long millis = DEFAULT_COOL_DOWN_MILLIS;
    if (retryAfter != null) {
      try {
        millis = Math.min(MAX_COOL_DOWN_MILLIS, Math.max(0, Long.parseLong(retryAfter.trim())) * 1000);
      } catch (NumberFormatException e) {
        // an HTTP date or garbage: keep the default
      }
    }
    entry.coolDown(x.clock.millis() + millis);
  }

  private void onChunk(Buffer buf) {
    if (!x.live(this)) return;
    long now = x.clock.nanos();
    entry.progress(now);
    if (!relaying) {
      Buffer ready = framer == null ? buf : framer.push(buf);
      if (ready.length() == 0) return;
      if (framer != null) {
        Failure f = FailureClassifier.ofFirstEvent(ready.getBytes(0, Math.min(ready.length(), 64)));
        if (f != null) {
          resetUpstream();
          x.attemptFailed(this, f);
          return;
        }
      }
      if (continuation) x.resumedOn(this); else x.commit(this);
      relayOut(ready);
      return;
    }
    armIdle(now);
    chunksAfterFirst++;
    Buffer ready = framer == null ? buf : framer.push(buf);
    if (ready.length() > 0) relayOut(ready);
  }

  /** Sends the node's bytes on: as they are, or translated event by event, or held whole to translate at the end. */
  private void relayOut(Buffer ready) {
    if (held != null) {
      if (held.length() + ready.length() > MAX_TRANSLATED_BODY_BYTES) {
        x.streamBroken(this, "node " + nodeId() + " sent a plain answer larger than " + MAX_TRANSLATED_BODY_BYTES
            + " bytes to translate");
        return;
      }
      held.appendBuffer(ready);
      return;
    }
    if (x.splice != null) ready = splice(ready);
    Buffer out = relay == null ? ready : relay.events(ready);
    if (out.length() > 0) x.write(this, out);
    if (x.splice != null && x.splice.errorEvent() != null) {
      x.streamBroken(this, "node " + nodeId() + " sent an error event mid-stream");
    }
  }

  /** The events as the stream's splice passes them on: the first node's unchanged, a continuation's spliced. */
  private Buffer splice(Buffer ready) {
    byte[] in = ready.getBytes();
    byte[] out = x.splice.events(in);
    return out == in ? ready : Buffer.buffer(out);
  }

  /** What ends the client's answer after the node's last byte: the framer's rest, translated where it must be. */
  private Buffer lastBytes() {
    Buffer rest = framer == null ? Buffer.buffer() : framer.drain();
    if (relay != null) return rest.length() == 0 ? relay.end() : relay.events(rest).appendBuffer(relay.end());
    if (held == null) return rest;
    byte[] whole = held.getBytes();
    held = null;
    int status = upstreamResp.statusCode();
    x.resp.putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
    return status / 100 == 2 ? x.overChat.answer(whole) : x.overChat.error(status, whole);
  }

  /** The exchange committed to this attempt: the node's first token, its time to it learned for a stream. */
  void committed() {
    relaying = true;
    cancelTimer(firstTokenTimer);
    firstTokenNanos = x.clock.nanos();
    entry.firstToken(prefillTokens);
    sawFirstToken = true;
    if (lease != null) lease.firstToken(); // a retry holds the budget while it tries, not for its whole answer
    if (upstreamResp.statusCode() / 100 == 2 && framer != null) { // a plain body's first byte is its whole answer
      double ttftMillis = (firstTokenNanos - connectedNanos) / 1_000_000.0;
      entry.speed().observeFirstToken((int) Math.min(Integer.MAX_VALUE, prefillTokens), ttftMillis, backlogAtSend);
      if (!learnedSlowness) {
        entry.cap().firstTokenCame(Math.round(ttftMillis), target.expectedTtftMillis(), entry.inFlight());
      }
    }
  }

  private void onEnd() {
    if (!x.live(this)) return;
    if (!relaying) {
      if (continuation) {
        x.attemptFailed(this, new Failure(Failure.Kind.RESET_BEFORE_FIRST_BYTE, "the stream ended before its first"
            + " event"));
        return;
      }
      x.commit(this);
    }
    if (x.splice != null && framer != null) { // a generation stream: it must reach its proper end
      Buffer rest = framer.drain();
      if (rest.length() > 0) relayOut(rest);
      if (!x.live(this)) return;
      if (!x.splice.ended()) {
        x.streamBroken(this, "node " + nodeId() + " ended the stream before its last event");
        return;
      }
    }
    Buffer tail = lastBytes();
    close();
    boolean ok = upstreamResp.statusCode() / 100 == 2;
    long chunkGapNanos = -1;
    if (ok) {
      entry.completed(x.clock.nanos());
      entry.health().observeSuccess();
      if (framer != null && chunksAfterFirst >= 1) {
        chunkGapNanos = (x.clock.nanos() - firstTokenNanos) / chunksAfterFirst;
      }
      if (framer != null && chunksAfterFirst >= 2) {
        double decodeMillis = (x.clock.nanos() - firstTokenNanos) / 1_000_000.0;
        entry.speed().observeDecode(chunksAfterFirst, decodeMillis);
        entry.cap().decoded(chunksAfterFirst, decodeMillis); // a saturated node shows it in its decode, not its queue
      }
    }
    x.metrics.attempt(nodeId(), "ok");
    x.capture.add(tail);
    if (framer == null && ok) learnFromPlainAnswer();
    x.ended(this, tail, chunkGapNanos);
  }

  /**
   * A plain (non-streamed) answer arrives whole: its time is its prefill plus its completion tokens' decode, one
   * equation for two speeds. The part the node's current estimate says dominates is the one learned, the other taken
   * from the estimate: a short prompt with a long answer teaches the decode speed, a long prompt with a short answer
   * the prefill speed. So a node that only ever gets plain requests still has its speed known. Answers without a token
   * count (embeddings) teach nothing.
   */
  private void learnFromPlainAnswer() {
    long completion = x.request.endpoint().dialect().usage(x.capture.tail()).completionTokens();
    if (completion < 0) return;
    double total = (x.clock.nanos() - connectedNanos) / 1_000_000.0;
    NodeSpeed speed = entry.speed().current();
    long prefillAhead = prefillTokens + backlogAtSend;
    double prefillMs = prefillAhead * 1000.0 / speed.prefillTokensPerSecond();
    double decodeMs = completion * speed.decodeMillisPerToken();
    if (decodeMs >= prefillMs) {
      entry.speed().observeDecode(completion, total - prefillMs);
    } else {
      entry.speed().observeFirstToken((int) Math.min(Integer.MAX_VALUE, prefillTokens), total - decodeMs,
          backlogAtSend);
    }
  }

  private void onUpstreamError(Throwable t) {
    if (!x.live(this)) return;
    if (!relaying) {
      x.attemptFailed(this, FailureClassifier.ofException(t, true));
      return;
    }
    x.streamBroken(this, "node " + nodeId() + " closed the stream before it ended");
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
    long idle = x.deadlines.idle().toNanos();
    long stall = NodeEntry.STREAM_SILENCE_MILLIS * 1_000_000;
    return (stallReported || stall >= idle ? idle : stall) - silent;
  }

  private void scheduleIdleCheck(long inNanos) {
    idleTimer = x.vertx.setTimer(Math.max(1, inNanos / 1_000_000), id -> {
      idleTimer = -1;
      if (!x.live(this) || !relaying) return;
      long silent = x.clock.nanos() - lastChunkNanos;
      if (!stallReported && silent >= NodeEntry.STREAM_SILENCE_MILLIS * 1_000_000) {
        stallReported = true;
        entry.health().suspect("a stream it serves sent nothing for " + silent / 1_000_000 + " ms");
      }
      if (silent < x.deadlines.idle().toNanos()) {
        scheduleIdleCheck(nextCheckNanos(silent));
        return;
      }
      x.streamBroken(this, "node " + nodeId() + " sent nothing for " + x.deadlines.describeIdle());
    });
  }

  /** Abandons this attempt: its late callbacks (including the reset's own exception) are ignored from now on. */
  void resetUpstream() {
    abandoned = true;
    if (upstreamReq != null) upstreamReq.reset();
  }

  private void cancelTimer(long id) {
    if (id >= 0) x.vertx.cancelTimer(id);
  }

  void cancelTimers() {
    cancelTimer(firstTokenTimer);
    cancelTimer(idleTimer);
  }

  /** Releases the node's in-flight slot, once. */
  void close() {
    cancelTimers();
    if (closed) return;
    closed = true;
    if (sentNanos > 0) x.upstreamNanos += x.clock.nanos() - sentNanos;
    entry.requestEnded(prefillTokens, sawFirstToken);
    if (lease != null) lease.end();
    x.attemptEnded(nodeId());
  }

  /** This attempt's first-token deadline in milliseconds. */
  long deadlineMillis() {
    long derived = target.firstTokenDeadlineMillis();
    return derived > 0 ? derived : x.config.timeouts().firstToken().toMillis();
  }
}
