package dev.sluice.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import java.util.ArrayList;
import java.util.List;

/**
 * OpenAI's Responses API ({@code POST /v1/responses}) as vLLM and Ollama (0.14 and later) serve it, statelessly:
 * {@code store} is ignored and {@code previous_response_id} refused. {@link #toChat} maps a request onto the chat
 * completion the node answers anyway, so a conversation gets the same text in every dialect; the answer comes back as
 * output items: reasoning, then function calls or a message.
 */
final class ResponsesFormat implements GenerationFormat {
  static final ResponsesFormat INSTANCE = new ResponsesFormat();

  private ResponsesFormat() {}

  /** The chat completion body a Responses request asks for. */
  static ObjectNode toChat(JsonNode body) {
    JsonNode previous = body.path("previous_response_id");
    if (!previous.isMissingNode() && !previous.isNull()) {
      throw new IllegalArgumentException("previous_response_id: this server is stateless and stores no responses; "
          + "send the whole conversation in input instead");
    }
    ObjectNode chat = Json.MAPPER.createObjectNode();
    if (body.has("model")) {
      chat.set("model", body.get("model"));
    }
    JsonNode max = body.path("max_output_tokens");
    if (!max.isMissingNode() && !max.isNull()) {
      if (!max.isIntegralNumber() || !max.canConvertToInt() || max.asInt() < 1) {
        throw new IllegalArgumentException("max_output_tokens must be an integer of at least 1, got " + max);
      }
      chat.put("max_tokens", max.asInt());
    }
    chat.put("stream", body.path("stream").asBoolean(false));
    ArrayNode messages = chat.putArray("messages");
    JsonNode instructions = body.path("instructions");
    if (instructions.isTextual()) {
      messages.addObject().put("role", "system").put("content", instructions.asText());
    }
    JsonNode input = body.path("input");
    if (input.isTextual()) {
      messages.addObject().put("role", "user").put("content", input.asText());
    } else if (input.isArray() && !input.isEmpty()) {
      for (int i = 0; i < input.size(); i++) {
        item(messages, input.get(i), "input[" + i + "]");
      }
    } else {
      throw new IllegalArgumentException("input must be a string or a non-empty array of input items");
    }
    // a final assistant message is continued, as Messages continues a prefill: the answer is the rest of it
    JsonNode last = messages.get(messages.size() - 1);
    if ("assistant".equals(last.path("role").asText()) && !last.has("tool_calls")) {
      chat.put("continue_final_message", true).put("add_generation_prompt", false);
    }
    JsonNode tools = body.path("tools");
    boolean hasTools = tools.isArray() && !tools.isEmpty();
    if (hasTools) {
      ArrayNode chatTools = chat.putArray("tools");
      for (int i = 0; i < tools.size(); i++) {
        JsonNode tool = tools.get(i);
        if (!tool.path("type").asText().equals("function")) {
          throw new IllegalArgumentException("tools[" + i + "].type: only \"function\" tools are supported, got "
              + tool.path("type"));
        }
        if (!tool.path("name").isTextual() || tool.path("name").asText().isEmpty()) {
          throw new IllegalArgumentException("tools[" + i + "].name is required");
        }
        ObjectNode function = chatTools.addObject().put("type", "function").putObject("function")
            .put("name", tool.get("name").asText());
        if (tool.path("parameters").isObject()) {
          function.set("parameters", tool.get("parameters"));
        }
      }
    }
    JsonNode choice = body.path("tool_choice");
    if (choice.isTextual()) {
      chat.set("tool_choice", choice);
    } else if (choice.isObject()) {
      if (!choice.path("type").asText().equals("function")) {
        throw new IllegalArgumentException("tool_choice must be \"auto\", \"required\", \"none\" or "
            + "{\"type\":\"function\",\"name\":...}, got " + choice);
      }
      chat.putObject("tool_choice").put("type", "function").putObject("function")
          .put("name", choice.path("name").asText());
    }
    if (body.has("parallel_tool_calls")) {
      chat.set("parallel_tool_calls", body.get("parallel_tool_calls"));
    }
    JsonNode format = body.path("text").path("format");
    switch (format.path("type").asText("text")) {
      case "json_schema" -> chat.putObject("response_format").put("type", "json_schema").putObject("json_schema")
          .put("name", format.path("name").asText("schema")).set("schema", format.path("schema"));
      case "json_object" -> chat.putObject("response_format").put("type", "json_object");
      default -> { } // text
    }
    JsonNode reasoning = body.path("reasoning");
    if (reasoning.isObject() && reasoning.has("effort") && !reasoning.get("effort").isNull()) {
      chat.putObject("chat_template_kwargs").put("enable_thinking",
          !reasoning.get("effort").asText().equals("none"));
    }
    return chat;
  }

