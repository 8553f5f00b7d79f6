package dev.sluice.sim;

/** What a node's engine says to a new request before it queues: take it (maybe truncated) or refuse it. */
public sealed interface Admission {

  /**
   * The request queues with {@code promptTokens} (Ollama truncates to {@code num_ctx}) and may produce at most
   * {@code maxOutputTokens} (vLLM stops at {@code max_model_len}).
   */
  record Accepted(int promptTokens, int maxOutputTokens) implements Admission {}

  /** The node answers {@code status} with {@code message} in the endpoint's error format. */
  record Refused(int status, String message) implements Admission {}
}
