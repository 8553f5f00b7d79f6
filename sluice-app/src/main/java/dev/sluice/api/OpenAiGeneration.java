package dev.sluice.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.Bodies.NotAnAnswer;
import dev.sluice.support.Json;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The OpenAI dialects that generate text ({@link OpenAiChat}, {@link OpenAiCompletions}): one shape with a different
 * choice. A whole answer is {@code {id, object, created, model, choices: [one], usage}}; a stream is SSE chunks (a
 * role chunk for chat, content pieces of a few words, a finish chunk, with {@code stream_options.include_usage} a
 * usage chunk with empty choices) then {@code data: [DONE]}. Only plain text answers are answers: tool calls, a
 * refusal or more than one choice parse to null. Reasoning text ({@code reasoning_content}) is not content.
 */
abstract class OpenAiGeneration extends OpenAiDialect implements GenerationDialect {

  /** The response id's prefix, e.g. {@code chatcmpl-}. */
  abstract String idPrefix();

  /** The {@code object} of a whole answer ({@code chunk} false) or of a stream chunk. */
  abstract String object(boolean chunk);

  /** The text of a whole answer's only choice. */
  abstract String wholeText(JsonNode choice) throws NotAnAnswer;

  /** The text piece of one streamed choice; null or JSON null when it carries none. */
  abstract JsonNode streamedPiece(JsonNode choice) throws NotAnAnswer;

  /** Writes a whole answer's choice up to its {@code logprobs}. */
  abstract void putChoice(ObjectNode choice, String content);

  /** Writes a streamed choice up to its {@code logprobs}: {@code piece} null for the finish chunk. */
  abstract void putChunkChoice(ObjectNode choice, String piece, boolean role);

  /** Whether a stream starts with a chunk carrying the role, and bodies carry {@code system_fingerprint} (chat). */
  boolean chatShaped() {
    return false;
  }

  @Override
  public boolean streamEnded(byte[] body) {
    return streamComplete(body);
  }

  @Override
  public List<Buffer> render(ObjectNode request, boolean stream, Answer answer, String idSuffix,
      long createdEpochSeconds) {
    Objects.requireNonNull(answer, "answer");
    Objects.requireNonNull(idSuffix, "idSuffix");
    Writer w = new Writer(answer, idPrefix() + idSuffix, createdEpochSeconds);
    if (!stream) return List.of(w.whole());
    return w.stream(request != null && request.path("stream_options").path("include_usage").asBoolean(false));
  }

  @Override
  public String contentType(boolean stream) {
    return stream ? SSE : Bodies.JSON;
  }

  /** As OpenAI's own streams: an event stream is never cached by proxies on the way. */
  @Override
  public Map<String, String> streamHeaders() {
    return Bodies.NO_CACHE;
  }

  @Override
  public Answer parseWhole(byte[] body) throws NotAnAnswer, IOException {
    JsonNode root = Bodies.readObject(body);
    JsonNode choices = root.path("choices");
    // several choices (n > 1) cannot be one answer
    if (!choices.isArray() || choices.size() != 1 || !choices.get(0).isObject()) throw NotAnAnswer.INSTANCE;
    JsonNode choice = choices.get(0);
    String content = wholeText(choice);
    return answer(content, root.path("model").asText(""), Bodies.text(choice.get("finish_reason")), body);
  }

  @Override
  public Answer parseStream(byte[] body) throws NotAnAnswer, IOException {
    StringBuilder content = new StringBuilder();
    String model = null;
    String finishReason = null;
    boolean done = false;
    boolean any = false;
    for (String data : sseEvents(body)) {
      if (DONE.equals(data)) {
        done = true;
        break;
      }
      JsonNode chunk = Bodies.readObject(data);
      if (model == null && chunk.path("model").isTextual()) model = chunk.get("model").asText();
      JsonNode choices = chunk.path("choices");
      if (!choices.isArray()) throw NotAnAnswer.INSTANCE;
      for (JsonNode choice : choices) {
        if (choice.path("index").asInt(0) != 0) throw NotAnAnswer.INSTANCE;
        any = true;
        JsonNode piece = streamedPiece(choice);
        if (piece != null && piece.isTextual()) content.append(piece.asText());
        else if (piece != null && !piece.isNull()) throw NotAnAnswer.INSTANCE;
        String reason = Bodies.text(choice.get("finish_reason"));
        if (reason != null) finishReason = reason;
      }
    }
    if (!done || !any) throw NotAnAnswer.INSTANCE;
    return answer(content.toString(), model == null ? "" : model, finishReason, body);
  }

  private Answer answer(String content, String model, String finishReason, byte[] body) {
    Usage usage = usage(body);
    return new Answer(content, model, finishReason, Bodies.tokens(usage.promptTokens()),
        Bodies.tokens(usage.completionTokens()));
  }

  private static ObjectNode usageNode(Answer answer) {
    return Json.MAPPER.createObjectNode()
        .put("prompt_tokens", answer.promptTokens())
        .put("completion_tokens", answer.completionTokens())
        .put("total_tokens", answer.promptTokens() + answer.completionTokens());
  }

  /** Writes one answer. */
  private final class Writer {
    private final Answer answer;
    private final String id;
    private final long created;

    Writer(Answer answer, String id, long created) {
      this.answer = answer;
      this.id = id;
      this.created = created;
    }

    Buffer whole() {
      ObjectNode body = envelope(false);
      ObjectNode choice = body.putArray("choices").addObject();
      putChoice(choice, answer.content());
      choice.putNull("logprobs").put("finish_reason", answer.finishReason());
      body.set("usage", usageNode(answer));
      if (chatShaped()) body.putNull("system_fingerprint");
      return Buffer.buffer(Bodies.bytes(body));
    }

    List<Buffer> stream(boolean includeUsage) {
      List<String> pieces = Bodies.pieces(answer.content());
      List<Buffer> events = new ArrayList<>(pieces.size() + 4);
      if (chatShaped()) events.add(chunk(includeUsage, "", true, null));
      for (String piece : pieces) events.add(chunk(includeUsage, piece, false, null));
      events.add(chunk(includeUsage, null, false, answer.finishReason()));
      if (includeUsage) {
        ObjectNode last = envelope(true);
        last.putArray("choices");
        last.set("usage", usageNode(answer));
        events.add(event(last));
      }
      events.add(Buffer.buffer("data: " + DONE + "\n\n"));
      return events;
    }

    /** One streamed choice: {@code piece} null for the finish chunk, {@code role} for chat's first chunk. */
    private Buffer chunk(boolean includeUsage, String piece, boolean role, String finishReason) {
      ObjectNode body = envelope(true);
      ObjectNode choice = body.putArray("choices").addObject();
      putChunkChoice(choice, piece, role);
      choice.putNull("logprobs");
      if (finishReason == null) choice.putNull("finish_reason"); else choice.put("finish_reason", finishReason);
      if (includeUsage) body.putNull("usage"); // as OpenAI: null on every chunk but the usage chunk
      return event(body);
    }

    private ObjectNode envelope(boolean chunk) {
      ObjectNode body = Json.MAPPER.createObjectNode()
          .put("id", id).put("object", object(chunk)).put("created", created).put("model", answer.model());
      if (chatShaped() && chunk) body.putNull("system_fingerprint");
      return body;
    }
  }
}
