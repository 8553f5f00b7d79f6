package dev.sluice.lab;

import dev.sluice.flow.Band;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * What one run measured. Times are simulated nanoseconds; rates are per second of the arrival window.
 *
 * @param arrived requests that arrived during the arrival window
 * @param completed requests that produced their whole output
 * @param good completed requests meeting the SLO (TTFT ≤ 5 s and time per output token ≤ 200 ms)
 * @param shed requests the policy rejected (admission control, HTTP 429)
 * @param failed requests that failed: every planned attempt failed, reset after the first token, no node fits the
 *     context, or still unfinished when the drain period ended
 * @param windowSeconds length of the arrival window
 * @param ttftNanos sorted time to first token of every request that got one (including retries' waiting)
 * @param e2eNanos sorted end-to-end time of every completed request
 * @param nodes per-node counts, by node id
 * @param requests every request, in arrival order
 * @param prefixQueryTokens prompt tokens of requests that queried the engines' prefix caches (agent workloads)
 * @param prefixHitTokens of those, the tokens found cached (prefill skipped)
 * @param affinity how the router's affinity judged each attempt sent to an engine (agent workloads)
 */
public record RunResult(
    int arrived,
    int completed,
    int good,
    int shed,
    int failed,
    double windowSeconds,
    long[] ttftNanos,
    long[] e2eNanos,
    Map<String, NodeCounts> nodes,
    List<RequestRecord> requests,
    long prefixQueryTokens,
    long prefixHitTokens,
    AffinityCounts affinity) {

  /** Tallies a finished run's requests (each with its outcome) against the goodput SLO. */
  static RunResult of(List<LabRequest> requests, Map<String, NodeCounts> nodes, double windowSeconds,
      long prefixQueryTokens, long prefixHitTokens, AffinityCounts affinity) {
    int completed = 0;
    int good = 0;
    int shed = 0;
    int failed = 0;
    long[] ttft = new long[requests.size()];
    long[] e2e = new long[requests.size()];
    int ttftCount = 0;
    int e2eCount = 0;
    List<RequestRecord> records = new ArrayList<>(requests.size());
    for (LabRequest r : requests) {
      long t = r.firstTokenAt < 0 ? -1 : r.firstTokenAt - r.arrival;
      long e = r.outcome == Outcome.COMPLETED ? r.finishedAt - r.arrival : -1;
      if (t >= 0) {
        ttft[ttftCount++] = t;
      }
      switch (r.outcome) {
        case COMPLETED -> {
          completed++;
          e2e[e2eCount++] = e;
          long tpot = r.generated <= 1 ? 0 : (r.finishedAt - r.firstTokenAt) / (r.generated - 1);
          if (t <= LabSimulation.TTFT_SLO_NANOS && tpot <= LabSimulation.TPOT_SLO_NANOS) {
            good++;
          }
        }
        case SHED -> shed++;
        case FAILED -> failed++;
      }
      records.add(new RequestRecord(r.arrival, r.prompt, r.generated, r.servedBy, r.outcome, t, e, r.attempts,
          r.cachedEligible, r.session, r.tenant, r.band, r.sentAt < 0 ? -1 : r.sentAt - r.arrival,
          r.expectedTtftMillis));
    }
    long[] ttftSorted = Arrays.copyOf(ttft, ttftCount);
    long[] e2eSorted = Arrays.copyOf(e2e, e2eCount);
    Arrays.sort(ttftSorted);
    Arrays.sort(e2eSorted);
    return new RunResult(requests.size(), completed, good, shed, failed, windowSeconds, ttftSorted, e2eSorted, nodes,
        records, prefixQueryTokens, prefixHitTokens, affinity);
  }

  /** Share of queried prompt tokens found in the engines' prefix caches, 0–1; NaN when nothing queried. */
  public double prefixHitRate() {
    return prefixQueryTokens <= 0 ? Double.NaN : (double) prefixHitTokens / prefixQueryTokens;
  }

  /** Sorted TTFTs of the requests that got a first token and are (or are not) cached-eligible agent turns. */
  public long[] ttftNanos(boolean cachedEligible) {
    return requests.stream().filter(r -> r.ttftNanos() >= 0 && r.cachedEligible() == cachedEligible)
        .mapToLong(RequestRecord::ttftNanos).sorted().toArray();
  }

  public double throughputPerSecond() {
    return completed / windowSeconds;
  }

  public double goodputPerSecond() {
    return good / windowSeconds;
  }

  /** Quantile {@code q} (0–1) of {@code sorted} in seconds (nearest rank), NaN when empty. */
  public static double quantileSeconds(long[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int rank = (int) Math.ceil(q * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))] / 1e9;
  }

  /**
   * Attempts sent to an engine by their {@link dev.sluice.routing.Affinity.Outcome}: to the node where the router
   * estimated the prompt warm (hit), nowhere warm (miss), elsewhere (moved).
   */
  public record AffinityCounts(int hits, int misses, int moves) {
    /** Attempts counted. */
    public int total() {
      return hits + misses + moves;
    }

    /** Share of attempts that were hits, 0–1; NaN when none was counted. */
    public double hitShare() {
      return total() == 0 ? Double.NaN : (double) hits / total();
    }

    /** Share of attempts that moved, 0–1; NaN when none was counted. */
    public double moveShare() {
      return total() == 0 ? Double.NaN : (double) moves / total();
    }
  }

  /**
   * Per-node counts.
   *
   * @param attempts attempts sent (or refused) to the node
   * @param completions requests the node answered completely
   * @param busyNanos simulated time its engine ran a step
   */
  public record NodeCounts(int attempts, int completions, long busyNanos) {}

  /**
   * One request's fate.
   *
   * @param arrivalNanos when it arrived, simulated
   * @param promptTokens prompt tokens as generated (before any Ollama truncation)
   * @param outputTokens tokens generated (0 unless it completed)
   * @param node node that completed it, or null
   * @param outcome how it ended
   * @param ttftNanos time to first token, or -1
   * @param e2eNanos end-to-end time, or -1
   * @param attempts attempts made
   * @param cachedEligible an agent turn reusing ≥ 90 % of its session's previous input
   * @param session an agent request's session id (a sub-agent's own {@code parent/sub-…} id); null for chat
   * @param tenant whose request it was ({@code default} outside the tenant scenarios)
   * @param band its priority band
   * @param sentNanos from its arrival to the send of its last attempt (its wait in the gateway's queue, and the
   *     attempts before), or -1: never sent
   * @param expectedTtftMillis least-delay's estimate of its last attempt's TTFT at send (NaN: none)
   */
  public record RequestRecord(
      long arrivalNanos, int promptTokens, int outputTokens, String node, Outcome outcome, long ttftNanos, long e2eNanos,
      int attempts, boolean cachedEligible, String session, String tenant, Band band, long sentNanos,
      double expectedTtftMillis) {
    /** Whether it completed within the goodput SLO (TTFT ≤ 5 s, time per output token ≤ 200 ms). */
    public boolean good() {
      if (outcome != Outcome.COMPLETED) {
        return false;
      }
      long decode = e2eNanos - ttftNanos;
      long tpot = outputTokens <= 1 ? 0 : decode / (outputTokens - 1);
      return ttftNanos <= LabSimulation.TTFT_SLO_NANOS && tpot <= LabSimulation.TPOT_SLO_NANOS;
    }
  }

  /** How a request ended. */
  public enum Outcome { COMPLETED, SHED, FAILED }
}
