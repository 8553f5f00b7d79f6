package dev.sluice.api;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Reads answers out of captured upstream bodies and writes them in any client format, whole or as a stream, for the
 * response cache and the static reply. Covers the four generation endpoints: OpenAI chat and completions (JSON, SSE
 * streams ending in {@code data: [DONE]}) and Ollama chat and generate (JSON, NDJSON streams ending in a
 * {@code "done":true} line). Shapes follow the real APIs and the simulator ({@code dev.sluice.sim.OpenAiFormat},
 * {@code OllamaFormat}).
 *
 * <p>Only plain text answers are answers here: a body with tool calls, a refusal or more than one choice parses to
 * null, since an {@link Answer} could not carry them. Reasoning text ({@code message.thinking},
 * {@code reasoning_content}) is not part of the content and is dropped.
 */
public final class Answers {
  /** The finish reason when the body names none. */
  public static final String DEFAULT_FINISH_REASON = "stop";
  /** A replayed stream sends pieces of at least this many characters, cut after a word where one ends nearby. */
  static final int PIECE_CHARS = 16;
  /** And about this many pieces at most, so a long answer replays in a bounded number of events. */
  static final int MAX_PIECES = 64;

  private static final String JSON = "application/json";
  private static final String SSE = "text/event-stream";
  private static final String NDJSON = "application/x-ndjson";
  private static final String DONE = "[DONE]";

  private Answers() {}

  /**
   * Whether a captured upstream body is a complete successful answer worth caching: for plain bodies a JSON object
   * without {@code "error"}; for SSE a final {@code data: [DONE]} not preceded by an error event (vLLM sends an
   * error event and then [DONE]); for NDJSON a last line with {@code "done":true} and no error. Cheap: scans only the
   * end of a stream, and a plain body without building a tree.
   */
  public static boolean complete(Endpoint endpoint, boolean stream, byte[] body) {
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(body, "body");
    if (!stream) return isObjectWithout(body, 0, body.length, "error", false);
    if (endpoint.flavor() == ApiFlavor.OLLAMA) {
      int[] last = lastLine(body, body.length);
      return last != null && isObjectWithout(body, last[0], last[1], "error", true);
    }
    int[] done = lastLine(body, body.length);
    if (done == null || !DONE.equals(sseData(body, done))) return false;
    int[] previous = lastLine(body, done[0]);
    if (previous == null) return false;
    String data = sseData(body, previous);
    if (data == null || DONE.equals(data)) return false;
    byte[] json = data.getBytes(StandardCharsets.UTF_8);
    return isObjectWithout(json, 0, json.length, "error", false);
  }

  /**
   * The answer in a captured upstream body of {@code endpoint}: chat {@code choices[0].message.content} or the
   * concatenated {@code delta.content} of an SSE stream; completions {@code choices[0].text}, streamed or not; Ollama
   * chat {@code message.content} and generate {@code response}, streamed or not. With the model, the finish reason
   * (OpenAI {@code finish_reason}, Ollama {@code done_reason}; {@code stop} when absent) and usage (OpenAI
   * {@code usage}, also from a streamed usage chunk; Ollama {@code prompt_eval_count}/{@code eval_count}; 0 when
   * absent). Null when the body is not such an answer: another endpoint, an error, a stream without its end, tool
   * calls, several choices, or bytes that are not the expected JSON.
   */
  public static Answer parse(Endpoint endpoint, boolean stream, byte[] body) {
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(body, "body");
    try {
      return switch (endpoint) {
        case OPENAI_CHAT, OPENAI_COMPLETIONS -> stream
            ? openAiStream(endpoint == Endpoint.OPENAI_CHAT, body)
            : openAiWhole(endpoint == Endpoint.OPENAI_CHAT, readObject(body));
        case OLLAMA_CHAT, OLLAMA_GENERATE -> stream
            ? ollamaStream(endpoint == Endpoint.OLLAMA_CHAT, body)
            : ollamaWhole(endpoint == Endpoint.OLLAMA_CHAT, readObject(body));
        default -> null;
      };
    } catch (NotAnAnswer | IOException e) {
      return null;
    }
  }

