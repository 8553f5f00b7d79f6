package dev.sluice.routing;

import java.util.Objects;

/**
 * One node's online speed estimate (ROUTING.md, default policy step 3): prefill tokens per second and decode
 * milliseconds per token, seeded from the node's GPU profile (the <em>expected</em> speed) and moved by an
 * exponentially weighted moving average of observations.
 *
 * <p>Observations:
 * <ul>
 *   <li>{@link #observeFirstToken}: sample = (prompt tokens + prefill tokens already in flight when it was sent) ÷
 *       TTFT, since with first-come prefill our prompt waits for those ahead. Network time and any slot wait are in
 *       the TTFT, so the sample slightly underestimates speed; callers should skip requests that waited for a slot
 *       (Ollama queue) or use the Ollama timings instead.</li>
 *   <li>{@link #observeDecode}: sample = decode milliseconds ÷ tokens (time after the first token ÷ tokens after
 *       it).</li>
 *   <li>{@link #observeOllamaTimings}: the final NDJSON line's {@code prompt_eval_count/prompt_eval_duration} and
 *       {@code eval_count/eval_duration} (nanoseconds): exact per-request engine speeds, no backlog correction.</li>
 * </ul>
 *
 * <p>The first {@link #WARM_UP_SAMPLES} samples of each dimension replace the seed: the estimate is their running mean,
 * without the step clamp, so one answer teaches the router a node's real speed (a profile off by ×10, as a simulator
 * at {@code --time-scale 10}, or a node no policy picked for a while and then explored once). After that,
 * outliers are clamped, not dropped: a sample moves at most ×{@link #MAX_STEP} (or ÷) away from the current
 * estimate. The estimate always stays within [{@link #MIN_RATIO}, {@link #MAX_RATIO}] × expected, unless the expected
 * speed is a guess ({@link #unprofiled}: no GPU profile), which bounds nothing. Samples too small to
 * measure speed (fewer than {@link #MIN_PREFILL_TOKENS} prompt tokens, fewer than {@link #MIN_DECODE_TOKENS} decoded
 * tokens, or a non-positive duration) are ignored: fixed overheads dominate them.
 *
 * <p>{@link NodeSpeed#speedFactor()} = the geometric mean of the prefill ratio (observed ÷ expected tokens per second)
 * and the decode ratio (expected ÷ observed milliseconds per token): thermal throttling slows both, CPU offload and
 * memory-bandwidth contention mostly decode, and the geometric mean lets either show without one hiding the other. A
 * dimension with no observation yet has ratio 1. Thread-safe (synchronized).
 */
public final class SpeedEstimator {
  /** EWMA weight of a new observation: about 10 observations to move 90 % of the way to a new speed. */
  public static final double DEFAULT_ALPHA = 0.2;
  /** A sample moves at most this factor away from the current estimate (one outlier cannot swing the node). */
  public static final double MAX_STEP = 4;
  /** The estimate never falls below this share of the expected speed. */
  public static final double MIN_RATIO = 0.02;
  /** The estimate never rises above this multiple of the expected speed. */
  public static final double MAX_RATIO = 50;
  /** Samples that replace the seed by their running mean before the EWMA and its clamp take over. */
  public static final int WARM_UP_SAMPLES = 3;
  /** Fewer prompt tokens (including the backlog) than this measure latency, not prefill speed. */
  public static final long MIN_PREFILL_TOKENS = 64;
  /** Fewer decoded tokens than this measure latency, not decode speed. */
  public static final long MIN_DECODE_TOKENS = 2;

  /** The band around the expected speed the estimate stays in: [{@link #MIN_RATIO}, {@link #MAX_RATIO}] or none. */
  private final double minRatio;
  private final double maxRatio;
  private final NodeSpeed expected;
  private final double alpha;
  private double prefillTokensPerSecond;
  private double decodeMillisPerToken;
  private long prefillSamples;
  private long decodeSamples;

  /** Seeded with {@code expected}, {@link #DEFAULT_ALPHA}. */
  public SpeedEstimator(NodeSpeed expected) {
    this(expected, DEFAULT_ALPHA);
  }

  /**
   * @param expected the profile's speed (its speed factor is ignored: expected is 1 by definition)
   * @param alpha EWMA weight of a new observation, in (0, 1]
   */
  public SpeedEstimator(NodeSpeed expected, double alpha) {
    this(expected, alpha, MIN_RATIO, MAX_RATIO);
  }

  private SpeedEstimator(NodeSpeed expected, double alpha, double minRatio, double maxRatio) {
    this.minRatio = minRatio;
    this.maxRatio = maxRatio;
    this.expected = Objects.requireNonNull(expected, "expected");
    if (!(alpha > 0 && alpha <= 1)) {
      throw new IllegalArgumentException("alpha: " + alpha + " (expected 0 < alpha ≤ 1, default " + DEFAULT_ALPHA + ")");
    }
    this.alpha = alpha;
    this.prefillTokensPerSecond = expected.prefillTokensPerSecond();
    this.decodeMillisPerToken = expected.decodeMillisPerToken();
  }

