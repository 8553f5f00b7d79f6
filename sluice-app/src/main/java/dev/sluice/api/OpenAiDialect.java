package dev.sluice.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What every OpenAI dialect shares: paths under the node's OpenAI base ({@code .../v1}), the error shape
 * {@code {"error":{"message","type","param","code"}}}, SSE streams ending in {@code data: [DONE]}, and usage in
 * {@code usage.prompt_tokens}/{@code completion_tokens}.
 */
abstract class OpenAiDialect implements Dialect {
  static final String SSE = "text/event-stream";
  static final String DONE = "[DONE]";
  private static final byte[] PROMPT_TOKENS = Bodies.key("prompt_tokens");
  private static final byte[] COMPLETION_TOKENS = Bodies.key("completion_tokens");
  /** {@code usage.prompt_tokens_details.cached_tokens}: prompt tokens read from the node's prefix cache. */
  private static final byte[] CACHED_TOKENS = Bodies.key("cached_tokens");

  @Override
  public final ApiFlavor flavor() {
    return ApiFlavor.OPENAI;
  }

  @Override
  public Usage usage(byte[] answerOrTail) {
    return Bodies.usageByKeys(answerOrTail, PROMPT_TOKENS, COMPLETION_TOKENS, CACHED_TOKENS);
  }

  // ---------------------------------------------------------------- errors

  /** A complete OpenAI error body. {@code param} and the kind's code may be null. */
  static Buffer errorBody(ErrorKind kind, String message, String param) {
    ObjectNode root = Json.MAPPER.createObjectNode();
    ObjectNode err = root.putObject("error");
    err.put("message", message);
    err.put("type", kind.openAiType());
    if (param == null) err.putNull("param"); else err.put("param", param);
    if (kind.openAiCode() == null) err.putNull("code"); else err.put("code", kind.openAiCode());
    return Buffer.buffer(root.toString());
  }

  /** The error as the SSE event that ends a stream already started. */
  static Buffer streamErrorEvent(ErrorKind kind, String message) {
    return Buffer.buffer("data: ").appendBuffer(errorBody(kind, message, null)).appendString("\n\n");
  }

  // ---------------------------------------------------------------- SSE

  /**
   * Whether an SSE stream is a complete successful answer: a final {@code data: [DONE]} not preceded by an error
   * event (vLLM sends an error event and then [DONE]). Scans only the end.
   */
  static boolean streamComplete(byte[] body) {
    int[] done = Bodies.lastLine(body, body.length);
    if (done == null || !DONE.equals(sseData(body, done))) return false;
    int[] previous = Bodies.lastLine(body, done[0]);
    if (previous == null) return false;
    String data = sseData(body, previous);
    if (data == null || DONE.equals(data)) return false;
    byte[] json = data.getBytes(StandardCharsets.UTF_8);
    return Bodies.isObjectWithout(json, 0, json.length, "error", false);
  }

  /**
   * The data of each SSE event in order (several {@code data:} lines joined by newlines; comments and other fields
   * skipped). A last event without its blank line still counts: whether the stream ended is decided by [DONE].
   */
  static List<String> sseEvents(byte[] body) {
    List<String> events = new ArrayList<>();
    StringBuilder data = null;
    for (String line : new String(body, StandardCharsets.UTF_8).split("\r\n|\n|\r", -1)) {
      if (line.isEmpty()) {
        if (data != null) events.add(data.toString());
        data = null;
        continue;
      }
      if (!line.startsWith("data:")) continue;
      String value = line.startsWith("data: ") ? line.substring(6) : line.substring(5);
      data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
    }
    if (data != null) events.add(data.toString());
    return events;
  }

  /** The value of an SSE {@code data:} line, or null for another line. */
  private static String sseData(byte[] body, int[] line) {
    String text = new String(body, line[0], line[1] - line[0], StandardCharsets.UTF_8);
    if (!text.startsWith("data:")) return null;
    return text.startsWith("data: ") ? text.substring(6) : text.substring(5);
  }

  /** One SSE event carrying {@code body}. */
  static Buffer event(ObjectNode body) {
    return Buffer.buffer("data: ").appendBytes(Bodies.bytes(body)).appendString("\n\n");
  }
}
