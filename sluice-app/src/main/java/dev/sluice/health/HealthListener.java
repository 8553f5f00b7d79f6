package dev.sluice.health;

/**
 * Receives the state changes of nodes, once each, in order (log, metric, console event, self-heal trigger).
 *
 * <p>Called synchronously while the node's lock is held, after the new state is in place: keep it fast, do not throw,
 * and hand anything that calls back into the same {@link NodeHealth} (a repair, a warm-up) to another thread.
 */
@FunctionalInterface
public interface HealthListener {
  /** A change of visible state, e.g. {@code a10-01 READY → DEGRADED: 3 consecutive probe failures (connect refused)}. */
  void onTransition(String nodeId, NodeState from, NodeState to, String reason);

  /** The node was ejected by passive outlier detection (its state does not change; it is not eligible meanwhile). */
  default void onEjected(String nodeId, EjectionState ejection, String reason) {}

  /**
   * Live traffic says the node stopped answering (a request past its first-token deadline, or silence while it
   * streams): it gets no new requests until a generation probe passes or an answer completes.
   */
  default void onSuspected(String nodeId, String reason) {}

  /** An ejection was due but withheld, because the node is the last eligible one of a model (which degrades instead). */
  default void onEjectionWithheld(String nodeId, String reason) {}

  /** A listener that ignores everything. */
  static HealthListener none() {
    return (nodeId, from, to, reason) -> {};
  }
}
