package dev.sluice.support;

/**
 * The one source of time for every time-dependent class: the gateway passes {@link #SYSTEM}, the routing lab its
 * simulated time, tests a {@code testkit.FakeClock} (or a lambda over a counter: {@code () -> now.get()}). Nothing
 * else reads the wall clock, so every policy can be run in simulated time and every timing rule can be tested without
 * waiting.
 *
 * <p>{@link #millis()} is wall-clock milliseconds since the epoch (time stamps, windows, expiries); {@link #nanos()}
 * is a monotonic reading for measuring durations (only differences between two readings mean anything). A clock
 * written as a lambda measures durations on its milliseconds.
 */
@FunctionalInterface
public interface Clock {
  /** The system clock: {@link System#currentTimeMillis()} and {@link System#nanoTime()}. */
  Clock SYSTEM = new Clock() {
    @Override
    public long millis() {
      return System.currentTimeMillis();
    }

    @Override
    public long nanos() {
      return System.nanoTime();
    }

    @Override
    public String toString() {
      return "Clock.SYSTEM";
    }
  };

  /** Milliseconds since the epoch. */
  long millis();

  /** A monotonic reading in nanoseconds; only the difference between two readings means anything. */
  default long nanos() {
    return millis() * 1_000_000L;
  }
}
