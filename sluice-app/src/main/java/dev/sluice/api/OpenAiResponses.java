package dev.sluice.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.Bodies.NotAnAnswer;
import dev.sluice.support.Json;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * OpenAI Responses, {@code POST /v1/responses}, statelessly: the gateway and its nodes keep no responses and requests
 * are balanced over nodes, so whatever refers to a stored response or conversation is refused and {@code store} is
 * turned off ({@link #prepare}). The answer is a response object whose {@code output} holds items (reasoning, a
 * message with {@code output_text}, function calls); a stream is named SSE events ({@code event: <type>}), each with a
 * {@code sequence_number}, ending in {@code response.completed} (or {@code response.incomplete}) that carries the whole
 * response and its usage (a {@code data: [DONE]} after it, as some nodes add, is allowed). Only a plain text answer
 * (message items only) is an {@link Answer}. Nodes that do not serve Responses get the request over chat completions
 * ({@link ResponsesOverChat}).
 */
final class OpenAiResponses extends OpenAiDialect implements GenerationDialect {
  private static final byte[] INPUT_TOKENS = Bodies.key("input_tokens");
  private static final byte[] OUTPUT_TOKENS = Bodies.key("output_tokens");
  private static final byte[] CACHED_TOKENS = Bodies.key("cached_tokens");
  static final String COMPLETED = "response.completed";
  static final String INCOMPLETE = "response.incomplete";

  @Override
  public String path() {
    return "/v1/responses";
  }

  @Override
  public String upstreamPath() {
    return "/responses";
  }

  @Override
  public NodeDialect nodeDialect() {
    return NodeDialect.RESPONSES;
  }

  @Override
  public ChatTranslation overChat(ParsedRequest request) throws ApiException {
    return new ResponsesOverChat(request);
  }

  // ---------------------------------------------------------------- requests

  @Override
  public void checkParameters(ObjectNode request, int maxTokensLimit) throws ApiException {
    JsonNode input = request.get("input");
    if (input == null || !(input.isTextual() || input.isArray() && !input.isEmpty())) {
      throw new ApiException(ErrorKind.INVALID_REQUEST,
          "\"input\" must be a string or a non-empty array of input items (messages, function calls and their "
              + "outputs)", "input");
    }
    RequestValidator.checkInt(request, "max_output_tokens", 1, maxTokensLimit);
    RequestValidator.checkNumber(request, "temperature", 0, 2);
    RequestValidator.checkNumber(request, "top_p", 0, 1);
    if (present(request, "previous_response_id")) {
      throw new ApiException(ErrorKind.INVALID_REQUEST, "\"previous_response_id\" is not supported: send the whole "
          + "conversation in input (earlier input items and the output items of earlier answers) instead; Sluice "
          + "keeps no responses and balances requests over nodes that keep none either", "previous_response_id");
    }
    if (request.path("background").asBoolean(false)) {
      throw new ApiException(ErrorKind.INVALID_REQUEST, "\"background\": true is not supported: Sluice keeps no "
          + "responses to poll later; send the request without background (stream it for long answers)",
          "background");
    }
    if (present(request, "conversation")) {
      throw new ApiException(ErrorKind.INVALID_REQUEST, "\"conversation\" is not supported: send the whole "
          + "conversation in input instead; Sluice keeps no conversations", "conversation");
    }
    if (present(request, "prompt")) {
      throw new ApiException(ErrorKind.INVALID_REQUEST, "\"prompt\" (a stored prompt template) is not supported: "
          + "send the prompt's text in instructions and input instead; Sluice keeps no prompts", "prompt");
    }
  }

  private static boolean present(JsonNode request, String field) {
    JsonNode v = request.get(field);
    return v != null && !v.isNull();
  }

  /** {@code store} absent or true becomes false: nothing is stored anywhere, and the answer says so. */
  @Override
  public ParsedRequest prepare(ParsedRequest request) {
    JsonNode store = request.json().get("store");
    if (store != null && store.isBoolean() && !store.booleanValue()) return request;
    return request.withField("store", BooleanNode.FALSE);
  }

  // ---------------------------------------------------------------- answers

  @Override
  public Usage usage(byte[] answerOrTail) {
    return Bodies.usageByKeys(answerOrTail, INPUT_TOKENS, OUTPUT_TOKENS, CACHED_TOKENS);
  }

  @Override
  public String contentType(boolean stream) {
    return stream ? SSE : Bodies.JSON;
  }

  @Override
  public Map<String, String> streamHeaders() {
    return Bodies.NO_CACHE;
  }

  /** A whole answer is a response object whose {@code error} is null (OpenAI's own answers carry it as null). */
  @Override
  public boolean complete(boolean stream, byte[] body) {
    Objects.requireNonNull(body, "body");
    if (stream) return streamEnded(body);
    try {
      JsonNode root = Json.MAPPER.readTree(body);
      return root != null && root.isObject() && !present(root, "error")
          && "response".equals(Bodies.text(root.get("object")));
    } catch (IOException e) {
      return false;
    }
  }

  /** A stream ended properly when its last event is {@code response.completed} or {@code response.incomplete}. */
  @Override
  public boolean streamEnded(byte[] body) {
    int[] last = Bodies.lastLine(body, body.length);
    if (last == null) return false;
    String line = new String(body, last[0], last[1] - last[0], StandardCharsets.UTF_8);
    if (line.equals("data: " + DONE) || line.equals("data:" + DONE)) { // a node that ends with [DONE] too
      last = Bodies.lastLine(body, last[0]);
      if (last == null) return false;
      line = new String(body, last[0], last[1] - last[0], StandardCharsets.UTF_8);
    }
    if (!line.startsWith("data:")) return false;
    try {
      String type = Json.MAPPER.readTree(line.substring(5)).path("type").asText("");
      return type.equals(COMPLETED) || type.equals(INCOMPLETE);
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public Answer parseWhole(byte[] body) throws NotAnAnswer, IOException {
    JsonNode root = Json.MAPPER.readTree(body);
    if (root == null || !root.isObject() || present(root, "error")) {
      throw NotAnAnswer.INSTANCE;
    }
    return answer(root, body);
  }

  @Override
  public Answer parseStream(byte[] body) throws NotAnAnswer, IOException {
    List<String> events = new ArrayList<>(sseEvents(body));
    events.remove(DONE);
    for (String data : events) {
      String type = Json.MAPPER.readTree(data).path("type").asText("");
      if (type.equals("error") || type.equals("response.failed")) throw NotAnAnswer.INSTANCE;
    }
    if (events.isEmpty()) throw NotAnAnswer.INSTANCE;
    JsonNode last = Json.MAPPER.readTree(events.get(events.size() - 1));
    String type = last.path("type").asText("");
    if (!type.equals(COMPLETED) && !type.equals(INCOMPLETE)) throw NotAnAnswer.INSTANCE;
    JsonNode response = last.path("response");
    if (!response.isObject() || response.has("error") && !response.get("error").isNull()) throw NotAnAnswer.INSTANCE;
    return answer(response, body);
  }

  /** The plain text answer in a response object: message items with output text only. */
  private Answer answer(JsonNode response, byte[] body) throws NotAnAnswer {
    if (!"response".equals(Bodies.text(response.get("object")))) throw NotAnAnswer.INSTANCE;
    String status = Bodies.text(response.get("status"));
    String finishReason;
    if ("completed".equals(status)) {
      finishReason = "stop";
    } else if ("incomplete".equals(status)) {
      String reason = response.path("incomplete_details").path("reason").asText("");
      if (!reason.equals("max_output_tokens")) throw NotAnAnswer.INSTANCE;
      finishReason = "length";
    } else {
      throw NotAnAnswer.INSTANCE;
    }
    JsonNode output = response.path("output");
    if (!output.isArray()) throw NotAnAnswer.INSTANCE;
    StringBuilder text = new StringBuilder();
    for (JsonNode item : output) {
      if (!"message".equals(Bodies.text(item.get("type")))) throw NotAnAnswer.INSTANCE; // calls, reasoning, tools
      for (JsonNode part : item.path("content")) {
        if (!"output_text".equals(Bodies.text(part.get("type")))) throw NotAnAnswer.INSTANCE; // a refusal
        text.append(Bodies.textOrFail(part.get("text")));
      }
    }
    Usage usage = usage(body);
    return new Answer(text.toString(), response.path("model").asText(""), finishReason,
        Bodies.tokens(usage.promptTokens()), Bodies.tokens(usage.completionTokens()));
  }

  @Override
  public List<Buffer> render(ObjectNode request, boolean stream, Answer answer, String idSuffix,
      long createdEpochSeconds) {
    Objects.requireNonNull(answer, "answer");
    Objects.requireNonNull(idSuffix, "idSuffix");
    ObjectNode response = response(request, "resp_" + idSuffix, createdEpochSeconds, answer.model());
    String itemId = "msg_" + idSuffix;
    ObjectNode usage = usageNode(answer.promptTokens(), -1, answer.completionTokens(), 0);
    if (!stream) {
      ArrayNode output = Json.MAPPER.createArrayNode().add(messageItem(itemId, answer.content(), true));
      finish(response, answer.finishReason(), output, usage);
      return List.of(Buffer.buffer(Bodies.bytes(response)));
    }
    Events events = new Events();
    List<String> pieces = Bodies.pieces(answer.content());
    List<Buffer> out = new ArrayList<>(pieces.size() + 9);
    out.add(events.responseEvent("response.created", response));
    out.add(events.responseEvent("response.in_progress", response));
    out.add(events.itemEvent("response.output_item.added", 0, messageItem(itemId, "", false)));
    out.add(events.partEvent("response.content_part.added", itemId, 0, outputText("")));
    for (String piece : pieces) out.add(events.textDelta(itemId, 0, piece));
    out.add(events.textDone(itemId, 0, answer.content()));
    out.add(events.partEvent("response.content_part.done", itemId, 0, outputText(answer.content())));
    ObjectNode item = messageItem(itemId, answer.content(), true);
    out.add(events.itemEvent("response.output_item.done", 0, item));
    ArrayNode output = Json.MAPPER.createArrayNode().add(item.deepCopy());
    String type = finish(response, answer.finishReason(), output, usage);
    out.add(events.responseEvent(type, response));
    return out;
  }

  /**
   * The stream's own error event, as the live API sends it: {@code code}, {@code message} and {@code param} at the
   * top (as OpenAI's reference documents them) and the same under {@code error} (as the API sends them at run time,
   * which makes openai-java, openai-python and openai-node raise instead of yielding an event the caller may miss).
   * The gateway does not know how many events came before: {@code sequence_number} is 0 here; a relay numbers its own.
   */
  @Override
  public Buffer streamError(ErrorKind kind, String message) {
    return errorEvent(kind, message, 0);
  }

  static Buffer errorEvent(ErrorKind kind, String message, int sequence) {
    ObjectNode data = Json.MAPPER.createObjectNode().put("type", "error");
    String code = kind.openAiCode() == null ? kind.openAiType() : kind.openAiCode();
    data.put("code", code).put("message", message).putNull("param");
    ObjectNode error = data.putObject("error");
    error.put("type", kind.openAiType()).put("code", code).put("message", message).putNull("param");
    data.put("sequence_number", sequence);
    return Buffer.buffer("event: error\ndata: ").appendBytes(Bodies.bytes(data)).appendString("\n\n");
  }

  // ---------------------------------------------------------------- writing, shared with ResponsesOverChat

  /**
   * A response object in progress (no output, usage null) that echoes what the client asked (as OpenAI's does, and
   * openai-java requires): instructions, limits, sampling, tools, tool choice, text format, reasoning, metadata.
   * {@code store} is false: nothing is kept.
   */
  static ObjectNode response(ObjectNode request, String id, long createdAt, String model) {
    JsonNode r = request == null ? Json.MAPPER.createObjectNode() : request;
    ObjectNode body = Json.MAPPER.createObjectNode().put("id", id).put("object", "response")
        .put("created_at", createdAt).put("status", "in_progress").put("background", false).putNull("error")
        .putNull("incomplete_details");
    body.set("instructions", r.path("instructions").isTextual() ? r.get("instructions") : null);
    body.set("max_output_tokens", r.path("max_output_tokens").isNumber() ? r.get("max_output_tokens") : null);
    body.put("model", model);
    body.putArray("output");
    body.put("parallel_tool_calls", r.path("parallel_tool_calls").asBoolean(true));
    body.putNull("previous_response_id");
    ObjectNode reasoning = body.putObject("reasoning");
    reasoning.set("effort", r.path("reasoning").path("effort").isTextual() ? r.get("reasoning").get("effort") : null);
    reasoning.putNull("summary");
    body.put("store", false);
    body.put("temperature", r.path("temperature").isNumber() ? r.get("temperature").asDouble() : 1.0);
    if (r.path("text").isObject()) body.set("text", r.get("text").deepCopy());
    else body.putObject("text").putObject("format").put("type", "text");
    JsonNode choice = r.path("tool_choice");
    if (choice.isTextual() || choice.isObject()) body.set("tool_choice", choice.deepCopy());
    else body.put("tool_choice", "auto");
    ArrayNode tools = body.putArray("tools");
    for (JsonNode tool : r.path("tools")) {
      ObjectNode echoed = tool.deepCopy();
      if ("function".equals(Bodies.text(tool.get("type")))) {
        if (!echoed.has("description")) echoed.putNull("description");
        if (!echoed.has("parameters")) echoed.putNull("parameters");
        if (!echoed.has("strict")) echoed.put("strict", false); // not enforced unless asked
      }
      tools.add(echoed);
    }
    body.put("top_p", r.path("top_p").isNumber() ? r.get("top_p").asDouble() : 1.0);
    body.put("truncation", "disabled");
    body.putNull("usage");
    body.set("metadata", r.path("metadata").isObject() ? r.get("metadata").deepCopy() : Json.MAPPER.createObjectNode());
    return body;
  }

  /**
   * Completes {@code response}: its status from the chat {@code finishReason} ({@code length} is incomplete for
   * {@code max_output_tokens}, {@code content_filter} incomplete for {@code content_filter}, anything else
   * completed), its output and usage (null when unknown). Returns the stream event that carries it.
   */
  static String finish(ObjectNode response, String finishReason, ArrayNode output, ObjectNode usage) {
    String reason = "length".equals(finishReason) ? "max_output_tokens"
        : "content_filter".equals(finishReason) ? "content_filter" : null;
    response.put("status", reason == null ? "completed" : "incomplete");
    if (reason != null) response.putObject("incomplete_details").put("reason", reason);
    response.set("output", output);
    response.set("usage", usage);
    return reason == null ? COMPLETED : INCOMPLETE;
  }

  /** Responses usage; {@code cached} -1 when the node did not say (reported as 0, as OpenAI does). */
  static ObjectNode usageNode(long input, long cached, long output, long reasoning) {
    ObjectNode usage = Json.MAPPER.createObjectNode().put("input_tokens", input);
    usage.putObject("input_tokens_details").put("cached_tokens", Math.max(0, cached)).put("cache_write_tokens", 0);
    usage.put("output_tokens", output);
    usage.putObject("output_tokens_details").put("reasoning_tokens", Math.max(0, reasoning));
    usage.put("total_tokens", input + output);
    return usage;
  }

  static ObjectNode outputText(String text) {
    ObjectNode part = Json.MAPPER.createObjectNode().put("type", "output_text").put("text", text);
    part.putArray("annotations");
    part.putArray("logprobs");
    return part;
  }

  static ObjectNode reasoningText(String text) {
    return Json.MAPPER.createObjectNode().put("type", "reasoning_text").put("text", text);
  }

  /** An assistant message item: while in progress without content. */
  static ObjectNode messageItem(String id, String text, boolean done) {
    ObjectNode item = Json.MAPPER.createObjectNode().put("id", id).put("type", "message")
        .put("status", done ? "completed" : "in_progress").put("role", "assistant");
    ArrayNode content = item.putArray("content");
    if (done) content.add(outputText(text));
    return item;
  }

  /** A reasoning item, its text as {@code reasoning_text} content (no summary: the node writes none). */
  static ObjectNode reasoningItem(String id, String text, boolean done) {
    ObjectNode item = Json.MAPPER.createObjectNode().put("id", id).put("type", "reasoning");
    item.putArray("summary");
    ArrayNode content = item.putArray("content");
    if (done) content.add(reasoningText(text));
    return item;
  }

  static ObjectNode functionCallItem(String id, String callId, String name, String arguments, boolean done) {
    return Json.MAPPER.createObjectNode().put("id", id).put("type", "function_call")
        .put("status", done ? "completed" : "in_progress").put("call_id", callId).put("name", name)
        .put("arguments", arguments);
  }

  /** Writes stream events numbered from 0, one more per event. */
  static final class Events {
    private int sequence;

    /** The next event's {@code sequence_number}. */
    int sequence() {
      return sequence;
    }

    Buffer event(String type, ObjectNode data) {
      ObjectNode typed = Json.MAPPER.createObjectNode().put("type", type);
      typed.setAll(data);
      typed.put("sequence_number", sequence++);
      return Buffer.buffer("event: " + type + "\ndata: ").appendBytes(Bodies.bytes(typed)).appendString("\n\n");
    }

    Buffer responseEvent(String type, ObjectNode response) {
      ObjectNode data = Json.MAPPER.createObjectNode();
      data.set("response", response);
      return event(type, data);
    }

    Buffer itemEvent(String type, int outputIndex, ObjectNode item) {
      ObjectNode data = Json.MAPPER.createObjectNode().put("output_index", outputIndex);
      data.set("item", item);
      return event(type, data);
    }

    Buffer partEvent(String type, String itemId, int outputIndex, ObjectNode part) {
      ObjectNode data = located(itemId, outputIndex);
      data.set("part", part);
      return event(type, data);
    }

    Buffer textDelta(String itemId, int outputIndex, String delta) {
      ObjectNode data = located(itemId, outputIndex).put("delta", delta);
      data.putArray("logprobs");
      return event("response.output_text.delta", data);
    }

    Buffer textDone(String itemId, int outputIndex, String text) {
      ObjectNode data = located(itemId, outputIndex).put("text", text);
      data.putArray("logprobs");
      return event("response.output_text.done", data);
    }

    Buffer reasoningDelta(String itemId, int outputIndex, String delta) {
      return event("response.reasoning_text.delta", located(itemId, outputIndex).put("delta", delta));
    }

    Buffer reasoningDone(String itemId, int outputIndex, String text) {
      return event("response.reasoning_text.done", located(itemId, outputIndex).put("text", text));
    }

    Buffer argumentsDelta(String itemId, int outputIndex, String delta) {
      return event("response.function_call_arguments.delta",
          Json.MAPPER.createObjectNode().put("item_id", itemId).put("output_index", outputIndex).put("delta", delta));
    }

    Buffer argumentsDone(String itemId, int outputIndex, String name, String arguments) {
      return event("response.function_call_arguments.done", Json.MAPPER.createObjectNode().put("item_id", itemId)
          .put("output_index", outputIndex).put("name", name).put("arguments", arguments));
    }

    Buffer error(ErrorKind kind, String message) {
      return errorEvent(kind, message, sequence++);
    }

    private static ObjectNode located(String itemId, int outputIndex) {
      return Json.MAPPER.createObjectNode().put("item_id", itemId).put("output_index", outputIndex)
          .put("content_index", 0);
    }
  }
}
