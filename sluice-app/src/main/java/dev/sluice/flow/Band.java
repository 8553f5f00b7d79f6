package dev.sluice.flow;

import java.util.Locale;

/**
 * A request's priority band. Bands are served highest first: a batch request is dispatched only when no interactive
 * request of its model waits, and only to a node that keeps a slot free after it ({@link #fits}), so batch work never
 * delays an interactive dispatch by more than one slot.
 */
public enum Band {
  /** A person or an agent waiting on the answer: the default. */
  INTERACTIVE,
  /** Work nobody waits on turn by turn (reports, evaluations, backfills): served from spare capacity. */
  BATCH;

  /** The name in config, headers, metrics and logs: {@code interactive}, {@code batch}. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Whether a request of this band may start on a node running {@code inFlight} requests under a cap of {@code cap}:
   * interactive while the node is below its cap; batch only while a slot stays free after it (on a node capped at 1,
   * while it is idle).
   */
  public boolean fits(int inFlight, int cap) {
    if (this == INTERACTIVE) return inFlight < cap;
    return inFlight < Math.max(1, cap - 1);
  }

  /** This band or the lower of the two: a caller allowed {@code max} may only lower its band. */
  public Band atMost(Band max) {
    return ordinal() >= max.ordinal() ? this : max;
  }

  /**
   * The band named {@code value} ({@code interactive} or {@code batch}, any case).
   *
   * @throws IllegalArgumentException naming the accepted values
   */
  public static Band parse(String value) {
    if (value != null) {
      for (Band b : values()) {
        if (b.label().equalsIgnoreCase(value.trim())) return b;
      }
    }
    throw new IllegalArgumentException("unknown priority band \"" + value + "\" (expected interactive or batch)");
  }
}
