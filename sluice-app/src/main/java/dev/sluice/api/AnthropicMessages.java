package dev.sluice.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.Bodies.NotAnAnswer;
import dev.sluice.support.Json;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Anthropic Messages, {@code POST /v1/messages}: {@code messages} (and {@code system}) in, {@code max_tokens}
 * required; the answer is a {@code message} of content blocks, streamed as named SSE events ({@code message_start},
 * {@code content_block_start}/{@code _delta}/{@code _stop} per block, {@code message_delta} with the stop reason and
 * usage, {@code message_stop}). Only plain text answers are answers: thinking or tool use blocks parse to null. Stop
 * reasons are kept in OpenAI's terms in an {@link Answer} (answers cross dialects in the cache). Nodes that do not speak
 * Messages get the request over chat completions ({@link AnthropicOverChat}).
 */
final class AnthropicMessages extends AnthropicDialect implements GenerationDialect {
  private static final byte[] INPUT_TOKENS = Bodies.key("input_tokens");
  private static final byte[] OUTPUT_TOKENS = Bodies.key("output_tokens");
  private static final byte[] CACHE_CREATION = Bodies.key("cache_creation_input_tokens");
  private static final byte[] CACHE_READ = Bodies.key("cache_read_input_tokens");
  private static final byte[] ERROR_EVENT = "event: error".getBytes(StandardCharsets.US_ASCII);

  @Override
  public String path() {
    return "/v1/messages";
  }

  @Override
  public String upstreamPath() {
    return "/messages";
  }

  @Override
  public void checkParameters(ObjectNode request, int maxTokensLimit) throws ApiException {
    checkMessages(request);
    RequestValidator.requireInt(request, "max_tokens", 1, maxTokensLimit);
    RequestValidator.checkNumber(request, "temperature", 0, 1);
    RequestValidator.checkNumber(request, "top_p", 0, 1);
    RequestValidator.checkInt(request, "top_k", 0, Integer.MAX_VALUE);
    RequestValidator.checkStringArray(request, "stop_sequences");
  }

  /** {@code messages}: a non-empty array of {role: user|assistant, content: a string or an array of blocks}. */
  static void checkMessages(ObjectNode request) throws ApiException {
    JsonNode messages = request.get("messages");
    if (messages == null || !messages.isArray() || messages.isEmpty()) {
      throw new ApiException(ErrorKind.INVALID_REQUEST, "\"messages\" must be a non-empty array of {role, content}:"
          + " send at least one {\"role\":\"user\",\"content\":\"...\"}", "messages");
    }
    for (int i = 0; i < messages.size(); i++) {
      JsonNode m = messages.get(i);
      String where = "messages[" + i + "]";
      if (!m.isObject()) {
        throw new ApiException(ErrorKind.INVALID_REQUEST, "\"" + where + "\" must be an object {role, content}",
            "messages");
      }
      String role = Bodies.text(m.get("role"));
      if (!"user".equals(role) && !"assistant".equals(role)) {
        throw new ApiException(ErrorKind.INVALID_REQUEST, "\"" + where + ".role\" must be \"user\" or \"assistant\""
            + " (a system prompt goes in the top-level \"system\"), got " + m.get("role"), "messages");
      }
      JsonNode content = m.get("content");
      boolean ok = content != null && (content.isTextual() || content.isArray());
      for (int j = 0; ok && j < content.size(); j++) ok = content.get(j).isObject();
      if (!ok) {
        throw new ApiException(ErrorKind.INVALID_REQUEST, "\"" + where + ".content\" must be a string or an array"
            + " of content blocks such as {\"type\":\"text\",\"text\":\"...\"}", "messages");
      }
    }
  }

  @Override
  public ChatTranslation overChat(ParsedRequest request) throws ApiException {
    return new AnthropicOverChat(request);
  }

  // ---------------------------------------------------------------- usage

  /**
   * Prompt tokens are {@code input_tokens} plus the cache's {@code cache_creation_input_tokens} and
   * {@code cache_read_input_tokens} (Anthropic counts them apart; absent ones count 0 when {@code input_tokens} is
   * known); cached ones are {@code cache_read_input_tokens}. In a stream the last {@code output_tokens}
   * ({@code message_delta}'s) is the final count.
   */
  @Override
  public Usage usage(byte[] answerOrTail) {
    if (answerOrTail == null) return Usage.UNKNOWN;
    return usage(answerOrTail, INPUT_TOKENS, OUTPUT_TOKENS);
  }

