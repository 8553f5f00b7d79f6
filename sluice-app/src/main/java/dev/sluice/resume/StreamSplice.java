package dev.sluice.resume;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * One stream's text across the nodes that answer it. It sees every complete event a node sends before the event goes
 * on (to the client, or to the translation that carries the stream to the client's dialect), and keeps what a
 * continuation needs: the text and reasoning relayed, how many completion tokens that was, whether tool-call bytes or
 * anything else that cannot be continued went out, and the first node's {@code id}/{@code created}/{@code model}.
 *
 * <p>When the node answering breaks (reset, closed early, an in-band error event, a stall), {@link #whyNot} says
 * whether the stream may be continued, {@link #continuation} gives the request for the next node (the original request
 * with the relayed text as the answer's start and the token limit reduced by what was relayed), and from then on
 * {@link #events} splices that node's events into the one stream the client sees: no second role chunk, the first
 * node's id, created and model, usage counting the prompt once and every completion token. The rules per wire format
 * are in the subclasses; docs/stream-resumption.md has them all.
 *
 * <p>The first node's events pass through byte for byte; only a continuation's are rewritten. Not thread-safe (one
 * stream, one event loop).
 */
public abstract class StreamSplice {
  /** At most this many continuations per stream: a third broken node in one answer is a cluster problem, not bad luck. */
  public static final int MAX_RESUMPTIONS = 2;

  /** The request as first sent to the node (the node-side body; for a translated stream, its chat completion). */
  final ObjectNode original;
  private final Predicate<byte[]> isErrorEvent;
  /** Nanoseconds since the request arrived: an Ollama final line's {@code total_duration} of a spliced stream. */
  final LongSupplier elapsedNanos;

  /** Content text relayed so far, over every node. */
  final StringBuilder text = new StringBuilder();
  /** Reasoning text relayed so far. */
  final StringBuilder reasoning = new StringBuilder();
  /** Completion tokens relayed so far: one per event that carried a piece of text or reasoning. */
  int tokens;
  /** Tokens relayed before the node now answering started (0 for the first node). */
  int carried;
  /** Tool-call bytes reached the client. */
  boolean toolCalls;
  /** Something that is neither text nor reasoning nor tool calls reached the client (a refusal, several choices). */
  String unfollowable;
  /** The node's finish reason was relayed (its answer was whole; at most its end was missing). */
  boolean finished;
  /** The stream's terminal event ({@code [DONE]}, Ollama's done line) was relayed. */
  boolean ended;
  /** A continuation is answering: its events are rewritten. */
  boolean continuing;
  /** A continuation turned thinking off (the cut came after the reasoning): any reasoning it sends is dropped. */
  boolean thinkingOff;
  /** Time the broken nodes spent before their first chunk and decoding, in nanoseconds (Ollama's durations). */
  long earlierPromptEvalNanos;
  long earlierEvalNanos;
  private int resumptions;
  private byte[] errorEvent;
  /** The stream is never continued: events are only watched for errors and the terminal event, not read. */
  boolean watchOnly;

  StreamSplice(ObjectNode original, Predicate<byte[]> isErrorEvent, LongSupplier elapsedNanos) {
    this.original = Objects.requireNonNull(original, "original");
    this.isErrorEvent = Objects.requireNonNull(isErrorEvent, "isErrorEvent");
    this.elapsedNanos = Objects.requireNonNull(elapsedNanos, "elapsedNanos");
  }

  /**
   * The splice for a stream of {@code wire} whose node-side request is {@code request}.
   *
   * @param isErrorEvent whether one complete event is an in-band error (upstream's FailureClassifier knows the shapes)
   * @param elapsedNanos nanoseconds since the request arrived, read when a spliced Ollama stream ends
   */
  public static StreamSplice of(Wire wire, ObjectNode request, Predicate<byte[]> isErrorEvent,
      LongSupplier elapsedNanos) {
    return switch (wire) {
      case OPENAI_CHAT -> new OpenAiSplice(true, request, isErrorEvent, elapsedNanos);
      case OPENAI_COMPLETIONS -> new OpenAiSplice(false, request, isErrorEvent, elapsedNanos);
      case OLLAMA_CHAT -> new OllamaSplice(true, request, isErrorEvent, elapsedNanos);
      case OLLAMA_GENERATE -> new OllamaSplice(false, request, isErrorEvent, elapsedNanos);
      case ANTHROPIC_MESSAGES -> new AnthropicSplice(request, isErrorEvent, elapsedNanos);
      case OPENAI_RESPONSES -> new ResponsesSplice(request, isErrorEvent, elapsedNanos);
    };
  }

  /**
   * Why no stream of this request can ever be continued, or null when it can: several choices ({@code n} &gt; 1),
   * log probabilities, constrained output (a JSON schema or format restarts its grammar on the next node), and raw
   * prompts that are not one string. Decided once, before the first node is tried.
   */
  public static String refusal(Wire wire, JsonNode request) {
    return switch (wire) {
      case OPENAI_CHAT, OPENAI_COMPLETIONS -> OpenAiSplice.refusal(wire == Wire.OPENAI_CHAT, request);
      case OLLAMA_CHAT, OLLAMA_GENERATE -> OllamaSplice.refusal(wire == Wire.OLLAMA_CHAT, request);
      case ANTHROPIC_MESSAGES -> AnthropicSplice.refusal(request);
      case OPENAI_RESPONSES -> ResponsesSplice.refusal(request);
    };
  }

  // ---------------------------------------------------------------- events

  /**
   * Complete events of the node now answering, in order: the bytes to pass on. The first node's pass unchanged; a
   * continuation's are rewritten (some dropped). Stops at an in-band error event: that event and whatever follows it
   * are held back ({@link #errorEvent}); the caller ends or continues the stream.
   */
  public final byte[] events(byte[] complete) {
    if (errorEvent != null) return new byte[0];
    ByteArrayOutputStream out = continuing ? new ByteArrayOutputStream(complete.length + 64) : null;
    int start = 0;
    int passedUpTo = 0;
    while (start < complete.length) {
      int end = eventEnd(complete, start);
      byte[] event = Arrays.copyOfRange(complete, start, end);
      if (isErrorEvent.test(event)) {
        errorEvent = Arrays.copyOfRange(complete, start, complete.length);
        return out == null ? Arrays.copyOfRange(complete, 0, start) : out.toByteArray();
      }
      if (out == null) {
        if (watchOnly) {
          if (!ended) ended = isTerminal(event);
        } else {
          observe(event);
        }
      } else {
        out.writeBytes(rewrite(event));
      }
      start = end;
      passedUpTo = end;
    }
    return out == null ? (passedUpTo == complete.length ? complete : Arrays.copyOf(complete, passedUpTo))
        : out.toByteArray();
  }

  /** Index just after the event starting at {@code from}: its blank line (SSE) or newline (NDJSON), else the end. */
  abstract int eventEnd(byte[] b, int from);

  /** Whether the event is the stream's terminal one, without parsing it as a whole. */
  abstract boolean isTerminal(byte[] event);

  /** Notes what one event of the first node carried. */
  abstract void observe(byte[] event);

  /** One event of a continuation as the client gets it (possibly empty: dropped), noting what it carried. */
  abstract byte[] rewrite(byte[] event);

  /** The in-band error event that stopped the stream, with what followed it; null when none came. */
  public final byte[] errorEvent() {
    return errorEvent;
  }

  /** Whether the stream's terminal event was relayed: the answer reached its proper end. */
  public final boolean ended() {
    return ended;
  }

  // ---------------------------------------------------------------- continuing

  /**
   * Why the stream cannot be continued now, or null when it can. Rules: at most {@code maxResumptions}; no tool-call
   * bytes relayed (a half-streamed call cannot be continued, and restarting the turn would repeat it); not cut inside
   * reasoning (no node API continues a partial reasoning block as reasoning); not after the answer's finish reason; a
   * token limit not yet reached.
   */
  public final String whyNot(int maxResumptions) {
    if (resumptions >= maxResumptions) {
      return "it was continued " + resumptions + (resumptions == 1 ? " time" : " times") + " already (at most "
          + maxResumptions + " per stream)";
    }
    if (toolCalls) return "tool-call bytes had reached the client (a partly streamed tool call is never continued)";
    if (unfollowable != null) return unfollowable;
    if (reasoning.length() > 0 && text.length() == 0 && !thinkingOff) {
      return "it was cut inside its reasoning (no node API continues a partial reasoning block as reasoning)";
    }
    if (finished) return "its finish reason had been relayed: the answer was whole, only its end was missing";
    int limit = limit(original);
    if (limit > 0 && limit - tokens < 1) {
      return "its token limit (" + limit + ") had been reached: only its end was missing";
    }
    return null;
  }

  /**
   * The request that continues the stream on the next node, and the splice switched to that node's events. Call only
   * when {@link #whyNot} is null. Nothing relayed yet but the stream's head: the original request again (the turn
   * restarts); else the original request with all the text relayed so far as the start of the answer and the token
   * limit reduced by the tokens relayed.
   */
  public final ObjectNode continuation() {
    ObjectNode body = original.deepCopy();
    if (text.length() > 0 || reasoning.length() > 0) {
      int limit = limit(original);
      if (limit > 0) setLimit(body, limit - tokens);
      thinkingOff = thinkingOff || reasoning.length() > 0;
      continueText(body, text.toString(), thinkingOff);
    }
    carried = tokens;
    continuing = true;
    resumptions++;
    errorEvent = null;
    return body;
  }

  /** Writes the start of the answer into {@code body} so the next node continues it; {@code noThinking}: turn it off. */
  abstract void continueText(ObjectNode body, String start, boolean noThinking);

  /** The request's token limit, 0 when it sets none. */
  abstract int limit(ObjectNode body);

  /** Sets the token limit the request gives. */
  abstract void setLimit(ObjectNode body, int limit);

  /**
   * The broken node worked this long: {@code promptEvalNanos} before its first chunk, {@code evalNanos} from it to its
   * last; a spliced Ollama final line adds them to the continuation's durations.
   */
  public final void brokenNodeWorked(long promptEvalNanos, long evalNanos) {
    earlierPromptEvalNanos += Math.max(0, promptEvalNanos);
    earlierEvalNanos += Math.max(0, evalNanos);
  }

  /**
   * The stream will never be continued (resumption off, or a request that cannot be): its events are only watched
   * for in-band errors and its terminal event, which costs no JSON parsing.
   */
  public final void watchOnly() {
    watchOnly = true;
  }

  /** Continuations started so far. */
  public final int resumptions() {
    return resumptions;
  }

  /** Completion tokens relayed so far, over every node. */
  public final int relayedTokens() {
    return tokens;
  }

  /** The content text relayed so far (for tests and logs). */
  public final String relayedText() {
    return text.toString();
  }

  // ---------------------------------------------------------------- shared helpers

  /**
   * Puts {@code start} where the next node continues it: appended to the request's own final assistant message when
   * the request already had one that the node continues ({@code prefill}: a client's own prefill), else as a new
   * final assistant message.
   */
  static void continueAssistant(ObjectNode body, String start, boolean prefill) {
    JsonNode messages = body.path("messages");
    JsonNode last = messages.isArray() && !messages.isEmpty() ? messages.get(messages.size() - 1) : null;
    if (prefill && last instanceof ObjectNode m && "assistant".equals(m.path("role").asText())
        && m.path("content").isTextual()) {
      m.put("content", m.get("content").asText() + start);
      return;
    }
    body.withArray("messages").addObject().put("role", "assistant").put("content", start);
  }

  /** A piece of text relayed: content unless {@code isReasoning}; one completion token. */
  final void relayed(String piece, boolean isReasoning) {
    if (piece == null || piece.isEmpty()) return;
    (isReasoning ? reasoning : text).append(piece);
    tokens++;
  }

  /** Where the SSE event starting at {@code from} ends (after its blank line), or the end of {@code b}. */
  static int sseEventEnd(byte[] b, int from) {
    for (int i = from; i < b.length; i++) {
      if (b[i] != '\n') continue;
      if (i > from && b[i - 1] == '\n') return i + 1;
      if (i > from + 1 && b[i - 1] == '\r' && b[i - 2] == '\n') return i + 1;
    }
    return b.length;
  }

  /** The data of an SSE event (its {@code data:} lines joined), or null when it has none (a comment, a ping). */
  static String sseData(byte[] event) {
    StringBuilder data = null;
    for (String line : utf8(event).split("\r\n|\n|\r")) {
      if (!line.startsWith("data:")) continue;
      String value = line.startsWith("data: ") ? line.substring(6) : line.substring(5);
      data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
    }
    return data == null ? null : data.toString();
  }

  /** The data of an SSE event as a JSON object, or null. */
  static ObjectNode sseObject(byte[] event) {
    String data = sseData(event);
    return data == null ? null : object(data);
  }

  /** The JSON object in {@code json}, or null when it is none. */
  static ObjectNode object(String json) {
    try {
      JsonNode node = Json.MAPPER.readTree(json);
      return node instanceof ObjectNode o ? o : null;
    } catch (IOException e) {
      return null;
    }
  }

  static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A non-negative int field, or 0. */
  static int positive(JsonNode n) {
    return n != null && n.canConvertToInt() && n.asInt() > 0 ? n.asInt() : 0;
  }
}
