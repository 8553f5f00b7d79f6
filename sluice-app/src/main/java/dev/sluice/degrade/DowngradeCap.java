package dev.sluice.degrade;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Isolation between models: downgraded requests in flight on a smaller model are capped at a share of that model's
 * capacity, so its own users keep the rest (measured without it: 256 downgraded streams on one qwen2:7b node, its own
 * users got 3 answers of 140). A downgraded request over the cap goes on down the ladder (static reply or error).
 * Pure and thread-safe: one counter per target model.
 */
public final class DowngradeCap {
  private final ConcurrentHashMap<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();

  /** The most downgraded requests {@code share} of {@code capacity} allows at once: at least 1 while there is capacity. */
  public static int limit(int capacity, double share) {
    if (capacity <= 0 || share <= 0) return 0;
    return Math.max(1, (int) Math.floor(share * capacity));
  }

  /**
   * Takes a place for one downgraded request on {@code target}, whose nodes in rotation can run {@code capacity}
   * requests at once; false when {@code share} of it is taken. Each true needs one {@link #release}.
   */
  public boolean tryAcquire(String target, int capacity, double share) {
    int limit = limit(capacity, share);
    AtomicInteger n = inFlight.computeIfAbsent(target, t -> new AtomicInteger());
    while (true) {
      int current = n.get();
      if (current >= limit) return false;
      if (n.compareAndSet(current, current + 1)) return true;
    }
  }

  /** Gives back a place taken by {@link #tryAcquire}. */
  public void release(String target) {
    AtomicInteger n = inFlight.get(target);
    if (n != null) n.updateAndGet(v -> v > 0 ? v - 1 : 0);
  }

  /** Downgraded requests in flight on {@code target} now. */
  public int inFlight(String target) {
    AtomicInteger n = inFlight.get(target);
    return n == null ? 0 : n.get();
  }
}