  /** Anthropic usage counts by key, as {@link #usage(byte[])}; shared with count_tokens' body. */
  static Usage usage(byte[] body, byte[] inputKey, byte[] outputKey) {
    int at = Bodies.lastNumberKey(body, inputKey);
    long input = Bodies.numberAfter(body, inputKey, at);
    long read = Bodies.numberNear(body, CACHE_READ, at); // the cache counts stand in the same usage object
    long prompt = -1;
    if (input >= 0) prompt = input + Math.max(0, Bodies.numberNear(body, CACHE_CREATION, at)) + Math.max(0, read);
    return new Usage(prompt, Bodies.lastNumberAfter(body, outputKey), read);
  }

  // ---------------------------------------------------------------- answers

  /** The last event is {@code message_stop} and no {@code event: error} came before it. */
  @Override
  public boolean streamEnded(byte[] body) {
    int[] last = Bodies.lastLine(body, body.length);
    if (last == null) return false;
    String line = new String(body, last[0], last[1] - last[0], StandardCharsets.UTF_8);
    if (!line.startsWith("data:")) return false;
    try {
      JsonNode data = Json.MAPPER.readTree(line.substring(5));
      if (data == null || !"message_stop".equals(data.path("type").asText())) return false;
    } catch (IOException e) {
      return false;
    }
    return !containsLineStart(body, ERROR_EVENT);
  }

