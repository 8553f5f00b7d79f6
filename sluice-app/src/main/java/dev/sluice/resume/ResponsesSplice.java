package dev.sluice.resume;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * OpenAI Responses streams passed through to nodes that speak Responses natively ({@code event: response.created} ...
 * {@code event: response.completed}). Continued with the relayed text as a final assistant output message that the
 * node continues (as a prefill; a request whose input ends with its own assistant message of one string gets the text
 * appended to it); {@code max_output_tokens} reduced by the tokens relayed; reasoning turned off
 * ({@code reasoning.effort: "none"}) once reasoning was relayed.
 *
 * <p>Splice: a continuation's {@code response.created} and {@code response.in_progress} are dropped (the client has
 * the first node's response), and so are the {@code response.output_item.added} and {@code response.content_part.added}
 * of its message when a message is open at the client: its deltas go on under that message's {@code item_id},
 * {@code output_index} and {@code content_index}. Any other item gets the next free {@code output_index}. Every event
 * gets the next {@code sequence_number}, so the numbers stay strictly increasing. The done events of the continued
 * message ({@code response.output_text.done}, {@code response.content_part.done}, {@code response.output_item.done})
 * carry its whole text, relayed and continued; {@code response.completed} (or {@code response.incomplete}) carries the
 * first node's response {@code id} and {@code created_at}, every output item the client got, and usage counting the
 * prompt once ({@code input_tokens} = the node's less the relayed tokens it read back as input) and every output
 * token ({@code output_tokens} = relayed + its own), {@code total_tokens} their sum.
 */
final class ResponsesSplice extends StreamSplice {
  /** The first node's response id and creation time. */
  private JsonNode responseId;
  private JsonNode createdAt;
  /** The last {@code sequence_number} the client got. */
  private long sequence = -1;
  /** The item open at the client (null: none): its id, type, output_index and content_index. */
  private String openId;
  private String openType;
  private int openIndex = -1;
  private int openContent;
  /** The next free output_index at the client. */
  private int nextIndex;
  /** Text of each message item at the client, by item id (the done events of a continued one carry it whole). */
  private final Map<String, StringBuilder> itemText = new HashMap<>();
  /** The client's finished output items, by output_index (response.completed lists them). */
  private final TreeMap<Integer, JsonNode> doneItems = new TreeMap<>();
  /** Reasoning tokens relayed, and those relayed before the node now answering. */
  private int reasoningTokens;
  private int carriedReasoning;
  /** The continuation's output indices → the client's, and its item ids → the client's. */
  private final Map<Integer, Integer> indexMap = new HashMap<>();
  private final Map<String, String> idMap = new HashMap<>();
  /** The continuation's output indices that are dropped (its reasoning when reasoning was turned off). */
  private final Set<Integer> dropped = new HashSet<>();

  ResponsesSplice(ObjectNode original, Predicate<byte[]> isErrorEvent, LongSupplier elapsedNanos) {
    super(original, isErrorEvent, elapsedNanos);
  }

  static String refusal(JsonNode request) {
    if (positive(request.get("top_logprobs")) > 0) return "it asks for top_logprobs";
    for (JsonNode include : request.path("include")) {
      if (include.asText().contains("logprobs")) return "it asks for logprobs (include " + include.asText() + ")";
    }
    String format = request.path("text").path("format").path("type").asText("text");
    if (!format.equals("text")) {
      return "it asks for constrained output (text.format " + format + "), whose grammar would restart";
    }
    JsonNode input = request.path("input");
    JsonNode last = input.isArray() && !input.isEmpty() ? input.get(input.size() - 1) : null;
    if (isAssistantMessage(last) && !last.path("content").isTextual()) {
      return "its input ends with an assistant message of content parts";
    }
    return null;
  }

  private static boolean isAssistantMessage(JsonNode item) {
    return item != null && "assistant".equals(item.path("role").asText())
        && "message".equals(item.path("type").asText("message"));
  }

  @Override
  int eventEnd(byte[] b, int from) {
    return sseEventEnd(b, from);
  }

  @Override
  boolean isTerminal(byte[] event) {
    String head = utf8(event);
    return head.startsWith("event: response.completed") || head.startsWith("event: response.incomplete");
  }

  @Override
  void observe(byte[] event) {
    ObjectNode data = sseObject(event);
    if (data == null) return;
    if (responseId == null && data.path("response").has("id")) {
      responseId = data.path("response").get("id");
      createdAt = data.path("response").get("created_at");
    }
    if (data.path("sequence_number").canConvertToLong()) sequence = data.get("sequence_number").asLong();
    note(data);
  }

  /** What one event (with the client's indices and ids) carried. */
  private void note(ObjectNode data) {
    switch (data.path("type").asText()) {
      case "response.output_item.added" -> {
        JsonNode item = data.path("item");
        String type = item.path("type").asText();
        openId = item.path("id").asText();
        openType = type;
        openIndex = data.path("output_index").asInt();
        openContent = 0;
        nextIndex = Math.max(nextIndex, openIndex + 1);
        if (type.equals("function_call") || type.equals("custom_tool_call")) toolCalls = true;
        else if (!type.equals("message") && !type.equals("reasoning")) unfollowable = "a " + type + " item had started";
      }
      case "response.content_part.added" -> {
        if (data.path("item_id").asText().equals(openId)) openContent = data.path("content_index").asInt();
        String part = data.path("part").path("type").asText();
        if (part.equals("refusal")) unfollowable = "a refusal had reached the client";
      }
      case "response.output_text.delta" -> {
        String piece = data.path("delta").asText(null);
        relayed(piece, false);
        if (piece != null) {
          itemText.computeIfAbsent(data.path("item_id").asText(), k -> new StringBuilder()).append(piece);
        }
        if (data.path("logprobs").isArray() && !data.get("logprobs").isEmpty()) {
          unfollowable = "the stream carries logprobs";
        }
      }
      case "response.reasoning_text.delta", "response.reasoning_summary_text.delta" -> {
        String piece = data.path("delta").asText(null);
        if (piece != null && !piece.isEmpty()) reasoningTokens++;
        relayed(piece, true);
      }
      case "response.function_call_arguments.delta", "response.custom_tool_call_input.delta" -> toolCalls = true;
      case "response.refusal.delta" -> unfollowable = "a refusal had reached the client";
      case "response.output_item.done" -> {
        JsonNode item = data.path("item");
        doneItems.put(data.path("output_index").asInt(), item);
        if (item.path("id").asText().equals(openId)) openId = null;
        if (item.path("type").asText().equals("message")) finished = true; // the answer's text is whole
      }
      case "response.completed", "response.incomplete" -> {
        finished = true;
        ended = true;
      }
      default -> { } // in_progress, *.done of parts and text, annotations
    }
  }

  @Override
  byte[] rewrite(byte[] event) {
    ObjectNode data = sseObject(event);
    if (data == null) return event;
    String type = data.path("type").asText();
    switch (type) {
      case "response.created" -> { // a new node's stream starts: its indices and ids are its own
        indexMap.clear();
        idMap.clear();
        dropped.clear();
        carriedReasoning = reasoningTokens;
        return new byte[0];
      }
      case "response.in_progress" -> {
        return new byte[0];
      }
      case "response.output_item.added" -> {
        int theirs = data.path("output_index").asInt();
        JsonNode item = data.path("item");
        String itemType = item.path("type").asText();
        if (thinkingOff && itemType.equals("reasoning")) {
          dropped.add(theirs);
          return new byte[0];
        }
        if (itemType.equals("message") && openId != null && "message".equals(openType)) {
          indexMap.put(theirs, openIndex); // the message the client has open goes on
          idMap.put(item.path("id").asText(), openId);
          return new byte[0];
        }
        int ours = nextIndex;
        indexMap.put(theirs, ours);
        data.put("output_index", ours);
        note(data);
        return sse(type, data);
      }
      case "response.content_part.added" -> {
        int theirs = data.path("output_index").asInt();
        if (dropped.contains(theirs)) return new byte[0];
        if (idMap.containsKey(data.path("item_id").asText())) return new byte[0]; // the open part goes on
        return sse(type, located(data));
      }
      case "response.completed", "response.incomplete", "response.failed" -> {
        if (data.path("response") instanceof ObjectNode r) completed(r);
        note(data);
        return sse(type, data);
      }
      default -> {
        if (data.has("output_index") && dropped.contains(data.path("output_index").asInt())) return new byte[0];
        located(data);
        wholeText(data);
        note(data);
        return sse(type, data);
      }
    }
  }

  /** The event with the client's output_index, item_id and content_index. */
  private ObjectNode located(ObjectNode data) {
    if (data.has("output_index")) {
      int theirs = data.get("output_index").asInt();
      data.put("output_index", indexMap.getOrDefault(theirs, theirs));
    }
    String id = data.has("item_id") ? idMap.get(data.path("item_id").asText()) : null;
    if (id != null) {
      data.put("item_id", id);
      data.put("content_index", openContent);
    }
    if (data.path("item") instanceof ObjectNode item) {
      String mapped = idMap.get(item.path("id").asText());
      if (mapped != null) item.put("id", mapped);
    }
    return data;
  }

  /** A continued message's done events carry its whole text, relayed and continued. */
  private void wholeText(ObjectNode data) {
    switch (data.path("type").asText()) {
      case "response.output_text.done" -> {
        StringBuilder whole = itemText.get(data.path("item_id").asText());
        if (whole != null && idMap.containsValue(data.path("item_id").asText())) data.put("text", whole.toString());
      }
      case "response.content_part.done" -> {
        StringBuilder whole = itemText.get(data.path("item_id").asText());
        if (whole != null && idMap.containsValue(data.path("item_id").asText())
            && data.path("part") instanceof ObjectNode part && part.has("text")) {
          part.put("text", whole.toString());
        }
      }
      case "response.output_item.done" -> {
        if (data.path("item") instanceof ObjectNode item && idMap.containsValue(item.path("id").asText())) {
          StringBuilder whole = itemText.get(item.path("id").asText());
          if (whole != null) wholeContent(item, whole.toString());
        }
      }
      default -> { }
    }
  }

  /** Puts {@code text} in the message's single output_text part (creating it when the node sent none). */
  private void wholeContent(ObjectNode item, String text) {
    ArrayNode content = item.withArray("content");
    ObjectNode part = null;
    for (JsonNode p : content) {
      if (p instanceof ObjectNode o && "output_text".equals(o.path("type").asText())) part = o;
    }
    if (part == null) {
      part = content.addObject().put("type", "output_text");
      part.putArray("annotations");
    }
    part.put("text", text);
  }

  /** The final response: the first node's id and time, every output item the client got, usage summed. */
  private void completed(ObjectNode response) {
    if (responseId != null) response.set("id", responseId);
    if (createdAt != null) response.set("created_at", createdAt);
    for (JsonNode item : response.path("output")) {
      if (item instanceof ObjectNode o) {
        String mapped = idMap.get(o.path("id").asText());
        if (mapped != null) {
          o.put("id", mapped);
          StringBuilder whole = itemText.get(mapped);
          if (whole != null) wholeContent(o, whole.toString());
        }
      }
    }
    // the done items the client got, in output order, are the output (the continuation's own list lacks the first's)
    if (!doneItems.isEmpty()) {
      ArrayNode output = Json.MAPPER.createArrayNode();
      doneItems.values().forEach(output::add);
      response.set("output", output);
    }
    if (response.path("usage") instanceof ObjectNode u) {
      long input = Math.max(0, u.path("input_tokens").asLong(0) - carried);
      long output = u.path("output_tokens").asLong(0) + carried;
      u.put("input_tokens", input);
      u.put("output_tokens", output);
      u.put("total_tokens", input + output);
      if (u.path("output_tokens_details") instanceof ObjectNode d && d.has("reasoning_tokens")) {
        d.put("reasoning_tokens", d.path("reasoning_tokens").asLong(0) + carriedReasoning);
      }
    }
  }

  private byte[] sse(String type, ObjectNode data) {
    sequence++;
    data.put("sequence_number", sequence);
    return utf8("event: " + type + "\ndata: " + data + "\n\n");
  }

  @Override
  void continueText(ObjectNode body, String start, boolean noThinking) {
    if (!start.isEmpty()) {
      JsonNode input = body.path("input");
      ArrayNode items;
      if (input.isArray()) {
        items = (ArrayNode) input;
      } else {
        items = body.putArray("input");
        if (input.isTextual()) items.addObject().put("role", "user").put("content", input.asText());
      }
      JsonNode last = items.isEmpty() ? null : items.get(items.size() - 1);
      if (isAssistantMessage(last) && last.path("content").isTextual()) {
        ((ObjectNode) last).put("content", last.get("content").asText() + start); // the client's own prefill
      } else {
        ObjectNode message = items.addObject().put("type", "message").put("role", "assistant");
        ObjectNode part = message.putArray("content").addObject().put("type", "output_text").put("text", start);
        part.putArray("annotations");
      }
    }
    if (noThinking) body.putObject("reasoning").put("effort", "none");
  }

  @Override
  int limit(ObjectNode body) {
    return positive(body.get("max_output_tokens"));
  }

  @Override
  void setLimit(ObjectNode body, int limit) {
    body.put("max_output_tokens", limit);
  }
}
