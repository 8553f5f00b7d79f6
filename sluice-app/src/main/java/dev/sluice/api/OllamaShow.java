package dev.sluice.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Ollama's model details, {@code POST /api/show}: routed like embeddings to a node of the model, never streamed, and
 * never cached (cheap, and it changes with the node).
 */
final class OllamaShow extends OllamaDialect {
  @Override
  public String path() {
    return "/api/show";
  }

  @Override
  public String upstreamPath() {
    return "/api/show";
  }

  /** {@code model}, or {@code name} as older Ollama clients send it. */
  @Override
  public JsonNode model(ObjectNode request) {
    JsonNode m = request.get("model");
    return m == null || m.isNull() ? request.get("name") : m;
  }
}
