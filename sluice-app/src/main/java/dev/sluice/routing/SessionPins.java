package dev.sluice.routing;

import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which node each session was last sent to, and how big its prompt was: a bounded LRU map from session key (64-bit,
 * already scoped to the model) to its pin, with per node the count of <em>active</em> sessions (routed within
 * {@link #ACTIVE_MILLIS}) and the sum of their last prompt sizes, the node's <em>working set</em>: what its prefix
 * cache must hold for its sessions' next turns to hit. Sessions idle longer are forgotten (an agent's p99 think time
 * is ~11 min), as are the least recently routed beyond the bound; a forgotten session is routed by its prefix alone.
 * Thread-safe (one lock).
 */
final class SessionPins {
  /** Approximate heap bytes per pinned session: map entry (48), Long key (16), pin (32), table slot (8). */
  static final int BYTES_PER_SESSION = 104;
  /** A session not routed for this long is no longer active: its pin and working-set share are dropped. */
  static final long ACTIVE_MILLIS = 15 * 60_000L;

  private record Pin(String node, int tokens, long atMillis) {}

  private final int maxSessions;
  private final Map<String, long[]> perNode = new HashMap<>(); // node → {sessions, tokens}
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

  /** Pins {@code session} to {@code nodeId} with a prompt of {@code tokens}. */
  synchronized void pin(long session, String nodeId, int tokens, long nowMillis) {
    Pin before = pins.remove(session); // re-inserted at the tail: the map stays in order of last routing
    pins.put(session, new Pin(nodeId, Math.max(0, tokens), nowMillis));
    if (before != null) {
      uncount(before);
    }
    long[] n = perNode.computeIfAbsent(nodeId, k -> new long[2]);
    n[0]++;
    n[1] += Math.max(0, tokens);
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
    long[] n = perNode.get(nodeId);
    return n == null ? 0 : (int) n[0];
  }

  /** The sum of the last prompt sizes of the active sessions pinned to {@code nodeId}. */
  synchronized long workingSetTokens(String nodeId) {
    long[] n = perNode.get(nodeId);
    return n == null ? 0 : n[1];
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
    long[] n = perNode.get(p.node());
    if (n == null) {
      return;
    }
    n[0]--;
    n[1] -= p.tokens();
    if (n[0] <= 0) {
      perNode.remove(p.node());
    }
  }
}
