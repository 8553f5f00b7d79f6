package dev.sluice.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What every Ollama dialect shares: paths under the node's root ({@code /api/...}), the error shape
 * {@code {"error":"..."}}, NDJSON streams ending in a {@code "done":true} line, and usage in
 * {@code prompt_eval_count}/{@code eval_count}.
 */
abstract class OllamaDialect implements Dialect {
  static final String NDJSON = "application/x-ndjson";
  private static final byte[] PROMPT_EVAL_COUNT = Bodies.key("prompt_eval_count");
  private static final byte[] EVAL_COUNT = Bodies.key("eval_count");

  @Override
  public final ApiFlavor flavor() {
    return ApiFlavor.OLLAMA;
  }

  @Override
  public Usage usage(byte[] answerOrTail) {
    return Bodies.usageByKeys(answerOrTail, PROMPT_EVAL_COUNT, EVAL_COUNT);
  }

  // ---------------------------------------------------------------- errors

  /** A complete Ollama error body: the message only (Ollama has no type, param or code). */
  static Buffer errorBody(String message) {
    ObjectNode root = Json.MAPPER.createObjectNode();
    root.put("error", message);
    return Buffer.buffer(root.toString());
  }

  /** The error as the NDJSON line that ends a stream already started. */
  static Buffer streamErrorEvent(String message) {
    return errorBody(message).appendString("\n");
  }

  // ---------------------------------------------------------------- NDJSON

  /** Whether an NDJSON stream is a complete successful answer: a last line with {@code "done":true} and no error. */
  static boolean streamComplete(byte[] body) {
    int[] last = Bodies.lastLine(body, body.length);
    return last != null && Bodies.isObjectWithout(body, last[0], last[1], "error", true);
  }

  /** The non-blank lines of an NDJSON body. */
  static List<String> ndjsonLines(byte[] body) {
    List<String> lines = new ArrayList<>();
    for (String line : new String(body, StandardCharsets.UTF_8).split("\r?\n", -1)) {
      if (!line.isBlank()) lines.add(line);
    }
    return lines;
  }
}
