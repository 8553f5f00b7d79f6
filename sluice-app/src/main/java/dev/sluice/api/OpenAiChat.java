package dev.sluice.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.Bodies.NotAnAnswer;

/**
 * OpenAI chat completions, {@code POST /v1/chat/completions}: {@code messages} in; the answer in
 * {@code choices[0].message.content}, streamed as {@code choices[0].delta.content} after a chunk with the role.
 */
final class OpenAiChat extends OpenAiGeneration {
  @Override
  public String path() {
    return "/v1/chat/completions";
  }

  @Override
  public String upstreamPath() {
    return "/chat/completions";
  }

  @Override
  public void checkParameters(ObjectNode request, int maxTokensLimit) throws ApiException {
    RequestValidator.requireNonEmptyArray(request, "messages");
    RequestValidator.checkInt(request, "max_tokens", 1, maxTokensLimit);
    RequestValidator.checkInt(request, "max_completion_tokens", 1, maxTokensLimit);
    RequestValidator.checkInt(request, "n", 1, RequestValidator.MAX_N);
    RequestValidator.checkNumber(request, "temperature", 0, 2);
    RequestValidator.checkNumber(request, "top_p", 0, 1);
  }

  @Override
  String idPrefix() {
    return "chatcmpl-";
  }

  @Override
  String object(boolean chunk) {
    return chunk ? "chat.completion.chunk" : "chat.completion";
  }

  @Override
  boolean chatShaped() {
    return true;
  }

  @Override
  String wholeText(JsonNode choice) throws NotAnAnswer {
    JsonNode message = choice.path("message");
    Bodies.rejectNonText(message);
    return Bodies.textOrFail(message.get("content"));
  }

  @Override
  JsonNode streamedPiece(JsonNode choice) throws NotAnAnswer {
    JsonNode delta = choice.path("delta");
    Bodies.rejectNonText(delta);
    return delta.get("content");
  }

  @Override
  void putChoice(ObjectNode choice, String content) {
    choice.put("index", 0);
    choice.putObject("message").put("role", "assistant").put("content", content).putNull("refusal");
  }

  @Override
  void putChunkChoice(ObjectNode choice, String piece, boolean role) {
    choice.put("index", 0);
    ObjectNode delta = choice.putObject("delta");
    if (role) delta.put("role", "assistant");
    if (piece != null) delta.put("content", piece);
  }
}
