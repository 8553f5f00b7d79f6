package dev.sluice.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.routing.PrefixChain;
import io.netty.buffer.ByteBuf;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;

/**
 * A client request body that passed validation. The raw bytes are forwarded unchanged; the tree is for decisions.
 * The gateway's rewrites of a body (another model, a capped token limit) are methods here: each returns a new request
 * whose tree and raw bytes agree, and leaves this one as it was.
 *
 * @param endpoint which endpoint it came in on
 * @param model the model the client asked for
 * @param stream whether the client expects a stream (SSE or NDJSON)
 * @param json the parsed body
 * @param raw the body exactly as received
 */
public record ParsedRequest(Endpoint endpoint, String model, boolean stream, ObjectNode json, Buffer raw) {
  /** The body fields that limit an answer's length, in the order they are read and rewritten. */
  private static final String[] MAX_TOKENS_FIELDS = {"max_completion_tokens", "max_tokens", "max_output_tokens"};

  /**
   * The answer length the client asked for: {@code max_completion_tokens}, {@code max_tokens},
   * {@code max_output_tokens} (Responses) or Ollama's
   * {@code options.num_predict} when positive; else 0.
   */
  public int requestedMaxTokens() {
    for (String f : MAX_TOKENS_FIELDS) {
      if (json.path(f).canConvertToInt() && json.path(f).asInt() > 0) return json.path(f).asInt();
    }
    JsonNode n = json.path("options").path("num_predict");
    return n.canConvertToInt() && n.asInt() > 0 ? n.asInt() : 0;
  }

  /**
   * A 64-bit hash of {@link #raw()} ({@link PrefixChain#hash(byte[], int, int)}), read in place when the buffer is on
   * the heap (as request bodies are): no copy of a 190 KB body.
   */
  public long rawHash() {
    ByteBuf b = ((BufferInternal) raw).getByteBuf();
    if (b.hasArray()) {
      int from = b.arrayOffset() + b.readerIndex();
      return PrefixChain.hash(b.array(), from, from + b.readableBytes());
    }
    byte[] copy = raw.getBytes();
    return PrefixChain.hash(copy, 0, copy.length);
  }

  /** This request sent to another model (a downgrade, or the overflow model for a long prompt). */
  public ParsedRequest withModel(String other) {
    ObjectNode copy = json.deepCopy();
    copy.put("model", other);
    return new ParsedRequest(endpoint, other, stream, copy, Buffer.buffer(copy.toString()));
  }

  /** This request with the top-level field {@code name} set to {@code value} (added when absent). */
  public ParsedRequest withField(String name, JsonNode value) {
    ObjectNode copy = json.deepCopy();
    copy.set(name, value);
    return new ParsedRequest(endpoint, model, stream, copy, Buffer.buffer(copy.toString()));
  }

  /**
   * This request with its answer length capped at {@code maxTokens}: every length field it gives is set, or, when it
   * gives none, Ollama's {@code options.num_predict} if it has options.
   */
  public ParsedRequest withMaxTokens(int maxTokens) {
    ObjectNode copy = json.deepCopy();
    boolean set = false;
    for (String f : MAX_TOKENS_FIELDS) {
      if (copy.has(f)) {
        copy.put(f, maxTokens);
        set = true;
      }
    }
    if (!set && copy.path("options").isObject()) ((ObjectNode) copy.get("options")).put("num_predict", maxTokens);
    return new ParsedRequest(endpoint, model, stream, copy, Buffer.buffer(copy.toString()));
  }
}
