package dev.sluice.sim;

/**
 * GPU profiles of a node serving a 32B-class model (Qwen3-32B), with the figures of the performance table in
 * {@code design/UPSTREAMS.md} (estimates calibrated on published measurements). These are the defaults of an
 * {@link EngineProfile}, which is what the engine runs with and where every figure can be overridden by name.
 *
 * <p>Figures not in the table: {@code batch8TokensPerSecond} of the Ollama profile (the table has none; it uses the
 * A10 vLLM batch slope, 127 tok/s), the step token budget (vLLM's {@code max_num_batched_tokens} with chunked
 * prefill, 2048), the weights (AWQ/GPTQ 4-bit ≈ 18.3 GiB, Q4_K_M 18.9 GiB, FP8 ≈ 31.3 GiB, BF16 ≈ 62.6 GiB for
 * 32.8B parameters) and the GPU memory as {@code nvidia-smi} reports it.
 */
public enum GpuProfile {
  A10("A10 24 GB, 4-bit", "vLLM", 5_700, 760, 48, 140, 256, 0, 0, 0, 18_300, 23_028),
  A10_OLLAMA("A10 24 GB, Q4_K_M", "Ollama", 3_400, 570, 53, 127, 1, 1, 0, 512, 18_931, 23_028),
  A100("A100 80 GB, 4-bit", "vLLM", 210_000, 2_400, 19, 370, 256, 0, 0, 0, 18_300, 81_920),
  A100_BF16("A100 80 GB, BF16", "vLLM", 35_000, 2_850, 47, 160, 256, 0, 0, 0, 62_600, 81_920),
  H100("H100 80 GB, FP8", "vLLM", 160_000, 12_000, 15, 475, 1024, 0, 0, 0, 31_300, 81_559),
  H100_BF16("H100 80 GB, BF16", "vLLM", 35_000, 8_300, 28, 275, 1024, 0, 0, 0, 62_600, 81_559);

  /** vLLM's {@code max_num_batched_tokens} with chunked prefill: prompt plus decode tokens one step may carry. */
  static final int DEFAULT_STEP_TOKEN_BUDGET = 2_048;

  private final String description;
  private final String engine;
  private final int kvCapacityTokens;
  private final int prefillTokensPerSecond;
  private final int decodeMillisPerToken;
  private final int batch8TokensPerSecond;
  private final int maxRunning;
  private final int parallel;
  private final int contextPerSlot;
  private final int queueLimit;
  private final int weightsMiB;
  private final int gpuMemoryMiB;

  GpuProfile(String description, String engine, int kvCapacityTokens, int prefillTokensPerSecond,
      int decodeMillisPerToken, int batch8TokensPerSecond, int maxRunning, int parallel, int contextPerSlot,
      int queueLimit, int weightsMiB, int gpuMemoryMiB) {
    this.description = description;
    this.engine = engine;
    this.kvCapacityTokens = kvCapacityTokens;
    this.prefillTokensPerSecond = prefillTokensPerSecond;
    this.decodeMillisPerToken = decodeMillisPerToken;
    this.batch8TokensPerSecond = batch8TokensPerSecond;
    this.maxRunning = maxRunning;
    this.parallel = parallel;
    this.contextPerSlot = contextPerSlot;
    this.queueLimit = queueLimit;
    this.weightsMiB = weightsMiB;
    this.gpuMemoryMiB = gpuMemoryMiB;
  }

  /** GPU, memory and weight precision, e.g. {@code A10 24 GB, 4-bit}. */
  public String description() {
    return description;
  }

  /** The serving engine the figures were measured with ({@code vLLM} or {@code Ollama}). */
  public String engine() {
    return engine;
  }

  /** Whether the node behaves like Ollama (slots, silent truncation, queue limit) rather than vLLM. */
  public boolean ollama() {
    return "Ollama".equals(engine);
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

  /** Aggregate output tokens per second with 8 sequences decoding. */
  public int batch8TokensPerSecond() {
    return batch8TokensPerSecond;
  }

  /** Most sequences in the running batch (vLLM {@code max_num_seqs}; Ollama: {@link #parallel()}). */
  public int maxRunning() {
    return maxRunning;
  }

  /** Ollama {@code OLLAMA_NUM_PARALLEL}; 0 on vLLM profiles. */
  public int parallel() {
    return parallel;
  }

  /** Ollama {@code num_ctx} per slot; 0 means KV capacity / parallel. */
  public int contextPerSlot() {
    return contextPerSlot;
  }

  /** Ollama {@code OLLAMA_MAX_QUEUE}; 0 on vLLM profiles (no limit). */
  public int queueLimit() {
    return queueLimit;
  }

  /** Model weights in GPU memory, MiB. */
  public int weightsMiB() {
    return weightsMiB;
  }

  /** Total GPU memory as {@code nvidia-smi} reports it, MiB. */
  public int gpuMemoryMiB() {
    return gpuMemoryMiB;
  }
}
