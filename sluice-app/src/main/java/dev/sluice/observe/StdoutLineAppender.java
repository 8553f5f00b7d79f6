package dev.sluice.observe;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.LoggerFactory;

/**
 * The access log's appender: each event's message as one line on stdout, written by a background thread in batches
 * (one write and flush per batch instead of per line). The event loop only adds a string to a lock-free queue and
 * never wakes the writer (a wake-up is a system call, which cost ~7 µs per request at saturation with Logback's
 * AsyncAppender); the writer looks every {@link #POLL_MILLIS} ms. When stdout cannot keep up and
 * {@link #QUEUE_LINES} lines are waiting, further lines are dropped and counted (reported as a Logback status
 * warning) rather than stalling requests. A line appears at most ~{@value #POLL_MILLIS} ms after its request ended.
 */
public final class StdoutLineAppender extends UnsynchronizedAppenderBase<ILoggingEvent> {
  static final int QUEUE_LINES = 65_536;
  static final long POLL_MILLIS = 20;
  private final ConcurrentLinkedQueue<String> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger waiting = new AtomicInteger();
  private final AtomicLong dropped = new AtomicLong();
  /** Read by the writer thread only between batches, so a swap never splits a line. */
  private volatile OutputStream out = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16);
  private Thread writer;

  /** For tests: write somewhere else than stdout. */
  void setOutputStream(OutputStream out) {
    this.out = out;
  }

  /**
   * Sends the access log (logger {@value AccessLog#LOGGER}) to {@code file} instead of stdout, appending, from the next
   * line on: what {@code sluice demo} does so its terminal shows its banner and logs, not a JSON line per request.
   * Null sends it back to stdout. Returns false when the logger has no appender of this kind (routed elsewhere by a
   * logback.xml of one's own).
   */
  public static boolean redirectTo(Path file) throws IOException {
    if (!(LoggerFactory.getLogger(AccessLog.LOGGER) instanceof Logger logger)) return false;
    OutputStream stream = new BufferedOutputStream(file == null ? new FileOutputStream(FileDescriptor.out)
        : Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND), 1 << 16);
    boolean found = false;
    for (var it = logger.iteratorForAppenders(); it.hasNext(); ) {
      if (it.next() instanceof StdoutLineAppender appender) {
        appender.out = stream;
        found = true;
      }
    }
    if (!found) stream.close();
    return found;
  }

  @Override
  public void start() {
    writer = new Thread(this::drain, "sluice-access-log");
    writer.setDaemon(true);
    writer.start();
    super.start();
  }

  @Override
  public void stop() {
    super.stop();
    if (writer != null) {
      writer.interrupt();
      try {
        writer.join(1_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  protected void append(ILoggingEvent event) {
    if (waiting.incrementAndGet() > QUEUE_LINES) {
      waiting.decrementAndGet();
      dropped.incrementAndGet();
      return;
    }
    queue.offer(event.getFormattedMessage());
  }

  private void drain() {
    boolean running = true;
    while (running || !queue.isEmpty()) {
      if (queue.isEmpty()) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS));
        if (Thread.interrupted()) running = false;
        continue;
      }
      int written = 0;
      OutputStream out = this.out;
      try {
        for (String line; written < 4_096 && (line = queue.poll()) != null; written++) {
          out.write(line.getBytes(StandardCharsets.UTF_8));
          out.write('\n');
        }
        out.flush();
      } catch (IOException e) {
        dropped.addAndGet(1);
      }
      waiting.addAndGet(-written);
      long lost = dropped.getAndSet(0);
      if (lost > 0) addWarn(lost + " access log lines dropped: stdout did not keep up");
    }
  }
}
