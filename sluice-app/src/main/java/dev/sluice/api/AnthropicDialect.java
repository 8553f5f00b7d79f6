package dev.sluice.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import io.vertx.core.buffer.Buffer;

/**
 * What the Anthropic dialects share: paths under the node's {@code /v1} base, the error shape
 * {@code {"type":"error","error":{"type","message"}}} (types: {@link ErrorKind#anthropicType}), and SSE streams whose
 * events are named ({@code event: message_start} ... {@code event: message_stop}; an error is {@code event: error}).
 */
abstract class AnthropicDialect implements Dialect {
  @Override
  public final ApiFlavor flavor() {
    return ApiFlavor.ANTHROPIC;
  }

  @Override
  public NodeDialect nodeDialect() {
    return NodeDialect.ANTHROPIC;
  }

  /** A complete Anthropic error body. */
  static Buffer errorBody(ErrorKind kind, String message) {
    return Buffer.buffer(errorNode(kind.anthropicType(), message).toString());
  }

  /** {@code {"type":"error","error":{"type":type,"message":message}}}. */
  static ObjectNode errorNode(String type, String message) {
    ObjectNode root = Json.MAPPER.createObjectNode().put("type", "error");
    root.putObject("error").put("type", type).put("message", message);
    return root;
  }

  /** The error as the {@code event: error} that ends a stream already started. */
  static Buffer streamErrorEvent(ErrorKind kind, String message) {
    return Buffer.buffer("event: error\ndata: ").appendBuffer(errorBody(kind, message)).appendString("\n\n");
  }
}