  /** One input item as a chat message: messages, earlier function calls and their outputs; reasoning is dropped. */
  private static void item(ArrayNode messages, JsonNode item, String where) {
    String type = item.path("type").asText(item.has("role") ? "message" : "");
    switch (type) {
      case "message" -> messages.addObject().put("role", item.path("role").asText("user"))
          .put("content", GenerationRequest.text(item.path("content")));
      case "function_call" -> {
        ObjectNode call = Json.MAPPER.createObjectNode().put("id", item.path("call_id").asText())
            .put("type", "function");
        call.putObject("function").put("name", item.path("name").asText())
            .put("arguments", item.path("arguments").asText("{}"));
        JsonNode last = messages.isEmpty() ? null : messages.get(messages.size() - 1);
        if (last != null && last.has("tool_calls") && last.path("content").asText().isEmpty()) {
          ((ArrayNode) last.get("tool_calls")).add(call); // parallel calls are one assistant turn
        } else {
          messages.addObject().put("role", "assistant").put("content", "").putArray("tool_calls").add(call);
        }
      }
      case "function_call_output" -> messages.addObject().put("role", "tool")
          .put("tool_call_id", item.path("call_id").asText())
          .put("content", item.path("output").isTextual() ? item.get("output").asText()
              : GenerationRequest.text(item.path("output")));
      case "reasoning" -> { } // chat templates drop earlier reasoning
      default -> throw new IllegalArgumentException(where + ".type: expected \"message\", \"function_call\", "
          + "\"function_call_output\" or \"reasoning\", got " + item.path("type"));
    }
  }

  /** What an output item is. */
  private enum Kind { REASONING, CALL, MESSAGE }

  /**
   * One output item and the tokens it covers.
   *
   * @param kind what it is
   * @param first its first token
   * @param end one past its last emitted token
   * @param outputIndex its place in {@code output}
   * @param call the function call, for {@link Kind#CALL}
   */
  private record Item(Kind kind, int first, int end, int outputIndex, AgentReply.ToolCall call) {
    /** Events it opens with: output_item.added, and content_part.added but for a call. */
    int openers() {
      return kind == Kind.CALL ? 1 : 2;
    }

    /** Events it closes with: the done events. */
    int closers() {
      return kind == Kind.CALL ? 2 : 3;
    }

    /** Every event of the item: a call's header token has no delta. */
    int events() {
      return openers() + (end - first) - (kind == Kind.CALL ? 1 : 0) + closers();
    }
  }

  private static List<Item> items(Generation generation) {
    AgentReply reply = generation.reply();
    int emitted = generation.tokens().size();
    List<Item> items = new ArrayList<>();
    if (reply.reasoningTokens() > 0) {
      items.add(new Item(Kind.REASONING, 0, Math.min(emitted, reply.reasoningTokens()), 0, null));
    }
    for (AgentReply.ToolCall call : generation.calls()) {
      items.add(new Item(Kind.CALL, call.firstToken(), Math.min(emitted, call.firstToken() + call.tokens()),
          items.size(), call));
    }
    if (emitted > reply.contentStart()) {
      items.add(new Item(Kind.MESSAGE, reply.contentStart(), emitted, items.size(), null));
    }
    return items;
  }

  @Override
  public String streamContentType() {
    return "text/event-stream";
  }

