package dev.sluice.node;

/**
 * The last telemetry scraped from a node, with its age. Unknown values are NaN.
 *
 * @param gpuUtilPercent DCGM_FI_DEV_GPU_UTIL
 * @param gpuTempCelsius DCGM_FI_DEV_GPU_TEMP
 * @param memoryUsedPercent FB_USED / (FB_USED + FB_FREE) × 100
 * @param requestsRunning vllm:num_requests_running
 * @param requestsWaiting vllm:num_requests_waiting
 * @param scrapedAtMillis when it was scraped (gateway clock); 0 = never
 */
public record NodeTelemetry(
    double gpuUtilPercent,
    double gpuTempCelsius,
    double memoryUsedPercent,
    double requestsRunning,
    double requestsWaiting,
    long scrapedAtMillis) {
  public static final NodeTelemetry NONE =
      new NodeTelemetry(Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0);

  /** Age in ms at {@code nowMillis}, or -1 when never scraped. */
  public long ageMillis(long nowMillis) {
    return scrapedAtMillis == 0 ? -1 : Math.max(0, nowMillis - scrapedAtMillis);
  }
}
