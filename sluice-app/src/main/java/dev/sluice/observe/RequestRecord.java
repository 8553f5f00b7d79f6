package dev.sluice.observe;

/**
 * What happened to one request, built once when it ends; the access log, the metrics and the console read it.
 * Never holds the prompt, the answer or a credential.
 *
 * @param startEpochMillis when the request arrived
 * @param requestId the id returned in {@code X-Request-Id}
 * @param traceId the W3C trace id (32 hex digits) the request was traced under
 * @param tenant who asked (a tenant id, never a secret)
 * @param endpoint endpoint label (an {@code Endpoint} name in lower case, or "other")
 * @param modelRequested the model the client asked for (already bounded: a configured model id, or "unknown")
 * @param modelServed the model that answered (the downgrade target when downgraded); null when none did
 * @param node the node that answered; null when none did (cached, static, refused)
 * @param attempts upstream attempts made (0 when no node was called)
 * @param outcome ok, cached, downgraded, static, client_error, failed, cancelled
 * @param status HTTP status sent to the client
 * @param ttftNanos time from arrival to the first byte sent to the client; -1 when nothing was sent
 * @param durationNanos time from arrival to the last byte (or the end)
 * @param overheadNanos time spent in Sluice itself (duration minus time waiting for nodes); -1 when unknown
 * @param promptTokens prompt tokens (the node's usage, else the estimate); -1 when unknown
 * @param completionTokens completion tokens from the node's usage; -1 when unknown
 * @param stream whether the answer was streamed
 * @param cachedTokens of the prompt tokens, those the node read from its prefix cache (its usage's
 *     {@code cached_tokens} or {@code cache_read_input_tokens}); -1 when it does not say
 * @param affinity how the answering node relates to where the prompt was estimated warm: hit, miss or moved; null
 *     when routed without affinity (or not routed)
 * @param cachedTokensEstimate the prompt tokens the router estimated cached on the answering node; -1 without affinity
 * @param queuedNanos time the request waited in the gateway's flow-control queue (0 when it did not wait); -1 when
 *     it was not routed
 * @param band the request's priority band (interactive, batch); null when it was not routed
 * @param cache what the response cache lookup found: hit, stale or miss; null when none was made
 * @param route why the answering node was chosen ({@code x-sluice-route}: node, policy, short reason); null unless
 *     {@code routing.explain} is on and a node answered
 */
public record RequestRecord(long startEpochMillis, String requestId, String traceId, String tenant, String endpoint,
    String modelRequested, String modelServed, String node, int attempts, String outcome, int status, long ttftNanos,
    long durationNanos, long overheadNanos, long promptTokens, long completionTokens, boolean stream,
    long cachedTokens, String affinity, long cachedTokensEstimate, long queuedNanos, String band, String cache,
    String route) {
  /** A record without a cache lookup or route explanation. */
  public RequestRecord(long startEpochMillis, String requestId, String traceId, String tenant, String endpoint,
      String modelRequested, String modelServed, String node, int attempts, String outcome, int status,
      long ttftNanos, long durationNanos, long overheadNanos, long promptTokens, long completionTokens,
      boolean stream, long cachedTokens, String affinity, long cachedTokensEstimate, long queuedNanos, String band) {
    this(startEpochMillis, requestId, traceId, tenant, endpoint, modelRequested, modelServed, node, attempts, outcome,
        status, ttftNanos, durationNanos, overheadNanos, promptTokens, completionTokens, stream, cachedTokens, affinity,
        cachedTokensEstimate, queuedNanos, band, null, null);
  }

  /** A record without flow control's fields. */
  public RequestRecord(long startEpochMillis, String requestId, String traceId, String tenant, String endpoint,
      String modelRequested, String modelServed, String node, int attempts, String outcome, int status,
      long ttftNanos, long durationNanos, long overheadNanos, long promptTokens, long completionTokens,
      boolean stream, long cachedTokens, String affinity, long cachedTokensEstimate) {
    this(startEpochMillis, requestId, traceId, tenant, endpoint, modelRequested, modelServed, node, attempts, outcome,
        status, ttftNanos, durationNanos, overheadNanos, promptTokens, completionTokens, stream, cachedTokens, affinity,
        cachedTokensEstimate, -1, null);
  }

  /** A record without affinity. */
  public RequestRecord(long startEpochMillis, String requestId, String traceId, String tenant, String endpoint,
      String modelRequested, String modelServed, String node, int attempts, String outcome, int status,
      long ttftNanos, long durationNanos, long overheadNanos, long promptTokens, long completionTokens,
      boolean stream, long cachedTokens) {
    this(startEpochMillis, requestId, traceId, tenant, endpoint, modelRequested, modelServed, node, attempts, outcome,
        status, ttftNanos, durationNanos, overheadNanos, promptTokens, completionTokens, stream, cachedTokens, null, -1);
  }

  /** A record without a cached-token count. */
  public RequestRecord(long startEpochMillis, String requestId, String traceId, String tenant, String endpoint,
      String modelRequested, String modelServed, String node, int attempts, String outcome, int status,
      long ttftNanos, long durationNanos, long overheadNanos, long promptTokens, long completionTokens,
      boolean stream) {
    this(startEpochMillis, requestId, traceId, tenant, endpoint, modelRequested, modelServed, node, attempts, outcome,
        status, ttftNanos, durationNanos, overheadNanos, promptTokens, completionTokens, stream, -1);
  }
}
