package dev.sluice.node;

import java.util.Objects;

/**
 * The last telemetry scraped from a node, with its age. Unknown values are NaN (0 for {@code kvCacheTokens}).
 *
 * @param gpuUtilPercent DCGM_FI_DEV_GPU_UTIL
 * @param gpuTempCelsius DCGM_FI_DEV_GPU_TEMP
 * @param memoryUsedPercent FB_USED / (FB_USED + FB_FREE) × 100
 * @param requestsRunning vllm:num_requests_running
 * @param requestsWaiting vllm:num_requests_waiting
 * @param scrapedAtMillis when it was scraped (gateway clock); 0 = never
 * @param kvCacheTokens the node's KV cache in tokens: num_gpu_blocks × block_size of vllm:cache_config_info, summed
 *     over its engines; 0 when unknown
 * @param kvCacheUsedPercent vllm:kv_cache_usage_perc (vLLM v0: vllm:gpu_cache_usage_perc) × 100
 * @param prefixCache the node's prefix-cache counters and the hit rates derived from them
 */
public record NodeTelemetry(
    double gpuUtilPercent,
    double gpuTempCelsius,
    double memoryUsedPercent,
    double requestsRunning,
    double requestsWaiting,
    long scrapedAtMillis,
    long kvCacheTokens,
    double kvCacheUsedPercent,
    PrefixCache prefixCache) {
  public static final NodeTelemetry NONE =
      new NodeTelemetry(Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0);

  public NodeTelemetry {
    Objects.requireNonNull(prefixCache, "prefixCache");
  }

  /** GPU and queue gauges only: no KV cache figures, no prefix-cache counters. */
  public NodeTelemetry(double gpuUtilPercent, double gpuTempCelsius, double memoryUsedPercent, double requestsRunning,
      double requestsWaiting, long scrapedAtMillis) {
    this(gpuUtilPercent, gpuTempCelsius, memoryUsedPercent, requestsRunning, requestsWaiting, scrapedAtMillis, 0,
        Double.NaN, PrefixCache.NONE);
  }

  /** Age in ms at {@code nowMillis}, or -1 when never scraped. */
  public long ageMillis(long nowMillis) {
    return scrapedAtMillis == 0 ? -1 : Math.max(0, nowMillis - scrapedAtMillis);
  }

  /**
   * A node's prefix-cache counters (vLLM's {@code vllm:prefix_cache_queries_total} and
   * {@code vllm:prefix_cache_hits_total}, in tokens) as of one scrape, and what the gateway derived from the scrapes it
   * has seen: the hit rate between the last two scrapes, the hit rate since it first scraped the node, and the restarts
   * it noticed (a counter that went down).
   *
   * @param queries the queries counter as scraped (tokens looked up); NaN when the node does not report it
   * @param hits the hits counter as scraped (tokens found cached); NaN when the node does not report it
   * @param hitRate hits ÷ queries over the last scrape interval, in [0, 1]; NaN after a single scrape, when the node
   *     had no query in the interval or does not report the counters
   * @param queriesSeen queries counted since the gateway first scraped the node (across restarts)
   * @param hitsSeen hits counted since the gateway first scraped the node (across restarts)
   * @param resets how many times the gateway saw the counters go down: the node restarted and its KV cache is empty
   * @param resetNow whether this scrape is the one that saw the counters go down
   */
  public record PrefixCache(double queries, double hits, double hitRate, double queriesSeen, double hitsSeen,
      int resets, boolean resetNow) {
    /** Never scraped, or the node does not report prefix-cache counters. */
    public static final PrefixCache NONE = new PrefixCache(Double.NaN, Double.NaN, Double.NaN, 0, 0, 0, false);

    /** Hits ÷ queries since the gateway first scraped the node; NaN before any query was counted. */
    public double hitRateTotal() {
      return queriesSeen > 0 ? Math.min(1, hitsSeen / queriesSeen) : Double.NaN;
    }

    /**
     * This state after a scrape read {@code queries} and {@code hits} (NaN: not on the page). Like Prometheus'
     * {@code rate()}, a counter below its previous value means the node restarted: the interval counts the new value
     * from zero.
     */
    public PrefixCache next(double queries, double hits) {
      if (Double.isNaN(queries) || Double.isNaN(hits)) {
        return new PrefixCache(Double.NaN, Double.NaN, Double.NaN, queriesSeen, hitsSeen, resets, false);
      }
      if (Double.isNaN(this.queries) || Double.isNaN(this.hits)) { // the first reading: a baseline, no interval yet
        return new PrefixCache(queries, hits, Double.NaN, queriesSeen, hitsSeen, resets, false);
      }
      boolean reset = queries < this.queries || hits < this.hits;
      double dq = reset ? queries : queries - this.queries;
      double dh = reset ? hits : hits - this.hits;
      double rate = dq > 0 ? Math.max(0, Math.min(1, dh / dq)) : Double.NaN;
      return new PrefixCache(queries, hits, rate, queriesSeen + dq, hitsSeen + dh, reset ? resets + 1 : resets, reset);
    }
  }
}
