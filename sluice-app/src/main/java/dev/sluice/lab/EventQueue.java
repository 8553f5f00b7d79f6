package dev.sluice.lab;

import java.util.PriorityQueue;

/**
 * Simulated time and the timed events of one lab run (arrivals, first-token timeouts, probes, scrapes, faults):
 * earliest first, ties in the order they were scheduled. Its {@link #millis()} is the health clock of the run's
 * {@code NodeHealth}s.
 */
final class EventQueue {
  private final PriorityQueue<Timed> queue = new PriorityQueue<>();
  private long now;
  private long sequence;

  /** Simulated nanoseconds since the run started. */
  long now() {
    return now;
  }

  /** Simulated milliseconds since the run started. */
  long millis() {
    return now / 1_000_000;
  }

  /** Moves time to {@code nanos} (never back). */
  void advanceTo(long nanos) {
    now = Math.max(now, nanos);
  }

  /** Runs {@code action} at {@code atNanos}. */
  void at(long atNanos, Runnable action) {
    queue.add(new Timed(atNanos, sequence++, action));
  }

  /** When the next event is due, {@link Long#MAX_VALUE} when none is. */
  long nextAt() {
    Timed head = queue.peek();
    return head == null ? Long.MAX_VALUE : head.at;
  }

  /** Takes the next event, moves time to it and runs it. */
  void runNext() {
    Timed head = queue.poll();
    now = head.at;
    head.action.run();
  }

  private record Timed(long at, long order, Runnable action) implements Comparable<Timed> {
    @Override
    public int compareTo(Timed o) {
      int c = Long.compare(at, o.at);
      return c != 0 ? c : Long.compare(order, o.order);
    }
  }
}
