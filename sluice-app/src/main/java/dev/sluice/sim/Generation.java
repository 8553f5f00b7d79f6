package dev.sluice.sim;

import java.util.List;

/**
 * One generation decided up front: what the node will answer and why it stops.
 *
 * @param sequence the request's number, unique across the process's nodes, used in ids ({@code chatcmpl-<n>})
 * @param model the requested model
 * @param createdSeconds Unix time of arrival
 * @param promptTokens estimated prompt tokens
 * @param tokens output tokens, one per stream event
 * @param finishReason {@code length} when the client's limit cut the output, else {@code stop}
 * @param stream whether the client asked for a stream
 * @param includeUsage whether an OpenAI stream ends with a usage chunk
 * @param reply which tokens are reasoning, tool calls and content
 */
record Generation(long sequence, String model, long createdSeconds, int promptTokens, List<String> tokens,
    String finishReason, boolean stream, boolean includeUsage, AgentReply reply) {

  /** A generation of content only. */
  Generation(long sequence, String model, long createdSeconds, int promptTokens, List<String> tokens,
      String finishReason, boolean stream, boolean includeUsage) {
    this(sequence, model, createdSeconds, promptTokens, tokens, finishReason, stream, includeUsage,
        AgentReply.PLAIN);
  }

  int completionTokens() {
    return tokens.size();
  }

  String text() {
    return String.join("", tokens);
  }

  /** The content tokens, joined (without reasoning and tool calls). */
  String content() {
    return join(reply.contentStart(), tokens.size());
  }

  /** The reasoning tokens emitted, joined. */
  String reasoning() {
    return join(0, reply.reasoningTokens());
  }

  /** The tool calls whose header was emitted. */
  List<AgentReply.ToolCall> calls() {
    return reply.calls().stream().filter(call -> call.firstToken() < tokens.size()).toList();
  }

  /** Whether every argument piece of {@code call} was emitted. */
  boolean complete(AgentReply.ToolCall call) {
    return call.firstToken() + call.tokens() <= tokens.size();
  }

  /** The argument pieces of {@code call} emitted, joined: its whole JSON arguments when complete. */
  String arguments(AgentReply.ToolCall call) {
    return join(call.firstToken() + 1, call.firstToken() + call.tokens());
  }

  private String join(int from, int to) {
    int end = Math.min(to, tokens.size());
    return from >= end ? "" : String.join("", tokens.subList(from, end));
  }
}
