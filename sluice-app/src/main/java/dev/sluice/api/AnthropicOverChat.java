package dev.sluice.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * An Anthropic Messages request carried over a node's OpenAI chat completions (docs/dialects.md has the table, field
 * by field). The request is translated once, when made: whatever chat completions cannot carry (server tools, documents,
 * redacted thinking, {@code container}, {@code mcp_servers}, unknown fields) is refused with a 400 that names it, so
 * nothing is dropped silently; {@code cache_control} is accepted and not sent (chat nodes cache prefixes by
 * themselves), {@code thinking.budget_tokens} and a thinking block's {@code signature} have no chat equivalent and are
 * not sent either. The answer comes back as content blocks in Anthropic's order: thinking, text, tool use.
 */
final class AnthropicOverChat implements ChatTranslation {
  /** Top-level Messages fields this translation carries; any other is refused. */
  private static final Set<String> CARRIED = Set.of("model", "max_tokens", "messages", "system", "stream",
      "temperature", "top_p", "top_k", "stop_sequences", "metadata", "tools", "tool_choice", "thinking",
      "output_config", "cache_control");
  /** The fields of a custom tool. */
  private static final Set<String> TOOL_FIELDS = Set.of("type", "name", "description", "input_schema",
      "cache_control", "strict", "eager_input_streaming");
  /** {@code output_config.effort} levels chat's {@code reasoning_effort} has too. */
  private static final Set<String> EFFORTS = Set.of("low", "medium", "high");
  /** Longest node error text quoted back to the client. */

  private final String model;
  private final ObjectNode chat;
  private final Set<String> stopSequences = new HashSet<>();

