package dev.sluice.api;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Ollama embeddings, {@code POST /api/embed}: an {@code input} in, vectors out, never streamed. No text answer (a
 * cached one is replayed as it came); usage has {@code prompt_eval_count} only.
 */
final class OllamaEmbed extends OllamaDialect {
  @Override
  public String path() {
    return "/api/embed";
  }

  @Override
  public String upstreamPath() {
    return "/api/embed";
  }

  @Override
  public void checkParameters(ObjectNode request, int maxTokensLimit) throws ApiException {
    RequestValidator.requireInput(request);
  }
}