  /**
   * Token usage in a captured upstream body of any endpoint (embeddings included), for correcting rate-limit
   * estimates: {@code {promptTokens, completionTokens}}, each -1 when the body does not say. Does not require the body
   * to be complete or successful; from a stream the last usage seen counts.
   */
  public static int[] usage(Endpoint endpoint, boolean stream, byte[] body) {
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(body, "body");
    int[] usage = {-1, -1};
    List<String> records;
    if (!stream) {
      records = List.of(new String(body, StandardCharsets.UTF_8));
    } else {
      records = endpoint.flavor() == ApiFlavor.OLLAMA ? ndjsonLines(body) : sseEvents(body);
    }
    for (String record : records) {
      JsonNode node;
      try {
        node = Json.MAPPER.readTree(record);
      } catch (IOException e) {
        continue; // a cut or non-JSON record says nothing about usage
      }
      if (node == null || !node.isObject()) continue;
      if (endpoint.flavor() == ApiFlavor.OLLAMA) {
        takeCount(node.get("prompt_eval_count"), usage, 0);
        takeCount(node.get("eval_count"), usage, 1);
      } else if (node.path("usage").isObject()) {
        takeCount(node.path("usage").get("prompt_tokens"), usage, 0);
        takeCount(node.path("usage").get("completion_tokens"), usage, 1);
      }
    }
    return usage;
  }

  /**
   * The answer as a complete response body ({@code stream} false: a list of one) or as the stream events to write one
   * by one ({@code stream} true): for OpenAI SSE {@code data: {...}\n\n} chunks (a role chunk, content pieces of a few
   * words, a finish chunk, with {@code includeUsage} a usage chunk with empty choices) then {@code data: [DONE]\n\n};
   * for Ollama NDJSON lines of pieces then the final {@code "done":true} line.
   *
   * @param includeUsage the client's {@code stream_options.include_usage} (OpenAI streams only)
   * @param id the OpenAI response id, e.g. {@code "chatcmpl-" + something unique} (unused for Ollama)
   * @param createdEpochSeconds OpenAI's {@code created}, Ollama's {@code created_at}
   * @throws IllegalArgumentException for an endpoint that is not one of the four generation endpoints
   */
  public static List<Buffer> render(
      Endpoint endpoint, boolean stream, boolean includeUsage, Answer answer, String id, long createdEpochSeconds) {
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(answer, "answer");
    return switch (endpoint) {
      case OPENAI_CHAT, OPENAI_COMPLETIONS -> {
        Objects.requireNonNull(id, "id");
        OpenAiWriter w = new OpenAiWriter(endpoint == Endpoint.OPENAI_CHAT, answer, id, createdEpochSeconds);
        yield stream ? w.stream(includeUsage) : List.of(w.whole());
      }
      case OLLAMA_CHAT, OLLAMA_GENERATE -> {
        OllamaWriter w = new OllamaWriter(endpoint == Endpoint.OLLAMA_CHAT, answer, createdEpochSeconds);
        yield stream ? w.stream() : List.of(w.whole());
      }
      default -> throw new IllegalArgumentException(
          "cannot render an answer for " + endpoint.path() + " (only chat, completions and generate endpoints)");
    };
  }

