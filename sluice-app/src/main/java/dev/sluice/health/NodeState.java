package dev.sluice.health;

/**
 * The lifecycle of one node as the gateway sees it. Only {@link #READY} nodes take traffic (and only while not
 * ejected, see {@link NodeHealth#eligible(long)}). Transitions are driven by {@link NodeHealth}; the table is in its
 * Javadoc.
 */
public enum NodeState {
  /** Just registered: no shallow probe has passed yet, so nothing is known. Out of rotation. */
  STARTING,
  /**
   * Reachable (a shallow probe passed) but not yet proven able to generate: at startup, after coming back from
   * {@link #DOWN}, or while the self-heal warm-up runs. Leaves for READY once warm-up (if one runs) is done and a
   * generation probe (a short real answer, end to end) passes. Out of rotation.
   */
  WARMING,
  /** In rotation: probes pass and the engine answered a real generation since it last failed. */
  READY,
  /**
   * Out of rotation, expected back: {@code failuresToDegrade} consecutive shallow probe failures, a failed generation
   * probe (engine hung while {@code /api/tags} still answers) or a failed warm-up. Self-heal runs its repair action here.
   * Returns to READY only after {@code successesToRecover} consecutive shallow probes AND a passed generation probe.
   */
  DEGRADED,
  /**
   * Out of rotation, presumed gone: every probe failed for {@code failuresToDown} intervals (one minute by default), so
   * the repair action has had its chance. Probing continues; the first passed probe moves the node to WARMING, as after
   * a restart. Differs from DEGRADED only in how long the node has been unreachable (alerting and console severity).
   */
  DOWN,
  /**
   * Set and cleared by an operator only ({@link NodeHealth#drain()} / {@link NodeHealth#undrain()}): no new requests,
   * in-flight ones finish. Probes keep running underneath but change no visible state; undrain reveals where they led.
   */
  DRAINING
}
