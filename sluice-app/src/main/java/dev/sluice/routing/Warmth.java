package dev.sluice.routing;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@link Affinity} knows about one request before routing: its session key, the node its session is pinned to,
 * and for each candidate the prompt tokens estimated to be in that node's prefix cache.
 *
 * @param sessionKey the request's session key scoped to its model ({@link Affinity#sessionKey}); 0 when it has none
 * @param routingKey what consistent hashing routes by: the session key, else the hash of the prompt's first chunks,
 *     else 0 (nothing to hash)
 * @param pinned the node the session was last sent to, if it is a candidate; null otherwise
 * @param cachedTokens estimated cached prompt tokens by node id, in candidate order (nodes absent: 0)
 */
public record Warmth(long sessionKey, long routingKey, String pinned, Map<String, Integer> cachedTokens) {
  /** Nothing known: no session, no pin, nothing cached. */
  public static final Warmth NONE = new Warmth(0, 0, null, Map.of());

  public Warmth {
    cachedTokens = Collections.unmodifiableMap(new LinkedHashMap<>(cachedTokens)); // candidate order: ties are stable
  }

  /** Estimated cached prompt tokens on {@code nodeId}. */
  public int cachedTokens(String nodeId) {
    Integer n = cachedTokens.get(nodeId);
    return n == null ? 0 : n;
  }

  /**
   * The node this request should stay on unless it is saturated: the pinned node when it holds as much of the prompt
   * as any candidate (or nothing is cached anywhere), else the one candidate holding the most of it. Null when there is
   * neither a pin nor a single warmest node: nodes that hold the same prefix (a system prompt and tools every session
   * shares) are left to the estimates, so that shared text does not pull unrelated requests to one node.
   */
  public String preferred() {
    int most = 0;
    int holders = 0;
    String warmest = null;
    for (Map.Entry<String, Integer> e : cachedTokens.entrySet()) {
      if (e.getValue() > most) {
        most = e.getValue();
        holders = 1;
        warmest = e.getKey();
      } else if (e.getValue() == most && most > 0) {
        holders++;
      }
    }
    if (pinned != null && cachedTokens(pinned) >= most) {
      return pinned;
    }
    return holders == 1 ? warmest : null;
  }
}
