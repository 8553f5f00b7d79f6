package dev.sluice.sim;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.UUID;

/**
 * What a node's exporters would say: the NVIDIA DCGM exporter's GPU gauges and vLLM's {@code /metrics}, in
 * Prometheus text format. Every metric name of the simulator lives here.
 *
 * <p>DCGM values are a sample refreshed at most every {@link #DCGM_SAMPLE_INTERVAL} of simulated time (the real
 * exporter's default collection interval is 30 s), so they are as stale as real ones. A sample reads the engine's
 * {@link EngineState}: utilisation is the busy share of the simulated time since the previous sample (real
 * {@code DCGM_FI_DEV_GPU_UTIL} is the share of time any kernel ran, so a serving GPU reads ~100 % at batch 1 and at
 * batch 60); temperature follows utilisation with a first-order lag ({@link #THERMAL_TIME_CONSTANT}, see
 * {@link #nextTemperature}); power and SM clock follow utilisation linearly between the GPU's idle and loaded
 * figures; framebuffer used is the weights of the served models plus the KV cache in use
 * ({@link #KV_BYTES_PER_TOKEN_32B} per token for a 32B model, proportional for others). Faults change the picture:
 * thermal-throttle reads 88-90 °C with a lowered SM clock, sw_thermal clock events and growing thermal violation
 * time; hot-but-healthy reads 85 °C at full clock; cpu-offload keeps only part of the weights in VRAM.
 *
 * <p>vLLM values are live. Read from the node's event loop (as {@link EngineState} is).
 */
final class Telemetry {
  /** The DCGM exporter's default collection interval. */
  static final Duration DCGM_SAMPLE_INTERVAL = Duration.ofSeconds(30);
  /** Time constant of the GPU temperature's first-order lag toward its target: about a minute, like a real heatsink. */
  static final Duration THERMAL_TIME_CONSTANT = Duration.ofSeconds(60);
  /** KV cache bytes per token of Qwen3-32B in FP16 (UPSTREAMS.md). */
  static final long KV_BYTES_PER_TOKEN_32B = 256 * 1024;
  static final long PARAMETERS_32B = 32_800_000_000L;
  /** Reported temperature range of a thermally throttled GPU, °C. */
  static final double THROTTLED_TEMP_MIN = 88;
  static final double THROTTLED_TEMP_MAX = 90;
  /** Reported temperature of a hot but unthrottled GPU, °C. */
  static final double HOT_TEMP = 85;
  /** SM clock of a thermally throttled GPU, as a share of its loaded clock. */
  static final double THROTTLED_CLOCK_SHARE = 0.6;
  /** vLLM's TTFT histogram buckets (vllm/v1/metrics/loggers.py). */
  static final double[] TTFT_BUCKETS_SECONDS = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
      1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
  /** The real exporter's clock-event reasons, in the order it lists them. */
  static final List<String> CLOCK_EVENTS = List.of("sw_thermal", "hw_thermal", "hw_slowdown", "power_cap");

  // DCGM exporter families (dcgm-exporter default-counters.csv)
  static final String GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL";
  static final String GPU_TEMP = "DCGM_FI_DEV_GPU_TEMP";
  static final String MEMORY_TEMP = "DCGM_FI_DEV_MEMORY_TEMP";
  static final String POWER_USAGE = "DCGM_FI_DEV_POWER_USAGE";
  static final String SM_CLOCK = "DCGM_FI_DEV_SM_CLOCK";
  static final String FB_USED = "DCGM_FI_DEV_FB_USED";
  static final String FB_FREE = "DCGM_FI_DEV_FB_FREE";
  static final String XID_ERRORS = "DCGM_FI_DEV_XID_ERRORS";
  static final String THERMAL_VIOLATION = "DCGM_FI_DEV_THERMAL_VIOLATION";
  static final String CLOCK_EVENTS_COUNT = "DCGM_EXP_CLOCK_EVENTS_COUNT";
  // vLLM families (vllm/v1/metrics/loggers.py)
  static final String RUNNING = "vllm:num_requests_running";
  static final String WAITING = "vllm:num_requests_waiting";
  static final String KV_USAGE = "vllm:kv_cache_usage_perc";
  static final String PROMPT_TOKENS = "vllm:prompt_tokens_total";
  static final String GENERATION_TOKENS = "vllm:generation_tokens_total";
  static final String PREEMPTIONS = "vllm:num_preemptions_total";
  static final String PREFIX_CACHE_QUERIES = "vllm:prefix_cache_queries_total";
  static final String PREFIX_CACHE_HITS = "vllm:prefix_cache_hits_total";
  static final String TTFT = "vllm:time_to_first_token_seconds";
  static final String CACHE_CONFIG = "vllm:cache_config_info";