  /**
   * Seeded with a guess (a node of no known GPU type): its observations are not held to a band around the guess, so a
   * node far faster or slower than guessed is learned as it is (a fake upstream answering a 47k-token prompt in a
   * millisecond was held at 50 × 1,000 tokens/s, and admission control then refused its 190 KB requests two deep).
   */
  public static SpeedEstimator unprofiled(NodeSpeed guess) {
    return new SpeedEstimator(guess, DEFAULT_ALPHA, 1e-9, 1e9);
  }

  /** Seeded from profile figures. */
  public static SpeedEstimator seeded(double expectedPrefillTokensPerSecond, double expectedDecodeMillisPerToken) {
    return new SpeedEstimator(new NodeSpeed(expectedPrefillTokensPerSecond, expectedDecodeMillisPerToken, 1));
  }

  /**
   * A first token arrived.
   *
   * @param promptTokens prompt tokens of the request (uncached)
   * @param ttftMillis time from send to first token
   * @param inFlightPrefillTokensAtSend prefill tokens already in flight on the node when the request was sent
   */
  public synchronized void observeFirstToken(int promptTokens, double ttftMillis, long inFlightPrefillTokensAtSend) {
    long tokens = Math.max(0, promptTokens) + Math.max(0, inFlightPrefillTokensAtSend);
    if (tokens < MIN_PREFILL_TOKENS || !(ttftMillis > 0)) {
      return;
    }
    observePrefill(tokens * 1000.0 / ttftMillis);
  }

  /**
   * A request finished decoding.
   *
   * @param tokens output tokens after the first
   * @param millis time from the first token to the last
   */
  public synchronized void observeDecode(long tokens, double millis) {
    if (tokens < MIN_DECODE_TOKENS || !(millis > 0)) {
      return;
    }
    observeDecodeSample(millis / tokens);
  }

  /** The timings of an Ollama final line (durations in nanoseconds, as Ollama reports them); 0 counts are skipped. */
  public synchronized void observeOllamaTimings(long promptEvalCount, long promptEvalDurationNanos, long evalCount,
      long evalDurationNanos) {
    if (promptEvalCount >= MIN_PREFILL_TOKENS && promptEvalDurationNanos > 0) {
      observePrefill(promptEvalCount * 1e9 / promptEvalDurationNanos);
    }
    if (evalCount >= MIN_DECODE_TOKENS && evalDurationNanos > 0) {
      observeDecodeSample(evalDurationNanos / 1e6 / evalCount);
    }
  }

  private void observePrefill(double sample) {
    prefillTokensPerSecond = clamp(step(prefillTokensPerSecond, sample, prefillSamples),
        expected.prefillTokensPerSecond() * minRatio, expected.prefillTokensPerSecond() * maxRatio);
    prefillSamples++;
  }

  private void observeDecodeSample(double sample) {
    // a slower node has more ms per token: the bounds swap
    decodeMillisPerToken = clamp(step(decodeMillisPerToken, sample, decodeSamples),
        expected.decodeMillisPerToken() / maxRatio, expected.decodeMillisPerToken() / minRatio);
    decodeSamples++;
  }

  /**
   * The estimate after {@code sample}, the ({@code samplesSoFar} + 1)-th: the running mean of the samples while
   * warming up (the seed is a guess), then the EWMA with the sample clamped to ×{@link #MAX_STEP} of the estimate.
   */
  private double step(double current, double sample, long samplesSoFar) {
    if (samplesSoFar < WARM_UP_SAMPLES) return current + (sample - current) / (samplesSoFar + 1);
    return current + alpha * (clamp(sample, current / MAX_STEP, current * MAX_STEP) - current);
  }

  /** The current estimate. */
  public synchronized NodeSpeed current() {
    double prefillRatio = prefillTokensPerSecond / expected.prefillTokensPerSecond();
    double decodeRatio = expected.decodeMillisPerToken() / decodeMillisPerToken;
    return new NodeSpeed(prefillTokensPerSecond, decodeMillisPerToken, Math.sqrt(prefillRatio * decodeRatio));
  }

  /** The profile's speed this estimator was seeded with. */
  public NodeSpeed expected() {
    return expected;
  }

  /** Prefill observations taken so far (for the admin API). */
  public synchronized long prefillSamples() {
    return prefillSamples;
  }

  /** Decode observations taken so far (for the admin API). */
  public synchronized long decodeSamples() {
    return decodeSamples;
  }

  private static double clamp(double x, double lo, double hi) {
    return Math.max(lo, Math.min(hi, x));
  }
}
