package dev.sluice.sim;

import static dev.sluice.sim.GenerationFormat.quote;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import java.time.Instant;
import java.util.List;

/** Ollama's {@code /api/chat} (tokens in {@code message.content}) and {@code /api/generate} ({@code response}). */
final class OllamaFormat implements GenerationFormat {
  static final OllamaFormat CHAT = new OllamaFormat(true);
  static final OllamaFormat GENERATE = new OllamaFormat(false);

  private final boolean chat;

  private OllamaFormat(boolean chat) {
    this.chat = chat;
  }

  @Override
  public String streamContentType() {
    return "application/x-ndjson";
  }

  @Override
  public List<String> head(Generation generation) {
    return List.of();
  }

  @Override
  public String token(Generation generation, int index) {
    String content = quote(generation.tokens().get(index));
    return "{\"model\":" + quote(generation.model()) + ",\"created_at\":\"" + Instant.now() + "\","
        + (chat ? "\"message\":{\"role\":\"assistant\",\"content\":" + content + "}" : "\"response\":" + content)
        + ",\"done\":false}\n";
  }

  @Override
  public List<String> tail(Generation generation, Timings timings) {
    return List.of(answer(generation, timings, "").toString() + "\n");
  }

  @Override
  public ObjectNode whole(Generation generation, Timings timings) {
    return answer(generation, timings, generation.text());
  }

  private ObjectNode answer(Generation generation, Timings timings, String content) {
    ObjectNode line = Json.MAPPER.createObjectNode()
        .put("model", generation.model())
        .put("created_at", Instant.now().toString());
    if (chat) {
      line.putObject("message").put("role", "assistant").put("content", content);
    } else {
      line.put("response", content);
    }
    return line.put("done", true)
        .put("done_reason", generation.finishReason())
        .put("total_duration", timings.endNanos() - timings.arrivalNanos())
        .put("load_duration", timings.prefillStartNanos() - timings.arrivalNanos())
        .put("prompt_eval_count", generation.promptTokens())
        .put("prompt_eval_duration", timings.firstTokenNanos() - timings.prefillStartNanos())
        .put("eval_count", generation.completionTokens())
        .put("eval_duration", timings.endNanos() - timings.firstTokenNanos());
  }
}
