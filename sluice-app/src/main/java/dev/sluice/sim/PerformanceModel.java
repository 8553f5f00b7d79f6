package dev.sluice.sim;

import java.util.Objects;

/**
 * How long a simulated GPU takes, at real speed (the node divides by its time scale). The node asks it for every
 * request; a batching model that knows the other running requests can replace the batch-1 one behind this interface.
 */
public interface PerformanceModel {
  /** Time from the start of a request to its first output token. */
  long prefillNanos(int promptTokens);

  /** Time between output token {@code tokenIndex - 1} and {@code tokenIndex} (index 0 is the first token). */
  long decodeNanos(int tokenIndex);

  /** Batch 1: prefill at the profile's prefill rate, then one token per decode interval. */
  static PerformanceModel batchOne(GpuProfile gpu) {
    Objects.requireNonNull(gpu, "gpu");
    return new PerformanceModel() {
      @Override
      public long prefillNanos(int promptTokens) {
        return promptTokens * 1_000_000_000L / gpu.prefillTokensPerSecond();
      }

      @Override
      public long decodeNanos(int tokenIndex) {
        return gpu.decodeMillisPerToken() * 1_000_000L;
      }
    };
  }
}
