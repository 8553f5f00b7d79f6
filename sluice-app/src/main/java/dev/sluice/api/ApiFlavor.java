package dev.sluice.api;

import io.vertx.core.buffer.Buffer;

/**
 * The wire API families and how each one spells an error: every error Sluice itself produces goes through
 * {@link #errorBody} or {@link #streamErrorEvent}, so clients always get their own API's format. A client's family
 * comes from its endpoint. A node's ({@code NodeSpec.api()}) is {@link #OPENAI} or {@link #OLLAMA} only: how it is
 * probed and where its paths live; what it serves is its {@link NodeDialect} set.
 */
public enum ApiFlavor {
  /** OpenAI: {@code {"error":{"message","type","param","code"}}}; streams are SSE. */
  OPENAI,
  /** Ollama: {@code {"error":"..."}}; streams are NDJSON. */
  OLLAMA,
  /** Anthropic Messages: {@code {"type":"error","error":{"type","message"}}}; streams are SSE with event names. */
  ANTHROPIC;

  /**
   * A complete error response body in this API's format ({@link OpenAiDialect#errorBody},
   * {@link OllamaDialect#errorBody}). {@code param} and {@code code} may be null.
   */
  public Buffer errorBody(ErrorKind kind, String message, String param) {
    return switch (this) {
      case OPENAI -> OpenAiDialect.errorBody(kind, message, param);
      case OLLAMA -> OllamaDialect.errorBody(message);
      case ANTHROPIC -> AnthropicDialect.errorBody(kind, message);
    };
  }

  /** One in-band error event ending a stream that has already started: an SSE event or an NDJSON line. */
  public Buffer streamErrorEvent(ErrorKind kind, String message) {
    return switch (this) {
      case OPENAI -> OpenAiDialect.streamErrorEvent(kind, message);
      case OLLAMA -> OllamaDialect.streamErrorEvent(message);
      case ANTHROPIC -> AnthropicDialect.streamErrorEvent(kind, message);
    };
  }

  /** Content type of a complete error body. */
  public String errorContentType() {
    return "application/json; charset=utf-8";
  }
}
