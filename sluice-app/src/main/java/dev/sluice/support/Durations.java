package dev.sluice.support;

import java.time.Duration;

/** Rounding of durations to the whole seconds that headers (Retry-After), logs and windows speak in. */
public final class Durations {
  private Durations() {}

  /** Whole seconds, rounded up: 1 ms is 1 s, 1000 ms is 1 s, 1001 ms is 2 s; zero and negative are 0. */
  public static long ceilSeconds(long millis) {
    return millis <= 0 ? 0 : (millis + 999) / 1000;
  }

  /** {@link #ceilSeconds(long)} of a duration. */
  public static long ceilSeconds(Duration duration) {
    return ceilSeconds(duration.toMillis());
  }

  /**
   * Seconds for a Retry-After header: rounded up and at least 1, because "Retry-After: 0" tells a client to hammer
   * at once.
   */
  public static long retryAfterSeconds(long millis) {
    return Math.max(1, ceilSeconds(millis));
  }
}
