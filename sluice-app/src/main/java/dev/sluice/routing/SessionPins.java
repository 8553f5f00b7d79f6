package dev.sluice.routing;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which node each session was last sent to: a bounded LRU map from session key (64-bit, already scoped to the
 * model) to node id, with a count of sessions per node. Least recently routed sessions are forgotten first; a
 * forgotten session is routed by its prefix alone. Thread-safe (one lock).
 */
final class SessionPins {
  /** Approximate heap bytes per pinned session: map entry (48), Long key (16), table slot (8), count upkeep. */
  static final int BYTES_PER_SESSION = 80;

  private final int maxSessions;
  private final Map<String, Integer> perNode = new HashMap<>();
  private final LinkedHashMap<Long, String> pins;

  SessionPins(int maxSessions) {
    if (maxSessions < 1) {
      throw new IllegalArgumentException("maxSessions: " + maxSessions + " (expected ≥ 1)");
    }
    this.maxSessions = maxSessions;
    this.pins = new LinkedHashMap<>(256, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<Long, String> eldest) {
        if (size() <= SessionPins.this.maxSessions) {
          return false;
        }
        uncount(eldest.getValue());
        return true;
      }
    };
  }

  /** The node {@code session} is pinned to, or null. */
  synchronized String pinned(long session) {
    return pins.get(session);
  }

  /** Pins {@code session} to {@code nodeId}. */
  synchronized void pin(long session, String nodeId) {
    String before = pins.put(session, nodeId);
    if (before != null) {
      uncount(before);
    }
    perNode.merge(nodeId, 1, Integer::sum);
  }

  /** Unpins every session pinned to {@code nodeId}; returns how many. */
  synchronized int drop(String nodeId) {
    int dropped = 0;
    var it = pins.values().iterator();
    while (it.hasNext()) {
      if (it.next().equals(nodeId)) {
        it.remove();
        dropped++;
      }
    }
    perNode.remove(nodeId);
    return dropped;
  }

  /** Sessions pinned to {@code nodeId}. */
  synchronized int sessions(String nodeId) {
    return perNode.getOrDefault(nodeId, 0);
  }

  /** Sessions pinned over every node. */
  synchronized int size() {
    return pins.size();
  }

  private void uncount(String nodeId) {
    perNode.computeIfPresent(nodeId, (k, n) -> n <= 1 ? null : n - 1);
  }
}
