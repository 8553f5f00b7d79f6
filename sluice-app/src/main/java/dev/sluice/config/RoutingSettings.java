package dev.sluice.config;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * How requests are spread over nodes.
 *
 * @param policy config name of the routing policy ({@code least-delay}, {@code gpu-weighted}, ...)
 * @param failover config name of the failover order ({@code same-gpu-class-first}, {@code same-gpu-class}, {@code any})
 * @param ttftBudget admission control of least-delay: when even the best node's estimated time to first token is
 *     above this, answer 429 with Retry-After; zero turns admission control off
 * @param gpuBases base scores per GPU type for {@code gpu-weighted} (the brief's {A10:100, A100:220, H100:380})
 * @param affinity session and prefix affinity ({@code routing.affinity})
 * @param flow flow control: per-node caps, the per-model queue, fair share, bands ({@code routing.flow})
 * @param explain whether each answer says why its node was chosen: the {@code x-sluice-route} header and the access
 *     log's {@code route} field ({@code routing.explain}, off by default: a debugging aid that costs a short string
 *     per answer)
 */
public record RoutingSettings(String policy, String failover, Duration ttftBudget, Map<String, Integer> gpuBases,
    AffinitySettings affinity, FlowSettings flow, boolean explain) {
  /** ROUTING.md's default: least expected delay. */
  public static final String DEFAULT_POLICY = "least-delay";
  /** Same GPU class first (the brief's rule), then other nodes serving the model rather than an error. */
  public static final String DEFAULT_FAILOVER = "same-gpu-class-first";
  /**
   * 2 s: admission control judges an estimate, and under saturation the actual time to first token ran 1.2× the
   * budget at the median and 2–3× at p99 (queueing inside the engine the router cannot see). With the old 30 s nobody
   * was refused at 2× overload and everyone's TTFT went from 20 ms to 3.3 s; 3 s kept 85–88 % of capacity as goodput
   * (TTFT ≤ 5 s, ROUTING.md), 2 s 98–113 % (SilentFailuresTest, two A10s, ~1,000-token prompts). A prompt whose own
   * prefill is longer is still admitted to a node with nothing ahead of it.
   */
  public static final Duration DEFAULT_TTFT_BUDGET = Duration.ofSeconds(2);
  /** The brief's base scores. */
  public static final Map<String, Integer> DEFAULT_GPU_BASES = Map.of("A10", 100, "A100", 220, "H100", 380);

  public RoutingSettings {
    gpuBases = Map.copyOf(gpuBases);
    Objects.requireNonNull(affinity, "affinity");
    Objects.requireNonNull(flow, "flow");
  }

  /** Settings without route explanations. */
  public RoutingSettings(String policy, String failover, Duration ttftBudget, Map<String, Integer> gpuBases,
      AffinitySettings affinity, FlowSettings flow) {
    this(policy, failover, ttftBudget, gpuBases, affinity, flow, false);
  }

  /** Settings with the default flow control. */
  public RoutingSettings(String policy, String failover, Duration ttftBudget, Map<String, Integer> gpuBases,
      AffinitySettings affinity) {
    this(policy, failover, ttftBudget, gpuBases, affinity, FlowSettings.defaults());
  }

  /** Settings with the default affinity. */
  public RoutingSettings(String policy, String failover, Duration ttftBudget, Map<String, Integer> gpuBases) {
    this(policy, failover, ttftBudget, gpuBases, AffinitySettings.defaults());
  }

  /** These settings with another policy. */
  public RoutingSettings withPolicy(String p) {
    return new RoutingSettings(p, failover, ttftBudget, gpuBases, affinity, flow, explain);
  }

  /** These settings with other affinity settings. */
  public RoutingSettings withAffinity(AffinitySettings a) {
    return new RoutingSettings(policy, failover, ttftBudget, gpuBases, a, flow, explain);
  }

  /** These settings with other flow control settings. */
  public RoutingSettings withFlow(FlowSettings f) {
    return new RoutingSettings(policy, failover, ttftBudget, gpuBases, affinity, f, explain);
  }

  /** These settings with route explanations on or off. */
  public RoutingSettings withExplain(boolean on) {
    return new RoutingSettings(policy, failover, ttftBudget, gpuBases, affinity, flow, on);
  }

  public static RoutingSettings defaults() {
    return new RoutingSettings(DEFAULT_POLICY, DEFAULT_FAILOVER, DEFAULT_TTFT_BUDGET, DEFAULT_GPU_BASES);
  }
}