  /**
   * Translates {@code request} (already checked by {@link AnthropicMessages#checkParameters}).
   *
   * @throws ApiException (400) naming the first field or block chat completions cannot carry, and the fix
   */
  AnthropicOverChat(ParsedRequest request) throws ApiException {
    ObjectNode body = request.json();
    model = request.model();
    for (Iterator<String> names = body.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!CARRIED.contains(name)) {
        throw refused("\"" + name + "\"", name);
      }
    }
    chat = Json.MAPPER.createObjectNode();
    chat.set("model", body.get("model"));
    copy(body, "max_tokens");
    ArrayNode messages = chat.putArray("messages");
    system(body.get("system"), messages);
    JsonNode given = body.path("messages");
    for (int i = 0; i < given.size(); i++) {
      message(given.get(i), "messages[" + i + "]", messages);
    }
    tools(body.get("tools"));
    toolChoice(body.get("tool_choice"));
    thinking(body.get("thinking"));
    copy(body, "temperature");
    copy(body, "top_p");
    copy(body, "top_k");
    JsonNode stops = body.get("stop_sequences");
    if (stops != null && stops.isArray() && !stops.isEmpty()) {
      chat.set("stop", stops);
      stops.forEach(s -> stopSequences.add(s.asText()));
    }
    metadata(body.get("metadata"));
    outputConfig(body.get("output_config"));
    if (request.stream()) {
      chat.put("stream", true);
      chat.putObject("stream_options").put("include_usage", true);
    } else if (body.has("stream")) {
      chat.put("stream", false);
    }
  }

  // ---------------------------------------------------------------- the request

  /** A field chat completions has under the same name, when given. */
  private void copy(ObjectNode body, String field) {
    JsonNode v = body.get(field);
    if (v != null && !v.isNull()) chat.set(field, v);
  }

  /** {@code system}, a string or text blocks, as the first message. */
  private static void system(JsonNode system, ArrayNode messages) throws ApiException {
    if (system == null || system.isNull()) return;
    if (system.isTextual()) {
      messages.addObject().put("role", "system").put("content", system.asText());
      return;
    }
    if (!system.isArray()) {
      throw invalid("\"system\" must be a string or an array of text blocks", "system");
    }
    List<String> texts = new ArrayList<>();
    for (int i = 0; i < system.size(); i++) {
      JsonNode block = system.get(i);
      if (!"text".equals(block.path("type").asText()) || !block.path("text").isTextual()) {
        throw invalid("\"system[" + i + "]\" must be a text block {\"type\":\"text\",\"text\":\"...\"}", "system");
      }
      texts.add(block.get("text").asText());
    }
    messages.addObject().put("role", "system").put("content", String.join("\n", texts));
  }

  /**
   * One Messages message as chat messages, in order: its tool results as {@code tool} messages, then its text, images,
   * tool calls and reasoning as one message of its role (none when it had only tool results).
   */
  private static void message(JsonNode message, String where, ArrayNode messages) throws ApiException {
    String role = message.path("role").asText();
    boolean assistant = role.equals("assistant");
    JsonNode content = message.path("content");
    if (content.isTextual()) {
      messages.addObject().put("role", role).put("content", content.asText());
      return;
    }
    List<String> texts = new ArrayList<>();
    ArrayNode parts = Json.MAPPER.createArrayNode();
    boolean images = false;
    ArrayNode calls = Json.MAPPER.createArrayNode();
    StringBuilder reasoning = null;
    for (int i = 0; i < content.size(); i++) {
      JsonNode block = content.get(i);
      String at = where + ".content[" + i + "]";
      String type = block.path("type").asText();
      switch (type) {
        case "text" -> {
          if (!block.path("text").isTextual()) throw invalid("\"" + at + ".text\" must be a string", "messages");
          texts.add(block.get("text").asText());
          parts.addObject().put("type", "text").put("text", block.get("text").asText());
        }
        case "image" -> {
          if (assistant) throw misplaced(at, type, "user");
          parts.add(image(block, at));
          images = true;
        }
        case "tool_use" -> {
          if (!assistant) throw misplaced(at, type, "assistant");
          calls.add(toolCall(block, at));
        }
        case "tool_result" -> {
          if (assistant) throw misplaced(at, type, "user");
          messages.add(toolResult(block, at));
        }
        case "thinking" -> {
          if (!assistant) throw misplaced(at, type, "assistant");
          if (!block.path("thinking").isTextual()) {
            throw invalid("\"" + at + ".thinking\" must be a string", "messages");
          }
          reasoning = reasoning == null ? new StringBuilder() : reasoning.append('\n');
          reasoning.append(block.get("thinking").asText());
        }
        default -> throw refused("a \"" + type + "\" block (" + at + ")", "messages");
      }
    }
    if (texts.isEmpty() && !images && calls.isEmpty() && reasoning == null && !content.isEmpty()) {
      return; // only tool results: they are the message
    }
    ObjectNode chatMessage = messages.addObject().put("role", role);
    if (images) {
      chatMessage.set("content", parts);
    } else if (texts.isEmpty() && !calls.isEmpty()) {
      chatMessage.putNull("content");
    } else {
      chatMessage.put("content", String.join("\n", texts));
    }
    if (!calls.isEmpty()) chatMessage.set("tool_calls", calls);
    if (reasoning != null) chatMessage.put("reasoning_content", reasoning.toString());
  }

  /** {@code source} {@code base64} as a data URL, {@code url} as is. */
  private static ObjectNode image(JsonNode block, String at) throws ApiException {
    JsonNode source = block.path("source");
    String url = switch (source.path("type").asText()) {
      case "base64" -> {
        if (!source.path("media_type").isTextual() || !source.path("data").isTextual()) {
          throw invalid("\"" + at + ".source\" of type base64 needs \"media_type\" and \"data\"", "messages");
        }
        yield "data:" + source.get("media_type").asText() + ";base64," + source.get("data").asText();
      }
      case "url" -> {
        if (!source.path("url").isTextual()) throw invalid("\"" + at + ".source.url\" must be a string", "messages");
        yield source.get("url").asText();
      }
      default -> throw refused("an image source of type " + source.path("type") + " (" + at + ".source)", "messages");
    };
    ObjectNode part = Json.MAPPER.createObjectNode().put("type", "image_url");
    part.putObject("image_url").put("url", url);
    return part;
  }

  /** A {@code tool_use} block as a chat tool call; its {@code input} as JSON text, its id unchanged. */
  private static ObjectNode toolCall(JsonNode block, String at) throws ApiException {
    if (!block.path("id").isTextual() || !block.path("name").isTextual()) {
      throw invalid("\"" + at + "\" (tool_use) needs a string \"id\" and \"name\"", "messages");
    }
    JsonNode input = block.get("input");
    if (input != null && !input.isNull() && !input.isObject()) {
      throw invalid("\"" + at + ".input\" must be an object", "messages");
    }
    ObjectNode call = Json.MAPPER.createObjectNode().put("id", block.get("id").asText()).put("type", "function");
    call.putObject("function").put("name", block.get("name").asText())
        .put("arguments", input == null || input.isNull() ? "{}" : input.toString());
    return call;
  }

  /**
   * A {@code tool_result} block as a {@code tool} message: its content a string or text blocks (joined by newlines);
   * {@code is_error: true} prefixes the text with {@code "Error: "}, since a chat tool message has no error flag.
   */
  private static ObjectNode toolResult(JsonNode block, String at) throws ApiException {
    if (!block.path("tool_use_id").isTextual()) {
      throw invalid("\"" + at + ".tool_use_id\" must be the id of the tool_use it answers", "messages");
    }
    JsonNode content = block.get("content");
    String text;
    if (content == null || content.isNull()) {
      text = "";
    } else if (content.isTextual()) {
      text = content.asText();
    } else if (content.isArray()) {
      List<String> texts = new ArrayList<>();
      for (int i = 0; i < content.size(); i++) {
        JsonNode part = content.get(i);
        String type = part.path("type").asText();
        if (!type.equals("text")) {
          throw refused("a \"" + type + "\" block inside a tool_result (" + at + ".content[" + i + "]);"
              + " chat tool messages carry text only", "messages");
        }
        texts.add(part.path("text").asText());
      }
      text = String.join("\n", texts);
    } else {
      throw invalid("\"" + at + ".content\" must be a string or an array of text blocks", "messages");
    }
    if (block.path("is_error").asBoolean(false)) text = "Error: " + text;
    return Json.MAPPER.createObjectNode().put("role", "tool")
        .put("tool_call_id", block.get("tool_use_id").asText()).put("content", text);
  }

  /** Custom tools as chat functions; Anthropic's server tools ({@code web_search_*}, {@code bash_*}...) are refused. */
  private void tools(JsonNode tools) throws ApiException {
    if (tools == null || tools.isNull()) return;
    if (!tools.isArray()) throw invalid("\"tools\" must be an array of {name, description, input_schema}", "tools");
    if (tools.isEmpty()) return;
    ArrayNode functions = chat.putArray("tools");
    for (int i = 0; i < tools.size(); i++) {
      JsonNode tool = tools.get(i);
      String at = "tools[" + i + "]";
      String type = tool.path("type").asText("custom");
      if (!type.equals("custom")) throw refused("the server tool " + tool.path("type") + " (" + at + ")", "tools");
      for (Iterator<String> names = tool.fieldNames(); names.hasNext(); ) {
        String name = names.next();
        if (!TOOL_FIELDS.contains(name)) throw refused("\"" + at + "." + name + "\"", "tools");
      }
      if (!tool.path("name").isTextual() || tool.path("name").asText().isEmpty()) {
        throw invalid("\"" + at + ".name\" must be a non-empty string", "tools");
      }
      ObjectNode function = functions.addObject().put("type", "function").putObject("function")
          .put("name", tool.get("name").asText());
      if (tool.path("description").isTextual()) function.set("description", tool.get("description"));
      if (tool.path("input_schema").isObject()) function.set("parameters", tool.get("input_schema"));
      if (tool.path("strict").isBoolean()) function.set("strict", tool.get("strict"));
    }
  }

  /** {@code auto}, {@code any} (chat's {@code required}), {@code tool} (one function), {@code none}. */
  private void toolChoice(JsonNode choice) throws ApiException {
    if (choice == null || choice.isNull()) return;
    switch (choice.path("type").asText()) {
      case "auto" -> chat.put("tool_choice", "auto");
      case "any" -> chat.put("tool_choice", "required");
      case "none" -> chat.put("tool_choice", "none");
      case "tool" -> {
        if (!choice.path("name").isTextual()) {
          throw invalid("\"tool_choice.name\" must name the tool to use", "tool_choice");
        }
        chat.putObject("tool_choice").put("type", "function").putObject("function")
            .put("name", choice.get("name").asText());
      }
      default -> throw invalid("\"tool_choice.type\" must be \"auto\", \"any\", \"tool\" or \"none\", got "
          + choice.path("type"), "tool_choice");
    }
    if (choice.path("disable_parallel_tool_use").asBoolean(false)) chat.put("parallel_tool_calls", false);
  }

  /**
   * {@code enabled} and {@code adaptive} (the model decides how much) as {@code chat_template_kwargs.enable_thinking}
   * true, {@code disabled} as false; the budget is not carried.
   */
  private void thinking(JsonNode thinking) throws ApiException {
    if (thinking == null || thinking.isNull()) return;
    boolean enable = switch (thinking.path("type").asText()) {
      case "enabled", "adaptive" -> true;
      case "disabled" -> false;
      default -> throw invalid("\"thinking.type\" must be \"enabled\", \"adaptive\" or \"disabled\", got "
          + thinking.path("type"), "thinking");
    };
    chat.putObject("chat_template_kwargs").put("enable_thinking", enable);
  }

  /**
   * {@code output_config.format} {@code json_schema} as chat's {@code response_format} {@code json_schema} (strict);
   * {@code output_config.effort} {@code low}/{@code medium}/{@code high} as {@code reasoning_effort}.
   */
  private void outputConfig(JsonNode config) throws ApiException {
    if (config == null || config.isNull()) return;
    if (!config.isObject()) throw invalid("\"output_config\" must be an object {effort, format}", "output_config");
    for (Iterator<String> names = config.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!name.equals("effort") && !name.equals("format")) {
        throw refused("\"output_config." + name + "\"", "output_config");
      }
    }
    JsonNode effort = config.get("effort");
    if (effort != null && !effort.isNull()) {
      if (!EFFORTS.contains(effort.asText())) {
        throw refused("\"output_config.effort\" " + effort + " (chat's reasoning_effort is low, medium or high)",
            "output_config");
      }
      chat.put("reasoning_effort", effort.asText());
    }
    JsonNode format = config.get("format");
    if (format != null && !format.isNull()) {
      if (!"json_schema".equals(format.path("type").asText()) || !format.path("schema").isObject()) {
        throw invalid("\"output_config.format\" must be {\"type\":\"json_schema\",\"schema\":{...}}", "output_config");
      }
      ObjectNode schema = chat.putObject("response_format").put("type", "json_schema").putObject("json_schema");
      schema.put("name", "output").set("schema", format.get("schema"));
      schema.put("strict", true);
    }
  }

  /** {@code metadata.user_id} as chat's {@code user}. */
  private void metadata(JsonNode metadata) throws ApiException {
    if (metadata == null || metadata.isNull()) return;
    if (!metadata.isObject()) throw invalid("\"metadata\" must be an object {\"user_id\": ...}", "metadata");
    for (Iterator<String> names = metadata.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!name.equals("user_id")) throw refused("\"metadata." + name + "\"", "metadata");
    }
    JsonNode user = metadata.get("user_id");
    if (user != null && user.isTextual()) chat.set("user", user);
  }

  private static ApiException invalid(String message, String param) {
    return new ApiException(ErrorKind.INVALID_REQUEST, message, param);
  }

  private static ApiException misplaced(String at, String type, String role) {
    return invalid("\"" + at + "\": a \"" + type + "\" block belongs in a \"" + role + "\" message", "messages");
  }

  private static ApiException refused(String what, String param) {
    return invalid(what + " cannot be carried over chat completions, which is all the nodes of this model speak:"
        + " send it to a node that speaks Anthropic Messages, or leave it out", param);
  }

  @Override
  public Buffer chatRequest() {
    return Buffer.buffer(Bodies.bytes(chat));
  }

  // ---------------------------------------------------------------- answers

  /**
   * The stop reason of a chat finish reason: {@code stop} is {@code end_turn}, or {@code stop_sequence} when the
   * node's {@code stop_reason} (vLLM) is one of the request's stop sequences; {@code tool_use} also when the node
   * said {@code stop} but called tools (the client runs tools on {@code tool_use}).
   */
  private String stopReason(String finishReason, JsonNode nodeStopReason, boolean calledTools) {
    if ("stop".equals(finishReason) && stopSequence(nodeStopReason) != null) return "stop_sequence";
    if (calledTools && (finishReason == null || finishReason.equals("stop"))) return "tool_use";
    return AnthropicMessages.stopReason(finishReason);
  }

  private String stopSequence(JsonNode nodeStopReason) {
    return nodeStopReason != null && nodeStopReason.isTextual() && stopSequences.contains(nodeStopReason.asText())
        ? nodeStopReason.asText() : null;
  }

  @Override
  public Buffer answer(byte[] chatCompletion) {
    JsonNode root = ChatAnswers.object(chatCompletion);
    JsonNode choice = root == null ? null : root.path("choices").path(0);
    if (choice == null || !choice.path("message").isObject()) {
      return notAChatCompletion("the node's answer is not a chat completion: "
          + ChatAnswers.clip(new String(chatCompletion, StandardCharsets.UTF_8)));
    }
    JsonNode message = choice.get("message");
    String finishReason = Bodies.text(choice.get("finish_reason"));
    ObjectNode body = AnthropicMessages.message(messageId(Bodies.text(root.get("id"))), root.path("model").asText(model));
    ArrayNode content = (ArrayNode) body.get("content");
    String reasoning = ChatAnswers.reasoning(message);
    if (reasoning != null && !reasoning.isEmpty()) {
      content.addObject().put("type", "thinking").put("thinking", reasoning).put("signature", "");
    }
    String text = Bodies.text(message.get("content"));
    String refusal = Bodies.text(message.get("refusal"));
    if ((text == null || text.isEmpty()) && refusal != null) {
      text = refusal;
      finishReason = "content_filter";
    }
    JsonNode calls = message.path("tool_calls");
    int textAt = content.size();
    for (JsonNode call : calls) {
      JsonNode function = call.path("function");
      ObjectNode input = function.path("arguments").isObject() ? (ObjectNode) function.get("arguments")
          : input(function.path("arguments").asText(""), "length".equals(finishReason));
      if (input == null) {
        return notAChatCompletion("the node called the tool " + function.path("name")
            + " with arguments that are not a JSON object: " + ChatAnswers.clip(function.path("arguments").asText("")));
      }
      content.addObject().put("type", "tool_use").put("id", toolId(call.get("id")))
          .put("name", function.path("name").asText()).set("input", input);
    }
    if ((text != null && !text.isEmpty()) || content.isEmpty()) {
      content.insertObject(textAt).put("type", "text").put("text", text == null ? "" : text);
    }
    body.put("stop_reason", stopReason(finishReason, choice.get("stop_reason"), !calls.isEmpty()));
    String sequence = "stop".equals(finishReason) ? stopSequence(choice.get("stop_reason")) : null;
    if (sequence == null) body.putNull("stop_sequence"); else body.put("stop_sequence", sequence);
    body.set("usage", usage(root.path("usage"), true));
    return Buffer.buffer(Bodies.bytes(body));
  }

  /**
   * Tool call arguments as an input object: blank arguments are {@code {}}; arguments that are not a JSON object are
   * {@code {}} when the token limit cut them ({@code cut}), else null (the answer cannot be written exactly).
   */
  private static ObjectNode input(String arguments, boolean cut) {
    if (arguments.isBlank()) return Json.MAPPER.createObjectNode();
    try {
      JsonNode parsed = Json.MAPPER.readTree(arguments);
      if (parsed != null && parsed.isObject()) return (ObjectNode) parsed;
    } catch (JsonProcessingException e) {
      // not JSON: below
    }
    return cut ? Json.MAPPER.createObjectNode() : null;
  }

  /**
   * Anthropic usage from chat usage: the prompt's cached tokens ({@code prompt_tokens_details.cached_tokens}) are
   * {@code cache_read_input_tokens}, the rest {@code input_tokens}; chat nodes report no cache writes.
   */
  private static ObjectNode usage(JsonNode chatUsage, boolean whole) {
    long prompt = chatUsage.path("prompt_tokens").asLong(0);
    long cached = Math.min(prompt, chatUsage.path("prompt_tokens_details").path("cached_tokens").asLong(0));
    ObjectNode usage = Json.MAPPER.createObjectNode().put("input_tokens", prompt - cached);
    if (whole) usage.put("cache_creation_input_tokens", 0);
    return usage.put("cache_read_input_tokens", cached)
        .put("output_tokens", chatUsage.path("completion_tokens").asLong(0));
  }

  /** {@code msg_} and the chat id without its {@code chatcmpl-}; a random one when the node gave none. */
  private static String messageId(String id) {
    return "msg_" + ChatAnswers.idSuffix(id);
  }

  /** The chat tool call id unchanged (the next request's {@code tool_result} names it); a made-up one when absent. */
  private static String toolId(JsonNode id) {
    String text = Bodies.text(id);
    return text == null || text.isEmpty() ? "toolu_" + UUID.randomUUID().toString().replace("-", "") : text;
  }

  private static Buffer notAChatCompletion(String message) {
    return Buffer.buffer(AnthropicDialect.errorNode("api_error", message).toString());
  }

  // ---------------------------------------------------------------- errors

  /**
   * The node's error message (OpenAI {@code {"error":{"message"}}}, vLLM {@code {"object":"error","message"}}, Ollama
   * {@code {"error":"..."}}, else its text clipped) in Anthropic's shape, typed by {@code status}.
   */
  @Override
  public Buffer error(int status, byte[] body) {
    return Buffer.buffer(AnthropicDialect.errorNode(ErrorKind.anthropicType(status), errorMessage(body)).toString());
  }

  private static String errorMessage(byte[] body) {
    JsonNode message = ChatAnswers.errorMessage(ChatAnswers.object(body));
    if (message != null) return ChatAnswers.clip(message.asText());
    String text = new String(body, StandardCharsets.UTF_8); // not JSON, or no message in it: the text itself
    return text.isBlank() ? "the node answered with an error and no message" : ChatAnswers.clip(text.strip());
  }

  // ---------------------------------------------------------------- streams

  @Override
  public Relay relay() {
    return new StreamRelay();
  }

  /** One attempt's chat stream as Messages events. */
  private final class StreamRelay implements Relay {
    private enum Block { NONE, THINKING, TEXT, TOOL }

    private boolean started;
    private boolean finished;
    private int nextIndex;
    private Block open = Block.NONE;
    private int openToolCall = -1;
    private String openToolKey;
    private final Set<String> toolCallsSeen = new HashSet<>();
    private String finishReason;
    private JsonNode nodeStopReason;
    private String chatId;
    private String chatModel;

    @Override
    public Buffer events(Buffer chatEvents) {
      Buffer out = Buffer.buffer();
      if (finished) return out;
      for (String data : OpenAiDialect.sseEvents(chatEvents.getBytes())) {
        if (finished) break;
        if (OpenAiDialect.DONE.equals(data.strip())) {
          finish(out, null);
          break;
        }
        JsonNode chunk = ChatAnswers.object(data);
        if (chunk == null || !chunk.isObject()) {
          fail(out, "api_error", "the node sent a stream event that is not JSON: " + ChatAnswers.clip(data));
          break;
        }
        if (ChatAnswers.isError(chunk)) {
          JsonNode message = ChatAnswers.errorMessage(chunk);
          JsonNode code = chunk.path("error").isObject() ? chunk.path("error").path("code") : chunk.path("code");
          fail(out, code.canConvertToInt() ? ErrorKind.anthropicType(code.asInt()) : "api_error",
              message == null ? ChatAnswers.clip(data) : ChatAnswers.clip(message.asText()));
          break;
        }
        chunk(chunk, out);
      }
      return out;
    }

    private void chunk(JsonNode chunk, Buffer out) {
      if (chatId == null) chatId = Bodies.text(chunk.get("id"));
      if (chatModel == null) chatModel = Bodies.text(chunk.get("model"));
      start(out);
      JsonNode choice = chunk.path("choices").path(0);
      if (choice.isObject()) {
        JsonNode delta = choice.path("delta");
        String reasoning = ChatAnswers.reasoning(delta);
        if (reasoning != null && !reasoning.isEmpty()) {
          open(out, Block.THINKING, -1, null);
          delta(out, "thinking_delta", "thinking", reasoning);
        }
        String text = Bodies.text(delta.get("content"));
        if (text != null && !text.isEmpty()) {
          open(out, Block.TEXT, -1, null);
          delta(out, "text_delta", "text", text);
        }
        for (JsonNode call : delta.path("tool_calls")) {
          if (!toolCall(call, out)) return;
        }
        String reason = Bodies.text(choice.get("finish_reason"));
        if (reason != null) {
          finishReason = reason;
          nodeStopReason = choice.get("stop_reason");
          if (nextIndex == 0) open(out, Block.TEXT, -1, null); // an empty answer still has its text block
          close(out);
        }
      }
      if (chunk.path("usage").isObject() && (finishReason != null || chunk.path("choices").isEmpty())) {
        finish(out, chunk.get("usage"));
      }
    }

    /**
     * A tool call delta: the first of a call opens its block, argument pieces are {@code input_json_delta}s. A call is
     * known by its {@code id} where the delta repeats it, else by its {@code index} (a node that numbers every call 0
     * but gives each its own id still makes one block per call).
     */
    private boolean toolCall(JsonNode call, Buffer out) {
      int index = call.path("index").asInt(0);
      String id = Bodies.text(call.get("id"));
      String key = id != null && !id.isEmpty() ? "id:" + id : null;
      boolean continues = open == Block.TOOL
          && (key == null ? openToolCall == index : key.equals(openToolKey));
      JsonNode function = call.path("function");
      if (!continues) {
        if (toolCallsSeen.contains(key == null ? "index:" + index : key)) {
          fail(out, "api_error", "the node interleaved the arguments of several tool calls, which a Messages stream"
              + " cannot carry (each tool_use block is closed before the next opens)");
          return false;
        }
        close(out); // another call under the same index is another block too
        open(out, Block.TOOL, index, Json.MAPPER.createObjectNode().put("type", "tool_use")
            .put("id", toolId(call.get("id"))).put("name", function.path("name").asText("")));
        openToolKey = key;
        toolCallsSeen.add("index:" + index);
        if (key != null) toolCallsSeen.add(key);
      }
      JsonNode given = function.get("arguments");
      String arguments = given != null && given.isObject() ? given.toString() : Bodies.text(given);
      if (arguments != null && !arguments.isEmpty()) delta(out, "input_json_delta", "partial_json", arguments);
      return true;
    }

    private void start(Buffer out) {
      if (started) return;
      started = true;
      ObjectNode message = AnthropicMessages.message(messageId(chatId), chatModel == null ? model : chatModel);
      message.putNull("stop_reason").putNull("stop_sequence");
      message.putObject("usage").put("input_tokens", 0).put("output_tokens", 0);
      out.appendBuffer(AnthropicMessages.event("message_start", fields().set("message", message)));
    }

    /** Opens a block of {@code kind} unless it is the one open, closing the open one first. */
    private void open(Buffer out, Block kind, int toolCall, ObjectNode toolBlock) {
      if (open == kind && (kind != Block.TOOL || openToolCall == toolCall)) return;
      close(out);
      ObjectNode block = switch (kind) {
        case THINKING -> Json.MAPPER.createObjectNode().put("type", "thinking").put("thinking", "")
            .put("signature", "");
        case TEXT -> Json.MAPPER.createObjectNode().put("type", "text").put("text", "");
        default -> toolBlock;
      };
      if (kind == Block.TOOL) block.putObject("input");
      ObjectNode event = fields().put("index", nextIndex);
      event.set("content_block", block);
      out.appendBuffer(AnthropicMessages.event("content_block_start", event));
      open = kind;
      openToolCall = toolCall;
      nextIndex++;
    }

    /** Closes the open block; a thinking block gets its (empty: chat nodes sign nothing) signature first. */
    private void close(Buffer out) {
      if (open == Block.NONE) return;
      if (open == Block.THINKING) delta(out, "signature_delta", "signature", "");
      out.appendBuffer(AnthropicMessages.event("content_block_stop", fields().put("index", nextIndex - 1)));
      open = Block.NONE;
      openToolCall = -1;
    }

    private void delta(Buffer out, String type, String field, String value) {
      ObjectNode event = fields().put("index", nextIndex - 1);
      event.putObject("delta").put("type", type).put(field, value);
      out.appendBuffer(AnthropicMessages.event("content_block_delta", event));
    }

    /**
     * {@code message_delta} (stop reason, usage) and {@code message_stop}. Without a usage chunk ({@code [DONE]}
     * first: a node that ignores {@code stream_options}) the counts are 0: the node did not say.
     */
    private void finish(Buffer out, JsonNode chatUsage) {
      start(out);
      if (nextIndex == 0) open(out, Block.TEXT, -1, null);
      close(out);
      ObjectNode event = fields();
      String sequence = "stop".equals(finishReason) ? stopSequence(nodeStopReason) : null;
      ObjectNode delta = event.putObject("delta")
          .put("stop_reason", stopReason(finishReason, nodeStopReason, !toolCallsSeen.isEmpty()));
      if (sequence == null) delta.putNull("stop_sequence"); else delta.put("stop_sequence", sequence);
      event.set("usage", usage(chatUsage == null ? Json.MAPPER.createObjectNode() : chatUsage, false));
      out.appendBuffer(AnthropicMessages.event("message_delta", event));
      out.appendBuffer(AnthropicMessages.event("message_stop", fields()));
      finished = true;
    }

    /** One Anthropic {@code event: error}; nothing follows it. */
    private void fail(Buffer out, String type, String message) {
      out.appendString("event: error\ndata: ").appendString(AnthropicDialect.errorNode(type, message).toString())
          .appendString("\n\n");
      finished = true;
    }

    /** The node ended: the gateway decides what closes the client's stream when no {@code [DONE]} came. */
    @Override
    public Buffer end() {
      return Buffer.buffer();
    }

    private ObjectNode fields() {
      return Json.MAPPER.createObjectNode();
    }
  }
}
