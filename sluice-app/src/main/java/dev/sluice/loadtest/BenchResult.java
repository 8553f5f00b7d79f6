package dev.sluice.loadtest;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Clock;
import dev.sluice.support.Json;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * What a bench measured: HdrHistograms (microseconds) of time to first token (streams), inter-token latency (streams)
 * and end-to-end latency (all answered requests); counts by error class, by the node that served
 * ({@code x-sluice-node}) and by outcome (normal, cache, degraded, downgraded); per-second buckets for the plot over
 * time. Recording is thread-safe; a few hundred requests a second are far below what a monitor costs.
 */
public final class BenchResult {
  static final long MAX_MICROS = 3_600_000_000L;

  /** One finished request, as the runner saw it. */
  public record Sample(long startNanos, long e2eMicros, long ttftMicros, long[] itlMicros, int status,
      String errorClass, String node, String outcome, long outputTokens, boolean stream) {}

  /** One second of the run. */
  static final class Second {
    long requests;
    long errors;
    final Histogram e2e = new Histogram(MAX_MICROS, 2);
  }

  final Histogram e2e = new Histogram(MAX_MICROS, 3);
  final Histogram ttft = new Histogram(MAX_MICROS, 3);
  final Histogram itl = new Histogram(MAX_MICROS, 3);
  /** Agent runs: TTFT of turns whose input reuses >= 90 % of the previous one, and of the other turns. */
  final Histogram ttftCachedEligible = new Histogram(MAX_MICROS, 3);
  final Histogram ttftOther = new Histogram(MAX_MICROS, 3);
  private boolean agentTurns;
  /** Hits / queries of the nodes' prefix caches over the run, 0–1; NaN when no node exposed the counters. */
  private double prefixCacheHitRate = Double.NaN;
  private String agentStats = "";
  final Map<String, Long> errors = new TreeMap<>();
  final Map<String, Long> nodes = new TreeMap<>();
  final Map<String, Long> outcomes = new TreeMap<>();
  final TreeMap<Integer, Second> seconds = new TreeMap<>();
  private final long startNanos;
  private final Clock clock;
  private long requests;
  private long errorCount;
  private long streams;
  private long outputTokens;
  private long endNanos;
  private String plan = "";
  /** How many times faster than real GPUs the target's nodes ran (a demo or simulator's --time-scale); 1 = real. */
  private double timeScale = 1;
  private final LoadPlan.Slo slo;
  /** Answers within {@link #slo}. */
  private long goodput;
  /** Requests answered 429 (shed), and those of them that said when to come back in the API's format. */
  private long shed;
  private long shedWithRetryAfter;

  public BenchResult(long startNanos) {
    this(startNanos, Clock.SYSTEM);
  }

  /** A result whose run started at {@code startNanos} on {@code clock}'s monotonic time. */
  public BenchResult(long startNanos, Clock clock) {
    this(startNanos, clock, LoadPlan.Slo.DEFAULT);
  }

  /** A result judging goodput by {@code slo}. */
  public BenchResult(long startNanos, Clock clock, LoadPlan.Slo slo) {
    this.startNanos = startNanos;
    this.clock = Objects.requireNonNull(clock, "clock");
    this.slo = Objects.requireNonNull(slo, "slo");
  }

  public synchronized void record(Sample s) {
    requests++;
    if (s.stream()) streams++;
    int second = (int) Math.max(0, (s.startNanos() - startNanos) / 1_000_000_000L);
    Second sec = seconds.computeIfAbsent(second, k -> new Second());
    sec.requests++;
    if (s.node() != null) nodes.merge(s.node(), 1L, Long::sum);
    if (s.status() == 429) {
      shed++;
      if ("429".equals(s.errorClass())) shedWithRetryAfter++;
    }
    if (s.errorClass() != null) {
      errorCount++;
      sec.errors++;
      errors.merge(s.errorClass(), 1L, Long::sum);
      return;
    }
    outcomes.merge(s.outcome(), 1L, Long::sum);
    long e = clamp(s.e2eMicros());
    e2e.recordValue(e);
    sec.e2e.recordValue(e);
    if (s.ttftMicros() >= 0) ttft.recordValue(clamp(s.ttftMicros()));
    if (s.itlMicros() != null) for (long gap : s.itlMicros()) itl.recordValue(clamp(gap));
    outputTokens += s.outputTokens();
    if (withinSlo(s)) goodput++;
  }

