package dev.sluice.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** An answer to render, and helpers to render it and look at the result, for the dialect tests. */
final class AnswerFixtures {
  static final long CREATED = 1_790_000_000L;
  static final Answer ANSWER = new Answer(
      "Hello! Here is a \"quoted\" answer,\nover two lines, with ünïcödé, 中文文本 and an emoji 🚀 — "
          + "long enough to be cut into several pieces when it is replayed as a stream.",
      "qwen3:32b", "length", 31, 42);

  private AnswerFixtures() {}

  /** A client request that asks (or not) for a usage chunk at the end of an OpenAI stream. */
  static ObjectNode request(boolean includeUsage) {
    ObjectNode request = Json.MAPPER.createObjectNode();
    if (includeUsage) request.putObject("stream_options").put("include_usage", true);
    return request;
  }

  /** {@code answer} rendered for {@code endpoint} with the id suffix {@code 1} and a usage chunk. */
  static byte[] rendered(Endpoint endpoint, boolean stream, Answer answer) {
    return bytes(endpoint.dialect().render(request(true), stream, answer, "1", CREATED));
  }

  static byte[] bytes(List<Buffer> buffers) {
    Buffer all = Buffer.buffer();
    buffers.forEach(all::appendBuffer);
    return all.getBytes();
  }

  static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) names.add(it.next());
    return names;
  }
}
