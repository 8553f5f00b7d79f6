package dev.sluice.api;

import dev.sluice.api.Bodies.NotAnAnswer;
import java.io.IOException;
import java.util.Objects;

/**
 * A dialect whose answers the gateway reads and writes itself (chat, completions, generate): a cached answer is
 * re-rendered in the shape the client asked for, and the static reply is rendered from scratch. Each family says how
 * its whole answers and its streams are read; how completeness and parsing are decided from that is written once here.
 */
interface GenerationDialect extends Dialect {
  /** Whether a relayed stream reached its proper end (OpenAI {@code [DONE]}, Ollama's {@code done} line). */
  boolean streamEnded(byte[] body);

  /** The answer in a complete, non-streamed body. */
  Answer parseWhole(byte[] body) throws NotAnAnswer, IOException;

  /** The answer assembled from a whole stream. */
  Answer parseStream(byte[] body) throws NotAnAnswer, IOException;

  @Override
  default boolean complete(boolean stream, byte[] body) {
    Objects.requireNonNull(body, "body");
    return stream ? streamEnded(body) : Bodies.isObjectWithout(body, 0, body.length, "error", false);
  }

  @Override
  default Answer parse(boolean stream, byte[] body) {
    Objects.requireNonNull(body, "body");
    try {
      return stream ? parseStream(body) : parseWhole(body);
    } catch (NotAnAnswer | IOException e) {
      return null;
    }
  }

  @Override
  default boolean renders() {
    return true;
  }
}