  /**
   * Whether an answer meets the SLO: a stream by its first token and its time per output token after it; a plain
   * answer (no first-token time) by its whole time against TTFT + tokens × TPOT.
   */
  private boolean withinSlo(Sample s) {
    long ttftLimit = slo.ttft().toNanos() / 1000;
    long tpotLimit = slo.tpot().toNanos() / 1000;
    if (s.ttftMicros() >= 0) {
      long perToken = s.outputTokens() > 1 ? (s.e2eMicros() - s.ttftMicros()) / (s.outputTokens() - 1) : 0;
      return s.ttftMicros() <= ttftLimit && perToken <= tpotLimit;
    }
    return s.e2eMicros() <= ttftLimit + Math.max(0, s.outputTokens()) * tpotLimit;
  }

  /** Records an agent turn: also into the TTFT of cached-eligible turns or of the others. */
  public synchronized void record(Sample s, boolean cachedEligible) {
    agentTurns = true;
    record(s);
    if (s.errorClass() == null && s.ttftMicros() >= 0) {
      (cachedEligible ? ttftCachedEligible : ttftOther).recordValue(clamp(s.ttftMicros()));
    }
  }

  synchronized void agent(double prefixCacheHitRate, String agentStats) {
    this.prefixCacheHitRate = prefixCacheHitRate;
    this.agentStats = agentStats;
  }

  /** The prefix-cache hit rate as printed: a percentage, or n/a when the nodes' counters were not available. */
  public synchronized String prefixCacheHitRate() {
    return Double.isNaN(prefixCacheHitRate) ? "n/a" : String.format("%.1f %%", 100 * prefixCacheHitRate);
  }

  synchronized boolean agentTurns() {
    return agentTurns;
  }

  /** The agent workload statistics of what was sent (empty for other runs). */
  public synchronized String agentStats() {
    return agentStats;
  }

  private static long clamp(long micros) {
    return Math.max(1, Math.min(MAX_MICROS, micros));
  }

  synchronized void finish(long endNanos, String plan) {
    this.endNanos = endNanos;
    this.plan = plan;
  }

  public synchronized long requests() {
    return requests;
  }

  /** States that the target's simulated nodes ran {@code scale} times faster than real GPUs (1 = real time). */
  public synchronized void timeScale(double scale) {
    if (!(scale > 0)) throw new IllegalArgumentException("time scale " + scale + " must be > 0");
    this.timeScale = scale;
  }

  public synchronized double timeScale() {
    return timeScale;
  }

  /** "10×", "1×", "2.5×". */
  synchronized String timeScaleLabel() {
    return number(timeScale) + "×";
  }

  /** The time scale in a sentence, for the report and the end of the table. */
  public synchronized String timeScaleSentence() {
    if (timeScale == 1) {
      return "time scale 1× (real time; against a demo or simulator at --time-scale X, run sluice bench with the same "
          + "--time-scale X so this says so)";
    }
    return "time scale " + timeScaleLabel() + ": the simulated GPUs ran " + number(timeScale) + " times faster than "
        + "real ones, so real-GPU latencies are about " + number(timeScale) + " times these";
  }

  /** A figure as printed: an integral value without decimals ({@code 10}, not {@code 10.00}), else two. */
  public static String number(double v) {
    if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
    return String.format("%.2f", v);
  }

  /** Whether a summary metric is a count (requests, errors, tokens, turns), printed and written as an integer. */
  public static boolean isCount(String metric) {
    return switch (metric) {
      case "requests", "errors", "output_tokens", "stream_requests", "goodput", "shed_429",
          "shed_429_with_retry_after" -> true;
      default -> metric.endsWith("_turns");
    };
  }

  /** A summary metric as printed: a count as an integer ({@code 1000}, not {@code 1000.00}), else two decimals. */
  public static String format(String metric, double v) {
    return isCount(metric) ? Long.toString(Math.round(v)) : String.format("%.2f", v);
  }

