package dev.sluice.doctor;

import java.time.Duration;
import java.util.Locale;

/**
 * The checklist's thresholds (defaults from the brief's §5).
 *
 * @param memoryMaxPercent check 3: highest GPU memory use allowed, percent
 * @param errorRateMaxPercent check 5: errors / requests must stay below this, percent
 * @param p95SmallGpu check 6: P95 latency allowed on GPUs under {@code largeGpuVramGiB} (24 GB class)
 * @param p95LargeGpu check 6: P95 latency allowed on GPUs with at least {@code largeGpuVramGiB}
 * @param largeGpuVramGiB VRAM from which a GPU is "40 GB class"
 * @param concurrency check 5/6: concurrent requests per configured model
 * @param maxTokens output tokens each load request asks for (small: the run measures routing, not generation)
 * @param requestTimeout how long one probe or load request may take
 */
public record DoctorSettings(double memoryMaxPercent, double errorRateMaxPercent, Duration p95SmallGpu,
    Duration p95LargeGpu, int largeGpuVramGiB, int concurrency, int maxTokens, Duration requestTimeout) {
  /** The brief: "GPU memory use ≤ 85 %". */
  public static final double DEFAULT_MEMORY_MAX_PERCENT = 85;
  /** The brief: "100 concurrent requests: error rate < 0.5 %". */
  public static final double DEFAULT_ERROR_RATE_MAX_PERCENT = 0.5;
  /** The brief: "P95 latency ≤ 4.5 s on 24 GB cards". */
  public static final Duration DEFAULT_P95_SMALL_GPU = Duration.ofMillis(4_500);
  /** The brief: "≤ 2.8 s on 40 GB cards". */
  public static final Duration DEFAULT_P95_LARGE_GPU = Duration.ofMillis(2_800);
  /** A100 40 GB is the smallest "40 GB card". */
  public static final int DEFAULT_LARGE_GPU_VRAM_GIB = 40;
  /** The brief: "100 concurrent requests". */
  public static final int DEFAULT_CONCURRENCY = 100;
  /** Enough for a short answer; keeps the run to seconds. */
  public static final int DEFAULT_MAX_TOKENS = 16;
  /** A request slower than this counts as an error. */
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(60);

  public DoctorSettings {
    if (concurrency < 1) throw new IllegalArgumentException("concurrency must be at least 1, got " + concurrency);
    if (maxTokens < 1) throw new IllegalArgumentException("max tokens must be at least 1, got " + maxTokens);
  }

  public static DoctorSettings defaults() {
    return new DoctorSettings(DEFAULT_MEMORY_MAX_PERCENT, DEFAULT_ERROR_RATE_MAX_PERCENT, DEFAULT_P95_SMALL_GPU,
        DEFAULT_P95_LARGE_GPU, DEFAULT_LARGE_GPU_VRAM_GIB, DEFAULT_CONCURRENCY, DEFAULT_MAX_TOKENS,
        DEFAULT_REQUEST_TIMEOUT);
  }

  public DoctorSettings withConcurrency(int n) {
    return new DoctorSettings(memoryMaxPercent, errorRateMaxPercent, p95SmallGpu, p95LargeGpu, largeGpuVramGiB, n,
        maxTokens, requestTimeout);
  }

  public DoctorSettings withThresholds(double memoryMax, double errorRateMax, Duration p95Small, Duration p95Large) {
    return new DoctorSettings(memoryMax, errorRateMax, p95Small, p95Large, largeGpuVramGiB, concurrency, maxTokens,
        requestTimeout);
  }

  /**
   * VRAM in GiB of a configured {@code gpuType} (A10 24, L4 24, A100 40 — "A100-80" 80 —, H100 80, H200 141,
   * L40S 48); 0 when unknown, which counts as the 24 GB class (the stricter P95 applies to the larger cards).
   */
  public static int vramGiB(String gpuType) {
    if (gpuType == null) return 0;
    String g = gpuType.toUpperCase(Locale.ROOT).replace(" ", "");
    if (g.contains("80G") || g.endsWith("-80")) return 80;
    if (g.startsWith("H200")) return 141;
    if (g.startsWith("H100") || g.startsWith("H800")) return 80;
    if (g.startsWith("A100") || g.startsWith("A800")) return 40;
    if (g.startsWith("L40") || g.startsWith("A6000") || g.startsWith("RTXA6000")) return 48;
    if (g.startsWith("A10") || g.startsWith("L4") || g.contains("4090") || g.contains("3090")) return 24;
    return 0;
  }

  /** The P95 limit for a GPU type. */
  public Duration p95Limit(String gpuType) {
    return vramGiB(gpuType) >= largeGpuVramGiB ? p95LargeGpu : p95SmallGpu;
  }

  /** "40 GB+" or "24 GB", the class name used in the report. */
  public String gpuClass(String gpuType) {
    return vramGiB(gpuType) >= largeGpuVramGiB ? largeGpuVramGiB + " GB+" : "24 GB";
  }
}
