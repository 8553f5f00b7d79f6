package dev.sluice.routing;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Session and prefix affinity: what the router remembers between requests so that an agent's next turn goes where its
 * prompt is cached. Two memories, both bounded: the {@link PrefixIndex} (which prompt prefixes each node was sent,
 * aged like its KV cache) and the session pins (which node each session was last sent to). Before routing,
 * {@link #warmth} turns them into a {@link Warmth} for the policy (cached tokens per candidate, the pinned node);
 * after the policy chose, {@link #sent} records the choice and says whether it kept the session where it was warm.
 *
 * <p>Sessions are keyed by {@link #sessionKey(String, String)} (an explicit session id scoped to the model); a request
 * without one is known by its prefix alone. Pure: no clock, no I/O; thread-safe.
 */
public final class Affinity {
  /** How a request's node relates to where its prompt was warm. */
  public enum Outcome {
    /** Sent to the node with the most of its prompt cached (or its pinned node). */
    HIT,
    /** Nothing was warm anywhere: no pin, no cached prefix. */
    MISS,
    /** Sent elsewhere than the warm node (saturated, out of rotation, or outranked): the session moved. */
    MOVED;

    /** Lower-case name for headers, metrics and the access log. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * Affinity's config ({@code routing.affinity}).
   *
   * @param enabled whether least-delay uses it (the brief's gpu-weighted never does)
   * @param releasePenaltyMillis how much longer the warm node's estimate may be than the best node's before the
   *     session moves
   * @param maxSessions session pins kept (least recently routed forgotten first)
   * @param indexEntriesPerNode chunk hashes kept per node at most (the prefix index's memory bound)
   */
  public record Settings(boolean enabled, long releasePenaltyMillis, int maxSessions, int indexEntriesPerNode) {
    /** Default release penalty: the best of 250 ms – 5 s in the routing lab's agent workloads. */
    public static final long DEFAULT_RELEASE_PENALTY_MILLIS = 3_000;
    /** Default pins kept: 100,000 sessions, ~8 MB. */
    public static final int DEFAULT_MAX_SESSIONS = 100_000;
    /** Default per-node index bound: 65,536 chunks (~16M tokens of prefixes, ~4.5 MB per node). */
    public static final int DEFAULT_INDEX_ENTRIES_PER_NODE = 65_536;
    /** The defaults: on, 3 s penalty, 100,000 sessions, 65,536 chunks per node. */
    public static final Settings DEFAULT = new Settings(true, DEFAULT_RELEASE_PENALTY_MILLIS, DEFAULT_MAX_SESSIONS,
        DEFAULT_INDEX_ENTRIES_PER_NODE);

    public Settings {
      if (releasePenaltyMillis < 0) {
        throw new IllegalArgumentException("releasePenaltyMillis: " + releasePenaltyMillis + " (expected ≥ 0)");
      }
      if (maxSessions < 1 || indexEntriesPerNode < 1) {
        throw new IllegalArgumentException("maxSessions and indexEntriesPerNode must be ≥ 1: " + maxSessions + ", "
            + indexEntriesPerNode);
      }
    }
  }

  /** How many first chunks identify an unkeyed conversation for consistent hashing (16 KB: system and tools). */
  static final int ROUTING_KEY_CHUNKS = 16;

  private final Settings settings;
  private final PrefixIndex index;
  private final SessionPins pins;
  private final LongSupplier nowMillis;

  /** With a clock that never moves (sessions never go idle): for tests and benchmarks. */
  public Affinity(Settings settings) {
    this(settings, () -> 0);
  }

  /** @param nowMillis the time (the gateway's clock, the lab's simulated time): pins idle 15 min are dropped */
  public Affinity(Settings settings, LongSupplier nowMillis) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.nowMillis = Objects.requireNonNull(nowMillis, "nowMillis");
    this.index = new PrefixIndex(settings.indexEntriesPerNode());
    this.pins = new SessionPins(settings.maxSessions());
  }

  public Settings settings() {
    return settings;
  }

  /** The session key of an explicit session id under {@code model}; 0 for a null or blank id. */
  public static long sessionKey(String model, String session) {
    if (session == null || session.isBlank()) {
      return 0;
    }
    long key = PrefixChain.hash(model + '\n' + session);
    return key == 0 ? 1 : key;
  }

  /**
   * What is known about a request before routing: the pin of {@code sessionKey} (if that node is among {@code
   * candidates}) and, per candidate, the prompt tokens estimated cached ({@code promptTokens} × the share of the
   * chain's bytes the node holds).
   */
  public Warmth warmth(long sessionKey, PrefixChain chain, int promptTokens, Collection<String> candidates) {
    if (sessionKey == 0 && chain.chunks() == 0) {
      return Warmth.NONE; // a short prompt of no session (most chat): nothing to look up
    }
    String pinned = sessionKey == 0 ? null : pins.pinned(sessionKey, nowMillis.getAsLong());
    if (pinned != null && !candidates.contains(pinned)) {
      pinned = null;
    }
    Map<String, Integer> cached = new LinkedHashMap<>();
    for (String id : candidates) {
      int chunks = index.cachedChunks(id, chain);
      if (chunks > 0) {
        cached.put(id, (int) Math.round(Math.max(0, promptTokens) * chain.share(chunks)));
      }
    }
    long routingKey = sessionKey != 0 ? sessionKey
        : chain.chunks() > 0 ? chain.hashAt(Math.min(chain.chunks(), ROUTING_KEY_CHUNKS) - 1) : 0;
    return new Warmth(sessionKey, routingKey, pinned, cached);
  }

  /**
   * The request was sent to {@code nodeId}: its chain joins the node's index and its session is pinned there.
   * Returns how that relates to where it was warm ({@link Outcome}).
   */
  public Outcome sent(Warmth warmth, PrefixChain chain, String nodeId) {
    index.sent(nodeId, chain);
    if (warmth.sessionKey() != 0) {
      pins.pin(warmth.sessionKey(), nodeId, nowMillis.getAsLong());
    }
    return outcome(warmth, nodeId);
  }

  /** How sending a request of {@code warmth} to {@code nodeId} relates to where it was warm. */
  public static Outcome outcome(Warmth warmth, String nodeId) {
    String preferred = warmth.preferred();
    if (preferred == null) {
      return Outcome.MISS;
    }
    if (preferred.equals(nodeId) || warmth.cachedTokens(nodeId) >= Math.max(1, warmth.cachedTokens(preferred))) {
      return Outcome.HIT;
    }
    return Outcome.MOVED;
  }

  /**
   * {@code nodeId}'s prefix cache holds {@code kvTokens} tokens (0 = unknown): its KV cache size. The whole KV, not
   * the part running sequences leave free: shrinking the index by the share in use was measured worse in the lab (the
   * running prompts' chunks are in the index already, so it counts them twice).
   */
  public void capacity(String nodeId, long kvTokens) {
    index.capacity(nodeId, kvTokens);
  }

  /** Forgets {@code nodeId}: its index and every session pinned to it (it left rotation or its cache was reset). */
  public void drop(String nodeId) {
    index.drop(nodeId);
    pins.drop(nodeId);
  }

  /** Sessions pinned to {@code nodeId}. */
  public int sessions(String nodeId) {
    return pins.sessions(nodeId);
  }

  /** Sessions pinned over every node. */
  public int sessions() {
    return pins.size();
  }

  /** Chunk hashes in the prefix index for {@code nodeId}. */
  public int indexEntries(String nodeId) {
    return index.entries(nodeId);
  }

  /** Chunk hashes in the prefix index over every node. */
  public long indexEntries() {
    return index.entries();
  }

  /** Approximate heap bytes of the pins and the index. */
  public long memoryBytes() {
    return (long) pins.size() * SessionPins.BYTES_PER_SESSION + index.entries() * PrefixIndex.BYTES_PER_ENTRY;
  }
}
