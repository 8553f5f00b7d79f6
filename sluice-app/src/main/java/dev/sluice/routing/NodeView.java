package dev.sluice.routing;

import java.util.Objects;

/**
 * What a routing policy knows about one candidate node at decision time: an immutable snapshot, so a policy is a pure
 * function of its inputs (the gateway builds views from its registry; the routing lab builds them from simulated
 * nodes).
 *
 * @param id node id
 * @param gpuType GPU class label (A10, A100, H100...), upper case; null when not configured
 * @param inFlightRequests requests this router has sent to the node that have not finished
 * @param inFlightPrefillTokens prompt tokens of in-flight requests that have not produced their first token yet
 * @param inFlightDecodes in-flight requests that are decoding (first token seen, not finished)
 * @param gpuUtilPercent last scraped GPU utilisation 0-100, or NaN when unknown
 * @param gpuTempCelsius last scraped GPU temperature, or NaN when unknown
 * @param telemetryAgeMillis age of the scraped telemetry, or -1 when there is none
 * @param healthRatio share of recent health checks passed, 0-1 (1 when no check ran yet)
 * @param speed learned speed of the node (prefill and decode), never null
 * @param silentMillis how long the node has sent nothing (no first token, no chunk) while requests were in flight on
 *     it; 0 when idle or answering. Work that is not draining: the counts above say nothing about it
 * @param speedGuessed the prefill speed is a guess: no GPU profile to start from (no or an unknown GPU type) and no
 *     observation yet. Admission control does not refuse a request on a guess (LeastDelayPolicy)
 */
public record NodeView(
    String id,
    String gpuType,
    int inFlightRequests,
    long inFlightPrefillTokens,
    int inFlightDecodes,
    double gpuUtilPercent,
    double gpuTempCelsius,
    long telemetryAgeMillis,
    double healthRatio,
    NodeSpeed speed,
    long silentMillis,
    boolean speedGuessed) {
  public NodeView {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(speed, "speed");
  }

  /** A view of a node whose speed rests on a profile or on observations ({@code speedGuessed} false). */
  public NodeView(String id, String gpuType, int inFlightRequests, long inFlightPrefillTokens, int inFlightDecodes,
      double gpuUtilPercent, double gpuTempCelsius, long telemetryAgeMillis, double healthRatio, NodeSpeed speed,
      long silentMillis) {
    this(id, gpuType, inFlightRequests, inFlightPrefillTokens, inFlightDecodes, gpuUtilPercent, gpuTempCelsius,
        telemetryAgeMillis, healthRatio, speed, silentMillis, false);
  }

  /** A view of a node that is answering (or idle): {@code silentMillis} 0. */
  public NodeView(String id, String gpuType, int inFlightRequests, long inFlightPrefillTokens, int inFlightDecodes,
      double gpuUtilPercent, double gpuTempCelsius, long telemetryAgeMillis, double healthRatio, NodeSpeed speed) {
    this(id, gpuType, inFlightRequests, inFlightPrefillTokens, inFlightDecodes, gpuUtilPercent, gpuTempCelsius,
        telemetryAgeMillis, healthRatio, speed, 0);
  }
}
