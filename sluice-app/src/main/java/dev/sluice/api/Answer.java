package dev.sluice.api;

import java.util.Objects;

/**
 * A generated text answer independent of wire format, so one captured in one API can be replayed in another, streamed
 * or whole (see {@link Dialect#parse}, {@link Dialect#render}).
 *
 * @param content the generated text
 * @param model the model that answered
 * @param finishReason why generation stopped ({@code stop}, {@code length}); {@code stop} when null
 * @param promptTokens tokens in the prompt, 0 when unknown
 * @param completionTokens tokens generated, 0 when unknown
 */
public record Answer(String content, String model, String finishReason, int promptTokens, int completionTokens) {
  /** The finish reason when the body names none. */
  public static final String DEFAULT_FINISH_REASON = "stop";

  public Answer {
    Objects.requireNonNull(content, "content");
    Objects.requireNonNull(model, "model");
    if (finishReason == null) finishReason = DEFAULT_FINISH_REASON;
  }
}
