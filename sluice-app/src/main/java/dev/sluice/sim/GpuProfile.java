package dev.sluice.sim;

/**
 * GPU profiles of a node serving a 32B-class model, with the figures of the performance table in
 * {@code design/UPSTREAMS.md} (estimates calibrated on published measurements).
 */
public enum GpuProfile {
  A10("A10 24 GB, 4-bit", "vLLM", 5_700, 760, 48),
  A10_OLLAMA("A10 24 GB, Q4_K_M", "Ollama", 3_400, 570, 53),
  A100("A100 80 GB, 4-bit", "vLLM", 210_000, 2_400, 19),
  A100_BF16("A100 80 GB, BF16", "vLLM", 35_000, 2_850, 47),
  H100("H100 80 GB, FP8", "vLLM", 160_000, 12_000, 15),
  H100_BF16("H100 80 GB, BF16", "vLLM", 35_000, 8_300, 28);

  private final String description;
  private final String engine;
  private final int kvCapacityTokens;
  private final int prefillTokensPerSecond;
  private final int decodeMillisPerToken;

  GpuProfile(String description, String engine, int kvCapacityTokens, int prefillTokensPerSecond,
      int decodeMillisPerToken) {
    this.description = description;
    this.engine = engine;
    this.kvCapacityTokens = kvCapacityTokens;
    this.prefillTokensPerSecond = prefillTokensPerSecond;
    this.decodeMillisPerToken = decodeMillisPerToken;
  }

  /** GPU, memory and weight precision, e.g. {@code A10 24 GB, 4-bit}. */
  public String description() {
    return description;
  }

  /** The serving engine the figures were measured with ({@code vLLM} or {@code Ollama}). */
  public String engine() {
    return engine;
  }

  /** Tokens the KV cache holds; the simulator also reports it (capped by the model) as the context window. */
  public int kvCapacityTokens() {
    return kvCapacityTokens;
  }

  /** Prompt tokens processed per second (compute-bound). */
  public int prefillTokensPerSecond() {
    return prefillTokensPerSecond;
  }

  /** Time per output token of a single running request. */
  public int decodeMillisPerToken() {
    return decodeMillisPerToken;
  }
}
