package dev.sluice.observe;

import dev.sluice.support.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the console draws that no other part of the gateway keeps, in fixed rings (no allocation per request):
 * <ul>
 *   <li>per model, one-minute buckets over the last {@value #MINUTES} minutes with a count per outcome, a coarse
 *       end-to-end latency histogram for the chart and a fine one for the percentiles, response-cache lookups by
 *       result; request counts in
 *       {@value #SLOT_SECONDS}-second slots for the request rate. Model-list calls and requests that named no
 *       configured model are kept apart ({@link #MODEL_LISTS}, {@link #NO_MODEL});</li>
 *   <li>per node, requests answered and attempt failures by kind in {@value #SLOT_SECONDS}-second slots over
 *       {@value #MINUTES} minutes (the 1, 5 and 15 minute counts and the request share), time to first byte and
 *       end-to-end latency per minute (p50/p95 over the last {@value #TTFT_MINUTES} minutes, a per-minute TTFT trend),
 *       and its telemetry sampled every {@value #TELEMETRY_SLOT_SECONDS} s (the GPU trends; a stale or unknown sample
 *       is kept as unknown, never as the last number);</li>
 *   <li>the last {@value #RECENT_CHANGES} node state changes.</li>
 * </ul>
 * Fed by {@link #onRequest} (every finished request), {@link #attemptFailed}, {@link #telemetry} and
 * {@link #nodeTransition}; read by {@link #snapshot()}. Thread-safe: one small lock per model and per node, taken for a
 * few array updates. Memory is bounded: about 40 KiB per node and 20 KiB per model, for at most {@value #MAX_KEYS} of
 * each.
 *
 * <p>Error rate of a minute: {@code (failed + static) / all requests} of that minute — the requests whose client got
 * no answer from a model because of the nodes (an error, or the configured static reply). Client errors (4xx),
 * cancellations, cached and downgraded answers are not errors here. A node's errors are its failed attempts, whether
 * or not another node then answered the request.
 */
public final class ConsoleStats implements RequestObserver {
  /** Minutes of history: the "last 15 min". */
  public static final int MINUTES = 15;
  /** Minutes a node's TTFT and end-to-end percentiles look back: a few hundred samples, and quick to react. */
  public static final int TTFT_MINUTES = 5;
  /** Node state changes kept for the console's list. */
  public static final int RECENT_CHANGES = 100;
  /** Width of the slots request and error counts are kept in: the "last minute" is the last 50–60 s. */
  public static final int SLOT_SECONDS = 10;
  /** Width of a telemetry sample's slot: two samples per minute, 30 over the 15 minutes. */
  public static final int TELEMETRY_SLOT_SECONDS = 30;
  /** Key of the model-list calls (GET /v1/models, /api/tags, /api/ps, /api/version): they name no model. */
  public static final String MODEL_LISTS = "(model lists)";
  /** Key of requests for a model not configured, or refused before their model was read (bad token, bad body). */
  public static final String NO_MODEL = "(no configured model)";
  /** Outcome labels in display order (RoutedRequest's outcomes). */
  public static final List<String> OUTCOMES =
      List.of("ok", "cached", "downgraded", "static", "client_error", "failed", "cancelled");
  /**
   * A node's attempt failures by kind, in display order (the lower-case names of {@code health.Failure.Kind} that are
   * the node's doing or tell of its load); any other kind counts as "other". A client that left is not the node's
   * error.
   */
  public static final List<String> ERROR_KINDS = List.of("connect", "reset_before_first_byte", "node_error", "busy",
      "first_token_timeout", "stream_broken", "other");
  /**
   * Upper bounds (ms) of the latency histogram's buckets, roughly ×2–2.5 apart from 25 ms to 2 min; one more bucket
   * takes everything above the last bound.
   */
  public static final long[] LATENCY_BOUNDS_MILLIS =
      {25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000};
  /** What a response-cache lookup found ({@link RequestRecord#cache()}). */
  public static final List<String> CACHE_RESULTS = List.of("hit", "stale", "miss");
  private static final Set<String> LIST_ENDPOINTS = Set.of("openai_models", "ollama_tags", "ollama_ps",
      "ollama_version");
  private static final long MINUTE_MILLIS = 60_000;
  private static final long SLOT_MILLIS = SLOT_SECONDS * 1_000L;
  private static final long TELEMETRY_SLOT_MILLIS = TELEMETRY_SLOT_SECONDS * 1_000L;
  private static final int SLOTS = MINUTES * 60 / SLOT_SECONDS;
  private static final int TELEMETRY_SLOTS = MINUTES * 60 / TELEMETRY_SLOT_SECONDS;
  /** Models and nodes tracked at most: configured ids are bounded, this guards against a label explosion. */
  private static final int MAX_KEYS = 1_000;

  private final Clock clock;
  private final long startMillis;
  private final ConcurrentHashMap<String, ModelSeries> models = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, NodeSeries> nodes = new ConcurrentHashMap<>();
  /** Guarded by itself. */
  private final ArrayDeque<StateChange> changes = new ArrayDeque<>(RECENT_CHANGES);

  /** @param clock epoch millis, the only time source */
  public ConsoleStats(Clock clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
    this.startMillis = clock.millis();
  }

  @Override
  public void onRequest(RequestRecord r) {
    // the admin plane (the console's own polling) and unknown paths are not model traffic
    if ("admin".equals(r.endpoint()) || "other".equals(r.endpoint())) return;
    long now = clock.millis();
    String model = r.modelRequested();
    if (model == null || "unknown".equals(model)) model = LIST_ENDPOINTS.contains(r.endpoint()) ? MODEL_LISTS : NO_MODEL;
    ModelSeries m = models.get(model);
    if (m == null && models.size() < MAX_KEYS) m = models.computeIfAbsent(model, k -> new ModelSeries());
    if (m != null) m.add(now, r.outcome(), r.durationNanos(), r.cache());
    if (r.node() != null) {
      NodeSeries n = node(r.node());
      if (n != null) n.answered(now, r.ttftNanos(), r.durationNanos());
    }
  }

  /**
   * An attempt on {@code node} failed ({@code kind}: a failure kind in lower case, as the attempts metric labels it).
   * A client that left ({@code client_cancelled}) is not counted.
   */
  public void attemptFailed(String node, String kind) {
    if (node == null || "client_cancelled".equals(kind) || "ok".equals(kind)) return;
    NodeSeries n = node(node);
    if (n == null) return;
    int k = ERROR_KINDS.indexOf(kind);
    n.error(clock.millis(), k < 0 ? ERROR_KINDS.size() - 1 : k);
  }

  /**
   * A sample of {@code node}'s telemetry for its trends; NaN = unknown (never scraped, not reported, or stale: the
   * caller passes NaN rather than an old number). The last sample of each {@value #TELEMETRY_SLOT_SECONDS}-second slot
   * is kept.
   */
  public void telemetry(String node, double gpuUtilPercent, double gpuTempCelsius, double memoryUsedPercent) {
    NodeSeries n = node(node);
    if (n != null) n.telemetry(clock.millis(), gpuUtilPercent, gpuTempCelsius, memoryUsedPercent);
  }

  private NodeSeries node(String id) {
    NodeSeries n = nodes.get(id);
    if (n == null && nodes.size() < MAX_KEYS) n = nodes.computeIfAbsent(id, k -> new NodeSeries());
    return n;
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
    double rateSeconds = rateSeconds(now);
    List<ModelView> modelViews = new ArrayList<>();
    models.entrySet().stream() // configured models by id, then model-list calls, then no configured model
        .sorted(Comparator.comparing((Map.Entry<String, ModelSeries> e) -> special(e.getKey()))
            .thenComparing(Map.Entry::getKey))
        .forEach(e -> modelViews.add(e.getValue().view(e.getKey(), now, rateSeconds)));
    Map<String, TtftView> ttft = new LinkedHashMap<>();
    Map<String, NodeTraffic> traffic = new LinkedHashMap<>();
    nodes.entrySet().stream().sorted(Map.Entry.comparingByKey())
        .forEach(e -> {
          NodeTraffic t = e.getValue().view(now);
          traffic.put(e.getKey(), t);
          if (t.ttft() != null) ttft.put(e.getKey(), new TtftView(t.ttft().count(), t.ttft().p50Millis(),
              t.ttft().p95Millis()));
        });
    List<StateChange> recent;
    synchronized (changes) {
      recent = List.copyOf(changes);
    }
    return new Snapshot(now, MINUTES, modelViews, ttft, traffic, recent);
  }

  private static boolean special(String key) {
    return MODEL_LISTS.equals(key) || NO_MODEL.equals(key);
  }

  /** The TTFT percentiles of one node (null when it answered nothing in the last {@value #TTFT_MINUTES} minutes). */
  public TtftView ttft(String node) {
    NodeSeries n = nodes.get(node);
    if (n == null) return null;
    Percentiles p = n.view(clock.millis()).ttft();
    return p == null ? null : new TtftView(p.count(), p.p50Millis(), p.p95Millis());
  }

  /** Seconds the last minute's request rate is taken over: ~60 s, less while the gateway is younger than that. */
  private double rateSeconds(long now) {
    long span = (now % SLOT_MILLIS) + (LAST_MINUTE_SLOTS - 1) * SLOT_MILLIS;
    return Math.max(1, Math.min(span, now - startMillis)) / 1000.0;
  }

  /**
   * @param atMillis when the snapshot was taken
   * @param minutes length of each model's series
   * @param models per model, sorted by id (with {@link #MODEL_LISTS} and {@link #NO_MODEL} when they had traffic)
   * @param ttft per node id that answered recently
   * @param nodeTraffic per node id seen: requests, errors, percentiles and trends
   * @param changes the last node state changes, oldest first
   */
  public record Snapshot(long atMillis, int minutes, List<ModelView> models, Map<String, TtftView> ttft,
      Map<String, NodeTraffic> nodeTraffic, List<StateChange> changes) {}

  /**
   * @param model model id (as requested), or {@link #MODEL_LISTS} or {@link #NO_MODEL}
   * @param kind "model", "lists" (model-list calls) or "unknown" (no configured model named)
   * @param latency end-to-end latency over the last {@value #MINUTES} minutes, one count per bucket
   * @param points one per minute, oldest first, the current (partial) minute last
   * @param total requests over the window
   * @param errors failed + static over the window
   * @param p50Millis end-to-end p50 over the window (null without requests); p95, p99 likewise
   * @param requestsPerSecond requests over the last minute (50–60 s) ÷ its length
   * @param cache response-cache lookups over the window by result (hit, stale, miss)
   */
  public record ModelView(String model, String kind, List<LatencyBucket> latency, List<MinutePoint> points, long total,
      long errors, Double p50Millis, Double p95Millis, Double p99Millis, double requestsPerSecond,
      Map<String, Long> cache) {}

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

  /** Percentiles of {@code count} samples. */
  public record Percentiles(long count, double p50Millis, double p95Millis) {}

  /** Counts over the last minute (50–60 s), 5 and 15 minutes. */
  public record Window(long m1, long m5, long m15) {}

  /**
   * One node's traffic.
   *
   * @param requests requests the node answered
   * @param errors its failed attempts (all kinds)
   * @param errorKinds failed attempts over 15 minutes by kind ({@link #ERROR_KINDS}; kinds with none left out)
   * @param ttft time to first byte of its answers over {@value #TTFT_MINUTES} minutes; null without answers
   * @param e2e end-to-end latency of its answers over {@value #TTFT_MINUTES} minutes; null without answers
   * @param ttftTrend per minute over 15 minutes, oldest first: TTFT p50 (null: no answer that minute)
   * @param gpuUtilTrend per {@value #TELEMETRY_SLOT_SECONDS} s over 15 minutes, oldest first (null: unknown or stale)
   * @param gpuTempTrend as gpuUtilTrend
   * @param memoryTrend as gpuUtilTrend
   */
  public record NodeTraffic(Window requests, Window errors, Map<String, Long> errorKinds, Percentiles ttft,
      Percentiles e2e, List<Double> ttftTrend, List<Double> gpuUtilTrend, List<Double> gpuTempTrend,
      List<Double> memoryTrend) {}

  /** One node state change. */
  public record StateChange(long atMillis, String node, String from, String to, String reason) {}

  // ------------------------------------------------------------------ per model

  private static final int LAST_MINUTE_SLOTS = 60 / SLOT_SECONDS;

  private static final class ModelSeries {
    /** Slot i holds minute {@code minutes[i]} (ring indexed by minute % MINUTES). */
    private final long[] minutes = new long[MINUTES];
    private final long[][] outcomes = new long[MINUTES][OUTCOMES.size() + 1];
    private final long[][] latency = new long[MINUTES][LATENCY_BOUNDS_MILLIS.length + 1];
    private final int[][] fine = new int[MINUTES][Fine.BUCKETS];
    private final long[][] cache = new long[MINUTES][CACHE_RESULTS.size()];
    private final Slots requests = new Slots(0);

    ModelSeries() {
      Arrays.fill(minutes, -1);
    }

    synchronized void add(long nowMillis, String outcome, long durationNanos, String cacheResult) {
      long minute = nowMillis / MINUTE_MILLIS;
      int slot = (int) (minute % MINUTES);
      if (minutes[slot] != minute) {
        minutes[slot] = minute;
        Arrays.fill(outcomes[slot], 0);
        Arrays.fill(latency[slot], 0);
        Arrays.fill(fine[slot], 0);
        Arrays.fill(cache[slot], 0);
      }
      if (cacheResult != null) {
        int c = CACHE_RESULTS.indexOf(cacheResult);
        if (c >= 0) cache[slot][c]++;
      }
      int o = OUTCOMES.indexOf(outcome);
      outcomes[slot][o < 0 ? OUTCOMES.size() : o]++;
      long millis = durationNanos / 1_000_000;
      latency[slot][latencyBucket(millis)]++;
      fine[slot][Fine.bucket(millis)]++;
      requests.add(nowMillis, -1);
    }

    synchronized ModelView view(String model, long nowMillis, double rateSeconds) {
      long nowMinute = nowMillis / MINUTE_MILLIS;
      long[] hist = new long[LATENCY_BOUNDS_MILLIS.length + 1];
      long[] fineSum = new long[Fine.BUCKETS];
      long[] cacheSum = new long[CACHE_RESULTS.size()];
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
          for (int b = 0; b < Fine.BUCKETS; b++) fineSum[b] += fine[slot][b];
          for (int c = 0; c < cacheSum.length; c++) cacheSum[c] += cache[slot][c];
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
      String kind = MODEL_LISTS.equals(model) ? "lists" : NO_MODEL.equals(model) ? "unknown" : "model";
      long lastMinute = requests.sum(nowMillis, LAST_MINUTE_SLOTS, -1);
      Map<String, Long> lookups = new LinkedHashMap<>();
      for (int c = 0; c < cacheSum.length; c++) lookups.put(CACHE_RESULTS.get(c), cacheSum[c]);
      return new ModelView(model, kind, buckets, points, total, errors, Fine.percentile(fineSum, 50),
          Fine.percentile(fineSum, 95), Fine.percentile(fineSum, 99),
          Math.round(lastMinute / rateSeconds * 100) / 100.0, lookups);
    }
  }

  static int latencyBucket(long millis) {
    for (int b = 0; b < LATENCY_BOUNDS_MILLIS.length; b++) {
      if (millis <= LATENCY_BOUNDS_MILLIS[b]) return b;
    }
    return LATENCY_BOUNDS_MILLIS.length;
  }

  // ------------------------------------------------------------------ per node

  private static final class NodeSeries {
    private final Slots answered = new Slots(0);
    private final Slots errors = new Slots(ERROR_KINDS.size());
    private final long[] minutes = new long[MINUTES];
    private final int[][] ttft = new int[MINUTES][Fine.BUCKETS];
    private final int[][] e2e = new int[MINUTES][Fine.BUCKETS];
    private final long[] telemetrySlots = new long[TELEMETRY_SLOTS];
    private final double[][] telemetry = new double[TELEMETRY_SLOTS][3];

    NodeSeries() {
      Arrays.fill(minutes, -1);
      Arrays.fill(telemetrySlots, -1);
    }

    synchronized void answered(long nowMillis, long ttftNanos, long durationNanos) {
      answered.add(nowMillis, -1);
      long minute = nowMillis / MINUTE_MILLIS;
      int slot = (int) (minute % MINUTES);
      if (minutes[slot] != minute) {
        minutes[slot] = minute;
        Arrays.fill(ttft[slot], 0);
        Arrays.fill(e2e[slot], 0);
      }
      if (ttftNanos >= 0) ttft[slot][Fine.bucket((ttftNanos + 500_000) / 1_000_000)]++;
      e2e[slot][Fine.bucket((durationNanos + 500_000) / 1_000_000)]++;
    }

    synchronized void error(long nowMillis, int kind) {
      errors.add(nowMillis, kind);
    }

    synchronized void telemetry(long nowMillis, double util, double temp, double memory) {
      long s = nowMillis / TELEMETRY_SLOT_MILLIS;
      int i = (int) (s % TELEMETRY_SLOTS);
      telemetrySlots[i] = s;
      telemetry[i][0] = util;
      telemetry[i][1] = temp;
      telemetry[i][2] = memory;
    }

    synchronized NodeTraffic view(long nowMillis) {
      Window requests = new Window(answered.sum(nowMillis, LAST_MINUTE_SLOTS, -1),
          answered.sum(nowMillis, 5 * LAST_MINUTE_SLOTS, -1), answered.sum(nowMillis, SLOTS, -1));
      Window failed = new Window(errors.sum(nowMillis, LAST_MINUTE_SLOTS, -1),
          errors.sum(nowMillis, 5 * LAST_MINUTE_SLOTS, -1), errors.sum(nowMillis, SLOTS, -1));
      Map<String, Long> kinds = new LinkedHashMap<>();
      for (int k = 0; k < ERROR_KINDS.size(); k++) {
        long c = errors.sum(nowMillis, SLOTS, k);
        if (c > 0) kinds.put(ERROR_KINDS.get(k), c);
      }
      long nowMinute = nowMillis / MINUTE_MILLIS;
      long[] ttftSum = new long[Fine.BUCKETS];
      long[] e2eSum = new long[Fine.BUCKETS];
      List<Double> ttftTrend = new ArrayList<>(MINUTES);
      for (long minute = nowMinute - MINUTES + 1; minute <= nowMinute; minute++) {
        int slot = (int) (minute % MINUTES);
        boolean live = minute >= 0 && minutes[slot] == minute;
        ttftTrend.add(live ? Fine.percentile(ttft[slot], 50) : null);
        if (live && minute > nowMinute - TTFT_MINUTES) {
          for (int b = 0; b < Fine.BUCKETS; b++) {
            ttftSum[b] += ttft[slot][b];
            e2eSum[b] += e2e[slot][b];
          }
        }
      }
      long nowSlot = nowMillis / TELEMETRY_SLOT_MILLIS;
      List<Double> util = new ArrayList<>(TELEMETRY_SLOTS);
      List<Double> temp = new ArrayList<>(TELEMETRY_SLOTS);
      List<Double> memory = new ArrayList<>(TELEMETRY_SLOTS);
      for (long s = nowSlot - TELEMETRY_SLOTS + 1; s <= nowSlot; s++) {
        int i = (int) (s % TELEMETRY_SLOTS);
        boolean live = s >= 0 && telemetrySlots[i] == s;
        util.add(live ? known(telemetry[i][0]) : null);
        temp.add(live ? known(telemetry[i][1]) : null);
        memory.add(live ? known(telemetry[i][2]) : null);
      }
      return new NodeTraffic(requests, failed, kinds, Fine.percentiles(ttftSum), Fine.percentiles(e2eSum), ttftTrend,
          util, temp, memory);
    }
  }

  private static Double known(double v) {
    return Double.isNaN(v) ? null : Math.round(v * 10) / 10.0;
  }

  /**
   * Counts in {@value #SLOT_SECONDS}-second slots over {@value #MINUTES} minutes, optionally split by kind; the caller
   * holds the lock of the series it belongs to.
   */
  private static final class Slots {
    private final long[] ids = new long[SLOTS];
    private final long[][] counts;

    /** @param kinds 0: one count per slot; else one per kind */
    Slots(int kinds) {
      Arrays.fill(ids, -1);
      counts = new long[SLOTS][Math.max(1, kinds)];
    }

    void add(long nowMillis, int kind) {
      long id = nowMillis / SLOT_MILLIS;
      int i = (int) (id % SLOTS);
      if (ids[i] != id) {
        ids[i] = id;
        Arrays.fill(counts[i], 0);
      }
      counts[i][Math.max(0, kind)]++;
    }

    /** The count of the last {@code slots} slots (the current one included); {@code kind} -1: every kind. */
    long sum(long nowMillis, int slots, int kind) {
      long now = nowMillis / SLOT_MILLIS;
      long total = 0;
      for (long id = now - slots + 1; id <= now; id++) {
        int i = (int) (Math.floorMod(id, SLOTS));
        if (id < 0 || ids[i] != id) continue;
        if (kind >= 0) total += counts[i][kind];
        else for (long c : counts[i]) total += c;
      }
      return total;
    }
  }

  /**
   * A compact latency histogram in ms: exact below 64 ms, then 16 buckets per doubling (each ~4–6 % wide) up to
   * 2^20 ms (17 min; longer counts there); a value is read back as its bucket's middle, within 3 % of the true one.
   */
  static final class Fine {
    static final int BUCKETS = 64 + 14 * 16;

    static int bucket(long millis) {
      long v = Math.max(0, Math.min(millis, (1L << 20) - 1));
      if (v < 64) return (int) v;
      int e = 63 - Long.numberOfLeadingZeros(v); // 6..19
      int sub = (int) ((v >> (e - 4)) & 15);
      return 64 + (e - 6) * 16 + sub;
    }

    static double value(int bucket) {
      if (bucket < 64) return bucket;
      int e = 6 + (bucket - 64) / 16;
      int sub = (bucket - 64) % 16;
      long width = 1L << (e - 4);
      return (16 + sub) * width + width / 2.0;
    }

    /** The {@code p}-th percentile (nearest rank) of the counts, or null when there are none. */
    static Double percentile(long[] counts, double p) {
      long n = 0;
      for (long c : counts) n += c;
      if (n == 0) return null;
      long rank = Math.max(1, (long) Math.ceil(p / 100 * n));
      long seen = 0;
      for (int b = 0; b < counts.length; b++) {
        seen += counts[b];
        if (seen >= rank) return value(b);
      }
      return value(counts.length - 1);
    }

    static Double percentile(int[] counts, double p) {
      long[] wide = new long[counts.length];
      for (int i = 0; i < counts.length; i++) wide[i] = counts[i];
      return percentile(wide, p);
    }

    static Percentiles percentiles(long[] counts) {
      long n = 0;
      for (long c : counts) n += c;
      if (n == 0) return null;
      return new Percentiles(n, percentile(counts, 50), percentile(counts, 95));
    }
  }
}
