package dev.sluice.resume;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * Anthropic Messages streams passed through to nodes that speak Messages ({@code event: message_start} ...
 * {@code event: message_stop}). Continued with the relayed text as a final assistant message, which Messages
 * continues (a prefill); {@code max_tokens} reduced by the tokens relayed.
 *
 * <p>Splice: a continuation's {@code message_start} and {@code ping} are dropped (the client has the first node's
 * message id and model); its text block continues the text block left open, under that block's index, and any other
 * block gets the next index; {@code message_delta}'s usage counts every completion token
 * ({@code output_tokens} = relayed + its own) and the prompt once ({@code input_tokens}, when given, less the relayed
 * tokens).
 */
final class AnthropicSplice extends StreamSplice {
  /** The first node's blocks: the index of the block left open (-1: none) and its type, and the next free index. */
  private int openIndex = -1;
  private String openType;
  private int nextIndex;
  /** A continuation's block indices → the client's. */
  private final Map<Integer, Integer> indexMap = new HashMap<>();
  /** A continuation's blocks that are dropped (its reasoning when thinking was turned off). */
  private final Map<Integer, Boolean> dropped = new HashMap<>();

  AnthropicSplice(ObjectNode original, Predicate<byte[]> isErrorEvent, LongSupplier elapsedNanos) {
    super(original, isErrorEvent, elapsedNanos);
  }

  static String refusal(JsonNode request) {
    JsonNode format = request.path("output_config").path("format");
    if (!format.isMissingNode() && !format.isNull()) return "it asks for constrained output (output_config.format)";
    JsonNode messages = request.path("messages");
    JsonNode last = messages.isArray() && !messages.isEmpty() ? messages.get(messages.size() - 1) : null;
    if (last != null && "assistant".equals(last.path("role").asText()) && !last.path("content").isTextual()) {
      return "it ends with an assistant prefill of content blocks";
    }
    return null;
  }

  @Override
  int eventEnd(byte[] b, int from) {
    return sseEventEnd(b, from);
  }

  @Override
  boolean isTerminal(byte[] event) {
    return utf8(event).startsWith("event: message_stop");
  }

  @Override
  void observe(byte[] event) {
    ObjectNode data = sseObject(event);
    if (data == null) return;
    note(data, data.path("index").asInt(-1));
  }

  /** What one event carried, its block at the client's index {@code index}. */
  private void note(ObjectNode data, int index) {
    switch (data.path("type").asText()) {
      case "content_block_start" -> {
        String type = data.path("content_block").path("type").asText();
        openIndex = index;
        openType = type;
        nextIndex = Math.max(nextIndex, index + 1);
        if (type.equals("tool_use") || type.equals("server_tool_use")) toolCalls = true;
        else if (!type.equals("text") && !type.equals("thinking")) unfollowable = "a " + type + " block had started";
      }
      case "content_block_delta" -> {
        JsonNode delta = data.path("delta");
        switch (delta.path("type").asText()) {
          case "text_delta" -> relayed(delta.path("text").asText(null), false);
          case "thinking_delta" -> relayed(delta.path("thinking").asText(null), true);
          case "input_json_delta" -> toolCalls = true;
          default -> { } // signature_delta, citations
        }
      }
      case "content_block_stop" -> {
        if (index == openIndex) openIndex = -1;
      }
      case "message_delta" -> {
        if (data.path("delta").hasNonNull("stop_reason")) finished = true;
      }
      case "message_stop" -> ended = true;
      default -> { } // message_start, ping
    }
  }

  @Override
  byte[] rewrite(byte[] event) {
    ObjectNode data = sseObject(event);
    if (data == null) return event;
    String type = data.path("type").asText();
    switch (type) {
      case "message_start", "ping" -> {
        return new byte[0];
      }
      case "content_block_start" -> {
        int theirs = data.path("index").asInt();
        String blockType = data.path("content_block").path("type").asText();
        if (thinkingOff && blockType.equals("thinking")) {
          dropped.put(theirs, true);
          return new byte[0];
        }
        if (blockType.equals("text") && openIndex >= 0 && "text".equals(openType)) {
          indexMap.put(theirs, openIndex); // the text block the client has open goes on
          return new byte[0];
        }
        int ours = nextIndex;
        indexMap.put(theirs, ours);
        data.put("index", ours);
        note(data, ours);
        return sse(type, data);
      }
      case "content_block_delta", "content_block_stop" -> {
        int theirs = data.path("index").asInt();
        if (dropped.containsKey(theirs)) return new byte[0];
        int ours = indexMap.getOrDefault(theirs, theirs);
        data.put("index", ours);
        note(data, ours);
        return sse(type, data);
      }
      case "message_delta" -> {
        if (data.path("usage") instanceof ObjectNode u) {
          u.put("output_tokens", u.path("output_tokens").asLong(0) + carried);
          if (u.has("input_tokens")) u.put("input_tokens", Math.max(0, u.path("input_tokens").asLong(0) - carried));
        }
        note(data, -1);
        return sse(type, data);
      }
      default -> {
        note(data, -1);
        return event;
      }
    }
  }

  private static byte[] sse(String type, ObjectNode data) {
    return utf8("event: " + type + "\ndata: " + data + "\n\n");
  }

  @Override
  void continueText(ObjectNode body, String start, boolean noThinking) {
    if (!start.isEmpty()) continueAssistant(body, start, true); // Messages continues a final assistant message
    if (noThinking) body.putObject("thinking").put("type", "disabled");
  }

  @Override
  int limit(ObjectNode body) {
    return positive(body.get("max_tokens"));
  }

  @Override
  void setLimit(ObjectNode body, int limit) {
    body.put("max_tokens", limit);
  }
}
