package dev.sluice.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.Bodies.NotAnAnswer;

/**
 * OpenAI's legacy completions, {@code POST /v1/completions}: a {@code prompt} in; the answer in
 * {@code choices[0].text}, streamed or not.
 */
final class OpenAiCompletions extends OpenAiGeneration {
  @Override
  public String path() {
    return "/v1/completions";
  }

  @Override
  public String upstreamPath() {
    return "/completions";
  }

  @Override
  public void checkParameters(ObjectNode request, int maxTokensLimit) throws ApiException {
    if (!request.has("prompt")) {
      throw new ApiException(ErrorKind.INVALID_REQUEST, "missing \"prompt\": send the text to complete", "prompt");
    }
    RequestValidator.checkInt(request, "max_tokens", 1, maxTokensLimit);
    RequestValidator.checkInt(request, "n", 1, RequestValidator.MAX_N);
    RequestValidator.checkNumber(request, "temperature", 0, 2);
    RequestValidator.checkNumber(request, "top_p", 0, 1);
  }

  @Override
  String idPrefix() {
    return "cmpl-";
  }

  @Override
  String object(boolean chunk) {
    return "text_completion";
  }

  @Override
  String wholeText(JsonNode choice) throws NotAnAnswer {
    return Bodies.textOrFail(choice.get("text"));
  }

  @Override
  JsonNode streamedPiece(JsonNode choice) {
    return choice.get("text");
  }

  @Override
  void putChoice(ObjectNode choice, String content) {
    choice.put("text", content).put("index", 0);
  }

  @Override
  void putChunkChoice(ObjectNode choice, String piece, boolean role) {
    choice.put("text", piece == null ? "" : piece).put("index", 0);
  }
}
