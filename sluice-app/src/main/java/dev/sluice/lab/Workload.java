package dev.sluice.lab;

import dev.sluice.loadtest.AgentWorkload;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Request shapes and arrival processes of the lab (design/UPSTREAMS.md). Sizes are truncated log-normals fitted to
 * the published medians and tails; the report prints the figures the generator actually produced.
 */
public enum Workload {
  /** Azure conversation trace shape: prompt p50 1,020 (mean ~1,155), output p50 129 (mean ~211); Poisson. */
  CHAT("chat", "prompt p50 1,020 / output p50 129, Poisson", false),
  /** Code completion: long prompts (~2,048), short outputs (~28); Poisson. */
  PREFILL_HEAVY("prefill-heavy", "prompt ~2,048 / output ~28, Poisson", false),
  /** Short prompts (50–300), long outputs (1,000–4,000 uniform); Poisson. */
  DECODE_HEAVY("decode-heavy", "prompt 50–300 / output 1,000–4,000, Poisson", false),
  /** Chat sizes with Gamma inter-arrival times, coefficient of variation 3. */
  BURSTY("bursty", "chat sizes, Gamma inter-arrivals CV 3", true),
  /**
   * Agent sessions of {@link AgentWorkload} (its defaults: max_tokens median 320, contexts up to 16,000 tokens),
   * starting as a Poisson process; each session's next turn follows its answer and think time.
   */
  AGENT("agent", "AgentWorkload sessions, max_tokens p50 320, Poisson session starts", false),
  /** Agent sessions with answers a tenth as long (max_tokens p50 32): prefill dominates. */
  AGENT_PREFILL_HEAVY("agent-prefill-heavy", "AgentWorkload sessions, max_tokens ×0.1 (p50 32)", false),
  /** Agent sessions with answers four times as long (max_tokens p50 1,280): decode dominates. */
  AGENT_DECODE_HEAVY("agent-decode-heavy", "AgentWorkload sessions, max_tokens ×4 (p50 1,280)", false);

  /** The agent workloads, in report order. */
  static final List<Workload> AGENTS = List.of(AGENT, AGENT_PREFILL_HEAVY, AGENT_DECODE_HEAVY);
  /** AgentWorkload's median max_tokens, the output the router is told for agent turns (times the scale). */
  private static final int AGENT_MEDIAN_MAX_TOKENS = 320;

  /** The typical output length the router is told (RouteRequest.expectedOutputTokens) per workload. */
  private static final int CHAT_TYPICAL_OUTPUT = 211;
  /** Coefficient of variation of bursty inter-arrivals. */
  static final double BURST_CV = 3.0;

  private final String label;
  private final String description;
  private final boolean bursty;

  Workload(String label, String description, boolean bursty) {
    this.label = label;
    this.description = description;
    this.bursty = bursty;
  }

  public String label() {
    return label;
  }

  public String description() {
    return description;
  }

  /** Whether requests come from {@link AgentWorkload} sessions (prompt token ids, prefix reuse, think times). */
  public boolean agent() {
    return AGENTS.contains(this);
  }

  /** The answer-length scale of an agent workload ({@code AgentWorkload.Settings.maxTokensScale}). */
  double maxTokensScale() {
    return switch (this) {
      case AGENT_PREFILL_HEAVY -> 0.1;
      case AGENT_DECODE_HEAVY -> 4.0;
      default -> 1.0;
    };
  }

  /** The agent sessions of this workload for {@code seed}: every request streamed, answers scaled. */
  AgentWorkload agentWorkload(long seed) {
    if (!agent()) {
      throw new IllegalStateException(label + " is not an agent workload");
    }
    AgentWorkload.Settings defaults = AgentWorkload.Settings.defaults(seed);
    return new AgentWorkload(new AgentWorkload.Settings(seed, defaults.streamShare(), maxTokensScale(),
        defaults.maxPromptTokens()));
  }

  /** Draws one request's prompt and output tokens. */
  public Size size(RandomGenerator random) {
    return switch (this) {
      case CHAT, BURSTY -> new Size(
          logNormal(random, 1_020, 0.55, 16, 12_000), logNormal(random, 129, 0.85, 1, 2_000));
      case PREFILL_HEAVY -> new Size(logNormal(random, 1_960, 0.30, 256, 5_000), logNormal(random, 26, 0.4, 1, 128));
      case DECODE_HEAVY -> new Size(50 + random.nextInt(251), 1_000 + random.nextInt(3_001));
      case AGENT, AGENT_PREFILL_HEAVY, AGENT_DECODE_HEAVY -> throw new IllegalStateException(
          label + ": agent workloads draw sessions, not sizes");
    };
  }

  /** What the router is told as expected output (max_tokens is not sent by these clients). */
  public int typicalOutputTokens() {
    return switch (this) {
      case CHAT, BURSTY -> CHAT_TYPICAL_OUTPUT;
      case PREFILL_HEAVY -> 28;
      case DECODE_HEAVY -> 2_500;
      case AGENT, AGENT_PREFILL_HEAVY, AGENT_DECODE_HEAVY -> (int) Math.round(AGENT_MEDIAN_MAX_TOKENS
          * maxTokensScale());
    };
  }

  /** The next inter-arrival gap, in seconds, for a mean rate of {@code ratePerSecond}. */
  public double interArrivalSeconds(RandomGenerator random, double ratePerSecond) {
    double mean = 1 / ratePerSecond;
    if (!bursty) {
      return -Math.log(1 - random.nextDouble()) * mean;
    }
    double shape = 1 / (BURST_CV * BURST_CV);
    return gamma(random, shape) * mean / shape;
  }

  private static int logNormal(RandomGenerator random, double median, double sigma, int min, int max) {
    double v = median * Math.exp(sigma * random.nextGaussian());
    return (int) Math.max(min, Math.min(max, Math.round(v)));
  }

  /** Gamma(shape, 1) by Marsaglia–Tsang, with the U^(1/shape) boost for shape < 1. */
  static double gamma(RandomGenerator random, double shape) {
    if (shape < 1) {
      return gamma(random, shape + 1) * Math.pow(1 - random.nextDouble(), 1 / shape);
    }
    double d = shape - 1.0 / 3;
    double c = 1 / Math.sqrt(9 * d);
    while (true) {
      double x = random.nextGaussian();
      double v = 1 + c * x;
      if (v <= 0) {
        continue;
      }
      v = v * v * v;
      double u = random.nextDouble();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) {
        return d * v;
      }
    }
  }

  /**
   * One request's size.
   *
   * @param promptTokens prompt tokens
   * @param outputTokens tokens the model will generate (the client sends no max_tokens)
   */
  public record Size(int promptTokens, int outputTokens) {}
}
