package dev.sluice.sim;

import static dev.sluice.sim.GenerationFormat.quote;

import com.fasterxml.jackson.databind.node.ArrayNode;
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
    return event(generation, chat ? delta(generation, index, text) : text, "null");
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
      message(choice.putObject("message"), generation);
    } else {
      choice.put("text", generation.content());
    }
    choice.putNull("logprobs").put("finish_reason", generation.finishReason());
    body.set("usage", usage(generation));
    return body;
  }

  /**
   * A chat delta as vLLM streams it: reasoning as {@code reasoning_content}; a tool call's first delta carries its
   * {@code index}, {@code id}, {@code type} and {@code function.name}, the following ones pieces of
   * {@code function.arguments} under the same {@code index}.
   */
  private static String delta(Generation generation, int index, String text) {
    AgentReply reply = generation.reply();
    return switch (reply.part(index)) {
      case REASONING -> "{\"reasoning_content\":" + text + "}";
      case CALL_HEADER -> {
        AgentReply.ToolCall call = reply.call(index);
        yield "{\"tool_calls\":[{\"index\":" + call.index() + ",\"id\":" + quote(call.id())
            + ",\"type\":\"function\",\"function\":{\"name\":" + quote(call.name()) + "}}]}";
      }
      case CALL_ARGUMENTS -> "{\"tool_calls\":[{\"index\":" + reply.call(index).index()
          + ",\"function\":{\"arguments\":" + text + "}}]}";
      case CONTENT -> "{\"content\":" + text + "}";
    };
  }

  /** The whole message: content (null when only tool calls came), {@code reasoning_content}, {@code tool_calls}. */
  private static void message(ObjectNode message, Generation generation) {
    message.put("role", "assistant");
    List<AgentReply.ToolCall> calls = generation.calls();
    String content = generation.content();
    if (content.isEmpty() && !calls.isEmpty()) {
      message.putNull("content");
    } else {
      message.put("content", content);
    }
    if (generation.reply().reasoningTokens() > 0) {
      message.put("reasoning_content", generation.reasoning());
    }
    if (!calls.isEmpty()) {
      ArrayNode toolCalls = message.putArray("tool_calls");
      for (AgentReply.ToolCall call : calls) {
        toolCalls.addObject().put("id", call.id()).put("type", "function").putObject("function")
            .put("name", call.name()).put("arguments", generation.arguments(call));
      }
    }
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
