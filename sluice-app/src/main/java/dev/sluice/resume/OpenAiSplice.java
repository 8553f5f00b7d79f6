package dev.sluice.resume;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * OpenAI SSE streams, chat completions and legacy completions. A chat stream is continued with the relayed text as a
 * final assistant message that the node continues (vLLM's {@code continue_final_message: true} with
 * {@code add_generation_prompt: false}); a completions stream with the prompt followed by the relayed text.
 * {@code max_completion_tokens}/{@code max_tokens} are reduced by the tokens relayed.
 *
 * <p>Splice: a continuation's role chunk is dropped, and every chunk carries the first node's {@code id},
 * {@code created}, {@code model} (and {@code system_fingerprint}); its usage chunk counts the prompt once
 * ({@code prompt_tokens} = the node's less the relayed tokens it read back as prompt) and every completion token
 * ({@code completion_tokens} = relayed + its own), {@code total_tokens} their sum.
 */
final class OpenAiSplice extends StreamSplice {
  private static final String DONE = "[DONE]";
  /** The limit fields, in the order nodes read them. */
  private static final List<String> LIMITS = List.of("max_completion_tokens", "max_tokens");

  private final boolean chat;
  private JsonNode id;
  private JsonNode created;
  private JsonNode model;
  private JsonNode fingerprint;

  OpenAiSplice(boolean chat, ObjectNode original, Predicate<byte[]> isErrorEvent, LongSupplier elapsedNanos) {
    super(original, isErrorEvent, elapsedNanos);
    this.chat = chat;
  }

  static String refusal(boolean chat, JsonNode request) {
    if (positive(request.get("n")) > 1) return "it asks for several choices (n > 1)";
    if (positive(request.get("best_of")) > 1) return "it asks for best_of > 1";
    JsonNode logprobs = request.get("logprobs");
    if (logprobs != null && (logprobs.asBoolean(false) || logprobs.isInt())) return "it asks for logprobs";
    if (positive(request.get("top_logprobs")) > 0) return "it asks for top_logprobs";
    String format = request.path("response_format").path("type").asText("text");
    if (!format.equals("text")) {
      return "it asks for constrained output (response_format " + format + "), whose grammar would restart";
    }
    if (request.hasNonNull("guided_json") || request.hasNonNull("guided_regex") || request.hasNonNull("guided_choice")
        || request.hasNonNull("guided_grammar") || request.hasNonNull("structured_outputs")) {
      return "it asks for constrained output, whose grammar would restart";
    }
    if (!chat) {
      if (request.path("echo").asBoolean(false)) return "it asks for echo";
      if (request.hasNonNull("suffix")) return "it asks for a suffix";
      if (!request.path("prompt").isTextual()) return "its prompt is not one string";
    }
    return null;
  }

  @Override
  int eventEnd(byte[] b, int from) {
    return sseEventEnd(b, from);
  }

  /** The data of an SSE event (its {@code data:} lines joined), or null when it has none (a comment, a ping). */
  private static String data(byte[] event) {
    return sseData(event);
  }

  @Override
  boolean isTerminal(byte[] event) {
    String data = data(event);
    return data != null && DONE.equals(data.strip());
  }

  @Override
  void observe(byte[] event) {
    String data = data(event);
    if (data == null) return;
    if (DONE.equals(data.strip())) {
      ended = true;
      return;
    }
    ObjectNode chunk = object(data);
    if (chunk == null) {
      unfollowable = "the node sent an event that is not JSON";
      return;
    }
    if (id == null) {
      id = chunk.get("id");
      created = chunk.get("created");
      model = chunk.get("model");
      fingerprint = chunk.get("system_fingerprint");
    }
    note(chunk);
  }

  /** What one chunk carried: text, reasoning, tool calls, a refusal, a finish reason. */
  private void note(ObjectNode chunk) {
    for (JsonNode choice : chunk.path("choices")) {
      if (choice.path("index").asInt(0) != 0) {
        unfollowable = "the stream carries several choices";
        continue;
      }
      if (choice.hasNonNull("logprobs")) unfollowable = "the stream carries logprobs";
      if (chat) {
        JsonNode delta = choice.path("delta");
        relayed(text(delta.get("reasoning_content")), true);
        relayed(text(delta.get("reasoning")), true);
        relayed(text(delta.get("content")), false);
        if (delta.path("tool_calls").isArray() && !delta.get("tool_calls").isEmpty()) toolCalls = true;
        if (delta.hasNonNull("function_call")) toolCalls = true;
        if (delta.hasNonNull("refusal") && !delta.get("refusal").asText().isEmpty()) {
          unfollowable = "a refusal had reached the client";
        }
      } else {
        relayed(text(choice.get("text")), false);
      }
      if (choice.hasNonNull("finish_reason")) finished = true;
    }
  }

  private static String text(JsonNode n) {
    return n != null && n.isTextual() ? n.asText() : null;
  }

  @Override
  byte[] rewrite(byte[] event) {
    String data = data(event);
    if (data == null) return event;
    if (DONE.equals(data.strip())) {
      ended = true;
      return event;
    }
    ObjectNode chunk = object(data);
    if (chunk == null) {
      unfollowable = "the node sent an event that is not JSON";
      return event;
    }
    if (chunk.has("id") && id != null) chunk.set("id", id);
    if (chunk.has("created") && created != null) chunk.set("created", created);
    if (chunk.has("model") && model != null) chunk.set("model", model);
    if (chunk.has("system_fingerprint") && fingerprint != null) chunk.set("system_fingerprint", fingerprint);
    boolean keep = false;
    for (JsonNode choice : chunk.path("choices")) {
      if (chat && choice.path("delta") instanceof ObjectNode delta) {
        delta.remove("role");
        if (thinkingOff) {
          delta.remove("reasoning_content");
          delta.remove("reasoning");
        }
        if (delta.path("content").isTextual() && delta.get("content").asText().isEmpty() && delta.size() == 1) {
          delta.remove("content");
        }
        keep |= delta.size() > 0;
      } else {
        keep = true;
      }
      keep |= choice.hasNonNull("finish_reason");
    }
    JsonNode usage = chunk.get("usage");
    if (usage instanceof ObjectNode u) {
      long prompt = Math.max(0, u.path("prompt_tokens").asLong(0) - carried);
      long completion = u.path("completion_tokens").asLong(0) + carried;
      u.put("prompt_tokens", prompt).put("completion_tokens", completion).put("total_tokens", prompt + completion);
      if (u.path("prompt_tokens_details") instanceof ObjectNode details && details.has("cached_tokens")) {
        details.put("cached_tokens", Math.min(prompt, details.path("cached_tokens").asLong(0)));
      }
      keep = true;
    }
    if (!chunk.path("choices").isArray()) keep = true;
    if (!keep) return new byte[0];
    note(chunk);
    return utf8("data: " + chunk + "\n\n");
  }

  @Override
  void continueText(ObjectNode body, String start, boolean noThinking) {
    if (!chat) {
      body.put("prompt", body.path("prompt").asText() + start);
      return;
    }
    if (!start.isEmpty()) {
      continueAssistant(body, start, body.path("continue_final_message").asBoolean(false));
      body.put("continue_final_message", true).put("add_generation_prompt", false);
    }
    if (noThinking) body.withObject("chat_template_kwargs").put("enable_thinking", false);
  }

  @Override
  int limit(ObjectNode body) {
    for (String f : LIMITS) {
      int v = positive(body.get(f));
      if (v > 0) return v;
    }
    return 0;
  }

  @Override
  void setLimit(ObjectNode body, int limit) {
    for (String f : LIMITS) {
      if (positive(body.get(f)) > 0) body.put(f, limit);
    }
  }
}
