package dev.sluice.sim;

import static dev.sluice.sim.GenerationFormat.quote;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Anthropic's Messages API ({@code POST /v1/messages}) as Ollama (0.14 and later) and vLLM serve it. {@link #toChat}
 * maps a request onto the chat completion the node answers anyway, so a conversation gets the same text in every
 * dialect; the answer comes back as content blocks: thinking, then tool use or text.
 */
final class AnthropicFormat implements GenerationFormat {
  static final AnthropicFormat INSTANCE = new AnthropicFormat();

  private AnthropicFormat() {}

  /**
   * The chat completion body a Messages request asks for: {@code system} first, {@code tool_use} blocks as tool calls,
   * {@code tool_result} blocks as {@code tool} messages, {@code tool_choice} {@code any} as {@code required},
   * {@code thinking} as {@code enable_thinking}. {@code requireMaxTokens} is false for {@code count_tokens}.
   */
  static ObjectNode toChat(JsonNode body, boolean requireMaxTokens) {
    ObjectNode chat = Json.MAPPER.createObjectNode();
    if (body.has("model")) {
      chat.set("model", body.get("model"));
    }
    JsonNode max = body.path("max_tokens");
    if (requireMaxTokens || !max.isMissingNode()) {
      if (!max.isIntegralNumber() || !max.canConvertToInt() || max.asInt() < 1) {
        throw new IllegalArgumentException("max_tokens: " + (max.isMissingNode() ? "Field required"
            : "must be an integer of at least 1, got " + max));
      }
      chat.put("max_tokens", max.asInt());
    }
    chat.put("stream", body.path("stream").asBoolean(false));
    ArrayNode messages = chat.putArray("messages");
    JsonNode system = body.path("system");
    if (!system.isMissingNode() && !system.isNull()) {
      messages.addObject().put("role", "system").put("content", GenerationRequest.text(system));
    }
    JsonNode given = body.path("messages");
    if (!given.isArray() || given.isEmpty()) {
      throw new IllegalArgumentException("messages: at least one message is required");
    }
    for (int i = 0; i < given.size(); i++) {
      message(messages, given.get(i), "messages." + i);
    }
    JsonNode tools = body.path("tools");
    boolean hasTools = tools.isArray() && !tools.isEmpty();
    if (!tools.isMissingNode() && !tools.isNull() && !tools.isArray()) {
      throw new IllegalArgumentException("tools: must be an array of {\"name\",\"input_schema\"}");
    }
    if (hasTools) {
      ArrayNode chatTools = chat.putArray("tools");
      for (int i = 0; i < tools.size(); i++) {
        JsonNode tool = tools.get(i);
        if (!tool.path("name").isTextual() || tool.path("name").asText().isEmpty()) {
          throw new IllegalArgumentException("tools." + i + ".name: Field required");
        }
        ObjectNode function = chatTools.addObject().put("type", "function").putObject("function")
            .put("name", tool.get("name").asText());
        if (tool.path("description").isTextual()) {
          function.set("description", tool.get("description"));
        }
        if (tool.path("input_schema").isObject()) {
          function.set("parameters", tool.get("input_schema"));
        }
      }
    }
    JsonNode choice = body.path("tool_choice");
    if (choice.isObject()) {
      switch (choice.path("type").asText()) {
        case "auto" -> chat.put("tool_choice", "auto");
        case "any" -> chat.put("tool_choice", "required");
        case "none" -> chat.put("tool_choice", "none");
        case "tool" -> chat.putObject("tool_choice").put("type", "function").putObject("function")
            .put("name", choice.path("name").asText());
        default -> throw new IllegalArgumentException("tool_choice.type: must be \"auto\", \"any\", \"tool\" or "
            + "\"none\", got " + choice.path("type"));
      }
      if (!hasTools && !choice.path("type").asText().equals("none")) {
        throw new IllegalArgumentException("tool_choice: " + choice.path("type") + " needs tools");
      }
      if (choice.path("disable_parallel_tool_use").asBoolean(false)) {
        chat.put("parallel_tool_calls", false);
      }
    }
    // Messages continues a final assistant message (a prefill): the answer is the rest of it
    if ("assistant".equals(given.get(given.size() - 1).path("role").asText())) {
      chat.put("continue_final_message", true).put("add_generation_prompt", false);
    }
    JsonNode thinking = body.path("thinking");
    if (thinking.isObject()) {
      chat.putObject("chat_template_kwargs").put("enable_thinking",
          !thinking.path("type").asText().equals("disabled"));
    }
    return chat;
  }