  public synchronized long errorCount() {
    return errorCount;
  }

  public synchronized Map<String, Long> nodes() {
    return new TreeMap<>(nodes);
  }

  public synchronized Map<String, Long> errors() {
    return new TreeMap<>(errors);
  }

  public synchronized Map<String, Long> outcomes() {
    return new TreeMap<>(outcomes);
  }

  /** Seconds from start to the last answer (or to now while running). */
  public synchronized double elapsedSeconds() {
    long end = endNanos == 0 ? clock.nanos() : endNanos;
    return Math.max(1e-3, (end - startNanos) / 1e9);
  }

  /** A percentile of end-to-end latency in milliseconds (0 when nothing was answered). */
  public synchronized double e2eMillis(double percentile) {
    return e2e.getTotalCount() == 0 ? 0 : e2e.getValueAtPercentile(percentile) / 1000.0;
  }

  public synchronized double ttftMillis(double percentile) {
    return ttft.getTotalCount() == 0 ? 0 : ttft.getValueAtPercentile(percentile) / 1000.0;
  }

  public synchronized double itlMillis(double percentile) {
    return itl.getTotalCount() == 0 ? 0 : itl.getValueAtPercentile(percentile) / 1000.0;
  }

  /** The headline numbers, by name (names end in their unit); what {@code --json} and {@code --compare} carry. */
  public synchronized Map<String, Double> summary() {
    Map<String, Double> m = new LinkedHashMap<>();
    double t = elapsedSeconds();
    m.put("requests", (double) requests);
    m.put("errors", (double) errorCount);
    m.put("error_rate_percent", requests == 0 ? 0 : 100.0 * errorCount / requests);
    m.put("duration_seconds", t);
    m.put("qps", requests / t);
    m.put("output_tokens", (double) outputTokens);
    m.put("output_tokens_per_second", outputTokens / t);
    m.put("stream_requests", (double) streams);
    m.put("goodput", (double) goodput);
    m.put("goodput_per_second", goodput / t);
    m.put("shed_429", (double) shed);
    m.put("shed_429_with_retry_after", (double) shedWithRetryAfter);
    for (String[] h : new String[][] {{"e2e", ""}, {"ttft", ""}, {"itl", ""}}) {
      Histogram hist = h[0].equals("e2e") ? e2e : h[0].equals("ttft") ? ttft : itl;
      boolean empty = hist.getTotalCount() == 0;
      for (double p : new double[] {50, 90, 95, 99}) {
        m.put(h[0] + "_p" + (int) p + "_ms", empty ? 0 : hist.getValueAtPercentile(p) / 1000.0);
      }
      m.put(h[0] + "_max_ms", empty ? 0 : hist.getMaxValue() / 1000.0);
      m.put(h[0] + "_mean_ms", empty ? 0 : hist.getMean() / 1000.0);
    }
    if (agentTurns) {
      for (String kind : new String[] {"cached_eligible", "other"}) {
        Histogram hist = kind.equals("other") ? ttftOther : ttftCachedEligible;
        m.put("ttft_" + kind + "_turns", (double) hist.getTotalCount());
        for (double p : new double[] {50, 90, 99}) {
          m.put("ttft_" + kind + "_p" + (int) p + "_ms",
              hist.getTotalCount() == 0 ? 0 : hist.getValueAtPercentile(p) / 1000.0);
        }
      }
      if (!Double.isNaN(prefixCacheHitRate)) m.put("prefix_cache_hit_rate_percent", 100 * prefixCacheHitRate);
    }
    return m;
  }

