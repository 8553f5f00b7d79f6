package dev.sluice.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import io.vertx.core.buffer.Buffer;

/**
 * The two client-facing wire APIs, and how each one spells an error. Every error Sluice itself produces goes through
 * {@link #errorBody} or {@link #streamErrorEvent}, so clients always get their own API's format.
 */
public enum ApiFlavor {
  /** OpenAI: {@code {"error":{"message","type","param","code"}}}; streams are SSE. */
  OPENAI,
  /** Ollama: {@code {"error":"..."}}; streams are NDJSON. */
  OLLAMA;

  /** A complete error response body in this API's format. {@code param} and {@code code} may be null. */
  public Buffer errorBody(ErrorKind kind, String message, String param) {
    ObjectNode root = Json.MAPPER.createObjectNode();
    if (this == OLLAMA) {
      root.put("error", message);
    } else {
      ObjectNode err = root.putObject("error");
      err.put("message", message);
      err.put("type", kind.openAiType());
      if (param == null) err.putNull("param"); else err.put("param", param);
      if (kind.openAiCode() == null) err.putNull("code"); else err.put("code", kind.openAiCode());
    }
    return Buffer.buffer(root.toString());
  }

  /** One in-band error event ending a stream that has already started: an SSE event or an NDJSON line. */
  public Buffer streamErrorEvent(ErrorKind kind, String message) {
    Buffer body = errorBody(kind, message, null);
    if (this == OLLAMA) return body.appendString("\n");
    return Buffer.buffer("data: ").appendBuffer(body).appendString("\n\n");
  }

  /** Content type of a complete error body. */
  public String errorContentType() {
    return "application/json; charset=utf-8";
  }
}
