package dev.sluice.routing;

import java.time.Duration;
import java.util.Locale;

/**
 * How long one attempt may wait for its first token on one node: {@code factor} × the node's own estimate of this
 * request's time to first token ({@link LeastDelayPolicy#estimate}: the prompts ahead of it and its own prefill at the
 * node's learned speed), never below {@code floor} and never above {@code ceiling} ({@code timeouts.firstToken}).
 *
 * <p>Why derived, not fixed: one fixed 60 s deadline (enough for a 16K prompt on a cold A10) lets a hung node hold
 * every request sent to it for a minute while its probes still pass. A node that is k times slower than its own
 * estimate is either hung or hopelessly queued; abandoning the attempt there and retrying on another node costs the
 * client a few hundred milliseconds instead of a minute. The estimate grows with the work queued ahead on the node
 * and with the prompt, so long prefills keep long deadlines.
 *
 * @param factor multiple of the estimate an attempt may take (≥ 1)
 * @param floor the shortest deadline: network, scheduling and a GC pause take this much on any node
 * @param ceiling the longest deadline ({@code timeouts.firstToken})
 */
public record FirstTokenDeadline(double factor, Duration floor, Duration ceiling) {
  /**
   * 3 ×: the estimator's own error on a healthy node (prefill speed learned within ×1.5, backlog counted by the router
   * but not batching effects) stays well inside it.
   */
  public static final double DEFAULT_FACTOR = 3;
  /**
   * 1.5 s: a first token on a warm node takes 20–300 ms plus its prefill, so 1.5 s is 5× the slowest short answer,
   * and it takes a node that stopped answering out of rotation within 2 s of its first stuck request. A false alarm
   * costs one retry elsewhere and a generation probe.
   */
  public static final Duration DEFAULT_FLOOR = Duration.ofMillis(1_500);

  public FirstTokenDeadline {
    if (!(factor >= 1) || Double.isInfinite(factor)) {
      throw new IllegalArgumentException("timeouts.firstTokenFactor: " + factor + " (expected a number ≥ 1, default "
          + DEFAULT_FACTOR + ")");
    }
    if (floor == null || floor.isNegative() || floor.isZero()) {
      throw new IllegalArgumentException("timeouts.firstTokenFloor: " + floor + " (expected a positive duration, "
          + "default " + DEFAULT_FLOOR.toMillis() + "ms)");
    }
    if (ceiling == null || ceiling.compareTo(floor) < 0) {
      throw new IllegalArgumentException("timeouts.firstToken: " + ceiling + " is below timeouts.firstTokenFloor "
          + floor + " (the ceiling of the first-token deadline must be at least its floor)");
    }
  }

  /** The deadline in milliseconds for an attempt whose first token the node's estimate puts at {@code estimateMillis}. */
  public long millis(double estimateMillis) {
    double scaled = Math.max(0, estimateMillis) * factor;
    long floorMs = floor.toMillis();
    long ceilingMs = ceiling.toMillis();
    if (!(scaled > floorMs)) return floorMs;
    return scaled >= ceilingMs ? ceilingMs : (long) Math.ceil(scaled);
  }

  /** {@code "1500 ms (3 × its estimate of 12 ms)"}: why an attempt was abandoned, for logs and errors. */
  public String describe(double estimateMillis) {
    long ms = millis(estimateMillis);
    String rule = ms == floor.toMillis() ? "the floor; " : ms == ceiling.toMillis() ? "the ceiling; " : "";
    return String.format(Locale.ROOT, "%d ms (%s%s × its estimate of %.0f ms)", ms, rule,
        factor == Math.rint(factor) ? Long.toString((long) factor) : Double.toString(factor), Math.max(0, estimateMillis));
  }
}