  @Override
  public List<String> head(Generation generation) {
    ObjectNode created = Json.MAPPER.createObjectNode();
    created.set("response", response(generation, "in_progress", null));
    ObjectNode progress = created.deepCopy();
    return List.of(event("response.created", 0, created), event("response.in_progress", 1, progress));
  }

  @Override
  public String token(Generation generation, int index) {
    List<Item> items = items(generation);
    int sequence = 2;
    int at = 0;
    while (items.get(at).end() <= index) {
      sequence += items.get(at).events();
      at++;
    }
    Item item = items.get(at);
    StringBuilder out = new StringBuilder();
    if (index == item.first()) {
      if (at > 0) {
        Item previous = items.get(at - 1);
        out.append(String.join("", close(generation, previous, sequence - previous.closers())));
      }
      out.append(open(generation, item, sequence));
      if (item.kind() == Kind.CALL) {
        return out.toString();
      }
    }
    int delta = sequence + item.openers() + index - item.first() - (item.kind() == Kind.CALL ? 1 : 0);
    ObjectNode data = located(generation, item).put("delta", generation.tokens().get(index));
    String type = switch (item.kind()) {
      case REASONING -> "response.reasoning_text.delta";
      case CALL -> "response.function_call_arguments.delta";
      case MESSAGE -> "response.output_text.delta";
    };
    if (item.kind() == Kind.MESSAGE) {
      data.putArray("logprobs");
    }
    return out.append(event(type, delta, data)).toString();
  }

  @Override
  public List<String> tail(Generation generation, Timings timings) {
    List<Item> items = items(generation);
    int sequence = 2;
    for (Item item : items) {
      sequence += item.events();
    }
    List<String> events = new ArrayList<>();
    if (!items.isEmpty()) {
      Item last = items.get(items.size() - 1);
      events.addAll(close(generation, last, sequence - last.closers()));
    }
    ObjectNode done = Json.MAPPER.createObjectNode();
    ObjectNode response = response(generation, status(generation), items);
    done.set("response", response);
    events.add(event(status(generation).equals("completed") ? "response.completed" : "response.incomplete",
        sequence, done));
    return events;
  }

  @Override
  public ObjectNode whole(Generation generation, Timings timings) {
    return response(generation, status(generation), items(generation));
  }

  private static String status(Generation generation) {
    return generation.finishReason().equals("length") ? "incomplete" : "completed";
  }

  private static String open(Generation generation, Item item, int sequence) {
    ObjectNode added = Json.MAPPER.createObjectNode().put("output_index", item.outputIndex());
    added.set("item", outputItem(generation, item, false));
    String events = event("response.output_item.added", sequence, added);
    if (item.kind() != Kind.CALL) {
      ObjectNode part = located(generation, item);
      part.set("part", part(item, ""));
      events += event("response.content_part.added", sequence + 1, part);
    }
    return events;
  }

  private static List<String> close(Generation generation, Item item, int sequence) {
    List<String> events = new ArrayList<>(3);
    String text = join(generation, item.kind() == Kind.CALL ? item.first() + 1 : item.first(), item.end());
    ObjectNode done = located(generation, item);
    switch (item.kind()) {
      case CALL -> events.add(event("response.function_call_arguments.done", sequence,
          done.put("name", item.call().name()).put("arguments", text)));
      case REASONING -> events.add(event("response.reasoning_text.done", sequence, done.put("text", text)));
      case MESSAGE -> {
        done.put("text", text).putArray("logprobs");
        events.add(event("response.output_text.done", sequence, done));
      }
    }
    int next = sequence + 1;
    if (item.kind() != Kind.CALL) {
      ObjectNode part = located(generation, item);
      part.set("part", part(item, text));
      events.add(event("response.content_part.done", next++, part));
    }
    ObjectNode itemDone = Json.MAPPER.createObjectNode().put("output_index", item.outputIndex());
    itemDone.set("item", outputItem(generation, item, true));
    events.add(event("response.output_item.done", next, itemDone));
    return events;
  }

