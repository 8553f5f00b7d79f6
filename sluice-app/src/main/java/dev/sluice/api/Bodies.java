package dev.sluice.api;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.support.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reading and writing answer bodies, shared by every {@link Dialect}: JSON checks that build no tree, the last line of
 * a stream, usage counts found by key from the end, and the pieces a replayed stream is cut into.
 */
final class Bodies {
  static final String JSON = "application/json";
  /** The headers of an event stream the gateway writes, as the APIs' own: never cached by proxies on the way. */
  static final Map<String, String> NO_CACHE = Map.of("cache-control", "no-cache");
  /** A replayed stream sends pieces of at least this many characters, cut after a word where one ends nearby. */
  static final int PIECE_CHARS = 16;
  /** And about this many pieces at most, so a long answer replays in a bounded number of events. */
  static final int MAX_PIECES = 64;

  private Bodies() {}

  /** Thrown inside parsing when the body is well-formed but not a plain text answer. */
  static final class NotAnAnswer extends Exception {
    static final NotAnAnswer INSTANCE = new NotAnAnswer();

    private NotAnAnswer() {
      super(null, null, false, false);
    }
  }

  // ---------------------------------------------------------------- reading

  /** An object body without a top-level {@code "error"}, else not an answer. */
  static JsonNode readObject(byte[] body) throws IOException, NotAnAnswer {
    return checked(Json.MAPPER.readTree(body));
  }

  static JsonNode readObject(String text) throws IOException, NotAnAnswer {
    return checked(Json.MAPPER.readTree(text));
  }

  private static JsonNode checked(JsonNode node) throws NotAnAnswer {
    if (node == null || !node.isObject() || node.has("error")) throw NotAnAnswer.INSTANCE;
    return node;
  }

  static String textOrFail(JsonNode node) throws NotAnAnswer {
    if (node == null || !node.isTextual()) throw NotAnAnswer.INSTANCE;
    return node.asText();
  }

  static String text(JsonNode node) {
    return node != null && node.isTextual() ? node.asText() : null;
  }

  /** A message or delta with tool calls, a function call or a refusal is not a plain text answer. */
  static void rejectNonText(JsonNode message) throws NotAnAnswer {
    if (!message.isObject()) throw NotAnAnswer.INSTANCE;
    JsonNode toolCalls = message.get("tool_calls");
    if (toolCalls != null && !toolCalls.isNull() && !toolCalls.isEmpty()) throw NotAnAnswer.INSTANCE;
    JsonNode call = message.get("function_call");
    if (call != null && !call.isNull()) throw NotAnAnswer.INSTANCE;
    JsonNode refusal = message.get("refusal");
    if (refusal != null && !refusal.isNull()) throw NotAnAnswer.INSTANCE;
  }

  /** A usage count as an {@link Answer} carries it: 0 when unknown, at most {@link Integer#MAX_VALUE}. */
  static int tokens(long reported) {
    return reported < 0 ? 0 : (int) Math.min(Integer.MAX_VALUE, reported);
  }

