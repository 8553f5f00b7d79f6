package dev.sluice.api;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * OpenAI embeddings, {@code POST /v1/embeddings}: an {@code input} in, vectors out, never streamed. No text answer
 * (a cached one is replayed as it came); usage has prompt tokens only.
 */
final class OpenAiEmbeddings extends OpenAiDialect {
  @Override
  public String path() {
    return "/v1/embeddings";
  }

  @Override
  public String upstreamPath() {
    return "/embeddings";
  }

  @Override
  public void checkParameters(ObjectNode request, int maxTokensLimit) throws ApiException {
    RequestValidator.requireInput(request);
  }
}
