package dev.sluice.sim;

import java.util.function.LongConsumer;

/**
 * A read-only view of a node's engine for telemetry ({@code /metrics}, {@code /api/ps}). Times are simulated
 * nanoseconds: real elapsed time multiplied by the time scale, so telemetry of a 10x node moves 10x faster.
 * Read from the node's event loop.
 */
public interface EngineState {
  /** Simulated time now. */
  long simNowNanos();

  /** Sequences in the running batch (prefilling or decoding). */
  int running();

  /** Sequences waiting in the FIFO (not admitted for lack of KV or slots). */
  int waiting();

  /** KV-cache tokens held by running sequences. */
  long kvUsedTokens();

  /** KV-cache capacity in tokens. */
  long kvCapacityTokens();

  /** Cumulative simulated time during which an engine step was running (GPU busy), for utilisation. */
  long busySimNanosTotal();

  /** Prompt tokens processed (prefilled) so far. */
  long promptTokensTotal();

  /** Output tokens generated so far. */
  long generationTokensTotal();

  /** Prompt tokens of requests that looked up the prefix cache (vLLM's {@code prefix_cache_queries}). */
  long prefixCacheQueriesTotal();

  /** Of those, tokens found in the prefix cache, which skipped prefill (vLLM's {@code prefix_cache_hits}). */
  long prefixCacheHitsTotal();

  /** Requests preempted (KV exhausted) so far; 0 when the engine never preempts. */
  long preemptionsTotal();

  /**
   * Every time-to-first-token observed so far, in simulated nanoseconds, passed to {@code sink} in order since
   * {@code fromIndex}; returns the index to pass next time. Lets a histogram consume new samples only.
   */
  int drainTtftSamples(int fromIndex, LongConsumer sink);
}
