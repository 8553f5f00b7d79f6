package dev.sluice.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.Bodies.NotAnAnswer;
import dev.sluice.support.Json;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The Ollama dialects that generate text ({@link OllamaChat}, {@link OllamaGenerate}): streamed by default, as NDJSON
 * records of pieces then a final {@code "done":true} record with {@code done_reason} and the counts; whole, that final
 * record with all the text. Only plain text answers are answers: tool calls parse to null, and reasoning text
 * ({@code message.thinking}) is not content.
 */
abstract class OllamaGeneration extends OllamaDialect implements GenerationDialect {
  /** The text of one record (the whole answer or one streamed piece). */
  abstract String text(JsonNode record) throws NotAnAnswer;

  /** Writes the text of one record. */
  abstract void putText(ObjectNode record, String content);

  @Override
  public boolean streamsByDefault() {
    return true;
  }

  /**
   * Checks {@code options} (Ollama's sampling parameters): an object, {@code num_predict} at most
   * {@code maxTokensLimit} (-1 = generate until done, -2 = fill the context; both bounded by the node's context).
   */
  @Override
  public void checkParameters(ObjectNode request, int maxTokensLimit) throws ApiException {
    JsonNode options = request.get("options");
    if (options == null || options.isNull()) return;
    if (!options.isObject()) {
      throw new ApiException(ErrorKind.INVALID_REQUEST, "\"options\" must be an object", "options");
    }
    RequestValidator.checkInt((ObjectNode) options, "num_predict", -2, maxTokensLimit);
    RequestValidator.checkNumber((ObjectNode) options, "temperature", 0, 2);
    RequestValidator.checkNumber((ObjectNode) options, "top_p", 0, 1);
  }

  @Override
  public boolean streamEnded(byte[] body) {
    return streamComplete(body);
  }

  @Override
  public List<Buffer> render(ObjectNode request, boolean stream, Answer answer, String idSuffix,
      long createdEpochSeconds) {
    Objects.requireNonNull(answer, "answer");
    Writer w = new Writer(answer, createdEpochSeconds);
    return stream ? w.stream() : List.of(w.whole());
  }

  @Override
  public String contentType(boolean stream) {
    return stream ? NDJSON : Bodies.JSON;
  }

  @Override
  public Answer parseWhole(byte[] body) throws NotAnAnswer, IOException {
    JsonNode root = Bodies.readObject(body);
    if (root.path("done").isBoolean() && !root.get("done").asBoolean()) throw NotAnAnswer.INSTANCE;
    return answer(text(root), root.path("model").asText(""), root, body);
  }

  @Override
  public Answer parseStream(byte[] body) throws NotAnAnswer, IOException {
    StringBuilder content = new StringBuilder();
    String model = null;
    for (String line : ndjsonLines(body)) {
      JsonNode record = Bodies.readObject(line);
      if (model == null && record.path("model").isTextual()) model = record.get("model").asText();
      content.append(text(record));
      if (record.path("done").asBoolean(false)) {
        return answer(content.toString(), model == null ? "" : model, record, body);
      }
    }
    throw NotAnAnswer.INSTANCE; // the stream ended before its done line
  }

  private Answer answer(String content, String model, JsonNode doneRecord, byte[] body) {
    Usage usage = usage(body);
    return new Answer(content, model, Bodies.text(doneRecord.get("done_reason")), Bodies.tokens(usage.promptTokens()),
        Bodies.tokens(usage.completionTokens()));
  }

  /** Writes one answer. */
  private final class Writer {
    private final Answer answer;
    private final long created;

    Writer(Answer answer, long created) {
      this.answer = answer;
      this.created = created;
    }

    Buffer whole() {
      return Buffer.buffer(Bodies.bytes(done(answer.content())));
    }

    List<Buffer> stream() {
      List<String> pieces = Bodies.pieces(answer.content());
      List<Buffer> lines = new ArrayList<>(pieces.size() + 1);
      for (String piece : pieces) lines.add(line(head(piece).put("done", false)));
      lines.add(line(done("")));
      return lines;
    }

    private ObjectNode head(String content) {
      ObjectNode line = Json.MAPPER.createObjectNode()
          .put("model", answer.model())
          .put("created_at", Instant.ofEpochSecond(created).toString());
      putText(line, content);
      return line;
    }

    /** The final record; durations are 0 since nothing was computed. */
    private ObjectNode done(String content) {
      return head(content)
          .put("done", true)
          .put("done_reason", answer.finishReason())
          .put("total_duration", 0)
          .put("load_duration", 0)
          .put("prompt_eval_count", answer.promptTokens())
          .put("prompt_eval_duration", 0)
          .put("eval_count", answer.completionTokens())
          .put("eval_duration", 0);
    }

    private Buffer line(ObjectNode body) {
      return Buffer.buffer(Bodies.bytes(body)).appendString("\n");
    }
  }
}