  /** The whole result as JSON: plan, summary, counts and the per-second timeline. */
  public synchronized ObjectNode toJson() {
    ObjectNode root = Json.MAPPER.createObjectNode();
    root.put("plan", plan);
    root.put("time_scale", timeScale);
    if (agentTurns) root.put("prefix_cache_hit_rate", prefixCacheHitRate());
    ObjectNode s = root.putObject("summary");
    summary().forEach((k, v) -> {
      if (isCount(k)) s.put(k, Math.round(v)); // counts as integers
      else s.put(k, v);
    });
    ObjectNode e = root.putObject("errors_by_class");
    errors.forEach(e::put);
    ObjectNode n = root.putObject("requests_by_node");
    nodes.forEach(n::put);
    ObjectNode o = root.putObject("requests_by_outcome");
    outcomes.forEach(o::put);
    var timeline = root.putArray("timeline");
    seconds.forEach((sec, b) -> timeline.addObject().put("second", sec).put("requests", b.requests)
        .put("errors", b.errors)
        .put("e2e_p50_ms", b.e2e.getTotalCount() == 0 ? 0 : b.e2e.getValueAtPercentile(50) / 1000.0)
        .put("e2e_p95_ms", b.e2e.getTotalCount() == 0 ? 0 : b.e2e.getValueAtPercentile(95) / 1000.0));
    return root;
  }

  /** The summary table printed at the end of a run. */
  public synchronized String table() {
    Map<String, Double> m = summary();
    StringBuilder sb = new StringBuilder();
    sb.append(String.format("requests %d, errors %d (%.2f %%), %.1f s, %.1f req/s, %.0f output tokens/s, time scale %s%n",
        requests, errorCount, m.get("error_rate_percent"), m.get("duration_seconds"), m.get("qps"),
        m.get("output_tokens_per_second"), timeScaleLabel()));
    sb.append(String.format("goodput %d (%.2f/s: %s); 429 %d, of them %d with Retry-After in the API's format%n",
        goodput, m.get("goodput_per_second"), slo.describe(), shed, shedWithRetryAfter));
    sb.append(String.format("%-12s %9s %9s %9s %9s %9s %9s%n", "latency ms", "p50", "p90", "p95", "p99", "max", "n"));
    row(sb, "end-to-end", "e2e", m, e2e.getTotalCount());
    row(sb, "first token", "ttft", m, ttft.getTotalCount());
    row(sb, "inter-token", "itl", m, itl.getTotalCount());
    if (agentTurns) {
      sb.append(String.format("%-22s %9s %9s %9s %9s%n", "first token by turn ms", "p50", "p90", "p99", "n"));
      for (String kind : new String[] {"cached_eligible", "other"}) {
        sb.append(String.format("%-22s %9.1f %9.1f %9.1f %9d%n", kind.replace('_', '-'),
            m.get("ttft_" + kind + "_p50_ms"), m.get("ttft_" + kind + "_p90_ms"), m.get("ttft_" + kind + "_p99_ms"),
            m.get("ttft_" + kind + "_turns").longValue()));
      }
      sb.append("prefix cache hit rate: ").append(prefixCacheHitRate()).append(Double.isNaN(prefixCacheHitRate)
          ? " (no node counters: --node-metrics URL,... of nodes exposing vllm:prefix_cache_hits_total)\n"
          : " (nodes' vllm:prefix_cache_hits_total / vllm:prefix_cache_queries_total over the run)\n");
    }
    sb.append("by node:    ").append(join(nodes)).append('\n');
    sb.append("by outcome: ").append(join(outcomes)).append('\n');
    sb.append("errors:     ").append(errors.isEmpty() ? "none" : join(errors)).append('\n');
    return sb.toString();
  }

  private static void row(StringBuilder sb, String label, String key, Map<String, Double> m, long n) {
    sb.append(String.format("%-12s %9.1f %9.1f %9.1f %9.1f %9.1f %9d%n", label, m.get(key + "_p50_ms"),
        m.get(key + "_p90_ms"), m.get(key + "_p95_ms"), m.get(key + "_p99_ms"), m.get(key + "_max_ms"), n));
  }

  private static String join(Map<String, Long> counts) {
    StringBuilder sb = new StringBuilder();
    counts.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ", ").append(k).append(' ').append(v));
    return sb.isEmpty() ? "-" : sb.toString();
  }

  /** The live progress line: elapsed, done, rate, errors, p95 so far. */
  public synchronized String progressLine() {
    double t = elapsedSeconds();
    return String.format("%6.1f s  %6d done  %7.1f req/s  %5d errors  p95 %8.1f ms", t, requests, requests / t,
        errorCount, e2e.getTotalCount() == 0 ? 0 : e2e.getValueAtPercentile(95) / 1000.0);
  }

  String plan() {
    return plan;
  }
}
