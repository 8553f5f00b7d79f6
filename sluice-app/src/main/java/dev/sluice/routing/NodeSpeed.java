package dev.sluice.routing;

/**
 * A node's speed as the router believes it: prefill tokens per second and decode milliseconds per token, plus the
 * ratio of observed to expected speed (the "speed factor": 1 = as its GPU profile promises, 0.55 = thermally
 * throttled, 0.2 = CPU offload).
 *
 * @param prefillTokensPerSecond current estimate of prefill throughput
 * @param decodeMillisPerToken current estimate of time per output token at the node's usual batch
 * @param speedFactor observed speed ÷ expected speed
 */
public record NodeSpeed(double prefillTokensPerSecond, double decodeMillisPerToken, double speedFactor) {
  public NodeSpeed {
    if (!(prefillTokensPerSecond > 0) || !(decodeMillisPerToken > 0) || !(speedFactor > 0)) {
      throw new IllegalArgumentException("speeds must be positive: prefill " + prefillTokensPerSecond
          + " tok/s, decode " + decodeMillisPerToken + " ms/token, factor " + speedFactor);
    }
  }
}
