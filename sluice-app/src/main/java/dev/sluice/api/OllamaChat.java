package dev.sluice.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.Bodies.NotAnAnswer;

/** Ollama chat, {@code POST /api/chat}: {@code messages} in; the text in {@code message.content} of each record. */
final class OllamaChat extends OllamaGeneration {
  @Override
  public String path() {
    return "/api/chat";
  }

  @Override
  public String upstreamPath() {
    return "/api/chat";
  }

  @Override
  public void checkParameters(ObjectNode request, int maxTokensLimit) throws ApiException {
    if (request.has("messages") && !request.get("messages").isArray()) {
      throw new ApiException(ErrorKind.INVALID_REQUEST, "\"messages\" must be an array of {role, content}", "messages");
    }
    super.checkParameters(request, maxTokensLimit);
  }

  @Override
  String text(JsonNode record) throws NotAnAnswer {
    JsonNode message = record.path("message");
    Bodies.rejectNonText(message);
    return Bodies.textOrFail(message.get("content"));
  }

  @Override
  void putText(ObjectNode record, String content) {
    record.putObject("message").put("role", "assistant").put("content", content);
  }
}