  /** The hardware behind a profile: the DCGM model name, memory, power, clocks and thermal figures. */
  record Hardware(String modelName, long framebufferMiB, double idleWatts, double loadedWatts, double idleClockMHz,
      double loadedClockMHz, double idleTempC, double loadedTempC, double weightBytesPerParameter) {

    static Hardware of(GpuProfile gpu) {
      return switch (gpu) {
        case A10 -> new Hardware("NVIDIA A10", 23_028, 18, 145, 210, 1_695, 38, 80, 0.6);
        case A10_OLLAMA -> new Hardware("NVIDIA A10", 23_028, 18, 145, 210, 1_695, 38, 80, 0.6);
        case A100 -> new Hardware("NVIDIA A100-SXM4-80GB", 81_920, 62, 360, 210, 1_410, 36, 76, 0.6);
        case A100_BF16 -> new Hardware("NVIDIA A100-SXM4-80GB", 81_920, 62, 380, 210, 1_410, 36, 78, 2.0);
        case H100 -> new Hardware("NVIDIA H100 80GB HBM3", 81_559, 72, 620, 345, 1_980, 35, 77, 1.0);
        case H100_BF16 -> new Hardware("NVIDIA H100 80GB HBM3", 81_559, 72, 650, 345, 1_980, 35, 79, 2.0);
      };
    }
  }

  /** One DCGM reading. */
  record Sample(long simNanos, double utilPercent, double tempC, double memoryTempC, double powerWatts,
      double smClockMHz, long fbUsedMiB, long fbFreeMiB, long thermalViolationMicros, long swThermalEvents) {}

  private final EngineState engine;
  private final NodeFaults faults;
  private final Hardware hardware;
  private final List<SimModel> models;
  private final double timeScale;
  private final long sampleIntervalNanos;
  private final String[] dcgmLabels;
  private final SplittableRandom random;
  private final long[] ttftBucketCounts = new long[TTFT_BUCKETS_SECONDS.length];
  private long ttftCount;
  private double ttftSumSeconds;
  private int ttftNext;

  private Sample last;
  private long lastBusyNanos;
  private long lastSimNanos;
  private double temperature;

  Telemetry(String nodeId, GpuProfile gpu, List<SimModel> models, EngineState engine, NodeFaults faults,
      double timeScale, long seed, Duration sampleInterval) {
    this.engine = Objects.requireNonNull(engine, "engine");
    this.faults = Objects.requireNonNull(faults, "faults");
    this.hardware = Hardware.of(gpu);
    this.models = List.copyOf(models);
    this.timeScale = timeScale;
    this.sampleIntervalNanos = sampleInterval.toNanos();
    this.random = new SplittableRandom(seed ^ nodeId.hashCode());
    String uuid = "GPU-" + UUID.nameUUIDFromBytes(("sluice-sim/" + nodeId).getBytes(StandardCharsets.UTF_8));
    this.dcgmLabels = new String[] {"gpu", "0", "UUID", uuid, "pci_bus_id", "00000000:00:1E.0", "device", "nvidia0",
        "modelName", hardware.modelName(), "Hostname", nodeId};
    this.lastSimNanos = engine.simNowNanos();
    this.lastBusyNanos = engine.busySimNanosTotal();
    this.temperature = hardware.idleTempC();
  }

  /** Both exporters' families, DCGM first. */
  String all(String modelName) {
    return dcgm() + vllm(modelName);
  }

