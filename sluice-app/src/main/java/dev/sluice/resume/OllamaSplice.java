package dev.sluice.resume;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * Ollama NDJSON streams, {@code /api/chat} and {@code /api/generate}. A chat stream is continued with the relayed text
 * as a final assistant message (Ollama continues a final assistant message); a generate stream with the prompt
 * followed by the relayed text. A positive {@code options.num_predict} is reduced by the tokens relayed.
 *
 * <p>Splice: every line carries the first node's {@code model}; the final {@code done} line counts the prompt once
 * ({@code prompt_eval_count} = the node's less the relayed tokens it read back as prompt) and every completion token
 * ({@code eval_count} = relayed + its own); its durations add the broken nodes' time to the continuation's:
 * {@code prompt_eval_duration} and {@code eval_duration} the broken nodes' time to their first chunk and from it to
 * their last, {@code total_duration} the time since the request reached the gateway (at least the node's own).
 */
final class OllamaSplice extends StreamSplice {
  private final boolean chat;
  private JsonNode model;

  OllamaSplice(boolean chat, ObjectNode original, Predicate<byte[]> isErrorEvent, LongSupplier elapsedNanos) {
    super(original, isErrorEvent, elapsedNanos);
    this.chat = chat;
  }

  static String refusal(boolean chat, JsonNode request) {
    JsonNode format = request.get("format");
    if (format != null && !format.isNull() && !(format.isTextual() && format.asText().isEmpty())) {
      return "it asks for constrained output (format), whose grammar would restart";
    }
    if (request.path("logprobs").asBoolean(false)) return "it asks for logprobs";
    if (!chat) {
      if (request.hasNonNull("suffix")) return "it asks for a suffix";
      if (request.hasNonNull("context")) return "it continues an earlier context";
      if (!request.path("prompt").isTextual()) return "its prompt is not one string";
    }
    return null;
  }

  @Override
  int eventEnd(byte[] b, int from) {
    for (int i = from; i < b.length; i++) {
      if (b[i] == '\n') return i + 1;
    }
    return b.length;
  }

  /** Ollama's last line carries {@code "done":true} (its other lines {@code "done":false}). */
  @Override
  boolean isTerminal(byte[] event) {
    String line = utf8(event);
    return line.contains("\"done\":true") || line.contains("\"done\": true");
  }

  @Override
  void observe(byte[] event) {
    String line = utf8(event).strip();
    if (line.isEmpty()) return;
    ObjectNode record = object(line);
    if (record == null) {
      unfollowable = "the node sent a line that is not JSON";
      return;
    }
    if (model == null) model = record.get("model");
    note(record);
  }

  private void note(ObjectNode record) {
    JsonNode message = chat ? record.path("message") : record;
    relayed(text(message.get("thinking")), true);
    relayed(text(chat ? message.get("content") : message.get("response")), false);
    if (message.path("tool_calls").isArray() && !message.get("tool_calls").isEmpty()) toolCalls = true;
    if (message.path("images").isArray() && !message.get("images").isEmpty()) {
      unfollowable = "images had reached the client";
    }
    if (record.path("done").asBoolean(false)) {
      finished = true;
      ended = true;
    }
  }

  private static String text(JsonNode n) {
    return n != null && n.isTextual() ? n.asText() : null;
  }

  @Override
  byte[] rewrite(byte[] event) {
    String line = utf8(event).strip();
    if (line.isEmpty()) return event;
    ObjectNode record = object(line);
    if (record == null) {
      unfollowable = "the node sent a line that is not JSON";
      return event;
    }
    if (record.has("model") && model != null) record.set("model", model);
    if (thinkingOff) {
      JsonNode message = chat ? record.get("message") : record;
      if (message instanceof ObjectNode m && m.has("thinking")) {
        m.remove("thinking");
        boolean empty = text(chat ? m.get("content") : m.get("response")) == null
            || text(chat ? m.get("content") : m.get("response")).isEmpty();
        if (empty && !m.has("tool_calls") && !record.path("done").asBoolean(false)) return new byte[0];
      }
    }
    if (record.path("done").asBoolean(false)) {
      long prompt = Math.max(0, record.path("prompt_eval_count").asLong(0) - carried);
      long completion = record.path("eval_count").asLong(0) + carried;
      record.put("prompt_eval_count", prompt).put("eval_count", completion);
      record.put("prompt_eval_duration", record.path("prompt_eval_duration").asLong(0) + earlierPromptEvalNanos);
      record.put("eval_duration", record.path("eval_duration").asLong(0) + earlierEvalNanos);
      record.put("total_duration", Math.max(record.path("total_duration").asLong(0), elapsedNanos.getAsLong()));
    }
    note(record);
    return utf8(record + "\n");
  }

  @Override
  void continueText(ObjectNode body, String start, boolean noThinking) {
    if (!chat) {
      body.put("prompt", body.path("prompt").asText() + start);
    } else if (!start.isEmpty()) {
      continueAssistant(body, start, true); // Ollama continues a final assistant message
    }
    if (noThinking) body.put("think", false);
  }

  @Override
  int limit(ObjectNode body) {
    return positive(body.path("options").get("num_predict"));
  }

  @Override
  void setLimit(ObjectNode body, int limit) {
    body.withObject("options").put("num_predict", limit);
  }
}
