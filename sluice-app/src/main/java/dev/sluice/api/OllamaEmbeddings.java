package dev.sluice.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Ollama's legacy embeddings, {@code POST /api/embeddings}: {@code {"model","prompt"}} in, {@code {"embedding":[...]}}
 * out, never streamed; what the Ollama client libraries' {@code embeddings()} still call. Ollama serves it beside
 * {@code /api/embed}, so it goes to the node unchanged. The answer carries no usage.
 */
final class OllamaEmbeddings extends OllamaDialect {
  @Override
  public String path() {
    return "/api/embeddings";
  }

  @Override
  public String upstreamPath() {
    return "/api/embeddings";
  }

  @Override
  public void checkParameters(ObjectNode request, int maxTokensLimit) throws ApiException {
    JsonNode prompt = request.get("prompt");
    if (prompt == null || !prompt.isTextual()) {
      throw new ApiException(ErrorKind.INVALID_REQUEST, "missing \"prompt\": /api/embeddings takes one string "
          + "(for several, send {\"input\": [...]} to /api/embed)", "prompt");
    }
  }
}
