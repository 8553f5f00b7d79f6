package dev.sluice.routing;

import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which node each session was last sent to: a bounded LRU map from session key (64-bit, already scoped to the model)
 * to its pin, with per node the count of <em>active</em> sessions (routed within {@link #ACTIVE_MILLIS}). Sessions idle
 * longer are forgotten (an agent's p99 think time is ~11 min), as are the least recently routed beyond the bound; a
 * forgotten session is routed by its prefix alone. Thread-safe (one lock).
 */
final class SessionPins {
  /** Approximate heap bytes per pinned session: map entry (48), Long key (16), pin (24), table slot (8). */
  static final int BYTES_PER_SESSION = 96;
  /** A session not routed for this long is no longer active: its pin and working-set share are dropped. */
  static final long ACTIVE_MILLIS = 15 * 60_000L;

  private record Pin(String node, long atMillis) {}

  private final int maxSessions;
  private final Map<String, Integer> perNode = new HashMap<>();
  private final LinkedHashMap<Long, Pin> pins;

  SessionPins(int maxSessions) {
    if (maxSessions < 1) {
      throw new IllegalArgumentException("maxSessions: " + maxSessions + " (expected ≥ 1)");
    }
    this.maxSessions = maxSessions;
    this.pins = new LinkedHashMap<>(256, 0.75f, false) { // insertion order = pin order: pin() re-inserts
      @Override
      protected boolean removeEldestEntry(Map.Entry<Long, Pin> eldest) {
        if (size() <= SessionPins.this.maxSessions) {
          return false;
        }
        uncount(eldest.getValue());
        return true;
      }
    };
  }

  /** The node {@code session} is pinned to, or null. */
  synchronized String pinned(long session, long nowMillis) {
    expire(nowMillis);
    Pin p = pins.get(session);
    return p == null ? null : p.node();
  }

  /** Pins {@code session} to {@code nodeId}. */
  synchronized void pin(long session, String nodeId, long nowMillis) {
    Pin before = pins.remove(session); // re-inserted at the tail: the map stays in order of last routing
    pins.put(session, new Pin(nodeId, nowMillis));
    if (before != null) {
      uncount(before);
    }
    perNode.merge(nodeId, 1, Integer::sum);
    expire(nowMillis);
  }

  /** Unpins every session pinned to {@code nodeId}; returns how many. */
  synchronized int drop(String nodeId) {
    int dropped = 0;
    Iterator<Pin> it = pins.values().iterator();
    while (it.hasNext()) {
      if (it.next().node().equals(nodeId)) {
        it.remove();
        dropped++;
      }
    }
    perNode.remove(nodeId);
    return dropped;
  }

  /** Active sessions pinned to {@code nodeId}. */
  synchronized int sessions(String nodeId) {
    return perNode.getOrDefault(nodeId, 0);
  }

  /** Sessions pinned over every node. */
  synchronized int size() {
    return pins.size();
  }

  /** Drops the pins routed before {@code nowMillis − ACTIVE_MILLIS}: the least recently routed come first. */
  private void expire(long nowMillis) {
    Iterator<Pin> it = pins.values().iterator();
    while (it.hasNext()) {
      Pin p = it.next();
      if (nowMillis - p.atMillis() <= ACTIVE_MILLIS) {
        return;
      }
      it.remove();
      uncount(p);
    }
  }

  private void uncount(Pin p) {
    perNode.computeIfPresent(p.node(), (k, n) -> n <= 1 ? null : n - 1);
  }
}
