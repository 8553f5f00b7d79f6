package dev.sluice.limit;

/**
 * One set of limits; 0 means unlimited for that dimension.
 *
 * @param requestsPerMinute requests admitted per minute (token bucket: a burst of this many, then one every
 *     minute / requestsPerMinute)
 * @param tokensPerMinute prompt plus completion tokens per minute (charged at admission from an estimate, corrected
 *     with the real usage when the request ends)
 * @param concurrent requests in flight at once
 */
public record Limits(long requestsPerMinute, long tokensPerMinute, int concurrent) {
  /** Highest per-minute figure accepted: far above any real quota, and keeps bucket arithmetic inside a long. */
  public static final long MAX_PER_MINUTE = 1_000_000_000_000L;

  private static final Limits UNLIMITED = new Limits(0, 0, 0);

  public Limits {
    check("requestsPerMinute", requestsPerMinute);
    check("tokensPerMinute", tokensPerMinute);
    check("concurrent", concurrent);
  }

  /** No limit on anything. */
  public static Limits unlimited() {
    return UNLIMITED;
  }

  /** True when at least one dimension is limited. */
  public boolean any() {
    return requestsPerMinute > 0 || tokensPerMinute > 0 || concurrent > 0;
  }

  private static void check(String name, long value) {
    if (value < 0 || value > MAX_PER_MINUTE) {
      throw new IllegalArgumentException("limits." + name + ": " + value + " is out of range (expected 0 for unlimited,"
          + " or 1 to " + MAX_PER_MINUTE + ")");
    }
  }
}
