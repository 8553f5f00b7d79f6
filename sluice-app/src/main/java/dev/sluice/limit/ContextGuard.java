package dev.sluice.limit;

import java.util.Objects;

/**
 * Checks that a prompt plus the requested output fits the model's context window, so an over-long request is never
 * silently truncated by the engine (BRIEF.md §2): it is answered with a clear error, or sent to a larger-context
 * overflow model when one is configured.
 *
 * <p>Rules, in order: {@code max_tokens} above the model's maxTokens is rejected or capped (per
 * {@link LimitSettings.OverMaxTokens}); then prompt + max_tokens (or + {@value #MIN_OUTPUT_TOKENS} when not given)
 * must fit the window. The estimate decides when it fits with room to spare (estimate × {@value #ESTIMATE_MARGIN} +
 * output ≤ window, no BPE run); otherwise the exact count decides. Pure and thread-safe.
 */
public final class ContextGuard {
  /**
   * Safety factor on the estimate for the fast path: {@link TokenEstimator#estimate} is tuned to come out at most 10 %
   * below the exact count, so estimate × 1.1 is an upper bound of it.
   */
  public static final double ESTIMATE_MARGIN = 1.1;
  /** Output room needed when {@code max_tokens} is not given: a reply needs at least one token. */
  public static final int MIN_OUTPUT_TOKENS = 1;

  /** {@link #ESTIMATE_MARGIN} as an integer fraction, so the fast path rounds up exactly. */
  private static final int MARGIN_TENTHS = (int) Math.round(ESTIMATE_MARGIN * 10);

  private ContextGuard() {}

  /** The decision for one request. */
  public sealed interface Verdict {}

  /**
   * Send it to this model.
   *
   * @param promptTokens the prompt count that decided (the estimate on the fast path, else the exact count)
   * @param maxTokens max_tokens to send: as requested (0 = not given) or capped to the model's maxTokens
   * @param capped whether max_tokens was lowered
   */
  public record Fits(int promptTokens, int maxTokens, boolean capped) implements Verdict {}

  /** Too long for this model but fits {@code toModel}, the configured overflow model: send it there. */
  public record Overflow(String toModel, int promptTokens) implements Verdict {}

  /**
   * Answer 400 with an OpenAI-style error.
   *
   * @param message names both numbers and the model
   * @param param the request field at fault ({@code max_tokens}, {@code messages}, {@code prompt} or {@code input})
   * @param code {@code context_length_exceeded} or {@code max_tokens_too_large}
   */
  public record Reject(String message, String param, String code) implements Verdict {}

  /**
   * @param model the model asked for (named in messages)
   * @param prompt the request's prompt
   * @param requestedMaxTokens max_tokens from the request; 0 = not given
   * @param contextWindowTokens the model's contextWindow; 0 = unknown: always {@link Fits}
   * @param modelMaxTokens the model's maxTokens; 0 = unknown
   * @param overflowModel the larger-context model to use instead, or null
   * @param overflowContextWindowTokens its contextWindow; 0 = unknown: it takes anything
   * @param overMaxTokens what to do when requestedMaxTokens is above modelMaxTokens
   */
  public static Verdict check(String model, PromptText prompt, int requestedMaxTokens, int contextWindowTokens,
      int modelMaxTokens, String overflowModel, int overflowContextWindowTokens,
      LimitSettings.OverMaxTokens overMaxTokens) {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(prompt, "prompt");
    Objects.requireNonNull(overMaxTokens, "overMaxTokens");
    if (requestedMaxTokens < 0 || contextWindowTokens < 0 || modelMaxTokens < 0 || overflowContextWindowTokens < 0) {
      throw new IllegalArgumentException("context guard for " + model + ": negative figure (max_tokens "
          + requestedMaxTokens + ", contextWindow " + contextWindowTokens + ", maxTokens " + modelMaxTokens
          + ", overflow contextWindow " + overflowContextWindowTokens + ")");
    }
    int maxTokens = requestedMaxTokens;
    boolean capped = false;
    if (modelMaxTokens > 0 && requestedMaxTokens > modelMaxTokens) {
      if (overMaxTokens == LimitSettings.OverMaxTokens.REJECT) {
        return new Reject("max_tokens " + Fmt.grouped(requestedMaxTokens) + " is above the model's maxTokens "
            + Fmt.grouped(modelMaxTokens) + " for " + model + ": ask for at most " + Fmt.grouped(modelMaxTokens)
            + " (or set limits.overMaxTokens to \"cap\")", "max_tokens", "max_tokens_too_large");
      }
      maxTokens = modelMaxTokens;
      capped = true;
    }
    int estimated = prompt.estimatedTokens();
    if (contextWindowTokens == 0) {
      return new Fits(estimated, maxTokens, capped);
    }
    long output = maxTokens > 0 ? maxTokens : MIN_OUTPUT_TOKENS;
    long estimateBound = ((long) estimated * MARGIN_TENTHS + 9) / 10;
    if (estimateBound + output <= contextWindowTokens) {
      return new Fits(estimated, maxTokens, capped);
    }
    int exact = prompt.exactTokens();
    if (exact + output <= contextWindowTokens) {
      return new Fits(exact, maxTokens, capped);
    }
    boolean hasOverflow = overflowModel != null && !overflowModel.isEmpty();
    if (hasOverflow && (overflowContextWindowTokens == 0 || exact + output <= overflowContextWindowTokens)) {
      return new Overflow(overflowModel, exact);
    }
    String needed = maxTokens > 0
        ? "prompt " + Fmt.grouped(exact) + " + max_tokens " + Fmt.grouped(maxTokens) + " tokens"
        : "prompt " + Fmt.grouped(exact) + " tokens";
    String message = "context length exceeded: " + needed + " > contextWindow " + Fmt.grouped(contextWindowTokens)
        + " for " + model + (hasOverflow ? " (overflow model " + overflowModel + " is too small as well)" : "");
    return new Reject(message, prompt.param(), "context_length_exceeded");
  }
}
