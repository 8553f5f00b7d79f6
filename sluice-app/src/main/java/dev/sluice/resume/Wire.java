package dev.sluice.resume;

/**
 * The node-side stream formats a broken stream can be continued in: the four generation APIs every node behind Sluice
 * serves, and Anthropic Messages and OpenAI Responses passed through. Anthropic Messages and OpenAI Responses streams
 * carried over chat completions are continued as {@link #OPENAI_CHAT} (the splice works on the node's chat events,
 * before the translation).
 */
public enum Wire {
  /** {@code /v1/chat/completions}, SSE. */
  OPENAI_CHAT(true),
  /** {@code /v1/completions}, SSE. */
  OPENAI_COMPLETIONS(true),
  /** {@code /api/chat}, NDJSON. */
  OLLAMA_CHAT(false),
  /** {@code /api/generate}, NDJSON. */
  OLLAMA_GENERATE(false),
  /** {@code /v1/messages} passed through to a node that speaks Anthropic Messages, named SSE events. */
  ANTHROPIC_MESSAGES(true),
  /** {@code /v1/responses} passed through to a node that speaks OpenAI Responses, named SSE events. */
  OPENAI_RESPONSES(true);

  private final boolean sse;

  Wire(boolean sse) {
    this.sse = sse;
  }

  /** Whether events are SSE ({@code data: ...\n\n}) rather than NDJSON lines. */
  public boolean sse() {
    return sse;
  }

  /** The wire of a client path as it is sent to a node unchanged; null for any other path. */
  public static Wire ofPath(String path) {
    return switch (path) {
      case "/v1/chat/completions" -> OPENAI_CHAT;
      case "/v1/completions" -> OPENAI_COMPLETIONS;
      case "/api/chat" -> OLLAMA_CHAT;
      case "/api/generate" -> OLLAMA_GENERATE;
      case "/v1/messages" -> ANTHROPIC_MESSAGES;
      case "/v1/responses" -> OPENAI_RESPONSES;
      default -> null;
    };
  }
}