  /** One Messages message as chat messages: its tool results first, then its text and tool calls. */
  private static void message(ArrayNode messages, JsonNode message, String where) {
    String role = message.path("role").asText();
    if (!role.equals("user") && !role.equals("assistant")) {
      throw new IllegalArgumentException(where + ".role: must be \"user\" or \"assistant\", got "
          + message.path("role"));
    }
    JsonNode content = message.path("content");
    if (content.isTextual()) {
      messages.addObject().put("role", role).put("content", content.asText());
      return;
    }
    if (!content.isArray()) {
      throw new IllegalArgumentException(where + ".content: must be a string or an array of content blocks");
    }
    StringBuilder text = new StringBuilder();
    ArrayNode calls = Json.MAPPER.createArrayNode();
    List<ObjectNode> results = new ArrayList<>();
    for (JsonNode block : content) {
      switch (block.path("type").asText()) {
        case "text" -> text.append(block.path("text").asText());
        case "tool_use" -> calls.addObject().put("id", block.path("id").asText()).put("type", "function")
            .putObject("function").put("name", block.path("name").asText())
            .put("arguments", block.path("input").isObject() ? block.get("input").toString() : "{}");
        case "tool_result" -> results.add(Json.MAPPER.createObjectNode().put("role", "tool")
            .put("tool_call_id", block.path("tool_use_id").asText())
            .put("content", GenerationRequest.text(block.path("content"))));
        default -> { } // thinking, images, documents: not part of the simulated prompt
      }
    }
    results.forEach(messages::add);
    if (results.isEmpty() || text.length() > 0 || !calls.isEmpty()) {
      ObjectNode chat = messages.addObject().put("role", role).put("content", text.toString());
      if (!calls.isEmpty()) {
        chat.set("tool_calls", calls);
      }
    }
  }

  @Override
  public String streamContentType() {
    return "text/event-stream";
  }

  @Override
  public List<String> head(Generation generation) {
    ObjectNode message = Json.MAPPER.createObjectNode();
    message.putObject("message").put("id", id(generation)).put("type", "message").put("role", "assistant")
        .put("model", generation.model()).putArray("content");
    ((ObjectNode) message.get("message")).putNull("stop_reason").putNull("stop_sequence").putObject("usage")
        .put("input_tokens", generation.promptTokens()).put("output_tokens", 1);
    return List.of(event("message_start", message), event("ping", Json.MAPPER.createObjectNode()));
  }

  @Override
  public String token(Generation generation, int index) {
    AgentReply reply = generation.reply();
    int block = block(reply, index);
    StringBuilder out = new StringBuilder();
    if (index == 0 || block(reply, index - 1) != block) {
      if (index > 0) {
        out.append(stop(generation, index - 1));
      }
      out.append(start(generation, index, block));
    }
    String text = generation.tokens().get(index);
    String delta = switch (reply.part(index)) {
      case REASONING -> "{\"type\":\"thinking_delta\",\"thinking\":" + quote(text) + "}";
      case CALL_HEADER -> null; // the name came with content_block_start
      case CALL_ARGUMENTS -> "{\"type\":\"input_json_delta\",\"partial_json\":" + quote(text) + "}";
      case CONTENT -> "{\"type\":\"text_delta\",\"text\":" + quote(text) + "}";
    };
    if (delta != null) {
      out.append(raw("content_block_delta", "\"index\":" + block + ",\"delta\":" + delta));
    }
    return out.toString();
  }

  @Override
  public List<String> tail(Generation generation, Timings timings) {
    List<String> events = new ArrayList<>(3);
    int count = generation.tokens().size();
    if (count > 0) {
      events.add(stop(generation, count - 1));
    }
    ObjectNode delta = Json.MAPPER.createObjectNode();
    delta.putObject("delta").put("stop_reason", stopReason(generation)).putNull("stop_sequence");
    delta.putObject("usage").put("output_tokens", generation.completionTokens());
    events.add(event("message_delta", delta));
    events.add(event("message_stop", Json.MAPPER.createObjectNode()));
    return events;
  }