  /** Content type of what {@link #render} produced: JSON, SSE for OpenAI streams, NDJSON for Ollama streams. */
  public static String contentType(Endpoint endpoint, boolean stream) {
    if (!stream) return JSON;
    return endpoint.flavor() == ApiFlavor.OLLAMA ? NDJSON : SSE;
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

  // ---------------------------------------------------------------- parsing

  /** Thrown inside parsing when the body is well-formed but not a plain text answer. */
  private static final class NotAnAnswer extends Exception {
    private static final NotAnAnswer INSTANCE = new NotAnAnswer();

    private NotAnAnswer() {
      super(null, null, false, false);
    }
  }

  private static Answer openAiWhole(boolean chat, JsonNode root) throws NotAnAnswer {
    JsonNode choice = onlyChoice(root);
    String content;
    if (chat) {
      JsonNode message = choice.path("message");
      rejectNonText(message);
      content = textOrFail(message.get("content"));
    } else {
      content = textOrFail(choice.get("text"));
    }
    return new Answer(content, root.path("model").asText(""), text(choice.get("finish_reason")),
        count(root.path("usage").get("prompt_tokens")), count(root.path("usage").get("completion_tokens")));
  }

  private static Answer openAiStream(boolean chat, byte[] body) throws NotAnAnswer, IOException {
    StringBuilder content = new StringBuilder();
    String model = null;
    String finishReason = null;
    JsonNode usage = null;
    boolean done = false;
    boolean any = false;
    for (String data : sseEvents(body)) {
      if (DONE.equals(data)) {
        done = true;
        break;
      }
      JsonNode chunk = readObject(data);
      if (model == null && chunk.path("model").isTextual()) model = chunk.get("model").asText();
      if (chunk.path("usage").isObject()) usage = chunk.get("usage");
      JsonNode choices = chunk.path("choices");
      if (!choices.isArray()) throw NotAnAnswer.INSTANCE;
      for (JsonNode choice : choices) {
        if (choice.path("index").asInt(0) != 0) throw NotAnAnswer.INSTANCE;
        any = true;
        JsonNode piece;
        if (chat) {
          JsonNode delta = choice.path("delta");
          rejectNonText(delta);
          piece = delta.get("content");
        } else {
          piece = choice.get("text");
        }
        if (piece != null && piece.isTextual()) content.append(piece.asText());
        else if (piece != null && !piece.isNull()) throw NotAnAnswer.INSTANCE;
        String reason = text(choice.get("finish_reason"));
        if (reason != null) finishReason = reason;
      }
    }
    if (!done || !any) throw NotAnAnswer.INSTANCE;
    return new Answer(content.toString(), model == null ? "" : model, finishReason,
        usage == null ? 0 : count(usage.get("prompt_tokens")), usage == null ? 0 : count(usage.get("completion_tokens")));
  }

  private static Answer ollamaWhole(boolean chat, JsonNode root) throws NotAnAnswer {
    if (root.path("done").isBoolean() && !root.get("done").asBoolean()) throw NotAnAnswer.INSTANCE;
    String content = ollamaText(chat, root);
    return new Answer(content, root.path("model").asText(""), text(root.get("done_reason")),
        count(root.get("prompt_eval_count")), count(root.get("eval_count")));
  }

  private static Answer ollamaStream(boolean chat, byte[] body) throws NotAnAnswer, IOException {
    StringBuilder content = new StringBuilder();
    String model = null;
    for (String line : ndjsonLines(body)) {
      JsonNode record = readObject(line);
      if (model == null && record.path("model").isTextual()) model = record.get("model").asText();
      content.append(ollamaText(chat, record));
      if (record.path("done").asBoolean(false)) {
        return new Answer(content.toString(), model == null ? "" : model, text(record.get("done_reason")),
            count(record.get("prompt_eval_count")), count(record.get("eval_count")));
      }
    }
    throw NotAnAnswer.INSTANCE; // the stream ended before its done line
  }

  private static String ollamaText(boolean chat, JsonNode record) throws NotAnAnswer {
    if (!chat) return textOrFail(record.get("response"));
    JsonNode message = record.path("message");
    rejectNonText(message);
    return textOrFail(message.get("content"));
  }

  /** The single choice of an OpenAI body; several choices (n > 1) cannot be one answer. */
  private static JsonNode onlyChoice(JsonNode root) throws NotAnAnswer {
    JsonNode choices = root.path("choices");
    if (!choices.isArray() || choices.size() != 1 || !choices.get(0).isObject()) throw NotAnAnswer.INSTANCE;
    return choices.get(0);
  }

  /** A message or delta with tool calls, a function call or a refusal is not a plain text answer. */
  private static void rejectNonText(JsonNode message) throws NotAnAnswer {
    if (!message.isObject()) throw NotAnAnswer.INSTANCE;
    JsonNode toolCalls = message.get("tool_calls");
    if (toolCalls != null && !toolCalls.isNull() && !toolCalls.isEmpty()) throw NotAnAnswer.INSTANCE;
    JsonNode call = message.get("function_call");
    if (call != null && !call.isNull()) throw NotAnAnswer.INSTANCE;
    JsonNode refusal = message.get("refusal");
    if (refusal != null && !refusal.isNull()) throw NotAnAnswer.INSTANCE;
  }

  /** An object body without a top-level {@code "error"}, else not an answer. */
  private static JsonNode readObject(byte[] body) throws IOException, NotAnAnswer {
    return checked(Json.MAPPER.readTree(body));
  }

  private static JsonNode readObject(String text) throws IOException, NotAnAnswer {
    return checked(Json.MAPPER.readTree(text));
  }

  private static JsonNode checked(JsonNode node) throws NotAnAnswer {
    if (node == null || !node.isObject() || node.has("error")) throw NotAnAnswer.INSTANCE;
    return node;
  }

  private static String textOrFail(JsonNode node) throws NotAnAnswer {
    if (node == null || !node.isTextual()) throw NotAnAnswer.INSTANCE;
    return node.asText();
  }

  private static String text(JsonNode node) {
    return node != null && node.isTextual() ? node.asText() : null;
  }

  private static int count(JsonNode node) {
    return node != null && node.canConvertToInt() && node.isIntegralNumber() ? Math.max(0, node.asInt()) : 0;
  }

  private static final byte[][] OPENAI_USAGE_KEYS = {
    "\"prompt_tokens\"".getBytes(StandardCharsets.US_ASCII), "\"completion_tokens\"".getBytes(StandardCharsets.US_ASCII)
  };
  private static final byte[][] OLLAMA_USAGE_KEYS = {
    "\"prompt_eval_count\"".getBytes(StandardCharsets.US_ASCII), "\"eval_count\"".getBytes(StandardCharsets.US_ASCII)
  };

  /**
   * {prompt, completion} tokens from the end of an answer (either API, streamed or not), found by the last occurrence
   * of the usage keys rather than by parsing, since only the tail of a long answer is kept: -1 each when absent. A key
   * inside generated text is escaped ({@code \"prompt_tokens\"}) and so never matches.
   */
  public static long[] usageInTail(ApiFlavor flavor, byte[] tail) {
    long[] usage = {-1, -1};
    if (tail == null) return usage;
    byte[][] keys = flavor == ApiFlavor.OLLAMA ? OLLAMA_USAGE_KEYS : OPENAI_USAGE_KEYS;
    for (int k = 0; k < 2; k++) usage[k] = lastNumberAfter(tail, keys[k]);
    return usage;
  }

  private static long lastNumberAfter(byte[] b, byte[] key) {
    outer:
    for (int i = b.length - key.length; i >= 0; i--) {
      for (int j = 0; j < key.length; j++) {
        if (b[i + j] != key[j]) continue outer;
      }
      int p = i + key.length;
      while (p < b.length && (b[p] == ' ' || b[p] == ':')) p++;
      long v = 0;
      int digits = 0;
      while (p < b.length && b[p] >= '0' && b[p] <= '9' && digits < 12) {
        v = v * 10 + (b[p++] - '0');
        digits++;
      }
      if (digits > 0 && (p == b.length || b[p] < '0' || b[p] > '9')) return v;
    }
    return -1;
  }

  private static void takeCount(JsonNode node, int[] usage, int slot) {
    if (node != null && node.isIntegralNumber() && node.canConvertToInt()) usage[slot] = node.asInt();
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

  /** The non-blank lines of an NDJSON body. */
  static List<String> ndjsonLines(byte[] body) {
    List<String> lines = new ArrayList<>();
    for (String line : new String(body, StandardCharsets.UTF_8).split("\r?\n", -1)) {
      if (!line.isBlank()) lines.add(line);
    }
    return lines;
  }

  /** {start, end} of the last non-blank line before {@code end}, or null. */
  private static int[] lastLine(byte[] body, int end) {
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

  /** The value of an SSE {@code data:} line, or null for another line. */
  private static String sseData(byte[] body, int[] line) {
    String text = new String(body, line[0], line[1] - line[0], StandardCharsets.UTF_8);
    if (!text.startsWith("data:")) return null;
    return text.startsWith("data: ") ? text.substring(6) : text.substring(5);
  }

  /**
   * Whether bytes {@code [from, to)} are exactly one JSON object without the top-level field {@code forbidden} (and,
   * with {@code requireDone}, with {@code "done":true}), read as tokens without building a tree.
   */
  private static boolean isObjectWithout(byte[] body, int from, int to, String forbidden, boolean requireDone) {
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

  // ---------------------------------------------------------------- rendering

  private static byte[] bytes(JsonNode node) {
    try {
      return Json.MAPPER.writeValueAsBytes(node);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e); // a tree of plain nodes always serialises
    }
  }

  private static ObjectNode usageNode(Answer answer) {
    return Json.MAPPER.createObjectNode()
        .put("prompt_tokens", answer.promptTokens())
        .put("completion_tokens", answer.completionTokens())
        .put("total_tokens", answer.promptTokens() + answer.completionTokens());
  }

  /** OpenAI chat completions and legacy completions. */
  private record OpenAiWriter(boolean chat, Answer answer, String id, long created) {
    Buffer whole() {
      ObjectNode body = envelope(chat ? "chat.completion" : "text_completion", false);
      ObjectNode choice = body.putArray("choices").addObject();
      if (chat) {
        choice.put("index", 0);
        choice.putObject("message").put("role", "assistant").put("content", answer.content()).putNull("refusal");
      } else {
        choice.put("text", answer.content()).put("index", 0);
      }
      choice.putNull("logprobs").put("finish_reason", answer.finishReason());
      body.set("usage", usageNode(answer));
      if (chat) body.putNull("system_fingerprint");
      return Buffer.buffer(bytes(body));
    }

    List<Buffer> stream(boolean includeUsage) {
      List<String> pieces = pieces(answer.content());
      List<Buffer> events = new ArrayList<>(pieces.size() + 4);
      if (chat) events.add(chunk(includeUsage, "", true, null));
      for (String piece : pieces) events.add(chunk(includeUsage, piece, false, null));
      events.add(chunk(includeUsage, null, false, answer.finishReason()));
      if (includeUsage) {
        ObjectNode last = envelope(chat ? "chat.completion.chunk" : "text_completion", true);
        last.putArray("choices");
        last.set("usage", usageNode(answer));
        events.add(event(last));
      }
      events.add(Buffer.buffer("data: " + DONE + "\n\n"));
      return events;
    }

    /** One streamed choice: {@code piece} null for the finish chunk, {@code role} for chat's first chunk. */
    private Buffer chunk(boolean includeUsage, String piece, boolean role, String finishReason) {
      ObjectNode body = envelope(chat ? "chat.completion.chunk" : "text_completion", true);
      ObjectNode choice = body.putArray("choices").addObject();
      if (chat) {
        choice.put("index", 0);
        ObjectNode delta = choice.putObject("delta");
        if (role) delta.put("role", "assistant");
        if (piece != null) delta.put("content", piece);
      } else {
        choice.put("text", piece == null ? "" : piece).put("index", 0);
      }
      choice.putNull("logprobs");
      if (finishReason == null) choice.putNull("finish_reason"); else choice.put("finish_reason", finishReason);
      if (includeUsage) body.putNull("usage"); // as OpenAI: null on every chunk but the usage chunk
      return event(body);
    }

    private ObjectNode envelope(String object, boolean chunk) {
      ObjectNode body = Json.MAPPER.createObjectNode()
          .put("id", id).put("object", object).put("created", created).put("model", answer.model());
      if (chat && chunk) body.putNull("system_fingerprint");
      return body;
    }

    private static Buffer event(ObjectNode body) {
      return Buffer.buffer("data: ").appendBytes(bytes(body)).appendString("\n\n");
    }
  }

  /** Ollama's /api/chat and /api/generate. */
  private record OllamaWriter(boolean chat, Answer answer, long created) {
    Buffer whole() {
      return Buffer.buffer(bytes(done(answer.content())));
    }

    List<Buffer> stream() {
      List<String> pieces = pieces(answer.content());
      List<Buffer> lines = new ArrayList<>(pieces.size() + 1);
      for (String piece : pieces) lines.add(line(head(piece).put("done", false)));
      lines.add(line(done("")));
      return lines;
    }

    private ObjectNode head(String content) {
      ObjectNode line = Json.MAPPER.createObjectNode()
          .put("model", answer.model())
          .put("created_at", Instant.ofEpochSecond(created).toString());
      if (chat) {
        line.putObject("message").put("role", "assistant").put("content", content);
      } else {
        line.put("response", content);
      }
      return line;
    }

    /** The final record; durations are 0 since nothing was computed. */
    private ObjectNode done(String content) {
      return head(content)
          .put("done", true)
          .put("done_reason", answer.finishReason())
          .put("total_duration", 0)
          .put("load_duration", 0)
          .put("prompt_eval_count", answer.promptTokens())
          .put("prompt_eval_duration", 0)
          .put("eval_count", answer.completionTokens())
          .put("eval_duration", 0);
    }

    private static Buffer line(ObjectNode body) {
      return Buffer.buffer(bytes(body)).appendString("\n");
    }
  }
}
