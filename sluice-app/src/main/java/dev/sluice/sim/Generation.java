package dev.sluice.sim;

import java.util.List;

/**
 * One generation decided up front: what the node will answer and why it stops.
 *
 * @param sequence the node's request number, used in ids ({@code chatcmpl-<n>})
 * @param model the requested model
 * @param createdSeconds Unix time of arrival
 * @param promptTokens estimated prompt tokens
 * @param tokens output tokens, one per stream event
 * @param finishReason {@code length} when the client's limit cut the output, else {@code stop}
 * @param stream whether the client asked for a stream
 * @param includeUsage whether an OpenAI stream ends with a usage chunk
 */
record Generation(long sequence, String model, long createdSeconds, int promptTokens, List<String> tokens,
    String finishReason, boolean stream, boolean includeUsage) {

  int completionTokens() {
    return tokens.size();
  }

  String text() {
    return String.join("", tokens);
  }
}
