package dev.sluice.sim;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.sim.GenerationRequest.Endpoint;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * What a generation answers, as a 64-bit key, and the start of the answer the client already has.
 *
 * <p>The key is a hash of the model and, in order, each message's role, text content and tool calls (as sent); for
 * {@code /api/generate} the system text (when given) and the prompt, for {@code /v1/completions} the prompt. Request
 * ids, arrival times, sampling options and limits are not part of it, and neither is the API: the same messages get
 * the same answer on {@code /v1/chat/completions} and {@code /api/chat}, the same prompt on {@code /v1/completions}
 * and {@code /api/generate}.
 *
 * <p>Continuation in chats: on {@code /v1/chat/completions} with vLLM's {@code continue_final_message: true} and on
 * Ollama's {@code /api/chat} always, a final {@code assistant} message is the start of the answer rather than part of
 * the conversation. vLLM refuses {@code continue_final_message} together with an explicit
 * {@code add_generation_prompt: true}; so does the simulator.
 *
 * <p>Continuation of raw prompts ({@code /v1/completions}, {@code /api/generate}): a prompt that is an earlier prompt
 * followed by the start of that prompt's answer, cut between two tokens, continues that answer. The candidates are
 * the places where the prompt's trailing run of generated words could begin; the earliest whose text after it is
 * exactly the start of its own answer wins. A prompt matching none is answered as itself.
 *
 * @param candidates readings that hold only if their partial text is exactly the start of their answer, earliest
 *     split first
 * @param reading the reading used when no candidate holds
 */
record Conversation(List<Reading> candidates, Reading reading) {
  private static final long FNV_OFFSET = 0xcbf29ce484222325L;
  private static final long FNV_PRIME = 0x100000001b3L;

  /**
   * One way to read a request.
   *
   * @param key the hash of what is answered
   * @param partial the start of the answer the client already has, {@code ""} for none
   */
  record Reading(long key, String partial) {}

  /** The answer under {@code seed}, with {@code maxTokens} new tokens or, for 0, until it ends by itself. */
  TextGenerator.Answer answer(long seed, int maxTokens) {
    for (Reading candidate : candidates) {
      if (TextGenerator.startsAnswer(seed, candidate.key(), candidate.partial())) {
        return TextGenerator.answer(seed, candidate.key(), candidate.partial(), maxTokens);
      }
    }
    return TextGenerator.answer(seed, reading.key(), reading.partial(), maxTokens);
  }

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
        return new Conversation(List.of(),
            new Reading(hash, continued ? GenerationRequest.text(messages.get(last).path("content")) : ""));
      }
      case OLLAMA_GENERATE -> {
        String system = GenerationRequest.text(body.path("system"));
        if (!system.isEmpty()) {
          hash = add(add(hash, "system"), system);
        }
        return prompt(add(hash, "prompt"), GenerationRequest.text(body.path("prompt")));
      }
      default -> {
        return prompt(add(hash, "prompt"), GenerationRequest.text(body.path("prompt")));
      }
    }
  }

  /** A raw prompt, hashed after {@code header}: itself, and the earlier prompts it may continue the answer of. */
  private static Conversation prompt(long header, String prompt) {
    // the trailing run of space-led words: " word word ..." as generated after the first token
    List<Integer> splits = new ArrayList<>();
    int start = prompt.length();
    while (true) {
      int space = prompt.lastIndexOf(' ', start - 1);
      if (space < 0 || !TextGenerator.isWord(prompt.substring(space + 1, start))) {
        break;
      }
      start = space;
      splits.add(space + 1); // the prompt ended with this space, the answer began with the word after it
    }
    for (String word : TextGenerator.wordsEnding(prompt.substring(0, start))) {
      splits.add(start - word.length()); // the answer's first word was written right after the prompt
    }
    splits.sort(Comparator.naturalOrder());
    List<Reading> candidates = new ArrayList<>();
    long hash = header;
    int hashed = 0;
    for (int split : splits) {
      hash = bytes(hash, prompt.substring(hashed, split));
      hashed = split;
      candidates.add(new Reading(hash, prompt.substring(split)));
    }
    return new Conversation(candidates, new Reading(bytes(hash, prompt.substring(hashed)), ""));
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
    int length = text.getBytes(StandardCharsets.UTF_8).length;
    for (int shift = 0; shift < 32; shift += 8) {
      hash = (hash ^ ((length >>> shift) & 0xff)) * FNV_PRIME;
    }
    return bytes(hash, text);
  }

  /** FNV-1a over the text's UTF-8 bytes: a prompt, the last field, is hashed in pieces at its candidate splits. */
  private static long bytes(long hash, String text) {
    for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
      hash = (hash ^ (b & 0xff)) * FNV_PRIME;
    }
    return hash;
  }
}
