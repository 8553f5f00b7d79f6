package dev.sluice.testkit;

import dev.sluice.support.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** A {@link Clock} that moves only when a test says so; thread-safe. Starts at an arbitrary fixed instant. */
public final class FakeClock implements Clock {
  /** 2026-01-01T00:00:00Z: a start far from zero, so code that treats 0 as "never" is not fooled. */
  public static final long DEFAULT_START_MILLIS = 1_767_225_600_000L;

  private final AtomicLong nanos;

  public FakeClock() {
    this(DEFAULT_START_MILLIS);
  }

  public FakeClock(long startMillis) {
    this.nanos = new AtomicLong(startMillis * 1_000_000L);
  }

  @Override
  public long millis() {
    return Math.floorDiv(nanos.get(), 1_000_000L);
  }

  @Override
  public long nanos() {
    return nanos.get();
  }

  /** Moves time forward by {@code step} (never back). */
  public FakeClock advance(Duration step) {
    if (step.isNegative()) throw new IllegalArgumentException("a clock does not go back: " + step);
    nanos.addAndGet(step.toNanos());
    return this;
  }

  /** Moves time forward by {@code millis} milliseconds. */
  public FakeClock advanceMillis(long millis) {
    return advance(Duration.ofMillis(millis));
  }
}
