package dev.sluice.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.OpenAiResponses.Events;
import dev.sluice.support.Json;
import io.vertx.core.buffer.Buffer;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * One OpenAI Responses request carried over a node's chat completions (docs/dialects.md, "OpenAI Responses"). The
 * request: {@code instructions} and the {@code input} items become chat messages in order (function calls and their
 * outputs as tool calls and tool messages, reasoning as the next assistant message's {@code reasoning_content}),
 * function tools chat tools, {@code text.format} a {@code response_format}, {@code reasoning.effort} thinking on or
 * off.
 * Whatever chat completions cannot carry (hosted tools, file ids, stored state, unknown fields) is refused when this is
 * made. The answer: a response object whose output is the reasoning, the message, then the function calls, whole or
 * streamed event by event as the chat stream comes in.
 */
final class ResponsesOverChat implements ChatTranslation {
  /** Fields read here or by {@link OpenAiResponses#checkParameters}; any other is refused by name. */
  private static final Set<String> KNOWN = Set.of("model", "input", "instructions", "stream", "stream_options",
      "store", "metadata", "max_output_tokens", "temperature", "top_p", "tools", "tool_choice", "parallel_tool_calls",
      "text", "reasoning", "user", "safety_identifier", "include", "truncation", "service_tier", "prompt_cache_key",
      "prompt_cache_retention", "top_logprobs", "max_tool_calls", "background", "previous_response_id",
      "conversation", "prompt");
  /** {@code include} values that need nothing: a node's reasoning is never encrypted, its text comes in content. */
  private static final Set<String> INCLUDABLE = Set.of("reasoning.encrypted_content");
  private static final String RESPONSES_NODE = "or send the request to a model whose nodes serve /v1/responses";

  private final ObjectNode request;
  private final Buffer chatRequest;

  /** @throws ApiException (400) for what chat completions cannot carry, naming the field and the fix */
  ResponsesOverChat(ParsedRequest request) throws ApiException {
    this.request = request.json();
    this.chatRequest = Buffer.buffer(Bodies.bytes(chat(request.json(), request.model(), request.stream())));
  }

  @Override
  public Buffer chatRequest() {
    return chatRequest;
  }

  // ---------------------------------------------------------------- the request

  private static ObjectNode chat(ObjectNode r, String model, boolean stream) throws ApiException {
    for (var it = r.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!KNOWN.contains(field)) {
        throw refuse(field, "\"" + field + "\" is not a field of OpenAI Responses that Sluice can carry over chat "
            + "completions: send the request without it, " + RESPONSES_NODE);
      }
    }
    ObjectNode chat = Json.MAPPER.createObjectNode().put("model", model);
    chat.set("messages", messages(r));
    tools(r, chat);
    JsonNode max = r.get("max_output_tokens");
    if (max != null && !max.isNull()) chat.set("max_tokens", max);
    copy(r, chat, "temperature");
    copy(r, chat, "top_p");
    text(r.get("text"), chat);
    reasoning(r.get("reasoning"), chat);
    JsonNode user = present(r.get("safety_identifier")) ? r.get("safety_identifier") : r.get("user");
    if (present(user)) {
      if (!user.isTextual()) throw refuse("user", "\"user\" must be a string");
      chat.set("user", user);
    }
    include(r.get("include"));
    JsonNode truncation = r.get("truncation");
    if (present(truncation) && !"disabled".equals(truncation.asText())) {
      throw refuse("truncation", "\"truncation\": " + truncation + " is not supported: nodes never drop input "
          + "items; send \"disabled\" (or nothing) and keep the conversation within the model's context window");
    }
    JsonNode topLogprobs = r.get("top_logprobs");
    if (present(topLogprobs) && topLogprobs.asInt(-1) != 0) {
      throw refuse("top_logprobs", "\"top_logprobs\" is not supported over chat completions: send the request "
          + "without it, " + RESPONSES_NODE);
    }
    if (present(r.get("max_tool_calls"))) {
      throw refuse("max_tool_calls", "\"max_tool_calls\" is not supported: a node's chat completions cannot be "
          + "limited to a number of calls; send the request without it (or \"parallel_tool_calls\": false)");
    }
    if (stream) {
      chat.put("stream", true);
      chat.putObject("stream_options").put("include_usage", true);
    }
    return chat;
  }

  private static void copy(ObjectNode from, ObjectNode to, String field) {
    JsonNode v = from.get(field);
    if (present(v)) to.set(field, v);
  }

  private static boolean present(JsonNode v) {
    return v != null && !v.isNull();
  }

  private static ApiException refuse(String param, String message) {
    return new ApiException(ErrorKind.INVALID_REQUEST, message, param);
  }

  /** {@code instructions} as a system message, then each input item, in order. */
  private static ArrayNode messages(ObjectNode r) throws ApiException {
    ArrayNode messages = Json.MAPPER.createArrayNode();
    JsonNode instructions = r.get("instructions");
    if (present(instructions)) {
      if (!instructions.isTextual()) throw refuse("instructions", "\"instructions\" must be a string");
      messages.addObject().put("role", "system").put("content", instructions.asText());
    }
    JsonNode input = r.get("input");
    if (input.isTextual()) {
      messages.addObject().put("role", "user").put("content", input.asText());
      return messages;
    }
    Items items = new Items(messages);
    for (int i = 0; i < input.size(); i++) items.add(input.get(i), "input[" + i + "]");
    return messages;
  }

  /** Input items as chat messages, in order. */
  private static final class Items {
    private final ArrayNode messages;
    /** The assistant message the previous item made, which function calls right after it join. */
    private ObjectNode lastAssistant;
    /** Reasoning waiting for the next assistant message. */
    private StringBuilder reasoning;

    Items(ArrayNode messages) {
      this.messages = messages;
    }

    void add(JsonNode item, String where) throws ApiException {
      if (!item.isObject()) throw refuse("input", where + " must be an object (an input item)");
      String type = item.path("type").asText(item.has("role") ? "message" : "");
      ObjectNode assistant = null;
      switch (type) {
        case "message" -> assistant = message(item, where);
        case "function_call" -> assistant = call(item, where);
        case "function_call_output" -> output(item, where);
        case "reasoning" -> reasoning(item, where);
        default -> throw refuse("input", where + ".type " + item.path("type") + " cannot be carried over chat "
            + "completions (only message, function_call, function_call_output and reasoning items): send the "
            + "conversation as those items, " + RESPONSES_NODE);
      }
      if (!type.equals("reasoning")) lastAssistant = assistant;
    }

    private ObjectNode message(JsonNode item, String where) throws ApiException {
      String role = item.path("role").asText("");
      String chatRole = switch (role) {
        case "user", "assistant", "system" -> role;
        case "developer" -> "system";
        default -> throw refuse("input", where + ".role must be user, assistant, system or developer, got "
            + item.path("role"));
      };
      ObjectNode message = Json.MAPPER.createObjectNode().put("role", chatRole);
      message.set("content", content(item.get("content"), chatRole, where + ".content"));
      return append(message);
    }

    private ObjectNode call(JsonNode item, String where) throws ApiException {
      String callId = requiredText(item, "call_id", where);
      String name = requiredText(item, "name", where);
      JsonNode arguments = item.get("arguments");
      if (arguments == null || !arguments.isTextual()) {
        throw refuse("input", where + ".arguments must be a string (the call's JSON arguments)");
      }
      ObjectNode call = Json.MAPPER.createObjectNode().put("id", callId).put("type", "function");
      call.putObject("function").put("name", name).put("arguments", arguments.asText());
      ObjectNode assistant = lastAssistant;
      if (assistant == null) {
        assistant = append(Json.MAPPER.createObjectNode().put("role", "assistant").put("content", ""));
      }
      JsonNode calls = assistant.get("tool_calls");
      (calls instanceof ArrayNode a ? a : assistant.putArray("tool_calls")).add(call);
      return assistant;
    }

    private void output(JsonNode item, String where) throws ApiException {
      String callId = requiredText(item, "call_id", where);
      JsonNode output = item.get("output");
      String text;
      if (output != null && output.isTextual()) {
        text = output.asText();
      } else if (output != null && output.isArray()) {
        StringBuilder joined = new StringBuilder();
        for (int i = 0; i < output.size(); i++) {
          JsonNode part = output.get(i);
          String type = part.path("type").asText("");
          if (!type.equals("input_text") && !type.equals("output_text") || !part.path("text").isTextual()) {
            throw refuse("input", where + ".output[" + i + "] of type " + part.path("type") + " cannot be carried "
                + "in a chat tool message (text only): send the output as text, " + RESPONSES_NODE);
          }
          joined.append(part.get("text").asText());
        }
        text = joined.toString();
      } else {
        throw refuse("input", where + ".output must be a string (the function's result)");
      }
      append(Json.MAPPER.createObjectNode().put("role", "tool").put("tool_call_id", callId).put("content", text));
    }

    /**
     * Reasoning text ({@code reasoning_text} content, else the summary) for the next assistant message. An item with
     * only {@code encrypted_content} cannot be read by any node here: refused. One with nothing is nothing.
     */
    private void reasoning(JsonNode item, String where) throws ApiException {
      StringBuilder text = new StringBuilder();
      for (JsonNode part : item.path("content")) text.append(part.path("text").asText(""));
      if (text.isEmpty()) {
        for (JsonNode part : item.path("summary")) text.append(part.path("text").asText(""));
      }
      if (text.isEmpty()) {
        if (present(item.get("encrypted_content"))) {
          throw refuse("input", where + " has only encrypted_content, which only the server that made it can "
              + "read: leave the reasoning item out (or send its text in content), " + RESPONSES_NODE);
        }
        return;
      }
      if (reasoning == null) reasoning = text;
      else reasoning.append('\n').append(text);
    }

    /** Appends a message; pending reasoning goes on an assistant message and is dropped before any other. */
    private ObjectNode append(ObjectNode message) {
      boolean assistant = "assistant".equals(message.path("role").asText());
      if (reasoning != null && assistant) message.put("reasoning_content", reasoning.toString());
      reasoning = null;
      messages.add(message);
      return assistant ? message : null;
    }
  }

  private static String requiredText(JsonNode item, String field, String where) throws ApiException {
    return requiredText(item, field, "input", where);
  }

  private static String requiredText(JsonNode item, String field, String param, String where) throws ApiException {
    JsonNode v = item.get(field);
    if (v == null || !v.isTextual() || v.asText().isEmpty()) {
      throw refuse(param, where + "." + field + " must be a non-empty string");
    }
    return v.asText();
  }

  /**
   * Message content: a string, or parts. Text parts ({@code input_text}, {@code output_text}, a {@code refusal}'s
   * text) alone become one string; with images ({@code image_url} only, in user messages) chat content parts.
   */
  private static JsonNode content(JsonNode content, String role, String where) throws ApiException {
    if (content != null && content.isTextual()) return content;
    if (content == null || !content.isArray()) {
      throw refuse("input", where + " must be a string or an array of content parts");
    }
    ArrayNode parts = Json.MAPPER.createArrayNode();
    StringBuilder text = new StringBuilder();
    boolean images = false;
    for (int i = 0; i < content.size(); i++) {
      JsonNode part = content.get(i);
      String at = where + "[" + i + "]";
      String type = part.path("type").asText("");
      switch (type) {
        case "input_text", "output_text", "refusal" -> {
          JsonNode t = part.get(type.equals("refusal") ? "refusal" : "text");
          if (t == null || !t.isTextual()) throw refuse("input", at + " has no text");
          text.append(t.asText());
          parts.addObject().put("type", "text").put("text", t.asText());
        }
        case "input_image" -> {
          if (!role.equals("user")) throw refuse("input", at + ": images can only be sent in user messages");
          if (present(part.get("file_id"))) {
            throw refuse("input", at + ".file_id names an uploaded file, and Sluice keeps no files: send the image "
                + "as image_url (an https: or data: URL)");
          }
          if (!part.path("image_url").isTextual()) throw refuse("input", at + ".image_url must be a URL");
          ObjectNode image = parts.addObject().put("type", "image_url").putObject("image_url")
              .put("url", part.get("image_url").asText());
          if (part.path("detail").isTextual()) image.set("detail", part.get("detail"));
          images = true;
        }
        case "input_file" -> throw refuse("input", at + ": input_file cannot be carried over chat completions: "
            + "send the file's text as input_text, " + RESPONSES_NODE);
        default -> throw refuse("input", at + ".type " + part.path("type") + " cannot be carried over chat "
            + "completions (input_text, output_text, refusal, input_image only)");
      }
    }
    return images ? parts : Json.MAPPER.getNodeFactory().textNode(text.toString());
  }

  /** Function tools as chat tools; {@code tool_choice} and {@code parallel_tool_calls} as chat spells them. */
  private static void tools(ObjectNode r, ObjectNode chat) throws ApiException {
    JsonNode tools = r.get("tools");
    if (present(tools)) {
      if (!tools.isArray()) throw refuse("tools", "\"tools\" must be an array of function tools");
      ArrayNode chatTools = Json.MAPPER.createArrayNode();
      for (int i = 0; i < tools.size(); i++) {
        JsonNode tool = tools.get(i);
        String type = tool.path("type").asText("");
        if (!type.equals("function")) {
          throw refuse("tools", "tools[" + i + "] of type " + tool.path("type") + " cannot be carried over chat "
              + "completions (function tools only: the node runs no hosted tools): declare it as a function and "
              + "run it yourself, " + RESPONSES_NODE);
        }
        ObjectNode function = chatTools.addObject().put("type", "function").putObject("function")
            .put("name", requiredText(tool, "name", "tools", "tools[" + i + "]"));
        if (present(tool.get("description"))) function.set("description", tool.get("description"));
        if (present(tool.get("parameters"))) function.set("parameters", tool.get("parameters"));
        if (tool.path("strict").asBoolean(false)) function.put("strict", true); // false is chat's default
      }
      if (!chatTools.isEmpty()) chat.set("tools", chatTools);
    }
    JsonNode choice = r.get("tool_choice");
    if (present(choice)) {
      if (choice.isTextual() && Set.of("auto", "none", "required").contains(choice.asText())) {
        chat.set("tool_choice", choice);
      } else if (choice.isObject() && "function".equals(choice.path("type").asText())
          && choice.path("name").isTextual()) {
        chat.putObject("tool_choice").put("type", "function").putObject("function").set("name", choice.get("name"));
      } else {
        throw refuse("tool_choice", "\"tool_choice\" must be \"auto\", \"none\", \"required\" or "
            + "{\"type\":\"function\",\"name\":...} over chat completions, got " + choice + ": " + RESPONSES_NODE);
      }
    }
    copy(r, chat, "parallel_tool_calls");
  }

  /** {@code text.format} as {@code response_format}; {@code text.verbosity} only at its default. */
  private static void text(JsonNode text, ObjectNode chat) throws ApiException {
    if (!present(text)) return;
    JsonNode verbosity = text.get("verbosity");
    if (present(verbosity) && !"medium".equals(verbosity.asText())) {
      throw refuse("text", "\"text.verbosity\" " + verbosity + " is not supported over chat completions: say how "
          + "long the answer should be in instructions instead, " + RESPONSES_NODE);
    }
    JsonNode format = text.get("format");
    if (!present(format)) return;
    switch (format.path("type").asText("")) {
      case "text" -> { }
      case "json_object" -> chat.putObject("response_format").put("type", "json_object");
      case "json_schema" -> {
        ObjectNode schema = chat.putObject("response_format").put("type", "json_schema").putObject("json_schema");
        schema.put("name", format.path("name").asText("response"));
        if (present(format.get("description"))) schema.set("description", format.get("description"));
        schema.set("schema", format.path("schema").isObject() ? format.get("schema") : Json.MAPPER.createObjectNode());
        if (present(format.get("strict"))) schema.set("strict", format.get("strict"));
      }
      default -> throw refuse("text", "\"text.format.type\" must be text, json_object or json_schema, got "
          + format.path("type"));
    }
  }

  /**
   * {@code reasoning.effort}: {@code none}/{@code minimal} turn thinking off, {@code low}/{@code medium}/{@code high}
   * turn it on and are passed as {@code reasoning_effort}. {@code summary} is not honoured: nodes write no summary,
   * and the reasoning text itself is in the answer.
   */
  private static void reasoning(JsonNode reasoning, ObjectNode chat) throws ApiException {
    if (!present(reasoning)) return;
    JsonNode effort = reasoning.get("effort");
    if (!present(effort)) return;
    switch (effort.asText("")) {
      case "none", "minimal" -> chat.putObject("chat_template_kwargs").put("enable_thinking", false);
      case "low", "medium", "high" -> {
        chat.putObject("chat_template_kwargs").put("enable_thinking", true);
        chat.set("reasoning_effort", effort);
      }
      default -> throw refuse("reasoning", "\"reasoning.effort\" must be none, minimal, low, medium or high, got "
          + effort);
    }
  }

  private static void include(JsonNode include) throws ApiException {
    if (!present(include)) return;
    if (!include.isArray()) throw refuse("include", "\"include\" must be an array");
    for (JsonNode value : include) {
      if (!INCLUDABLE.contains(value.asText())) {
        throw refuse("include", "\"include\": " + value + " cannot be carried over chat completions: send the "
            + "request without it, " + RESPONSES_NODE);
      }
    }
  }

  // ---------------------------------------------------------------- the answer

  @Override
  public Buffer answer(byte[] chatCompletion) {
    JsonNode root = ChatAnswers.object(chatCompletion);
    JsonNode choice = root == null ? null : root.path("choices").path(0);
    if (root == null || !root.isObject() || root.has("error") || choice == null || !choice.isObject()) {
      return OpenAiDialect.errorBody(ErrorKind.UPSTREAM_UNAVAILABLE,
          "the node's answer is not a chat completion: " + ChatAnswers.clip(chatCompletion), null);
    }
    String suffix = suffix(root);
    ObjectNode response = OpenAiResponses.response(request, "resp_" + suffix, root.path("created").asLong(0),
        root.path("model").asText(""));
    JsonNode message = choice.path("message");
    ArrayNode output = Json.MAPPER.createArrayNode();
    String reasoning = ChatAnswers.reasoning(message);
    if (reasoning != null && !reasoning.isEmpty()) {
      output.add(OpenAiResponses.reasoningItem(itemId("rs_", suffix, output.size()), reasoning, true));
    }
    String content = Bodies.text(message.get("content"));
    if (content != null && !content.isEmpty()) {
      output.add(OpenAiResponses.messageItem(itemId("msg_", suffix, output.size()), content, true));
    }
    for (JsonNode call : message.path("tool_calls")) {
      int at = output.size();
      output.add(OpenAiResponses.functionCallItem(itemId("fc_", suffix, at), callId(call, suffix, at),
          call.path("function").path("name").asText(""), call.path("function").path("arguments").asText(""), true));
    }
    OpenAiResponses.finish(response, Bodies.text(choice.get("finish_reason")), output, usage(root.get("usage")));
    return Buffer.buffer(Bodies.bytes(response));
  }

  /** The chat id after its {@code chatcmpl-} prefix, or a fresh one. */
  private static String suffix(JsonNode chat) {
    return ChatAnswers.idSuffix(Bodies.text(chat.get("id")));
  }

  private static String itemId(String prefix, String suffix, int outputIndex) {
    return prefix + suffix + "_" + outputIndex;
  }

  /** The chat tool call's id unchanged; one made up when a node sent none. */
  private static String callId(JsonNode call, String suffix, int outputIndex) {
    String id = Bodies.text(call.get("id"));
    return id != null && !id.isEmpty() ? id : "call_" + suffix + "_" + outputIndex;
  }

  /** Responses usage from chat usage, or null when the node reported none. */
  private static ObjectNode usage(JsonNode usage) {
    if (usage == null || !usage.isObject() || !usage.path("prompt_tokens").canConvertToLong()) return null;
    JsonNode cached = usage.path("prompt_tokens_details").path("cached_tokens");
    return OpenAiResponses.usageNode(usage.path("prompt_tokens").asLong(), cached.canConvertToLong()
            ? cached.asLong() : -1, usage.path("completion_tokens").asLong(0),
        usage.path("completion_tokens_details").path("reasoning_tokens").asLong(0));
  }

  // ---------------------------------------------------------------- errors

  /**
   * An OpenAI error body is kept as it is; vLLM's {@code {"object":"error","message"}} and Ollama's
   * {@code {"error":"..."}} keep their message (and vLLM's {@code param}) in OpenAI's shape; anything else is clipped.
   */
  @Override
  public Buffer error(int status, byte[] body) {
    JsonNode root = ChatAnswers.object(body);
    String message = null;
    String param = null;
    if (root != null && root.isObject()) {
      if (root.path("error").isObject() && root.get("error").path("message").isTextual()) return Buffer.buffer(body);
      JsonNode found = ChatAnswers.errorMessage(root);
      message = found == null ? Bodies.text(root.get("message")) : found.asText();
      param = Bodies.text(root.get("param"));
    }
    if (message == null) message = "the node answered " + status + ": " + ChatAnswers.clip(body);
    return OpenAiDialect.errorBody(kind(status), message, param);
  }

  private static ErrorKind kind(int status) {
    return switch (status) {
      case 401 -> ErrorKind.UNAUTHORIZED;
      case 403 -> ErrorKind.MODEL_NOT_ALLOWED;
      case 404 -> ErrorKind.MODEL_NOT_FOUND;
      case 408 -> ErrorKind.BODY_TIMEOUT;
      case 413 -> ErrorKind.BODY_TOO_LARGE;
      case 429 -> ErrorKind.RATE_LIMITED;
      case 503 -> ErrorKind.UPSTREAM_BUSY;
      case 504 -> ErrorKind.UPSTREAM_TIMEOUT;
      default -> status < 500 ? ErrorKind.INVALID_REQUEST : ErrorKind.UPSTREAM_UNAVAILABLE;
    };
  }

  // ---------------------------------------------------------------- the stream

  @Override
  public Relay relay() {
    return new StreamRelay();
  }

  /**
   * One chat stream as Responses events: the first chunk opens the response, each run of reasoning or content
   * deltas is one item (closed when the other kind starts), each tool call one function_call item (closed at the
   * finish, so fragments of parallel calls may interleave), and the finish with the usage that follows it completes
   * the response, which carries every item. An error chunk ends the stream with the error event.
   */
  private final class StreamRelay implements Relay {
    private final Events events = new Events();
    /** Done items by output index, for the final response. */
    private final Map<Integer, ObjectNode> done = new TreeMap<>();
    /** Open calls by the chat's tool call index. */
    private final Map<Integer, Call> calls = new TreeMap<>();
    private ObjectNode response;
    private String suffix;
    private int nextIndex;
    private TextItem text;
    private String finishReason;
    private boolean finished;
    private JsonNode usage;
    private boolean ended;

    @Override
    public Buffer events(Buffer chatEvents) {
      Buffer out = Buffer.buffer();
      for (String data : OpenAiDialect.sseEvents(chatEvents.getBytes())) {
        if (ended) break;
        if (OpenAiDialect.DONE.equals(data)) {
          complete(out);
          break;
        }
        JsonNode chunk = ChatAnswers.object(data);
        if (chunk == null || !chunk.isObject()) {
          fail(out, "the node sent a stream event that is not JSON: " + ChatAnswers.clip(data));
          break;
        }
        if (ChatAnswers.isError(chunk)) {
          JsonNode message = ChatAnswers.errorMessage(chunk);
          fail(out, message == null ? "the node's stream failed" : message.asText());
          break;
        }
        chunk(out, chunk);
      }
      return out;
    }

    @Override
    public Buffer end() {
      Buffer out = Buffer.buffer();
      // a stream that stopped before its finish is broken: the gateway ends it with its stream error
      if (!ended && finished) complete(out);
      return out;
    }

    private void chunk(Buffer out, JsonNode chunk) {
      if (response == null) start(out, chunk);
      if (chunk.path("usage").isObject()) usage = chunk.get("usage");
      for (JsonNode choice : chunk.path("choices")) {
        if (choice.path("index").asInt(0) != 0) continue; // Responses has one answer; n > 1 is never asked
        JsonNode delta = choice.path("delta");
        String reasoning = ChatAnswers.reasoning(delta);
        if (reasoning != null && !reasoning.isEmpty()) text(out, true, reasoning);
        String content = Bodies.text(delta.get("content"));
        if (content != null && !content.isEmpty()) text(out, false, content);
        for (JsonNode call : delta.path("tool_calls")) call(out, call);
        String reason = Bodies.text(choice.get("finish_reason"));
        if (reason != null) {
          finishReason = reason;
          finished = true;
          closeText(out);
          closeCalls(out);
        }
      }
      if (finished && usage != null) complete(out);
    }

    private void start(Buffer out, JsonNode chunk) {
      suffix = suffix(chunk);
      response = OpenAiResponses.response(request, "resp_" + suffix, chunk.path("created").asLong(0),
          chunk.path("model").asText(""));
      out.appendBuffer(events.responseEvent("response.created", response));
      out.appendBuffer(events.responseEvent("response.in_progress", response));
    }

    /** A reasoning or content piece: into the open item of its kind, else a new one. */
    private void text(Buffer out, boolean reasoning, String piece) {
      if (text == null || text.reasoning != reasoning) {
        closeText(out);
        int index = nextIndex++;
        text = new TextItem(reasoning, itemId(reasoning ? "rs_" : "msg_", suffix, index), index);
        ObjectNode item = reasoning ? OpenAiResponses.reasoningItem(text.id, "", false)
            : OpenAiResponses.messageItem(text.id, "", false);
        out.appendBuffer(events.itemEvent("response.output_item.added", index, item));
        out.appendBuffer(events.partEvent("response.content_part.added", text.id, index,
            reasoning ? OpenAiResponses.reasoningText("") : OpenAiResponses.outputText("")));
      }
      text.text.append(piece);
      out.appendBuffer(reasoning ? events.reasoningDelta(text.id, text.index, piece)
          : events.textDelta(text.id, text.index, piece));
    }

    private void closeText(Buffer out) {
      if (text == null) return;
      String all = text.text.toString();
      if (text.reasoning) {
        out.appendBuffer(events.reasoningDone(text.id, text.index, all));
        out.appendBuffer(events.partEvent("response.content_part.done", text.id, text.index,
            OpenAiResponses.reasoningText(all)));
      } else {
        out.appendBuffer(events.textDone(text.id, text.index, all));
        out.appendBuffer(events.partEvent("response.content_part.done", text.id, text.index,
            OpenAiResponses.outputText(all)));
      }
      ObjectNode item = text.reasoning ? OpenAiResponses.reasoningItem(text.id, all, true)
          : OpenAiResponses.messageItem(text.id, all, true);
      out.appendBuffer(events.itemEvent("response.output_item.done", text.index, item));
      done.put(text.index, item);
      text = null;
    }

    /** A tool call delta: the first of a call (its id and name) opens its item, fragments of arguments follow. */
    private void call(Buffer out, JsonNode delta) {
      int chatIndex = delta.path("index").asInt(calls.size());
      Call call = calls.get(chatIndex);
      JsonNode function = delta.path("function");
      if (call == null) {
        closeText(out);
        int index = nextIndex++;
        call = new Call(itemId("fc_", suffix, index), callId(delta, suffix, index),
            function.path("name").asText(""), index);
        calls.put(chatIndex, call);
        out.appendBuffer(events.itemEvent("response.output_item.added", index,
            OpenAiResponses.functionCallItem(call.id, call.callId, call.name, "", false)));
      }
      String fragment = Bodies.text(function.get("arguments"));
      if (fragment != null && !fragment.isEmpty()) {
        call.arguments.append(fragment);
        out.appendBuffer(events.argumentsDelta(call.id, call.index, fragment));
      }
    }

    private void closeCalls(Buffer out) {
      for (Call call : calls.values()) {
        String arguments = call.arguments.toString();
        out.appendBuffer(events.argumentsDone(call.id, call.index, call.name, arguments));
        ObjectNode item = OpenAiResponses.functionCallItem(call.id, call.callId, call.name, arguments, true);
        out.appendBuffer(events.itemEvent("response.output_item.done", call.index, item));
        done.put(call.index, item);
      }
      calls.clear();
    }

    /** The last event: the whole response (usage null when the node reported none). */
    private void complete(Buffer out) {
      if (response == null) start(out, Json.MAPPER.createObjectNode());
      closeText(out);
      closeCalls(out);
      ArrayNode output = Json.MAPPER.createArrayNode();
      done.values().forEach(output::add);
      String type = OpenAiResponses.finish(response, finishReason, output, usage(usage));
      out.appendBuffer(events.responseEvent(type, response));
      ended = true;
    }

    private void fail(Buffer out, String message) {
      out.appendBuffer(events.error(ErrorKind.STREAM_INTERRUPTED, message));
      ended = true;
    }
  }

  /** The open reasoning or message item. */
  private static final class TextItem {
    final boolean reasoning;
    final String id;
    final int index;
    final StringBuilder text = new StringBuilder();

    TextItem(boolean reasoning, String id, int index) {
      this.reasoning = reasoning;
      this.id = id;
      this.index = index;
    }
  }

  /** An open function call. */
  private static final class Call {
    final String id;
    final String callId;
    final String name;
    final int index;
    final StringBuilder arguments = new StringBuilder();

    Call(String id, String callId, String name, int index) {
      this.id = id;
      this.callId = callId;
      this.name = name;
      this.index = index;
    }
  }
}
