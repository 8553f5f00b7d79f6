package dev.sluice.sim;

import static dev.sluice.sim.GenerationFormat.quote;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
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
    String text = quote(generation.tokens().get(index));
    AgentReply reply = generation.reply();
    String fields = switch (reply.part(index)) {
      case REASONING -> chat ? "\"message\":{\"role\":\"assistant\",\"content\":\"\",\"thinking\":" + text + "}"
          : "\"response\":\"\",\"thinking\":" + text;
      case CALL_HEADER, CALL_ARGUMENTS -> {
        // Ollama parses a tool call whole and sends it in one line once its last token is out
        AgentReply.ToolCall call = reply.call(index);
        if (!call.lastToken(index)) {
          yield null;
        }
        ObjectNode message = Json.MAPPER.createObjectNode().put("role", "assistant").put("content", "");
        addCall(message.putArray("tool_calls"), generation, call);
        yield "\"message\":" + message;
      }
      case CONTENT -> chat ? "\"message\":{\"role\":\"assistant\",\"content\":" + text + "}" : "\"response\":" + text;
    };
    if (fields == null) {
      return "";
    }
    return "{\"model\":" + quote(generation.model()) + ",\"created_at\":\"" + Instant.now() + "\"," + fields
        + ",\"done\":false}\n";
  }

  @Override
  public List<String> tail(Generation generation, Timings timings) {
    return List.of(answer(generation, timings, "").toString() + "\n");
  }

  @Override
  public ObjectNode whole(Generation generation, Timings timings) {
    ObjectNode whole = answer(generation, timings, generation.content());
    ObjectNode message = chat ? (ObjectNode) whole.get("message") : whole;
    if (generation.reply().reasoningTokens() > 0) {
      message.put("thinking", generation.reasoning());
    }
    List<AgentReply.ToolCall> calls = generation.calls().stream().filter(generation::complete).toList();
    if (chat && !calls.isEmpty()) {
      ArrayNode toolCalls = message.putArray("tool_calls");
      calls.forEach(call -> addCall(toolCalls, generation, call));
    }
    return whole;
  }

  /** A tool call as Ollama renders it: {@code function} with its {@code index}, name and arguments as an object. */
  private static void addCall(ArrayNode toolCalls, Generation generation, AgentReply.ToolCall call) {
    ObjectNode function = toolCalls.addObject().putObject("function").put("index", call.index())
        .put("name", call.name());
    try {
      function.set("arguments", Json.MAPPER.readTree(generation.arguments(call)));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("tool call arguments are not JSON: " + generation.arguments(call), e);
    }
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
        // Ollama ends a reply with tool calls as any other: "stop"
        .put("done_reason", generation.finishReason().equals("tool_calls") ? "stop" : generation.finishReason())
        .put("total_duration", timings.endNanos() - timings.arrivalNanos())
        .put("load_duration", timings.prefillStartNanos() - timings.arrivalNanos())
        .put("prompt_eval_count", generation.promptTokens())
        .put("prompt_eval_duration", timings.firstTokenNanos() - timings.prefillStartNanos())
        .put("eval_count", generation.completionTokens())
        .put("eval_duration", timings.endNanos() - timings.firstTokenNanos());
  }
}
