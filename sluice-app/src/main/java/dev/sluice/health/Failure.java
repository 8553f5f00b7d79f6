package dev.sluice.health;

/**
 * A classified upstream failure of one attempt.
 *
 * @param kind what happened
 * @param detail short human text for logs and the final error message (never a stack trace)
 */
public record Failure(Kind kind, String detail) {

  /**
   * Every way an attempt can fail, and what it means. {@code upstream.FailureClassifier} is the only place that
   * decides.
   */
  public enum Kind {
    /** TCP connect refused or timed out: the node process is down or unreachable. */
    CONNECT(true, true),
    /** The connection broke before the first response byte: the node died while holding the request. */
    RESET_BEFORE_FIRST_BYTE(true, true),
    /** The node answered 500/502/504, or its first stream event was an error object. */
    NODE_ERROR(true, true),
    /** The node (or our pool for it) is full: 429, Ollama's 503 "server busy", or a full wait queue. */
    BUSY(true, false),
    /** No first byte within timeouts.firstToken: engine hung or hopelessly queued. */
    FIRST_TOKEN_TIMEOUT(true, true),
    /** The stream started and then broke or stalled: never retried (the client already has bytes). */
    STREAM_BROKEN(false, true),
    /** The client went away: not the node's fault, nothing to retry. */
    CLIENT_CANCELLED(false, false);

    private final boolean retryable;
    private final boolean countsAgainstNode;

    Kind(boolean retryable, boolean countsAgainstNode) {
      this.retryable = retryable;
      this.countsAgainstNode = countsAgainstNode;
    }

    /** Another node may be tried (only ever before the first byte reached the client). */
    public boolean retryable() { return retryable; }

    /** Evidence that the node is unhealthy (for outlier detection and error rates). */
    public boolean countsAgainstNode() { return countsAgainstNode; }
  }
}
