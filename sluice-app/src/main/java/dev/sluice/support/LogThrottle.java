package dev.sluice.support;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * At most one log line per interval for a kind of event that can come in thousands a second (every request failing
 * while a cluster goes down). The line that is logged says how many were left out since the previous one; metrics
 * still count every event.
 */
public final class LogThrottle {
  private final long intervalNanos;
  private final Clock clock;
  private final AtomicLong nextNanos = new AtomicLong(Long.MIN_VALUE);
  private final AtomicLong suppressed = new AtomicLong();

  public LogThrottle(Duration interval) {
    this(interval, Clock.SYSTEM);
  }

  /** One line per {@code interval} of {@code clock}'s monotonic time. */
  public LogThrottle(Duration interval, Clock clock) {
    this.intervalNanos = interval.toNanos();
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** One line a second. */
  public static LogThrottle perSecond() {
    return new LogThrottle(Duration.ofSeconds(1));
  }

  /**
   * Whether to log this event: -1 to leave it out, else the number of events left out since the last logged one.
   */
  public long tryLog() {
    long now = clock.nanos();
    long next = nextNanos.get();
    if ((next == Long.MIN_VALUE || now - next >= 0) && nextNanos.compareAndSet(next, now + intervalNanos)) {
      return suppressed.getAndSet(0);
    }
    suppressed.incrementAndGet();
    return -1;
  }

  /** " (N similar lines left out)" for N > 0, else "". */
  public static String leftOut(long suppressed) {
    return suppressed > 0 ? " (" + suppressed + " similar lines left out in the last interval)" : "";
  }
}
