package dev.sluice.api;

/**
 * OpenAI Responses, {@code POST /v1/responses}. (Skeleton: answers, streams, usage and the translation over chat
 * completions are being written.)
 */
final class OpenAiResponses extends OpenAiDialect {
  private static final byte[] INPUT_TOKENS = Bodies.key("input_tokens");
  private static final byte[] OUTPUT_TOKENS = Bodies.key("output_tokens");

  @Override
  public String path() {
    return "/v1/responses";
  }

  @Override
  public String upstreamPath() {
    return "/responses";
  }

  @Override
  public NodeDialect nodeDialect() {
    return NodeDialect.RESPONSES;
  }

  @Override
  public Usage usage(byte[] answerOrTail) {
    return Bodies.usageByKeys(answerOrTail, INPUT_TOKENS, OUTPUT_TOKENS);
  }
}
