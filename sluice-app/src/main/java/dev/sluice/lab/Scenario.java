package dev.sluice.lab;

import java.util.ArrayList;
import java.util.List;

/**
 * What happens to the nodes during a run. {@link #EVENTS} places the four events of design/ROUTING.md on the
 * timeline as fractions of the run, so that a 900 s run has them at their nominal lengths (3 min down, 3 min hung,
 * 8 min throttled) and a shorter run keeps their proportions.
 */
public enum Scenario {
  /** No faults: every node at its profile's speed, A10s reading 40–76 °C. */
  STEADY("steady"),
  /**
   * One node hard-down (connection refused) for 3 min; one node hung (accepts, probes pass, never produces a first
   * token) for 3 min; the H100 throttled to ×0.55 for 8 min reading 88–90 °C; one A10 reading 82 °C at full speed
   * for the whole run (a false positive for temperature-based policies).
   */
  EVENTS("events");

  /** The run length at which the event fractions give the nominal 3 / 3 / 8 minutes. */
  static final double NOMINAL_RUN_SECONDS = 900;
  /** Speed factor of the thermally throttled H100. */
  static final double THROTTLE_FACTOR = 0.55;

  private final String label;

  Scenario(String label) {
    this.label = label;
  }

  public String label() {
    return label;
  }

  /** The timed events of this scenario for {@code cluster} over a run of {@code durationNanos}. */
  List<LabEvent> events(LabCluster cluster, long durationNanos) {
    List<LabEvent> events = new ArrayList<>();
    if (this == STEADY) {
      return events;
    }
    boolean c1 = cluster == LabCluster.C1;
    String down = c1 ? "a10-1" : "a100-1";
    String hung = c1 ? "a10-2" : "a100-2";
    String hot = c1 ? "a10-3" : "a10-1";
    events.add(new LabEvent(LabEvent.Kind.DOWN, down, at(durationNanos, 120), at(durationNanos, 300)));
    events.add(new LabEvent(LabEvent.Kind.HUNG, hung, at(durationNanos, 360), at(durationNanos, 540)));
    events.add(new LabEvent(LabEvent.Kind.HOT, hot, 0, Long.MAX_VALUE));
    if (!c1) {
      events.add(new LabEvent(LabEvent.Kind.THROTTLE, "h100-1", at(durationNanos, 240), at(durationNanos, 720)));
    }
    return events;
  }

  /** Nominal second {@code nominalSeconds} of a 900 s run, scaled to this run's length. */
  private static long at(long durationNanos, double nominalSeconds) {
    return Math.round(durationNanos * (nominalSeconds / NOMINAL_RUN_SECONDS));
  }

  /**
   * A fault on one node over {@code [fromNanos, untilNanos)}.
   *
   * @param kind what happens
   * @param nodeId to which node
   * @param fromNanos start, simulated
   * @param untilNanos end, simulated ({@link Long#MAX_VALUE}: the whole run)
   */
  record LabEvent(Kind kind, String nodeId, long fromNanos, long untilNanos) {
    enum Kind { DOWN, HUNG, THROTTLE, HOT }
  }
}