  @Override
  public ObjectNode whole(Generation generation, Timings timings) {
    ObjectNode body = Json.MAPPER.createObjectNode().put("id", id(generation)).put("type", "message")
        .put("role", "assistant").put("model", generation.model());
    ArrayNode content = body.putArray("content");
    AgentReply reply = generation.reply();
    if (reply.reasoningTokens() > 0) {
      content.addObject().put("type", "thinking").put("thinking", generation.reasoning())
          .put("signature", signature(generation));
    }
    for (AgentReply.ToolCall call : generation.calls()) {
      content.addObject().put("type", "tool_use").put("id", toolId(call)).put("name", call.name())
          .set("input", input(generation, call));
    }
    if (generation.tokens().size() > reply.contentStart() || content.isEmpty()) {
      content.addObject().put("type", "text").put("text", generation.content());
    }
    body.put("stop_reason", stopReason(generation)).putNull("stop_sequence");
    body.putObject("usage").put("input_tokens", generation.promptTokens())
        .put("output_tokens", generation.completionTokens());
    return body;
  }

  /** The content block of output token {@code token}: thinking first, then one per tool call, then text. */
  private static int block(AgentReply reply, int token) {
    int first = reply.reasoningTokens() > 0 ? 1 : 0;
    if (token < reply.reasoningTokens()) {
      return 0;
    }
    if (token < reply.contentStart()) {
      return first + reply.call(token).index();
    }
    return first + reply.calls().size();
  }

  private static String start(Generation generation, int token, int block) {
    AgentReply reply = generation.reply();
    String contentBlock = switch (reply.part(token)) {
      case REASONING -> "{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}";
      case CALL_HEADER, CALL_ARGUMENTS -> {
        AgentReply.ToolCall call = reply.call(token);
        yield "{\"type\":\"tool_use\",\"id\":" + quote(toolId(call)) + ",\"name\":" + quote(call.name())
            + ",\"input\":{}}";
      }
      case CONTENT -> "{\"type\":\"text\",\"text\":\"\"}";
    };
    return raw("content_block_start", "\"index\":" + block + ",\"content_block\":" + contentBlock);
  }

  /** Closes the block of {@code lastToken}; a thinking block gets its signature first. */
  private static String stop(Generation generation, int lastToken) {
    AgentReply reply = generation.reply();
    int block = block(reply, lastToken);
    String signature = reply.part(lastToken) == AgentReply.Part.REASONING
        ? raw("content_block_delta", "\"index\":" + block + ",\"delta\":{\"type\":\"signature_delta\",\"signature\":"
            + quote(signature(generation)) + "}")
        : "";
    return signature + raw("content_block_stop", "\"index\":" + block);
  }

  private static String stopReason(Generation generation) {
    return switch (generation.finishReason()) {
      case "length" -> "max_tokens";
      case "tool_calls" -> "tool_use";
      default -> "end_turn";
    };
  }

  /** A call's arguments as an object; arguments cut by the token limit are an empty object. */
  private static JsonNode input(Generation generation, AgentReply.ToolCall call) {
    if (generation.complete(call)) {
      try {
        JsonNode input = Json.MAPPER.readTree(generation.arguments(call));
        if (input != null && input.isObject()) {
          return input;
        }
      } catch (IOException e) {
        // fall through: not whole JSON
      }
    }
    return Json.MAPPER.createObjectNode();
  }

  /** {@code toolu_} and the hex of the simulator's call id. */
  private static String toolId(AgentReply.ToolCall call) {
    return "toolu_" + call.id().substring(call.id().lastIndexOf('-') + 1);
  }

  /** An opaque stand-in for Anthropic's thinking signature, stable for the same reasoning. */
  private static String signature(Generation generation) {
    return Base64.getEncoder().encodeToString(("sim:" + Integer.toHexString(generation.reasoning().hashCode()))
        .getBytes(StandardCharsets.UTF_8));
  }

  private static String id(Generation generation) {
    return "msg_sim" + generation.sequence();
  }

  private static String event(String type, ObjectNode data) {
    ObjectNode typed = Json.MAPPER.createObjectNode().put("type", type);
    typed.setAll(data);
    return "event: " + type + "\ndata: " + typed + "\n\n";
  }

  private static String raw(String type, String fields) {
    return "event: " + type + "\ndata: {\"type\":\"" + type + "\"," + fields + "}\n\n";
  }
}
