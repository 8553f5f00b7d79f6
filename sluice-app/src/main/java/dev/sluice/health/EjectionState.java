package dev.sluice.health;

/**
 * Passive outlier detection of one node, as of a snapshot.
 *
 * @param consecutiveFailures live-traffic failures that count against the node since its last success or ejection
 * @param ejectionCount ejections in the current streak (reset after {@link HealthPolicy#ejectionMemory()} without one)
 * @param ejectedUntilMillis end of the last ejection on the health clock, 0 when never ejected
 */
public record EjectionState(int consecutiveFailures, int ejectionCount, long ejectedUntilMillis) {
  /** A node never ejected and without failures. */
  public static final EjectionState NONE = new EjectionState(0, 0, 0);

  /** Whether the node is out of rotation by ejection at {@code nowMillis}. Ejections expire by the clock alone. */
  public boolean ejectedAt(long nowMillis) {
    return nowMillis < ejectedUntilMillis;
  }
}
