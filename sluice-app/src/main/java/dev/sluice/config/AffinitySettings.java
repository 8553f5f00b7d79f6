package dev.sluice.config;

import dev.sluice.routing.Affinity;
import dev.sluice.routing.PrefixIndex;
import java.time.Duration;
import java.util.Objects;

/**
 * Session and prefix affinity ({@code routing.affinity}): whether least-delay keeps a session on the node that holds
 * its prompt prefix, how much slower that node may be before the session moves, and how much memory the router's
 * memory of sessions and prefixes may take.
 *
 * @param enabled whether least-delay uses affinity (the brief's gpu-weighted never does; prefix-hash always hashes)
 * @param releasePenalty how much longer the warm node's estimate may be than the best node's before the session moves
 *     (zero: it moves as soon as another node is estimated faster)
 * @param maxSessions session pins kept (least recently routed forgotten first)
 * @param indexMemoryBytes memory of the prefix index over every node, divided evenly over the configured nodes
 */
public record AffinitySettings(boolean enabled, Duration releasePenalty, int maxSessions, long indexMemoryBytes) {
  /** The default release penalty: {@link Affinity.Settings#DEFAULT_RELEASE_PENALTY_MILLIS}. */
  public static final Duration DEFAULT_RELEASE_PENALTY =
      Duration.ofMillis(Affinity.Settings.DEFAULT_RELEASE_PENALTY_MILLIS);
  /**
   * 16 MiB over all nodes: ~233,000 chunk hashes of 1 KB each, about 58M tokens of prefixes, which is more than the KV
   * caches of a few dozen nodes hold (an A10 holds 5,700 tokens, an H100 with FP8 160,000), so the index is bounded
   * by the nodes' caches rather than by this, and stays small beside the response cache.
   */
  public static final long DEFAULT_INDEX_MEMORY_BYTES = 16L << 20;

  public AffinitySettings {
    Objects.requireNonNull(releasePenalty, "releasePenalty");
    if (releasePenalty.isNegative()) throw new IllegalArgumentException("releasePenalty: " + releasePenalty);
    if (maxSessions < 1) throw new IllegalArgumentException("maxSessions: " + maxSessions + " (expected ≥ 1)");
    if (indexMemoryBytes < 1) throw new IllegalArgumentException("indexMemoryBytes: " + indexMemoryBytes);
  }

  /** On, 1 s penalty, 100,000 sessions, 16 MiB of prefix index. */
  public static AffinitySettings defaults() {
    return new AffinitySettings(true, DEFAULT_RELEASE_PENALTY, Affinity.Settings.DEFAULT_MAX_SESSIONS,
        DEFAULT_INDEX_MEMORY_BYTES);
  }

  /** These settings with affinity on or off. */
  public AffinitySettings withEnabled(boolean on) {
    return new AffinitySettings(on, releasePenalty, maxSessions, indexMemoryBytes);
  }

  /** Chunk hashes each of {@code nodes} nodes may keep: the index memory ÷ bytes per entry ÷ nodes, at least 1. */
  public int indexEntriesPerNode(int nodes) {
    long perNode = indexMemoryBytes / PrefixIndex.BYTES_PER_ENTRY / Math.max(1, nodes);
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, perNode));
  }

  /** The router's {@link Affinity.Settings} for a config of {@code nodes} nodes. */
  public Affinity.Settings settings(int nodes) {
    return new Affinity.Settings(enabled, releasePenalty.toMillis(), maxSessions, indexEntriesPerNode(nodes));
  }
}