  private static boolean containsLineStart(byte[] body, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= body.length; i++) {
      if (i > 0 && body[i - 1] != '\n' && body[i - 1] != '\r') continue;
      for (int j = 0; j < needle.length; j++) {
        if (body[i + j] != needle[j]) continue outer;
      }
      return true;
    }
    return false;
  }

  @Override
  public Answer parseWhole(byte[] body) throws NotAnAnswer, IOException {
    JsonNode root = Bodies.readObject(body);
    if (!"message".equals(root.path("type").asText())) throw NotAnAnswer.INSTANCE;
    JsonNode content = root.path("content");
    if (!content.isArray()) throw NotAnAnswer.INSTANCE;
    StringBuilder text = new StringBuilder();
    for (JsonNode block : content) {
      if (!"text".equals(block.path("type").asText())) throw NotAnAnswer.INSTANCE;
      text.append(Bodies.textOrFail(block.get("text")));
    }
    return answer(text.toString(), root.path("model").asText(""), Bodies.text(root.get("stop_reason")), body);
  }

  @Override
  public Answer parseStream(byte[] body) throws NotAnAnswer, IOException {
    StringBuilder text = new StringBuilder();
    String model = null;
    String stopReason = null;
    boolean started = false;
    boolean stopped = false;
    for (String data : OpenAiDialect.sseEvents(body)) {
      if (stopped) throw NotAnAnswer.INSTANCE;
      JsonNode event = Bodies.readObject(data);
      switch (event.path("type").asText()) {
        case "message_start" -> {
          started = true;
          model = event.path("message").path("model").asText("");
        }
        case "content_block_start" -> {
          if (!"text".equals(event.path("content_block").path("type").asText())) throw NotAnAnswer.INSTANCE;
        }
        case "content_block_delta" -> {
          JsonNode delta = event.path("delta");
          if (!"text_delta".equals(delta.path("type").asText())) throw NotAnAnswer.INSTANCE;
          text.append(Bodies.textOrFail(delta.get("text")));
        }
        case "message_delta" -> {
          String reason = Bodies.text(event.path("delta").get("stop_reason"));
          if (reason != null) stopReason = reason;
        }
        case "message_stop" -> stopped = true;
        case "content_block_stop", "ping" -> { }
        default -> throw NotAnAnswer.INSTANCE;
      }
    }
    if (!started || !stopped) throw NotAnAnswer.INSTANCE;
    return answer(text.toString(), model, stopReason, body);
  }

  private Answer answer(String content, String model, String stopReason, byte[] body) {
    Usage usage = usage(body);
    return new Answer(content, model, finishReason(stopReason), Bodies.tokens(usage.promptTokens()),
        Bodies.tokens(usage.completionTokens()));
  }

  /**
   * A Messages stop reason in OpenAI's terms: {@code end_turn} and {@code stop_sequence} are {@code stop},
   * {@code max_tokens} is {@code length}, {@code tool_use} is {@code tool_calls}, {@code refusal} is
   * {@code content_filter}; anything else (none, {@code pause_turn}) is {@code stop}.
   */
  static String finishReason(String stopReason) {
    if (stopReason == null) return Answer.DEFAULT_FINISH_REASON;
    return switch (stopReason) {
      case "max_tokens" -> "length";
      case "tool_use" -> "tool_calls";
      case "refusal" -> "content_filter";
      default -> Answer.DEFAULT_FINISH_REASON;
    };
  }

  /** An OpenAI finish reason as a Messages stop reason: the reverse of {@link #finishReason}. */
  static String stopReason(String finishReason) {
    if (finishReason == null) return "end_turn";
    return switch (finishReason) {
      case "length" -> "max_tokens";
      case "tool_calls", "function_call" -> "tool_use";
      case "content_filter" -> "refusal";
      default -> "end_turn";
    };
  }

  @Override
  public List<Buffer> render(ObjectNode request, boolean stream, Answer answer, String idSuffix,
      long createdEpochSeconds) {
    Objects.requireNonNull(answer, "answer");
    Objects.requireNonNull(idSuffix, "idSuffix");
    String id = "msg_" + idSuffix;
    String stopReason = stopReason(answer.finishReason());
    if (!stream) {
      ObjectNode body = message(id, answer.model());
      ((ArrayNode) body.get("content")).addObject().put("type", "text").put("text", answer.content());
      body.put("stop_reason", stopReason).putNull("stop_sequence");
      body.putObject("usage").put("input_tokens", answer.promptTokens())
          .put("output_tokens", answer.completionTokens());
      return List.of(Buffer.buffer(Bodies.bytes(body)));
    }
    List<String> pieces = Bodies.pieces(answer.content());
    List<Buffer> events = new ArrayList<>(pieces.size() + 5);
    ObjectNode start = message(id, answer.model());
    start.put("stop_reason", (String) null).putNull("stop_sequence");
    start.putObject("usage").put("input_tokens", answer.promptTokens()).put("output_tokens", 0);
    events.add(event("message_start", node().set("message", start)));
    ObjectNode block = node().put("index", 0);
    block.putObject("content_block").put("type", "text").put("text", "");
    events.add(event("content_block_start", block));
    for (String piece : pieces) {
      ObjectNode delta = node().put("index", 0);
      delta.putObject("delta").put("type", "text_delta").put("text", piece);
      events.add(event("content_block_delta", delta));
    }
    events.add(event("content_block_stop", node().put("index", 0)));
    ObjectNode end = node();
    end.putObject("delta").put("stop_reason", stopReason).putNull("stop_sequence");
    end.putObject("usage").put("output_tokens", answer.completionTokens());
    events.add(event("message_delta", end));
    events.add(event("message_stop", node()));
    return events;
  }

  /** {@code {id, type: message, role: assistant, model, content: []}}. */
  static ObjectNode message(String id, String model) {
    ObjectNode message = node().put("id", id).put("type", "message").put("role", "assistant").put("model", model);
    message.putArray("content");
    return message;
  }

  private static ObjectNode node() {
    return Json.MAPPER.createObjectNode();
  }

  /** One named SSE event, {@code event: <type>\ndata: {"type":"<type>", ...fields}\n\n}. */
  static Buffer event(String type, ObjectNode fields) {
    ObjectNode data = node().put("type", type);
    data.setAll(fields);
    return Buffer.buffer("event: " + type + "\ndata: ").appendBytes(Bodies.bytes(data)).appendString("\n\n");
  }

  @Override
  public String contentType(boolean stream) {
    return stream ? OpenAiDialect.SSE : Bodies.JSON;
  }

  @Override
  public Map<String, String> streamHeaders() {
    return Bodies.NO_CACHE;
  }
}
