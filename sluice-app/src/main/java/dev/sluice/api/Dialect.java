package dev.sluice.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.buffer.Buffer;
import java.util.List;
import java.util.Map;

/**
 * One client API dialect: everything the gateway knows about one endpoint's wire format, so a new dialect is a new
 * file (and one {@link Endpoint} line), not an edit of the request path. Each {@link Endpoint} points at its dialect;
 * the dialects of one API share its error shape and stream framing through a family base ({@link OpenAiDialect},
 * {@link OllamaDialect}).
 *
 * <p>What a dialect knows: its request's specifics ({@link #model}, {@link #streamsByDefault},
 * {@link #checkParameters}), its answers (whether a captured body is {@link #complete}, the {@link Answer} in it,
 * how to {@link #render} one whole or as a stream and its {@link #contentType}), the {@link #usage} its nodes report,
 * and its errors ({@link #flavor}).
 */
public interface Dialect {
  /** The API family: error shape ({@link ApiFlavor#errorBody}, {@link ApiFlavor#streamErrorEvent}) and framing. */
  ApiFlavor flavor();

  /** The client path, e.g. {@code /v1/chat/completions}. */
  String path();

  /**
   * The path on the node: for OpenAI dialects relative to the node's OpenAI base ({@code .../v1}), for Ollama dialects
   * relative to the node's root; null when the gateway answers itself.
   */
  default String upstreamPath() {
    return null;
  }

  /**
   * The API a node must speak for a request of this dialect to go through unchanged: OpenAI dialects need
   * {@link NodeDialect#OPENAI}, Ollama's {@link NodeDialect#OLLAMA}; Anthropic Messages and OpenAI Responses their own.
   */
  default NodeDialect nodeDialect() {
    return flavor() == ApiFlavor.OLLAMA ? NodeDialect.OLLAMA : NodeDialect.OPENAI;
  }

  /**
   * The request carried over a node's OpenAI chat completions, for nodes that do not speak {@link #nodeDialect}; null
   * when this dialect is never translated (the request goes only to nodes that speak it).
   *
   * @throws ApiException (400) when the request asks for something chat completions cannot carry: the message names
   *     the field and the fix (a node that speaks the dialect, or the request without it)
   */
  default ChatTranslation overChat(ParsedRequest request) throws ApiException {
    return null;
  }

  /**
   * The request as the gateway sends it on, after the dialect's own rewrites (OpenAI Responses: {@code store} is
   * turned off, since the gateway keeps no responses); {@code request} itself when there are none.
   */
  default ParsedRequest prepare(ParsedRequest request) {
    return request;
  }

  /**
   * The gateway's own answer when no node of the model speaks {@link #nodeDialect} and the dialect is not translated
   * ({@code /v1/messages/count_tokens}: the gateway's estimate); null when there is none.
   *
   * @param estimatedPromptTokens the gateway's estimate of the request's prompt tokens
   */
  default Buffer localAnswer(long estimatedPromptTokens) {
    return null;
  }

  // ---------------------------------------------------------------- requests

  /** The request field naming the model, or null when absent. */
  default JsonNode model(ObjectNode request) {
    return request.get("model");
  }

  /** Whether the request's {@code stream} flag defaults to true. */
  default boolean streamsByDefault() {
    return false;
  }

  /**
   * Refuses a request whose dialect-specific fields are missing or out of range.
   *
   * @param maxTokensLimit the highest {@code max_tokens} (or its equivalent) accepted
   */
  default void checkParameters(ObjectNode request, int maxTokensLimit) throws ApiException {}

  // ---------------------------------------------------------------- answers

  /**
   * Whether a captured upstream body is a complete successful answer worth caching: by default a JSON object without
   * {@code "error"} (a dialect that streams says when a stream is complete). Cheap: no tree is built.
   */
  default boolean complete(boolean stream, byte[] body) {
    return !stream && Bodies.isObjectWithout(body, 0, body.length, "error", false);
  }

  /**
   * The plain text answer in a captured upstream body, or null when the body is none: an error, a stream without its
   * end, tool calls, several choices, bytes that are not the expected JSON, or a dialect without text answers.
   */
  default Answer parse(boolean stream, byte[] body) {
    return null;
  }

  /** Whether the gateway can write answers of this dialect itself ({@link #render}: cache replays, static replies). */
  default boolean renders() {
    return false;
  }

  /**
   * The answer as a complete response body ({@code stream} false: a list of one) or as the stream events to write one
   * by one.
   *
   * @param request the client's request (e.g. whether it asked for a usage chunk)
   * @param idSuffix what makes the response id unique (after the dialect's prefix, e.g. {@code chatcmpl-})
   * @param createdEpochSeconds when the answer was made
   * @throws IllegalArgumentException for a dialect that does not {@link #renders render}
   */
  default List<Buffer> render(ObjectNode request, boolean stream, Answer answer, String idSuffix,
      long createdEpochSeconds) {
    throw new IllegalArgumentException(
        "cannot render an answer for " + path() + " (only chat, completions and generate endpoints)");
  }

  /** One in-band error event ending a stream of this dialect that has already started. */
  default Buffer streamError(ErrorKind kind, String message) {
    return flavor().streamErrorEvent(kind, message);
  }

  /** Content type of what {@link #render} produced. */
  default String contentType(boolean stream) {
    return Bodies.JSON;
  }

  /** Headers a stream of rendered answers carries besides its content type (SSE: {@code cache-control: no-cache}). */
  default Map<String, String> streamHeaders() {
    return Map.of();
  }

  /**
   * The token usage reported in an answer of this dialect, whole or streamed, or in just its last bytes (nodes report
   * usage last), found without parsing: {@link Usage#UNKNOWN} parts where it does not say. Never inside generated
   * text. The one reader of usage: rate limits, speed learning, records and cached answers all use it.
   */
  Usage usage(byte[] answerOrTail);
}
