package dev.sluice.sim;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The parts of a generation request the simulator uses.
 *
 * @param model requested model
 * @param promptText all prompt text (message contents, system, prompt), concatenated
 * @param stream whether to stream
 * @param maxTokens the client's output limit, or 0 for none
 * @param includeUsage OpenAI {@code stream_options.include_usage}
 * @param conversation what the answer is to, and the start of it the client already has, if any
 */
record GenerationRequest(String model, String promptText, boolean stream, int maxTokens, boolean includeUsage,
    Conversation conversation) {

  /** The four generation endpoints and how their bodies say the same things. */
  enum Endpoint {
    OLLAMA_CHAT(Api.OLLAMA, OllamaFormat.CHAT),
    OLLAMA_GENERATE(Api.OLLAMA, OllamaFormat.GENERATE),
    OPENAI_CHAT(Api.OPENAI, OpenAiFormat.CHAT),
    OPENAI_COMPLETION(Api.OPENAI, OpenAiFormat.COMPLETION);

    final Api api;
    final GenerationFormat format;

    Endpoint(Api api, GenerationFormat format) {
      this.api = api;
      this.format = format;
    }
  }

  /** Reads a body whose {@code model} the caller has checked; a bad limit is an {@link IllegalArgumentException}. */
  static GenerationRequest parse(Endpoint endpoint, JsonNode body) {
    String model = body.path("model").asText();
    StringBuilder prompt = new StringBuilder();
    switch (endpoint) {
      case OLLAMA_CHAT, OPENAI_CHAT -> {
        // chat templates render the tool definitions and earlier turns' tool calls into the prompt
        if (body.path("tools").isArray()) {
          prompt.append(body.get("tools"));
        }
        body.path("messages").forEach(m -> {
          appendText(prompt, m.path("content"));
          if (m.path("tool_calls").isArray()) {
            prompt.append(m.get("tool_calls"));
          }
        });
      }
      case OLLAMA_GENERATE -> {
        appendText(prompt, body.path("system"));
        appendText(prompt, body.path("prompt"));
      }
      case OPENAI_COMPLETION -> appendText(prompt, body.path("prompt"));
    }
    Conversation conversation = Conversation.of(endpoint, body);
    if (endpoint.api == Api.OLLAMA) {
      int numPredict = body.path("options").path("num_predict").asInt(0);
      // num_predict -1 (unbounded) and -2 (fill the context) mean no client limit here
      return new GenerationRequest(model, prompt.toString(), body.path("stream").asBoolean(true),
          Math.max(0, numPredict), false, conversation);
    }
    JsonNode limit = body.hasNonNull("max_completion_tokens") ? body.get("max_completion_tokens")
        : body.path("max_tokens");
    int maxTokens = 0;
    if (!limit.isMissingNode() && !limit.isNull()) {
      if (!limit.canConvertToInt() || limit.asInt() < 1) {
        throw new IllegalArgumentException("max_tokens must be at least 1, got " + limit + ".");
      }
      maxTokens = limit.asInt();
    }
    return new GenerationRequest(model, prompt.toString(), body.path("stream").asBoolean(false), maxTokens,
        body.path("stream_options").path("include_usage").asBoolean(false), conversation);
  }

  /** The text of a string, or of an array of strings or content parts. */
  static String text(JsonNode content) {
    StringBuilder text = new StringBuilder();
    appendText(text, content);
    return text.toString();
  }

  /** Appends a string, or the texts of an array of strings or content parts ({@code {"type":"text","text":..}}). */
  private static void appendText(StringBuilder prompt, JsonNode content) {
    if (content.isTextual()) {
      prompt.append(content.asText());
    } else if (content.isArray()) {
      content.forEach(part -> prompt.append(part.isTextual() ? part.asText() : part.path("text").asText()));
    }
  }
}
