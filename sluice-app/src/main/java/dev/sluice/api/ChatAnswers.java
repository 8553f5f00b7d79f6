package dev.sluice.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.support.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * Reading what a node's chat completions send, for the translators ({@link AnthropicOverChat},
 * {@link ResponsesOverChat}): where its reasoning is, its answer id, and the message of its errors in every shape
 * nodes use.
 */
final class ChatAnswers {
  /** The prefix of a chat completion's id. */
  static final String CHAT_ID_PREFIX = "chatcmpl-";
  /** A node's text quoted in an error message is cut here. */
  static final int MAX_ERROR_CHARS = 500;

  private ChatAnswers() {}

  /** {@code body} (a whole answer, an error, or one stream event's data) as a JSON object, or null when it is none. */
  static JsonNode object(byte[] body) {
    try {
      JsonNode node = Json.MAPPER.readTree(body);
      return node != null && node.isObject() ? node : null;
    } catch (IOException e) {
      return null;
    }
  }

  static JsonNode object(String data) {
    return object(data.getBytes(StandardCharsets.UTF_8));
  }

  /** Reasoning text as vLLM ({@code reasoning_content}) or Ollama and newer vLLM ({@code reasoning}) send it. */
  static String reasoning(JsonNode messageOrDelta) {
    String text = Bodies.text(messageOrDelta.get("reasoning_content"));
    return text != null ? text : Bodies.text(messageOrDelta.get("reasoning"));
  }

  /** A chat id without its {@code chatcmpl-} prefix; a random one when the node gave none. */
  static String idSuffix(String chatId) {
    if (chatId == null || chatId.isEmpty()) return UUID.randomUUID().toString().replace("-", "");
    return chatId.startsWith(CHAT_ID_PREFIX) ? chatId.substring(CHAT_ID_PREFIX.length()) : chatId;
  }

  /**
   * The message of an error object of any shape nodes send (OpenAI {@code {"error":{"message"}}}, Ollama
   * {@code {"error":"..."}}, vLLM {@code {"object":"error","message"}}), or null when it is none of them.
   */
  static JsonNode errorMessage(JsonNode error) {
    if (error == null || !error.isObject()) return null;
    JsonNode inner = error.get("error");
    if (inner != null && inner.isTextual()) return inner;
    if (inner != null && inner.path("message").isTextual()) return inner.get("message");
    if ("error".equals(error.path("object").asText()) && error.path("message").isTextual()) return error.get("message");
    return null;
  }

  /** Whether a stream chunk is an error event rather than a chunk ({@code "error"} or vLLM's {@code "object"}). */
  static boolean isError(JsonNode chunk) {
    return chunk.has("error") || "error".equals(chunk.path("object").asText());
  }

  /** {@code text} cut at {@link #MAX_ERROR_CHARS}. */
  static String clip(String text) {
    return text.length() > MAX_ERROR_CHARS ? text.substring(0, MAX_ERROR_CHARS) + "…" : text;
  }

  static String clip(byte[] body) {
    return clip(new String(body, StandardCharsets.UTF_8));
  }
}
