package dev.sluice.routing;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The gateway-wide retry budget (RELIABILITY.md, "One retry owner, a budget"): retries go to other nodes only (the
 * caller's plan never repeats the node that failed), at most {@link #DEFAULT_MAX_RETRIES_PER_REQUEST} per request, and
 * the extra attempts running at once are at most {@link #DEFAULT_RATIO} of the requests in flight, never fewer than
 * {@link #DEFAULT_FLOOR} (so a quiet gateway can still retry). Under a broad outage the budget runs out and requests
 * fail fast instead of multiplying the load on the surviving nodes.
 *
 * <p>A retry counts against the budget while it is <em>trying</em>: from its start until its first token (or its
 * failure), not for its whole answer. Holding the budget for a minutes-long stream made a few slow answers exhaust it,
 * and the next failures went down the degradation ladder although healthy nodes of the model were idle.
 *
 * <p>Use: before a retry call {@link #tryStart(int, int)}; when it returns a lease, call {@link Lease#firstToken()}
 * when the retry's first token arrives and {@link Lease#end()} when it ends, whatever its outcome (the first of the
 * two gives the budget back). {@link #tryAcquire(int)} / {@link #release()} are the raw counter. Pure (no clock) and
 * thread-safe (one atomic counter).
 */
public final class RetryBudget {
  /** Retries per request (RELIABILITY.md). */
  public static final int DEFAULT_MAX_RETRIES_PER_REQUEST = 2;
  /** Extra attempts as a share of in-flight requests (RELIABILITY.md: 20 %). */
  public static final double DEFAULT_RATIO = 0.2;
  /** Extra attempts always allowed, however few requests are in flight (RELIABILITY.md: floor 3). */
  public static final int DEFAULT_FLOOR = 3;

  private final double ratio;
  private final int floor;
  private final int maxRetriesPerRequest;
  private final AtomicInteger active = new AtomicInteger();

  /** RELIABILITY.md's figures: 2 per request, 20 % of in-flight, floor 3. */
  public RetryBudget() {
    this(DEFAULT_RATIO, DEFAULT_FLOOR, DEFAULT_MAX_RETRIES_PER_REQUEST);
  }

  /**
   * @param ratio extra attempts as a share of in-flight requests (0–1)
   * @param floor extra attempts always allowed (≥ 0)
   * @param maxRetriesPerRequest retries per request (≥ 0)
   */
  public RetryBudget(double ratio, int floor, int maxRetriesPerRequest) {
    if (!(ratio >= 0 && ratio <= 1) || floor < 0 || maxRetriesPerRequest < 0) {
      throw new IllegalArgumentException("retry budget: ratio " + ratio + " (expected 0-1), floor " + floor
          + " and retries per request " + maxRetriesPerRequest + " (expected ≥ 0)");
    }
    this.ratio = ratio;
    this.floor = floor;
    this.maxRetriesPerRequest = maxRetriesPerRequest;
  }

  /** Extra attempts allowed at once with {@code inFlightNow} requests in flight: max(floor, ⌊ratio × in-flight⌋). */
  public int limit(int inFlightNow) {
    return Math.max(floor, (int) Math.floor(ratio * Math.max(0, inFlightNow)));
  }

  /** Takes one extra attempt from the gateway-wide budget; false when it is spent. */
  public boolean tryAcquire(int inFlightNow) {
    int limit = limit(inFlightNow);
    while (true) {
      int current = active.get();
      if (current >= limit) {
        return false;
      }
      if (active.compareAndSet(current, current + 1)) {
        return true;
      }
    }
  }

  /**
   * Takes one extra attempt for a request that has already retried {@code retriesSoFar} times; false when the
   * request has used its per-request retries or the gateway-wide budget is spent.
   */
  public boolean tryAcquire(int inFlightNow, int retriesSoFar) {
    return retriesSoFar < maxRetriesPerRequest && tryAcquire(inFlightNow);
  }

  /**
   * Starts one retry for a request that has already retried {@code retriesSoFar} times: a lease on the budget, or null
   * when the request has used its retries or the gateway-wide budget is spent.
   */
  public Lease tryStart(int inFlightNow, int retriesSoFar) {
    return tryAcquire(inFlightNow, retriesSoFar) ? new Lease() : null;
  }

  /** One retry's hold on the budget; not thread-safe (one request's attempt owns it). */
  public final class Lease {
    private boolean held = true;

    private Lease() {}

    /** The retry's first token arrived: it is answering, no longer trying, so it stops counting. */
    public void firstToken() {
      end();
    }

    /** The retry ended (any outcome); gives the budget back unless its first token already did. */
    public void end() {
      if (!held) return;
      held = false;
      release();
    }

    /** Whether this lease still counts against the budget. */
    public boolean held() {
      return held;
    }
  }

  /** Returns one extra attempt taken by a successful {@code tryAcquire}. Extra calls never go below zero. */
  public void release() {
    active.updateAndGet(n -> n > 0 ? n - 1 : 0);
  }

  /** Extra attempts running now. */
  public int active() {
    return active.get();
  }

  /** Retries one request may make. */
  public int maxRetriesPerRequest() {
    return maxRetriesPerRequest;
  }
}