  /** The DCGM exporter's {@code /metrics}. */
  String dcgm() {
    Sample s = sample();
    PrometheusWriter text = new PrometheusWriter();
    gauge(text, SM_CLOCK, "SM clock frequency (in MHz).", s.smClockMHz());
    gauge(text, MEMORY_TEMP, "Memory temperature (in C).", s.memoryTempC());
    gauge(text, GPU_TEMP, "GPU temperature (in C).", s.tempC());
    gauge(text, POWER_USAGE, "Power draw (in W).", s.powerWatts());
    gauge(text, GPU_UTIL, "GPU utilization (in %).", s.utilPercent());
    gauge(text, XID_ERRORS, "Value of the last XID error encountered.", 0);
    gauge(text, FB_FREE, "Framebuffer memory free (in MiB).", s.fbFreeMiB());
    gauge(text, FB_USED, "Framebuffer memory used (in MiB).", s.fbUsedMiB());
    text.family(THERMAL_VIOLATION, "counter", "Throttling duration due to thermal constraints (in us).")
        .sample(THERMAL_VIOLATION, s.thermalViolationMicros(), dcgmLabels);
    text.family(CLOCK_EVENTS_COUNT, "gauge",
        "Count of clock events within the user-specified time window (see clock-events-count-window-size param).");
    for (String event : CLOCK_EVENTS) {
      text.sample(CLOCK_EVENTS_COUNT, event.equals("sw_thermal") ? s.swThermalEvents() : 0, dcgmLabels,
          "clock_event", event);
    }
    return text.toString();
  }

  /** vLLM's {@code /metrics} for the served model. */
  String vllm(String modelName) {
    String[] labels = {"model_name", modelName, "engine", "0"};
    drainTtft();
    PrometheusWriter text = new PrometheusWriter();
    text.family(RUNNING, "gauge", "Number of requests in model execution batches.")
        .sample(RUNNING, engine.running(), labels);
    text.family(WAITING, "gauge", "Number of requests waiting to be processed.")
        .sample(WAITING, engine.waiting(), labels);
    long capacity = engine.kvCapacityTokens();
    text.family(KV_USAGE, "gauge", "KV-cache usage. 1 means 100 percent usage.")
        .sample(KV_USAGE, capacity <= 0 ? 0 : Math.min(1.0, (double) engine.kvUsedTokens() / capacity), labels);
    text.family(PREEMPTIONS, "counter", "Cumulative number of preemption from the engine.")
        .sample(PREEMPTIONS, engine.preemptionsTotal(), labels);
    text.family(PROMPT_TOKENS, "counter", "Number of prefill tokens processed.")
        .sample(PROMPT_TOKENS, engine.promptTokensTotal(), labels);
    text.family(GENERATION_TOKENS, "counter", "Number of generation tokens processed.")
        .sample(GENERATION_TOKENS, engine.generationTokensTotal(), labels);
    text.family(PREFIX_CACHE_QUERIES, "counter", "Prefix cache queries, in terms of number of queried tokens.")
        .sample(PREFIX_CACHE_QUERIES, engine.prefixCacheQueriesTotal(), labels);
    text.family(PREFIX_CACHE_HITS, "counter", "Prefix cache hits, in terms of number of cached tokens.")
        .sample(PREFIX_CACHE_HITS, engine.prefixCacheHitsTotal(), labels);
    text.family(TTFT, "histogram", "Histogram of time to first token in seconds.");
    long cumulative = 0;
    for (int i = 0; i < TTFT_BUCKETS_SECONDS.length; i++) {
      cumulative += ttftBucketCounts[i];
      text.sample(TTFT + "_bucket", cumulative, labels, "le", PrometheusWriter.format(TTFT_BUCKETS_SECONDS[i]));
    }
    text.sample(TTFT + "_bucket", ttftCount, labels, "le", "+Inf");
    text.sample(TTFT + "_count", ttftCount, labels);
    text.sample(TTFT + "_sum", ttftSumSeconds, labels);
    text.family(CACHE_CONFIG, "gauge", "Information of the LLMCache")
        .sample(CACHE_CONFIG, 1, "block_size", "16", "cache_dtype", "auto", "enable_prefix_caching", "True",
            "gpu_memory_utilization", "0.9", "num_gpu_blocks", Long.toString(Math.max(0, capacity) / 16),
            "num_cpu_blocks", "0");
    return text.toString();
  }

