package dev.sluice.api;

import io.vertx.core.buffer.Buffer;
import java.util.Locale;

/**
 * Splits a relayed stream at event boundaries without changing a byte, in the framing its content type names (the
 * OpenAI dialects' SSE, the Ollama dialects' NDJSON): SSE events end with a blank line
 * ({@code \n\n} or {@code \r\n\r\n}), NDJSON records with {@code \n}. {@link #push} returns the bytes up to the last
 * complete event and keeps the incomplete tail, so the gateway can commit on the first whole event, and when a node
 * dies mid-event the client never sees half an event followed by the gateway's error event. Only a partial event is
 * ever held (at most {@link #MAX_PENDING_BYTES}); the stream itself is never buffered.
 */
public final class StreamFramer {
  /** A single event larger than this is passed through unframed rather than held. */
  public static final int MAX_PENDING_BYTES = 1 << 20;

  /** How events are delimited. */
  public enum Mode { SSE, NDJSON }

  private final Mode mode;
  private Buffer pending;

  public StreamFramer(Mode mode) {
    this.mode = mode;
  }

  /** The framing for a response content type, or null when the body is not an event stream. */
  public static Mode modeFor(String contentType) {
    if (contentType == null) return null;
    String ct = contentType.toLowerCase(Locale.ROOT);
    if (ct.startsWith(OpenAiDialect.SSE)) return Mode.SSE;
    if (ct.startsWith(OllamaDialect.NDJSON) || ct.startsWith("application/jsonl")) return Mode.NDJSON;
    return null;
  }

  /** Appends bytes; returns every complete event so far (possibly empty), in order, byte for byte. */
  public Buffer push(Buffer in) {
    Buffer all;
    int scanFrom;
    if (pending == null || pending.length() == 0) {
      all = in;
      scanFrom = 0;
    } else {
      scanFrom = Math.max(0, pending.length() - 3);
      all = pending.appendBuffer(in);
    }
    int cut = lastBoundary(all, scanFrom);
    if (cut == all.length()) {
      pending = null;
      return all;
    }
    if (cut == 0 && all.length() <= MAX_PENDING_BYTES) {
      pending = all == in ? in.copy() : all;
      return Buffer.buffer();
    }
    if (all.length() - cut > MAX_PENDING_BYTES) {
      pending = null;
      return all;
    }
    pending = all.getBuffer(cut, all.length());
    return all.getBuffer(0, cut);
  }

  /** The incomplete tail held so far (empty when none); clears it. */
  public Buffer drain() {
    Buffer rest = pending == null ? Buffer.buffer() : pending;
    pending = null;
    return rest;
  }

  /** Whether an incomplete event is held. */
  public boolean hasPartialEvent() {
    return pending != null && pending.length() > 0;
  }

  /** Index just after the last complete event in {@code b}, at or after {@code from}; 0 when there is none. */
  private int lastBoundary(Buffer b, int from) {
    for (int i = b.length() - 1; i >= from; i--) {
      if (b.getByte(i) != '\n') continue;
      if (mode == Mode.NDJSON) return i + 1;
      if (i >= 1 && b.getByte(i - 1) == '\n') return i + 1;
      if (i >= 2 && b.getByte(i - 1) == '\r' && b.getByte(i - 2) == '\n') return i + 1;
    }
    return 0;
  }
}
