package dev.sluice.observe;

import dev.sluice.support.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.HdrHistogram.Histogram;

/**
 * What the console draws that no other part of the gateway keeps: per model, one-minute buckets over the last
 * {@value #MINUTES} minutes with a count per outcome and an end-to-end latency histogram; per node, the time to first
 * byte over the last {@value #TTFT_MINUTES} minutes (p50, p95); the last {@value #RECENT_CHANGES} node state changes.
 * Fed by {@link #onRequest} (every finished request) and {@link #nodeTransition}; read by {@link #snapshot()}.
 * Thread-safe: one small lock per model and per node, taken for a few array updates.
 *
 * <p>Error rate of a minute: {@code (failed + static) / all requests} of that minute — the requests whose client got
 * no answer from a model because of the nodes (an error, or the configured static reply). Client errors (4xx),
 * cancellations, cached and downgraded answers are not errors here.
 */
public final class ConsoleStats implements RequestObserver {
  /** Minutes of per-model history: the "last 15 min". */
  public static final int MINUTES = 15;
  /** Minutes a node's TTFT percentiles look back: long enough for a few hundred samples, short enough to react. */
  public static final int TTFT_MINUTES = 5;
  /** Node state changes kept for the console's list. */
  public static final int RECENT_CHANGES = 100;
  /** Outcome labels in display order (RoutedRequest's outcomes). */
  public static final List<String> OUTCOMES =
      List.of("ok", "cached", "downgraded", "static", "client_error", "failed", "cancelled");
  /**
   * Upper bounds (ms) of the latency histogram's buckets, roughly ×2–2.5 apart from 25 ms to 2 min; one more bucket
   * takes everything above the last bound.
   */
  public static final long[] LATENCY_BOUNDS_MILLIS =
      {25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000};
  private static final long MINUTE_MILLIS = 60_000;
  /** Models and nodes tracked at most: configured ids are bounded, this guards against a label explosion. */
  private static final int MAX_KEYS = 1_000;
  /** TTFT histogram range: 1 ms to 10 min at 2 significant digits (a few KiB per bucket). */
  private static final long TTFT_MAX_MILLIS = 600_000;

  private final Clock clock;
  private final ConcurrentHashMap<String, ModelSeries> models = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, NodeTtft> nodes = new ConcurrentHashMap<>();
  /** Guarded by itself. */
  private final ArrayDeque<StateChange> changes = new ArrayDeque<>(RECENT_CHANGES);