  /** The current DCGM reading, refreshed when the previous one is at least a sample interval old. */
  synchronized Sample sample() {
    long now = engine.simNowNanos();
    if (last != null && timeScale > 0 && now - last.simNanos() < sampleIntervalNanos) {
      return last;
    }
    long elapsed = Math.max(0, now - lastSimNanos);
    long busy = engine.busySimNanosTotal();
    double util = elapsed == 0 ? (engine.running() > 0 ? 100 : 0)
        : Math.max(0, Math.min(100, 100.0 * (busy - lastBusyNanos) / elapsed));
    boolean throttled = faults.isOn(SimFault.Kind.THERMAL_THROTTLE);
    boolean hot = faults.isOn(SimFault.Kind.HOT_BUT_HEALTHY);
    temperature = nextTemperature(temperature, targetTemperature(util), elapsed);
    double reported = temperature;
    if (throttled) {
      reported = THROTTLED_TEMP_MIN + random.nextDouble() * (THROTTLED_TEMP_MAX - THROTTLED_TEMP_MIN);
      temperature = reported;
    } else if (hot) {
      reported = HOT_TEMP;
      temperature = reported;
    }
    double load = util / 100;
    double clock = hardware.idleClockMHz() + (hardware.loadedClockMHz() - hardware.idleClockMHz()) * load;
    double power = hardware.idleWatts() + (hardware.loadedWatts() - hardware.idleWatts()) * load;
    if (throttled) {
      clock = hardware.loadedClockMHz() * THROTTLED_CLOCK_SHARE;
      power = hardware.idleWatts() + (hardware.loadedWatts() - hardware.idleWatts()) * THROTTLED_CLOCK_SHARE;
    }
    long usedMiB = Math.min(hardware.framebufferMiB(), framebufferUsedMiB());
    long violation = last == null ? 0 : last.thermalViolationMicros();
    long events = last == null ? 0 : last.swThermalEvents();
    if (throttled) {
      violation += elapsed / 1_000;
      events += Math.max(1, sampleIntervalNanos == 0 ? 1 : elapsed / sampleIntervalNanos);
    }
    last = new Sample(now, Math.round(util), Math.round(reported), Math.round(reported) + 4,
        Math.round(power * 10) / 10.0, Math.round(clock), usedMiB, hardware.framebufferMiB() - usedMiB, violation,
        events);
    lastSimNanos = now;
    lastBusyNanos = busy;
    return last;
  }

  /** Where the temperature settles at a steady utilisation: idle + (loaded - idle) x utilisation. */
  double targetTemperature(double utilPercent) {
    return hardware.idleTempC() + (hardware.loadedTempC() - hardware.idleTempC()) * utilPercent / 100;
  }

  /**
   * First-order lag: after {@code elapsedNanos} of simulated time the temperature has covered
   * {@code 1 - exp(-elapsed / τ)} of the way to {@code target} (τ = {@link #THERMAL_TIME_CONSTANT}: 63 % after one
   * minute, 95 % after three).
   */
  static double nextTemperature(double current, double target, long elapsedNanos) {
    double decay = Math.exp(-(double) elapsedNanos / THERMAL_TIME_CONSTANT.toNanos());
    return target + (current - target) * decay;
  }

  private long framebufferUsedMiB() {
    double weights = 0;
    long largestParameters = 0;
    for (SimModel model : models) {
      weights += model.parameterCount() * hardware.weightBytesPerParameter();
      largestParameters = Math.max(largestParameters, model.parameterCount());
    }
    weights = faults.vramBytes(Math.round(weights));
    double kvBytesPerToken = (double) KV_BYTES_PER_TOKEN_32B * largestParameters / PARAMETERS_32B;
    double kv = engine.kvUsedTokens() * kvBytesPerToken;
    return Math.round((weights + kv) / (1024 * 1024));
  }

  private void drainTtft() {
    ttftNext = engine.drainTtftSamples(ttftNext, nanos -> {
      double seconds = nanos / 1e9;
      ttftCount++;
      ttftSumSeconds += seconds;
      for (int i = 0; i < TTFT_BUCKETS_SECONDS.length; i++) {
        if (seconds <= TTFT_BUCKETS_SECONDS[i]) {
          ttftBucketCounts[i]++;
          return;
        }
      }
    });
  }

  private void gauge(PrometheusWriter text, String name, String help, double value) {
    text.family(name, "gauge", help).sample(name, value, dcgmLabels);
  }
}
