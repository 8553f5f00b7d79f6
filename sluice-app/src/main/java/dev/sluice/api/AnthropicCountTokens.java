package dev.sluice.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.buffer.Buffer;

/**
 * Anthropic's {@code POST /v1/messages/count_tokens}: the prompt tokens a Messages request would have. Passed to a node
 * that speaks Anthropic Messages; when no node of the model does, the gateway answers with its own estimate.
 */
final class AnthropicCountTokens extends AnthropicDialect {
  private static final Usage NOTHING = new Usage(0, 0);

  @Override
  public String path() {
    return "/v1/messages/count_tokens";
  }

  @Override
  public String upstreamPath() {
    return "/messages/count_tokens";
  }

  /** As Messages' {@code messages} check; {@code max_tokens} is not asked for (nothing is generated). */
  @Override
  public void checkParameters(ObjectNode request, int maxTokensLimit) throws ApiException {
    AnthropicMessages.checkMessages(request);
  }

  @Override
  public Buffer localAnswer(long estimatedPromptTokens) {
    return Buffer.buffer("{\"input_tokens\":" + Math.max(0, estimatedPromptTokens) + "}");
  }

  /** A count generates nothing and uses no GPU time to speak of: no tokens are charged for it. */
  @Override
  public Usage usage(byte[] answerOrTail) {
    return NOTHING;
  }
}
