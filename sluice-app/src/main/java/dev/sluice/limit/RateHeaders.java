package dev.sluice.limit;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The rate-limit state to report on a response, in OpenAI's {@code x-ratelimit-*} terms. Each figure is −1 when no
 * such limit applies; when both a tenant and a model limit apply, the one with the fewest remaining is reported.
 *
 * @param limitRequests requests per minute allowed
 * @param remainingRequests requests left now
 * @param resetRequestsMillis until the requests limit is fully restored
 * @param limitTokens tokens per minute allowed
 * @param remainingTokens tokens left now (after this request's estimate was charged)
 * @param resetTokensMillis until the tokens limit is fully restored
 */
public record RateHeaders(long limitRequests, long remainingRequests, long resetRequestsMillis, long limitTokens,
    long remainingTokens, long resetTokensMillis) {
  private static final RateHeaders NONE = new RateHeaders(-1, -1, -1, -1, -1, -1);

  /** No limit applies: no headers. */
  public static RateHeaders none() {
    return NONE;
  }

  /** The headers that apply, by OpenAI's names, resets in OpenAI's duration format ({@code "6m0s"}, {@code "20ms"}). */
  public Map<String, String> toHeaders() {
    if (this == NONE) {
      return Map.of();
    }
    Map<String, String> headers = new LinkedHashMap<>(8);
    if (limitRequests >= 0) {
      headers.put("x-ratelimit-limit-requests", Long.toString(limitRequests));
      headers.put("x-ratelimit-remaining-requests", Long.toString(remainingRequests));
      headers.put("x-ratelimit-reset-requests", Fmt.duration(resetRequestsMillis));
    }
    if (limitTokens >= 0) {
      headers.put("x-ratelimit-limit-tokens", Long.toString(limitTokens));
      headers.put("x-ratelimit-remaining-tokens", Long.toString(remainingTokens));
      headers.put("x-ratelimit-reset-tokens", Fmt.duration(resetTokensMillis));
    }
    return headers;
  }
}
