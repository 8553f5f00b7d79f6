package dev.sluice.testkit;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import ch.qos.logback.core.Layout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Keeps every log line the test JVM writes, formatted by the same pattern (and redaction) as the console appender, so
 * a test can search everything that was logged. Configured in logback-test.xml. Bounded: past {@link #MAX_LINES} the
 * oldest lines are dropped (and counted).
 */
public final class LogCapture extends AppenderBase<ILoggingEvent> {
  static final int MAX_LINES = 500_000;
  private static final ConcurrentLinkedQueue<String> LINES = new ConcurrentLinkedQueue<>();
  private static final AtomicInteger SIZE = new AtomicInteger();
  private static final AtomicInteger DROPPED = new AtomicInteger();
  private Layout<ILoggingEvent> layout;

  public void setLayout(Layout<ILoggingEvent> layout) {
    this.layout = layout;
  }

  @Override
  protected void append(ILoggingEvent event) {
    LINES.add(layout == null ? event.getFormattedMessage() : layout.doLayout(event));
    if (SIZE.incrementAndGet() > MAX_LINES && LINES.poll() != null) {
      SIZE.decrementAndGet();
      DROPPED.incrementAndGet();
    }
  }

  /** Every line kept so far. */
  public static List<String> lines() {
    return new ArrayList<>(LINES);
  }

  /** Lines dropped because the buffer was full. */
  public static int dropped() {
    return DROPPED.get();
  }
}
