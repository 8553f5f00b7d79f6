package dev.sluice.sim;

import java.util.List;

/**
 * How the output tokens of a {@link Generation} divide: reasoning first ({@code reasoning_content} /
 * {@code thinking}), then tool calls (each a header token carrying the function name, then pieces of its JSON
 * arguments), then content. A client limit may cut the tokens anywhere, so a call may be missing or incomplete.
 *
 * @param reasoningTokens how many leading tokens are reasoning
 * @param calls the tool calls planned, in order; each covers {@code tokens} tokens from {@code firstToken}
 */
record AgentReply(int reasoningTokens, List<ToolCall> calls) {
  /** Content only. */
  static final AgentReply PLAIN = new AgentReply(0, List.of());

  /** What one output token is. */
  enum Part { REASONING, CALL_HEADER, CALL_ARGUMENTS, CONTENT }

  /**
   * One tool call.
   *
   * @param index its position among the calls (the {@code index} of OpenAI stream deltas)
   * @param id the call id ({@code chatcmpl-tool-<32 hex>}, as vLLM makes them)
   * @param name the function called
   * @param firstToken the token carrying the header; its arguments follow
   * @param tokens header plus argument pieces
   */
  record ToolCall(int index, String id, String name, int firstToken, int tokens) {
    boolean lastToken(int token) {
      return token == firstToken + tokens - 1;
    }
  }

  AgentReply {
    calls = List.copyOf(calls);
  }

  /** The first content token. */
  int contentStart() {
    if (calls.isEmpty()) {
      return reasoningTokens;
    }
    ToolCall last = calls.get(calls.size() - 1);
    return last.firstToken() + last.tokens();
  }

  Part part(int token) {
    if (token < reasoningTokens) {
      return Part.REASONING;
    }
    if (token >= contentStart()) {
      return Part.CONTENT;
    }
    return call(token).firstToken() == token ? Part.CALL_HEADER : Part.CALL_ARGUMENTS;
  }

  /** The call a header or argument token belongs to. */
  ToolCall call(int token) {
    for (ToolCall call : calls) {
      if (token < call.firstToken() + call.tokens()) {
        return call;
      }
    }
    throw new IllegalArgumentException("token " + token + " is not part of a tool call");
  }
}
