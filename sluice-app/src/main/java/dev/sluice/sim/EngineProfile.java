package dev.sluice.sim;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The figures a node's {@link BatchEngine} runs with: a {@link GpuProfile}'s defaults, each replaceable by name
 * through {@link SimOptions#overrides()} (names are the record's component names below; values are numbers, rounded
 * for whole-number figures). An unknown name or a value that is not positive fails {@link #of} with the valid names.
 *
 * <p>Override names (defaults per profile in {@link GpuProfile}, from {@code design/UPSTREAMS.md}):
 * <ul>
 *   <li>{@code kvCapacityTokens} — tokens the KV cache holds (A10 5,700; A10_OLLAMA 3,400; A100 210,000;
 *       A100_BF16 35,000; H100 160,000; H100_BF16 35,000). On Ollama it is {@code parallel × contextPerSlot}.
 *   <li>{@code prefillTokensPerSecond} — compute-bound prompt throughput (760; 570; 2,400; 2,850; 12,000; 8,300).
 *   <li>{@code decodeMillisPerToken} — time per output token with one sequence decoding, T1 (48; 53; 19; 47; 15; 28).
 *   <li>{@code batch8TokensPerSecond} — aggregate output tok/s with eight sequences decoding (140; 127; 370; 160;
 *       475; 275); sets the per-sequence slope β.
 *   <li>{@code maxRunning} — vLLM {@code max_num_seqs}, most sequences in the running batch (256 on A10 and A100,
 *       1,024 on H100). On Ollama it is {@code parallel}.
 *   <li>{@code stepTokenBudget} — vLLM {@code max_num_batched_tokens}: decode plus prefill tokens per step (2,048).
 *   <li>{@code parallel} — Ollama {@code OLLAMA_NUM_PARALLEL}, slots (1). Ollama only.
 *   <li>{@code contextPerSlot} — Ollama {@code num_ctx} per slot; longer prompts are silently truncated to it
 *       (default {@code kvCapacityTokens / parallel}, 3,400). Ollama only.
 *   <li>{@code maxModelLenTokens} — vLLM {@code --max-model-len}, the context length the node serves and reports
 *       (default min(kvCapacityTokens, 40,960)); at most {@code kvCapacityTokens}. vLLM only.
 *   <li>{@code queueLimit} — Ollama {@code OLLAMA_MAX_QUEUE}: waiting requests beyond it get HTTP 503 (512).
 *       Ollama only.
 *   <li>{@code weightsMiB} — model weights in GPU memory (18,300 4-bit; 18,931 Q4_K_M; 31,300 FP8; 62,600 BF16).
 *   <li>{@code gpuMemoryMiB} — GPU memory (23,028 A10; 81,920 A100; 81,559 H100).
 * </ul>
 * Derived, not overridable: {@link #kneeTokensPerStep()}, {@link #batchSlope()}.
 *
 * @param gpu the profile the defaults came from
 * @param ollama whether the node behaves like Ollama (slots, truncation, queue limit) rather than vLLM
 */
public record EngineProfile(
    GpuProfile gpu,
    boolean ollama,
    int kvCapacityTokens,
    double prefillTokensPerSecond,
    double decodeMillisPerToken,
    double batch8TokensPerSecond,
    int maxRunning,
    int stepTokenBudget,
    int parallel,
    int contextPerSlot,
    int queueLimit,
    int weightsMiB,
    int gpuMemoryMiB,
    int maxModelLen) {

  /** Every name {@link SimOptions#overrides()} accepts. */
  public static final List<String> FIGURES = List.of("kvCapacityTokens", "prefillTokensPerSecond",
      "decodeMillisPerToken", "batch8TokensPerSecond", "maxRunning", "stepTokenBudget", "parallel", "contextPerSlot",
      "queueLimit", "weightsMiB", "gpuMemoryMiB", "maxModelLenTokens");

  /** The native context window of the simulated model (Qwen3's); vLLM's {@code max_model_len} is capped by it. */
  static final int MODEL_CONTEXT_TOKENS = 40_960;

  public EngineProfile {
    Objects.requireNonNull(gpu, "gpu");
    positive("kvCapacityTokens", kvCapacityTokens);
    positive("prefillTokensPerSecond", prefillTokensPerSecond);
    positive("decodeMillisPerToken", decodeMillisPerToken);
    positive("batch8TokensPerSecond", batch8TokensPerSecond);
    positive("maxRunning", maxRunning);
    positive("stepTokenBudget", stepTokenBudget);
    positive("weightsMiB", weightsMiB);
    positive("gpuMemoryMiB", gpuMemoryMiB);
    if (maxModelLen < 0) throw new IllegalArgumentException("maxModelLenTokens: " + maxModelLen + " (expected > 0)");
    if (maxModelLen > kvCapacityTokens) {
      throw new IllegalArgumentException("overrides.maxModelLenTokens: " + maxModelLen + " is more than the KV cache "
          + "holds (kvCapacityTokens " + kvCapacityTokens + "): vLLM refuses to start like that; lower it or raise "
          + "kvCapacityTokens");
    }
    if (ollama) {
      positive("parallel", parallel);
      positive("contextPerSlot", contextPerSlot);
      positive("queueLimit", queueLimit);
    }
  }

  /** The profile's figures with {@code overrides} applied; see the class comment for the names. */
  public static EngineProfile of(GpuProfile gpu, Map<String, Double> overrides) {
    Objects.requireNonNull(gpu, "gpu");
    Objects.requireNonNull(overrides, "overrides");
    for (String name : new TreeMap<>(overrides).keySet()) {
      if (!FIGURES.contains(name)) {
        throw new IllegalArgumentException("overrides: unknown engine figure \"" + name + "\" (valid names: "
            + String.join(", ", FIGURES) + ")");
      }
      Double value = overrides.get(name);
      if (value == null || !(value > 0) || value.isInfinite()) {
        throw new IllegalArgumentException("overrides." + name + ": " + value + " (expected a number > 0)");
      }
    }
    Figures f = new Figures(overrides);
    int kv = f.whole("kvCapacityTokens", gpu.kvCapacityTokens());
    int maxRunning = f.whole("maxRunning", gpu.maxRunning());
    int parallel = 0;
    int contextPerSlot = 0;
    int queueLimit = 0;
    if (gpu.ollama()) {
      parallel = f.whole("parallel", gpu.parallel());
      contextPerSlot = f.whole("contextPerSlot", gpu.contextPerSlot() > 0 ? gpu.contextPerSlot()
          : Math.max(1, kv / parallel));
      queueLimit = f.whole("queueLimit", gpu.queueLimit());
      kv = parallel * contextPerSlot;
      maxRunning = parallel;
    }
    return new EngineProfile(gpu, gpu.ollama(), kv,
        f.real("prefillTokensPerSecond", gpu.prefillTokensPerSecond()),
        f.real("decodeMillisPerToken", gpu.decodeMillisPerToken()),
        f.real("batch8TokensPerSecond", gpu.batch8TokensPerSecond()),
        maxRunning,
        f.whole("stepTokenBudget", GpuProfile.DEFAULT_STEP_TOKEN_BUDGET),
        parallel, contextPerSlot, queueLimit,
        f.whole("weightsMiB", gpu.weightsMiB()),
        f.whole("gpuMemoryMiB", gpu.gpuMemoryMiB()),
        gpu.ollama() ? 0 : f.whole("maxModelLenTokens", 0));
  }

  /** The profile's own figures. */
  public static EngineProfile of(GpuProfile gpu) {
    return of(gpu, Map.of());
  }

  /** T1 in nanoseconds: the step time with one sequence decoding. */
  public long decodeNanosPerToken() {
    return Math.round(decodeMillisPerToken * 1e6);
  }

  /**
   * β, the relative step-time growth per extra decoding sequence (KV reads, per-sequence overhead), such that eight
   * sequences decode at {@code batch8TokensPerSecond}: {@code T8 = 8 / batch8 = T1 × (1 + 7β)}; 0 if T8 ≤ T1.
   */
  public double batchSlope() {
    double t8Millis = 8_000 / batch8TokensPerSecond;
    return Math.max(0, (t8Millis / decodeMillisPerToken - 1) / 7);
  }

  /** Tokens per step where compute time reaches T1: {@code T1 × prefillTokensPerSecond} (A10 ≈ 36, H100 180). */
  public double kneeTokensPerStep() {
    return decodeMillisPerToken / 1_000 * prefillTokensPerSecond;
  }

  /**
   * The longest prompt plus output one request may ask for: vLLM's {@code max_model_len} = min(KV capacity, the
   * model's 40,960); Ollama's {@code num_ctx} ({@code contextPerSlot}). Reported as the context window.
   */
  public int maxModelLenTokens() {
    if (ollama) return contextPerSlot;
    return maxModelLen > 0 ? maxModelLen : Math.min(kvCapacityTokens, MODEL_CONTEXT_TOKENS);
  }

  /** The figures by override name, for docs and the calibration table. */
  public Map<String, Number> figures() {
    Map<String, Number> figures = new LinkedHashMap<>();
    figures.put("kvCapacityTokens", kvCapacityTokens);
    figures.put("prefillTokensPerSecond", prefillTokensPerSecond);
    figures.put("decodeMillisPerToken", decodeMillisPerToken);
    figures.put("batch8TokensPerSecond", batch8TokensPerSecond);
    figures.put("maxRunning", maxRunning);
    figures.put("stepTokenBudget", stepTokenBudget);
    figures.put("parallel", parallel);
    figures.put("contextPerSlot", contextPerSlot);
    figures.put("queueLimit", queueLimit);
    figures.put("weightsMiB", weightsMiB);
    figures.put("gpuMemoryMiB", gpuMemoryMiB);
    figures.put("maxModelLenTokens", maxModelLenTokens());
    return figures;
  }

  private static void positive(String name, double value) {
    if (!(value > 0) || Double.isInfinite(value)) {
      throw new IllegalArgumentException(name + ": " + value + " (expected > 0)");
    }
  }

  /** Override lookup with the profile's default. */
  private record Figures(Map<String, Double> overrides) {
    int whole(String name, int fallback) {
      Double value = overrides.get(name);
      if (value == null) {
        return fallback;
      }
      long rounded = Math.round(value);
      if (rounded < 1 || rounded > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("overrides." + name + ": " + value + " (expected a whole number >= 1)");
      }
      return (int) rounded;
    }

    double real(String name, double fallback) {
      Double value = overrides.get(name);
      return value == null ? fallback : value;
    }
  }
}