  /** {@code item_id}, {@code output_index} and, but for calls, {@code content_index}. */
  private static ObjectNode located(Generation generation, Item item) {
    ObjectNode data = Json.MAPPER.createObjectNode().put("item_id", itemId(generation, item))
        .put("output_index", item.outputIndex());
    if (item.kind() != Kind.CALL) {
      data.put("content_index", 0);
    }
    return data;
  }

  private static ObjectNode part(Item item, String text) {
    if (item.kind() == Kind.REASONING) {
      return Json.MAPPER.createObjectNode().put("type", "reasoning_text").put("text", text);
    }
    ObjectNode part = Json.MAPPER.createObjectNode().put("type", "output_text").put("text", text);
    part.putArray("annotations");
    part.putArray("logprobs");
    return part;
  }

  private static ObjectNode outputItem(Generation generation, Item item, boolean done) {
    ObjectNode node = Json.MAPPER.createObjectNode().put("id", itemId(generation, item));
    switch (item.kind()) {
      case REASONING -> {
        node.put("type", "reasoning").putArray("summary");
        ArrayNode content = node.putArray("content");
        if (done) {
          content.add(part(item, join(generation, item.first(), item.end())));
        }
      }
      case CALL -> node.put("type", "function_call").put("status", done ? "completed" : "in_progress")
          .put("call_id", callId(item.call())).put("name", item.call().name())
          .put("arguments", done ? join(generation, item.first() + 1, item.end()) : "");
      case MESSAGE -> {
        node.put("type", "message").put("status", done ? "completed" : "in_progress").put("role", "assistant");
        ArrayNode content = node.putArray("content");
        if (done) {
          content.add(part(item, join(generation, item.first(), item.end())));
        }
      }
    }
    return node;
  }

  /** The response object; {@code items} null while in progress (no output, no usage yet). */
  private static ObjectNode response(Generation generation, String status, List<Item> items) {
    ObjectNode body = Json.MAPPER.createObjectNode().put("id", "resp_sim" + generation.sequence())
        .put("object", "response").put("created_at", generation.createdSeconds()).put("status", status)
        .putNull("error");
    if (status.equals("incomplete")) {
      body.putObject("incomplete_details").put("reason", "max_output_tokens");
    } else {
      body.putNull("incomplete_details");
    }
    body.putNull("instructions").put("model", generation.model());
    ArrayNode output = body.putArray("output");
    body.put("parallel_tool_calls", true).putNull("previous_response_id").put("store", false)
        .put("temperature", 1.0).put("tool_choice", "auto").put("top_p", 1.0).put("truncation", "disabled");
    body.putArray("tools");
    body.putObject("metadata");
    if (items == null) {
      body.putNull("usage");
      return body;
    }
    items.forEach(item -> output.add(outputItem(generation, item, true)));
    ObjectNode usage = body.putObject("usage").put("input_tokens", generation.promptTokens());
    usage.putObject("input_tokens_details").put("cached_tokens", 0);
    usage.put("output_tokens", generation.completionTokens());
    usage.putObject("output_tokens_details").put("reasoning_tokens", generation.reply().reasoningTokens());
    usage.put("total_tokens", generation.promptTokens() + generation.completionTokens());
    return body;
  }

  private static String itemId(Generation generation, Item item) {
    return switch (item.kind()) {
      case REASONING -> "rs_sim" + generation.sequence();
      case CALL -> "fc_" + hex(item.call());
      case MESSAGE -> "msg_sim" + generation.sequence();
    };
  }

  /** {@code call_} and the hex of the simulator's call id. */
  private static String callId(AgentReply.ToolCall call) {
    return "call_" + hex(call);
  }

  private static String hex(AgentReply.ToolCall call) {
    return call.id().substring(call.id().lastIndexOf('-') + 1);
  }

  private static String join(Generation generation, int from, int to) {
    return from >= to ? "" : String.join("", generation.tokens().subList(from, to));
  }

  private static String event(String type, int sequence, ObjectNode data) {
    ObjectNode typed = Json.MAPPER.createObjectNode().put("type", type);
    typed.setAll(data);
    typed.put("sequence_number", sequence);
    return "event: " + type + "\ndata: " + typed + "\n\n";
  }
}
