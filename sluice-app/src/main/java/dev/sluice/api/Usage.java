package dev.sluice.api;

/**
 * Tokens a node reported for one answer ({@link Dialect#usage}).
 *
 * @param promptTokens tokens in the prompt, cached ones included, -1 when the answer does not say
 * @param completionTokens tokens generated, -1 when the answer does not say
 * @param cachedPromptTokens of the prompt tokens, those read from the node's prefix cache (OpenAI
 *     {@code cached_tokens}, Anthropic {@code cache_read_input_tokens}), -1 when the answer does not say
 */
public record Usage(long promptTokens, long completionTokens, long cachedPromptTokens) {
  /** Neither count known. */
  public static final Usage UNKNOWN = new Usage(-1, -1, -1);

  /** Prompt and completion tokens, without a cached count. */
  public Usage(long promptTokens, long completionTokens) {
    this(promptTokens, completionTokens, -1);
  }

  /** Whether both counts are known. */
  public boolean known() {
    return promptTokens >= 0 && completionTokens >= 0;
  }

  /** Prompt plus completion tokens; only meaningful when {@link #known}. */
  public long total() {
    return promptTokens + completionTokens;
  }
}
