package dev.sluice.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.Bodies.NotAnAnswer;

/** Ollama generate, {@code POST /api/generate}: a {@code prompt} in; the text in {@code response} of each record. */
final class OllamaGenerate extends OllamaGeneration {
  @Override
  public String path() {
    return "/api/generate";
  }

  @Override
  public String upstreamPath() {
    return "/api/generate";
  }

  @Override
  String text(JsonNode record) throws NotAnAnswer {
    return Bodies.textOrFail(record.get("response"));
  }

  @Override
  void putText(ObjectNode record, String content) {
    record.put("response", content);
  }
}
