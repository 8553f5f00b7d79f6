package dev.sluice.api;

/**
 * Anthropic Messages, {@code POST /v1/messages}. (Skeleton: answers, streams, usage and the translation over chat
 * completions are being written.)
 */
final class AnthropicMessages extends AnthropicDialect {
  private static final byte[] INPUT_TOKENS = Bodies.key("input_tokens");
  private static final byte[] OUTPUT_TOKENS = Bodies.key("output_tokens");

  @Override
  public String path() {
    return "/v1/messages";
  }

  @Override
  public String upstreamPath() {
    return "/messages";
  }

  @Override
  public Usage usage(byte[] answerOrTail) {
    return Bodies.usageByKeys(answerOrTail, INPUT_TOKENS, OUTPUT_TOKENS);
  }
}
