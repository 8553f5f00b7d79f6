package dev.sluice.server;

import dev.sluice.api.ParsedRequest;
import dev.sluice.api.Usage;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.observe.RequestRecord;
import dev.sluice.upstream.Exchange;

/**
 * What a routed request's record says, summed over its exchanges (the requested model, then its downgrade target):
 * attempts, time spent on nodes, and the node whose answer reached the client with its timings and usage tail.
 */
final class RequestTally {
  private int attempts;
  private long upstreamNanos;
  private String answeredBy;
  private long firstByteNanos = -1;
  private long chunkGapNanos = -1;
  private byte[] tail;
  private String affinity;
  private long cachedTokensEstimate = -1;
  private long queuedNanos;
  private String band;
  private String cache;
  private String route;

  /** Adds what an exchange that just ended learned; once per exchange. */
  void absorb(Exchange x) {
    attempts += x.attempts();
    upstreamNanos += x.upstreamNanos();
    if (x.answeredBy() != null) {
      answeredBy = x.answeredBy();
      firstByteNanos = x.firstByteNanos();
      chunkGapNanos = x.meanChunkGapNanos();
      tail = x.tail();
    }
  }

  /** The answering node's affinity outcome (hit, miss, moved) and its estimated cached prompt tokens. */
  void affinity(String outcome, long cachedTokens) {
    affinity = outcome;
    cachedTokensEstimate = cachedTokens;
  }

  /** What the response-cache lookup found: hit, stale or miss (the last lookup when there were two). */
  void cache(String result) {
    cache = result;
  }

  /** Why the answering node was chosen ({@code x-sluice-route}), when routing.explain is on. */
  void route(String explanation) {
    route = explanation;
  }

  /** Milliseconds the request has waited in the flow-control queue so far. */
  long queuedMillis() {
    return queuedNanos / 1_000_000;
  }

  /** The request waited {@code nanos} in the flow-control queue (added up when it waited twice). */
  void queued(long nanos) {
    queuedNanos += Math.max(0, nanos);
  }

  /** The request's priority band ({@code interactive}, {@code batch}). */
  void band(String label) {
    band = label;
  }

  /** The gateway answered itself (a cached answer, the static reply) at {@code nanos}. */
  void answeredLocally(long nanos) {
    firstByteNanos = nanos;
  }

  /**
   * The record of the request that ended now: the inter-token latency of a relayed stream goes to the metrics, then
   * the record (prompt tokens as the node reported them, else the estimate {@code promptTokens}).
   */
  RequestRecord record(Arrival arrival, SluiceMetrics metrics, String tenant, String endpointLabel,
      ParsedRequest parsed, String servedModel, long promptTokens, int status, String outcome) {
    long duration = arrival.elapsedNanos();
    String model = metrics.modelLabel(parsed.model());
    boolean answered = status / 100 == 2 && firstByteNanos >= 0;
    long prompt = -1;
    long completion = -1;
    long cached = -1;
    if (answeredBy != null) {
      Usage usage = parsed.endpoint().dialect().usage(tail);
      prompt = usage.promptTokens() >= 0 ? usage.promptTokens() : promptTokens;
      completion = usage.completionTokens();
      cached = usage.cachedPromptTokens();
    }
    if (chunkGapNanos >= 0 && answeredBy != null) metrics.interTokenLatency(model, chunkGapNanos);
    String served = answeredBy == null ? null : metrics.modelLabel(servedModel);
    return new RequestRecord(arrival.startEpochMillis, arrival.requestId, arrival.trace.traceId(), tenant,
        endpointLabel, model, served, answeredBy, attempts, outcome, status,
        answered ? firstByteNanos - arrival.startNanos : -1, duration, Math.max(0, duration - upstreamNanos), prompt,
        completion, parsed.stream(), cached, affinity, cachedTokensEstimate, queuedNanos, band, cache, route);
  }
}
