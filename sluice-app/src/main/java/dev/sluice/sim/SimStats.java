package dev.sluice.sim;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** Live, thread-safe counters of a {@link SimNode}. */
public final class SimStats {
  private final LongAdder requestsReceived = new LongAdder();
  private final AtomicLong active = new AtomicLong();
  private final LongAdder completed = new LongAdder();
  private final LongAdder cancelled = new LongAdder();
  private final LongAdder faulted = new LongAdder();
  private final Map<String, LongAdder> paths = new ConcurrentHashMap<>();
  /** Time from a generation request's start on the node to its last byte, in microseconds (completed ones only). */
  private final org.HdrHistogram.Histogram completedMicros = new org.HdrHistogram.Histogram(3);

  SimStats() {}

  /** Valid generation and embedding requests (known model, well-formed body). */
  public long requestsReceived() {
    return requestsReceived.sum();
  }

  /** Generation and embedding requests in progress now. */
  public long active() {
    return active.get();
  }

  /** Requests answered to the end. */
  public long completed() {
    return completed.sum();
  }

  /** Requests whose client went away before the end (including those a hang or stall fault held). */
  public long cancelled() {
    return cancelled.sum();
  }

  /** Requests ended by an injected status or reset fault. */
  public long faulted() {
    return faulted.sum();
  }

  /** Requests of any kind received on {@code path} (e.g. {@code /api/chat}), control endpoints excluded. */
  public long count(String path) {
    LongAdder adder = paths.get(path);
    return adder == null ? 0 : adder.sum();
  }

  /** Per-path counts, sorted by path. */
  public Map<String, Long> paths() {
    Map<String, Long> snapshot = new TreeMap<>();
    paths.forEach((path, adder) -> snapshot.put(path, adder.sum()));
    return snapshot;
  }

  void recordPath(String path) {
    paths.computeIfAbsent(path, p -> new LongAdder()).increment();
  }

  void recordStarted() {
    requestsReceived.increment();
    active.incrementAndGet();
  }

  void recordCompleted(long nanos) {
    synchronized (completedMicros) {
      completedMicros.recordValue(Math.max(0, nanos / 1_000));
    }
    recordCompleted();
  }

  /**
   * A copy of the completed generation requests' durations on this node (µs, from the request's start on the node to
   * its last byte): what a load generator can compare its own latencies with.
   */
  public org.HdrHistogram.Histogram completedLatencies() {
    synchronized (completedMicros) {
      return completedMicros.copy();
    }
  }

  void recordCompleted() {
    completed.increment();
    active.decrementAndGet();
  }

  void recordCancelled() {
    cancelled.increment();
    active.decrementAndGet();
  }

  void recordFaulted() {
    faulted.increment();
    active.decrementAndGet();
  }
}
