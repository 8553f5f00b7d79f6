package dev.sluice.sim;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.sim.GenerationRequest.Endpoint;
import java.nio.charset.StandardCharsets;

/**
 * What a generation answers, as a 64-bit key, and the partial answer it continues.
 *
 * <p>The key is a hash of the model and, in order, each message's role, text content and tool calls (as sent); for
 * {@code /api/generate} the system text (when given) and the prompt, for {@code /v1/completions} the prompt. Request
 * ids, arrival times, sampling options and limits are not part of it, and neither is the API: the same messages get
 * the same answer on {@code /v1/chat/completions} and {@code /api/chat}.
 *
 * <p>Continuation: on {@code /v1/chat/completions} with vLLM's {@code continue_final_message: true} and on Ollama's
 * {@code /api/chat} always, a final {@code assistant} message is the start of the answer rather than part of the
 * conversation. vLLM refuses {@code continue_final_message} together with an explicit
 * {@code add_generation_prompt: true}; so does the simulator.
 *
 * @param key the conversation's hash
 * @param partial the final assistant message's text when it is continued, else {@code ""}
 */
record Conversation(long key, String partial) {
  private static final long FNV_OFFSET = 0xcbf29ce484222325L;
  private static final long FNV_PRIME = 0x100000001b3L;

  /** Reads the conversation of a body; a contradictory continuation request is an {@link IllegalArgumentException}. */
  static Conversation of(Endpoint endpoint, JsonNode body) {
    long hash = add(FNV_OFFSET, body.path("model").asText());
    switch (endpoint) {
      case OPENAI_CHAT, OLLAMA_CHAT -> {
        JsonNode messages = body.path("messages");
        boolean continues = endpoint == Endpoint.OLLAMA_CHAT || continueFinalMessage(body);
        int last = messages.size() - 1;
        boolean continued = continues && last >= 0
            && "assistant".equals(messages.get(last).path("role").asText());
        int count = continued ? last : messages.size();
        for (int i = 0; i < count; i++) {
          JsonNode message = messages.get(i);
          hash = add(hash, message.path("role").asText());
          hash = add(hash, GenerationRequest.text(message.path("content")));
          JsonNode toolCalls = message.path("tool_calls");
          hash = add(hash, toolCalls.isMissingNode() || toolCalls.isNull() ? "" : toolCalls.toString());
        }
        return new Conversation(hash,
            continued ? GenerationRequest.text(messages.get(last).path("content")) : "");
      }
      case OLLAMA_GENERATE -> {
        String system = GenerationRequest.text(body.path("system"));
        if (!system.isEmpty()) {
          hash = add(add(hash, "system"), system);
        }
        return new Conversation(add(add(hash, "prompt"), GenerationRequest.text(body.path("prompt"))), "");
      }
      default -> {
        return new Conversation(add(add(hash, "prompt"), GenerationRequest.text(body.path("prompt"))), "");
      }
    }
  }

  private static boolean continueFinalMessage(JsonNode body) {
    if (!body.path("continue_final_message").asBoolean(false)) {
      return false;
    }
    if (body.path("add_generation_prompt").asBoolean(false)) {
      throw new IllegalArgumentException(
          "Cannot set both `continue_final_message` and `add_generation_prompt` to True.");
    }
    return true;
  }

  /** FNV-1a over the text's length and UTF-8 bytes, so that field boundaries count. */
  private static long add(long hash, String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    for (int shift = 0; shift < 32; shift += 8) {
      hash = (hash ^ ((bytes.length >>> shift) & 0xff)) * FNV_PRIME;
    }
    for (byte b : bytes) {
      hash = (hash ^ (b & 0xff)) * FNV_PRIME;
    }
    return hash;
  }
}