  /** @param clock epoch millis, the only time source */
  public ConsoleStats(Clock clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  @Override
  public void onRequest(RequestRecord r) {
    // the admin plane (the console's own polling) and unknown paths are not model traffic
    if ("admin".equals(r.endpoint()) || "other".equals(r.endpoint())) return;
    long now = clock.millis();
    String model = r.modelRequested() == null ? "unknown" : r.modelRequested();
    ModelSeries m = models.get(model);
    if (m == null && models.size() < MAX_KEYS) m = models.computeIfAbsent(model, k -> new ModelSeries());
    if (m != null) m.add(now, r.outcome(), r.durationNanos());
    if (r.node() != null && r.ttftNanos() >= 0) {
      NodeTtft n = nodes.get(r.node());
      if (n == null && nodes.size() < MAX_KEYS) n = nodes.computeIfAbsent(r.node(), k -> new NodeTtft());
      if (n != null) n.add(now, r.ttftNanos());
    }
  }

  /** Shows {@code ids} (the configured models) even before their first request. */
  public void track(Collection<String> ids) {
    for (String id : ids) {
      if (models.size() < MAX_KEYS) models.computeIfAbsent(id, k -> new ModelSeries());
    }
  }

  /** A node changed state (Gateway's health listener). */
  public void nodeTransition(String node, String from, String to, String reason) {
    StateChange c = new StateChange(clock.millis(), node, from, to, reason);
    synchronized (changes) {
      if (changes.size() == RECENT_CHANGES) changes.removeFirst();
      changes.addLast(c);
    }
  }

  /** Everything at this moment; plain records, serialisable by Jackson as they are. */
  public Snapshot snapshot() {
    long now = clock.millis();
    long minute = now / MINUTE_MILLIS;
    List<ModelView> modelViews = new ArrayList<>();
    models.entrySet().stream().sorted(Map.Entry.comparingByKey())
        .forEach(e -> modelViews.add(e.getValue().view(e.getKey(), minute)));
    Map<String, TtftView> ttft = new LinkedHashMap<>();
    nodes.entrySet().stream().sorted(Map.Entry.comparingByKey())
        .forEach(e -> {
          TtftView v = e.getValue().view(minute);
          if (v != null) ttft.put(e.getKey(), v);
        });
    List<StateChange> recent;
    synchronized (changes) {
      recent = List.copyOf(changes);
    }
    return new Snapshot(now, MINUTES, modelViews, ttft, recent);
  }

  /** The TTFT percentiles of one node (null when it answered nothing in the last {@value #TTFT_MINUTES} minutes). */
  public TtftView ttft(String node) {
    NodeTtft n = nodes.get(node);
    return n == null ? null : n.view(clock.millis() / MINUTE_MILLIS);
  }

  /**
   * @param atMillis when the snapshot was taken
   * @param minutes length of each model's series
   * @param models per model, sorted by id
   * @param ttft per node id that answered recently
   * @param changes the last node state changes, oldest first
   */
  public record Snapshot(long atMillis, int minutes, List<ModelView> models, Map<String, TtftView> ttft,
      List<StateChange> changes) {}

  /**
   * @param model model id (as requested)
   * @param latency end-to-end latency over the last {@value #MINUTES} minutes, one count per bucket
   * @param points one per minute, oldest first, the current (partial) minute last
   * @param total requests over the window
   * @param errors failed + static over the window
   */
  public record ModelView(String model, List<LatencyBucket> latency, List<MinutePoint> points, long total,
      long errors) {}

  /** {@code count} requests took at most {@code leMillis} (and more than the previous bound); -1 = above the last. */
  public record LatencyBucket(long leMillis, long count) {}

  /**
   * @param startMillis epoch millis the minute starts at
   * @param outcomes count per outcome label (every label of {@link #OUTCOMES}, zeros included)
   * @param total all requests of the minute
   * @param errorRate (failed + static) / total, 0 without requests
   */
  public record MinutePoint(long startMillis, Map<String, Long> outcomes, long total, double errorRate) {}

  /** Time to first byte of a node's answers over the last {@value #TTFT_MINUTES} minutes. */
  public record TtftView(long count, double p50Millis, double p95Millis) {}

  /** One node state change. */
  public record StateChange(long atMillis, String node, String from, String to, String reason) {}

  // ------------------------------------------------------------------ per model

  private static final class ModelSeries {
    /** Slot i holds minute {@code minutes[i]} (ring indexed by minute % MINUTES). */
    private final long[] minutes = new long[MINUTES];
    private final long[][] outcomes = new long[MINUTES][OUTCOMES.size() + 1];
    private final long[][] latency = new long[MINUTES][LATENCY_BOUNDS_MILLIS.length + 1];

    ModelSeries() {
      Arrays.fill(minutes, -1);
    }

    synchronized void add(long nowMillis, String outcome, long durationNanos) {
      long minute = nowMillis / MINUTE_MILLIS;
      int slot = (int) (minute % MINUTES);
      if (minutes[slot] != minute) {
        minutes[slot] = minute;
        Arrays.fill(outcomes[slot], 0);
        Arrays.fill(latency[slot], 0);
      }
      int o = OUTCOMES.indexOf(outcome);
      outcomes[slot][o < 0 ? OUTCOMES.size() : o]++;
      latency[slot][latencyBucket(durationNanos / 1_000_000)]++;
    }

    synchronized ModelView view(String model, long nowMinute) {
      long[] hist = new long[LATENCY_BOUNDS_MILLIS.length + 1];
      List<MinutePoint> points = new ArrayList<>(MINUTES);
      long total = 0;
      long errors = 0;
      for (long minute = nowMinute - MINUTES + 1; minute <= nowMinute; minute++) {
        int slot = (int) (minute % MINUTES);
        boolean live = minute >= 0 && minutes[slot] == minute;
        Map<String, Long> counts = new LinkedHashMap<>();
        long all = 0;
        for (int i = 0; i < OUTCOMES.size(); i++) {
          long c = live ? outcomes[slot][i] : 0;
          counts.put(OUTCOMES.get(i), c);
          all += c;
        }
        if (live) {
          all += outcomes[slot][OUTCOMES.size()];
          for (int b = 0; b < hist.length; b++) hist[b] += latency[slot][b];
        }
        long err = counts.get("failed") + counts.get("static");
        points.add(new MinutePoint(minute * MINUTE_MILLIS, counts, all, all == 0 ? 0 : (double) err / all));
        total += all;
        errors += err;
      }
      List<LatencyBucket> buckets = new ArrayList<>(hist.length);
      for (int b = 0; b < hist.length; b++) {
        buckets.add(new LatencyBucket(b < LATENCY_BOUNDS_MILLIS.length ? LATENCY_BOUNDS_MILLIS[b] : -1, hist[b]));
      }
      return new ModelView(model, buckets, points, total, errors);
    }
  }

  static int latencyBucket(long millis) {
    for (int b = 0; b < LATENCY_BOUNDS_MILLIS.length; b++) {
      if (millis <= LATENCY_BOUNDS_MILLIS[b]) return b;
    }
    return LATENCY_BOUNDS_MILLIS.length;
  }

  // ------------------------------------------------------------------ per node

  private static final class NodeTtft {
    private final long[] minutes = new long[TTFT_MINUTES];
    private final Histogram[] histograms = new Histogram[TTFT_MINUTES];

    NodeTtft() {
      Arrays.fill(minutes, -1);
      for (int i = 0; i < TTFT_MINUTES; i++) histograms[i] = new Histogram(1, TTFT_MAX_MILLIS, 2);
    }

    synchronized void add(long nowMillis, long ttftNanos) {
      long minute = nowMillis / MINUTE_MILLIS;
      int slot = (int) (minute % TTFT_MINUTES);
      if (minutes[slot] != minute) {
        minutes[slot] = minute;
        histograms[slot].reset();
      }
      histograms[slot].recordValue(Math.max(1, Math.min(TTFT_MAX_MILLIS, (ttftNanos + 500_000) / 1_000_000)));
    }

    synchronized TtftView view(long nowMinute) {
      Histogram merged = new Histogram(1, TTFT_MAX_MILLIS, 2);
      for (int i = 0; i < TTFT_MINUTES; i++) {
        if (minutes[i] > nowMinute - TTFT_MINUTES && minutes[i] <= nowMinute) merged.add(histograms[i]);
      }
      long n = merged.getTotalCount();
      if (n == 0) return null;
      return new TtftView(n, merged.getValueAtPercentile(50), merged.getValueAtPercentile(95));
    }
  }
}
