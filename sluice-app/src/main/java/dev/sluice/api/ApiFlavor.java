package dev.sluice.api;

import io.vertx.core.buffer.Buffer;

/**
 * The two wire API families, on both sides of the gateway: the one a client's request speaks (from its
 * endpoint) and the one a node speaks ({@code NodeSpec.api()}, the config's {@code "api"}: "openai" and
 * "openai-completions" are {@link #OPENAI}, "ollama" is {@link #OLLAMA}; Ollama nodes also speak the OpenAI-compatible
 * API under {@code /v1}). And how each one spells an error: every error Sluice itself produces goes through
 * {@link #errorBody} or {@link #streamErrorEvent}, so clients always get their own API's format.
 */
public enum ApiFlavor {
  /** OpenAI: {@code {"error":{"message","type","param","code"}}}; streams are SSE. */
  OPENAI,
  /** Ollama: {@code {"error":"..."}}; streams are NDJSON. */
  OLLAMA;

  /**
   * A complete error response body in this API's format ({@link OpenAiDialect#errorBody},
   * {@link OllamaDialect#errorBody}). {@code param} and {@code code} may be null.
   */
  public Buffer errorBody(ErrorKind kind, String message, String param) {
    return switch (this) {
      case OPENAI -> OpenAiDialect.errorBody(kind, message, param);
      case OLLAMA -> OllamaDialect.errorBody(message);
    };
  }

  /** One in-band error event ending a stream that has already started: an SSE event or an NDJSON line. */
  public Buffer streamErrorEvent(ErrorKind kind, String message) {
    return switch (this) {
      case OPENAI -> OpenAiDialect.streamErrorEvent(kind, message);
      case OLLAMA -> OllamaDialect.streamErrorEvent(message);
    };
  }

  /** Content type of a complete error body. */
  public String errorContentType() {
    return "application/json; charset=utf-8";
  }
}
