package dev.sluice.sim;

import static dev.sluice.sim.GenerationFormat.quote;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import java.util.ArrayList;
import java.util.List;

/** OpenAI's {@code /v1/chat/completions} and {@code /v1/completions} as vLLM and Ollama serve them (SSE streams). */
final class OpenAiFormat implements GenerationFormat {
  static final OpenAiFormat CHAT = new OpenAiFormat(true);
  static final OpenAiFormat COMPLETION = new OpenAiFormat(false);

  private static final String DONE = "data: [DONE]\n\n";

  private final boolean chat;

  private OpenAiFormat(boolean chat) {
    this.chat = chat;
  }

  @Override
  public String streamContentType() {
    return "text/event-stream";
  }

  @Override
  public List<String> head(Generation generation) {
    if (!chat) {
      return List.of();
    }
    return List.of(event(generation, "{\"role\":\"assistant\",\"content\":\"\"}", "null"));
  }

  @Override
  public String token(Generation generation, int index) {
    String text = quote(generation.tokens().get(index));
    return event(generation, chat ? "{\"content\":" + text + "}" : text, "null");
  }

  @Override
  public List<String> tail(Generation generation, Timings timings) {
    List<String> events = new ArrayList<>(3);
    events.add(event(generation, chat ? "{}" : "\"\"", quote(generation.finishReason())));
    if (generation.includeUsage()) {
      ObjectNode chunk = envelope(generation, chat ? "chat.completion.chunk" : "text_completion");
      chunk.putArray("choices");
      chunk.set("usage", usage(generation));
      events.add("data: " + chunk + "\n\n");
    }
    events.add(DONE);
    return events;
  }

  @Override
  public ObjectNode whole(Generation generation, Timings timings) {
    ObjectNode body = envelope(generation, chat ? "chat.completion" : "text_completion");
    ObjectNode choice = body.putArray("choices").addObject().put("index", 0);
    if (chat) {
      choice.putObject("message").put("role", "assistant").put("content", generation.text());
    } else {
      choice.put("text", generation.text());
    }
    choice.putNull("logprobs").put("finish_reason", generation.finishReason());
    body.set("usage", usage(generation));
    return body;
  }

  private String event(Generation generation, String deltaOrText, String finishReason) {
    return "data: {\"id\":\"" + id(generation) + "\",\"object\":\""
        + (chat ? "chat.completion.chunk" : "text_completion") + "\",\"created\":" + generation.createdSeconds()
        + ",\"model\":" + quote(generation.model()) + ",\"choices\":[{\"index\":0,"
        + (chat ? "\"delta\":" : "\"text\":") + deltaOrText
        + ",\"logprobs\":null,\"finish_reason\":" + finishReason + "}]}\n\n";
  }

  private ObjectNode envelope(Generation generation, String object) {
    return Json.MAPPER.createObjectNode()
        .put("id", id(generation))
        .put("object", object)
        .put("created", generation.createdSeconds())
        .put("model", generation.model());
  }

  private String id(Generation generation) {
    return (chat ? "chatcmpl-" : "cmpl-") + generation.sequence();
  }

  private static ObjectNode usage(Generation generation) {
    return Json.MAPPER.createObjectNode()
        .put("prompt_tokens", generation.promptTokens())
        .put("completion_tokens", generation.completionTokens())
        .put("total_tokens", generation.promptTokens() + generation.completionTokens());
  }
}
