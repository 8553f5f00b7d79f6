package dev.sluice.upstream;

import dev.sluice.api.ErrorKind;
import io.vertx.core.buffer.Buffer;
import java.util.List;

/** What the request flow learns from an {@link Exchange}. */
public interface ExchangeListener {
  /**
   * Every attempt failed before anything reached the client. Return true to answer the client yourself (the
   * degradation ladder); false once you have answered it with this error (the exchange then ends as failed).
   *
   * @param nodeCaused the failure is the nodes' fault (not "every node busy")
   */
  boolean failedBeforeCommit(ErrorKind kind, String message, boolean nodeCaused);

  /**
   * The gateway-wide retry budget refused a retry although the plan has another node: true to retry anyway. The
   * request flow says yes when a failure would otherwise go down the degradation ladder, whose next tiers (a
   * downgrade) cost an attempt as well: a healthy node of the requested model is preferred to a smaller model.
   */
  default boolean retryBeyondBudget() {
    return false;
  }

  /** An attempt is about to be sent to {@code nodeId} (once per attempt, in order): the node now sees the prompt. */
  default void attemptSent(String nodeId) {}

  /**
   * An attempt on {@code nodeId} ended (answered, failed, abandoned or cancelled) and gave its place on the node back:
   * once per attempt. Flow control dispatches a waiting request into the freed slot.
   */
  default void attemptEnded(String nodeId) {}

  /**
   * The answer of {@code nodeId} is about to reach the client, its head copied from the node's: the last moment to
   * add response headers of its own.
   */
  default void committing(String nodeId) {}

  /**
   * Nodes to continue a stream broken after its first byte on, in the routing policy's order at this moment (the
   * exchange skips those that failed it); empty to use the request's own plan.
   */
  default List<Exchange.Target> resumeTargets() {
    return List.of();
  }

  /**
   * The exchange answered the client (or the client left): exactly once, and never after
   * {@link #failedBeforeCommit} returned true.
   *
   * @param outcome ok, client_error (the node's 4xx), failed, cancelled
   * @param nodeFailure the outcome is the node's fault (failed before or after commit)
   * @param captured the complete relayed body when capture was asked for and it fitted; else null
   */
  void finished(int status, String outcome, boolean nodeFailure, Buffer captured);
}
