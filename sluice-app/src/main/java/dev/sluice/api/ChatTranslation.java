package dev.sluice.api;

import io.vertx.core.buffer.Buffer;

/**
 * One client request of another dialect (Anthropic Messages, OpenAI Responses) carried over a node's OpenAI chat
 * completions: the chat request to send, and the node's answer back in the client's dialect, whole or streamed event
 * by event. Made once per request (and per downgrade) by {@link Dialect#overChat}, before any node is tried; one
 * {@link Relay} per attempt. Whatever the client asked that chat completions cannot carry was refused when it was
 * made, so nothing is dropped silently.
 */
public interface ChatTranslation {
  /** The chat completions body to send to the node ({@code stream_options.include_usage} set on streams). */
  Buffer chatRequest();

  /**
   * A node's whole 2xx chat completion as the client dialect's answer body. A body that is not a chat completion
   * becomes the dialect's error body (status unchanged: the node's answer was a success the gateway cannot read).
   */
  Buffer answer(byte[] chatCompletion);

  /** A node's non-2xx answer ({@code status}, its body as sent: any error shape) in the client dialect's error shape. */
  Buffer error(int status, byte[] body);

  /** A fresh relay for one attempt's stream. */
  Relay relay();

  /** Turns one chat completion stream into the client dialect's stream, event by event. Not thread-safe. */
  interface Relay {
    /**
     * Complete SSE events of the node's chat stream (whole events only, as the gateway's framer cuts them), in order:
     * the client dialect's events they make, at once (possibly empty, never held back past what the dialect needs to
     * know: e.g. a stop reason waits for the usage chunk that follows it).
     */
    Buffer events(Buffer chatEvents);

    /** The node's stream ended: what still closes the client's stream (empty when the node's {@code [DONE]} did). */
    Buffer end();
  }
}
