package dev.sluice.health;

import java.util.Objects;

/**
 * What {@link NodeHealth} knows about one node at one moment: immutable, read without locks by the data path, the
 * ejection guard and the admin API.
 *
 * @param nodeId node id
 * @param state visible state ({@link NodeState#DRAINING} while drained, whatever the probes say)
 * @param sinceMillis when the node entered {@code state}, on the health clock
 * @param reason why it did, e.g. {@code 3 consecutive probe failures (connect refused)}
 * @param consecutiveProbeFailures shallow probes failed in a row
 * @param consecutiveProbeSuccesses shallow probes passed in a row
 * @param healthRatio share of the last {@link HealthPolicy#healthWindowProbes()} shallow probes passed, 1 before any
 * @param ejection passive outlier detection
 * @param suspicion why live traffic says the node stopped answering (a request past its first-token deadline, or
 *     silence while it streams), null when it does not: a suspected node gets no new requests until a generation
 *     probe or an answer shows it works again
 */
public record HealthSnapshot(
    String nodeId,
    NodeState state,
    long sinceMillis,
    String reason,
    int consecutiveProbeFailures,
    int consecutiveProbeSuccesses,
    double healthRatio,
    EjectionState ejection,
    String suspicion) {
  public HealthSnapshot {
    Objects.requireNonNull(nodeId, "nodeId");
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(ejection, "ejection");
  }

  /** A snapshot of a node nobody suspects. */
  public HealthSnapshot(String nodeId, NodeState state, long sinceMillis, String reason, int consecutiveProbeFailures,
      int consecutiveProbeSuccesses, double healthRatio, EjectionState ejection) {
    this(nodeId, state, sinceMillis, reason, consecutiveProbeFailures, consecutiveProbeSuccesses, healthRatio,
        ejection, null);
  }

  /** READY, not ejected at {@code nowMillis} and not suspected: may receive new requests. */
  public boolean eligible(long nowMillis) {
    return state == NodeState.READY && !ejection.ejectedAt(nowMillis) && suspicion == null;
  }

  /** Whether live traffic says the node stopped answering (see {@code suspicion}). */
  public boolean suspected() {
    return suspicion != null;
  }
}