  /**
   * Whether bytes {@code [from, to)} are exactly one JSON object without the top-level field {@code forbidden} (and,
   * with {@code requireDone}, with {@code "done":true}), read as tokens without building a tree.
   */
  static boolean isObjectWithout(byte[] body, int from, int to, String forbidden, boolean requireDone) {
    try (JsonParser p = Json.MAPPER.getFactory().createParser(body, from, to - from)) {
      if (p.nextToken() != JsonToken.START_OBJECT) return false;
      boolean done = false;
      for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
        if (t != JsonToken.FIELD_NAME) return false;
        String name = p.currentName();
        if (name.equals(forbidden)) return false;
        JsonToken value = p.nextToken();
        if (name.equals("done")) done = value == JsonToken.VALUE_TRUE;
        p.skipChildren();
      }
      return p.nextToken() == null && (done || !requireDone);
    } catch (IOException e) {
      return false;
    }
  }

  /** {start, end} of the last non-blank line before {@code end}, or null. */
  static int[] lastLine(byte[] body, int end) {
    int e = end;
    while (e > 0 && isBlank(body[e - 1])) e--;
    if (e == 0) return null;
    int s = e;
    while (s > 0 && body[s - 1] != '\n' && body[s - 1] != '\r') s--;
    return new int[] {s, e};
  }

  private static boolean isBlank(byte b) {
    return b == '\n' || b == '\r' || b == ' ' || b == '\t';
  }

  /** A JSON key with its quotes, as bytes to look for. */
  static byte[] key(String name) {
    return ('"' + name + '"').getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * Usage found by the last occurrence of its two keys rather than by parsing, so it works on the tail of a long
   * answer as well as on a whole one: -1 for a key that is absent. A key inside generated text is escaped
   * ({@code \"prompt_tokens\"}) and so never matches.
   */
  static Usage usageByKeys(byte[] answerOrTail, byte[] promptKey, byte[] completionKey) {
    if (answerOrTail == null) return Usage.UNKNOWN;
    return new Usage(lastNumberAfter(answerOrTail, promptKey), lastNumberAfter(answerOrTail, completionKey));
  }

  /**
   * {@link #usageByKeys(byte[], byte[], byte[])} with the prompt's cached tokens, found only near the prompt count
   * ({@link #numberNear}: they stand in the same usage object).
   */
  static Usage usageByKeys(byte[] answerOrTail, byte[] promptKey, byte[] completionKey, byte[] cachedKey) {
    int prompt = lastNumberKey(answerOrTail, promptKey);
    if (prompt < 0) return usageByKeys(answerOrTail, promptKey, completionKey);
    return new Usage(numberAfter(answerOrTail, promptKey, prompt), lastNumberAfter(answerOrTail, completionKey),
        numberNear(answerOrTail, cachedKey, prompt));
  }

  /** The number after the last occurrence of {@code key} (a {@link #key}), or -1. */
  static long lastNumberAfter(byte[] b, byte[] key) {
    int at = lastNumberKey(b, key, 0, b.length);
    return at < 0 ? -1 : numberAt(b, at + key.length);
  }

  /**
   * How far either side of a usage's main count its other counts are looked for ({@link #numberNear}): they stand in
   * the same small usage object, so an absent one costs a scan of this much, not of the whole answer.
   */
  static final int USAGE_OBJECT_BYTES = 1024;

  /** Where the last {@code key} followed by a number starts in {@code b}, or -1: the anchor for {@link #numberNear}. */
  static int lastNumberKey(byte[] b, byte[] key) {
    return b == null ? -1 : lastNumberKey(b, key, 0, b.length);
  }

  /**
   * The number after the last {@code key} within {@link #USAGE_OBJECT_BYTES} of {@code anchor} (where the usage's
   * main count stands, {@link #lastNumberKey}); -1 when there is none or no anchor.
   */
  static long numberNear(byte[] b, byte[] key, int anchor) {
    if (b == null || anchor < 0) return -1;
    int at = lastNumberKey(b, key, Math.max(0, anchor - USAGE_OBJECT_BYTES),
        (int) Math.min(b.length, (long) anchor + USAGE_OBJECT_BYTES));
    return at < 0 ? -1 : numberAt(b, at + key.length);
  }

  /** The number after the {@code key} that starts at {@code at} ({@link #lastNumberKey}), or -1 when {@code at} is. */
  static long numberAfter(byte[] b, byte[] key, int at) {
    return at < 0 ? -1 : numberAt(b, at + key.length);
  }

  /** Start of the last {@code key} in {@code b[from, to)} that a number follows, or -1. */
  private static int lastNumberKey(byte[] b, byte[] key, int from, int to) {
    outer:
    for (int i = to - key.length; i >= from; i--) {
      for (int j = 0; j < key.length; j++) {
        if (b[i + j] != key[j]) continue outer;
      }
      if (numberAt(b, i + key.length) >= 0) return i;
    }
    return -1;
  }

  /** The number at {@code p} after spaces and a colon, or -1 when none starts there (at most 12 digits). */
  private static long numberAt(byte[] b, int p) {
    while (p < b.length && (b[p] == ' ' || b[p] == ':')) p++;
    long v = 0;
    int digits = 0;
    while (p < b.length && b[p] >= '0' && b[p] <= '9' && digits < 12) {
      v = v * 10 + (b[p++] - '0');
      digits++;
    }
    return digits > 0 && (p == b.length || b[p] < '0' || b[p] > '9') ? v : -1;
  }

  // ---------------------------------------------------------------- writing

  static byte[] bytes(JsonNode node) {
    try {
      return Json.MAPPER.writeValueAsBytes(node);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e); // a tree of plain nodes always serialises
    }
  }

  /**
   * {@code content} cut into stream pieces of about {@link #PIECE_CHARS} characters (more for long texts, so there
   * are about {@link #MAX_PIECES} at most), each ending after whitespace where a word ends within twice that length, and
   * never inside a surrogate pair. Concatenated, the pieces are {@code content}; empty content has no pieces.
   */
  static List<String> pieces(String content) {
    List<String> pieces = new ArrayList<>();
    int length = content.length();
    int target = Math.max(PIECE_CHARS, (length + MAX_PIECES - 1) / MAX_PIECES);
    int start = 0;
    while (start < length) {
      int end = start + target;
      if (end >= length) {
        pieces.add(content.substring(start));
        break;
      }
      int limit = Math.min(length, start + 2 * target);
      int cut = end;
      while (cut < limit && !Character.isWhitespace(content.charAt(cut))) cut++;
      if (cut < limit) {
        while (cut < length && Character.isWhitespace(content.charAt(cut))) cut++;
      } else if (cut < length) {
        cut = end; // no word end nearby (e.g. CJK text): cut by length
        if (Character.isLowSurrogate(content.charAt(cut)) && Character.isHighSurrogate(content.charAt(cut - 1))) cut--;
      }
      pieces.add(content.substring(start, cut));
      start = cut;
    }
    return pieces;
  }
}
