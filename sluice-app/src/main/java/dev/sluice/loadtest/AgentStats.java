package dev.sluice.loadtest;

import dev.sluice.loadtest.AgentWorkload.Kind;
import dev.sluice.loadtest.AgentWorkload.Request;
import dev.sluice.loadtest.AgentWorkload.Step;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The statistics of agent steps, to compare with design/AGENTS.md: share of main-agent turns reusing ≥ 90 % of the
 * previous input as a verbatim prefix (and the median reuse), prefix resets, prompt sizes (KB and ≈ tokens), burst
 * sizes and think times. Thread-safe.
 */
public final class AgentStats {
  private final List<Double> reuse = new ArrayList<>();
  private final List<Double> promptChars = new ArrayList<>();
  private final List<Double> bursts = new ArrayList<>();
  private final List<Double> thinkMillis = new ArrayList<>();
  private long sessions;
  private long requests;
  private long mainTurns;
  private long resets;
  private long subagentRequests;

  /** Counts one step of a session ({@code requests} may be fewer than the step's when a run stopped inside it). */
  public synchronized void add(Step step, List<Request> sent) {
    if (sent.isEmpty()) return;
    thinkMillis.add((double) step.thinkMillis());
    if (sent.get(0).kind() == Kind.SUBAGENT) bursts.add((double) sent.size());
    for (Request r : sent) {
      requests++;
      promptChars.add((double) r.inputChars());
      switch (r.kind()) {
        case SUBAGENT -> subagentRequests++;
        case RESET -> resets++;
        case MAIN -> { }
      }
      if (r.kind() == Kind.SUBAGENT) continue;
      mainTurns++;
      if (r.turn() == 0) sessions++;
      else reuse.add(r.reuse());
    }
  }

  public void add(Step step) {
    add(step, step.requests());
  }

  public synchronized long requests() {
    return requests;
  }

  public synchronized long sessions() {
    return sessions;
  }

  /** Share of main-agent turns (after a session's first) whose input reuses ≥ 90 % of the previous one, 0–1. */
  public synchronized double cachedEligibleShare() {
    if (reuse.isEmpty()) return 0;
    return reuse.stream().filter(v -> v >= AgentWorkload.CACHED_ELIGIBLE_REUSE).count() / (double) reuse.size();
  }

  /** Share of main-agent turns that reset the prefix, 0–1. */
  public synchronized double resetShare() {
    return reuse.isEmpty() ? 0 : resets / (double) reuse.size();
  }

  public synchronized double reusePercentile(double p) {
    return percentile(reuse, p);
  }

  public synchronized double promptKb(double p) {
    return percentile(promptChars, p) / 1000;
  }

  public synchronized double promptTokens(double p) {
    return percentile(promptChars, p) / 4;
  }

  public synchronized double burstSize(double p) {
    return percentile(bursts, p);
  }

  public synchronized long burstCount() {
    return bursts.size();
  }

  public synchronized double thinkSeconds(double p) {
    return percentile(thinkMillis, p) / 1000;
  }

  /** Share of requests sent by sub-agents, 0–1. */
  public synchronized double subagentShare() {
    return requests == 0 ? 0 : subagentRequests / (double) requests;
  }

  /** Nearest-rank percentile (0 when empty). */
  private static double percentile(List<Double> values, double p) {
    if (values.isEmpty()) return 0;
    double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(v);
    int i = (int) Math.ceil(p / 100 * v.length) - 1;
    return v[Math.max(0, Math.min(v.length - 1, i))];
  }

  /** A few lines for the terminal and docs/bench.md. */
  public synchronized String table() {
    return String.format("agent workload: %d sessions, %d requests (%d main-agent turns, %.0f %% from sub-agents)%n",
        sessions, requests, mainTurns, 100 * subagentShare())
        + String.format("  prefix reuse: %.1f %% of turns reuse >= 90 %% of the previous input (median %.1f %%), "
            + "%.1f %% reset%n", 100 * cachedEligibleShare(), 100 * reusePercentile(50), 100 * resetShare())
        + String.format("  prompt size:  p50 %.1f KB (%.0f tokens), p90 %.1f KB (%.0f tokens), max %.1f KB%n",
            promptKb(50), promptTokens(50), promptKb(90), promptTokens(90), promptKb(100))
        + String.format("  bursts:       %d, size p50 %.0f, p90 %.0f, max %.0f%n", bursts.size(), burstSize(50),
            burstSize(90), burstSize(100))
        + String.format("  think time:   p50 %.1f s, p90 %.1f s, p99 %.1f s%n", thinkSeconds(50), thinkSeconds(90),
            thinkSeconds(99));
  }
}
