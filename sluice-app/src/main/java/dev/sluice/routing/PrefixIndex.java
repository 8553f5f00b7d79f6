package dev.sluice.routing;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which prompt prefixes each node was sent, so the router can estimate what is in its prefix cache: per node an
 * approximate LRU set of {@link PrefixChain} chunk hashes, bounded by the node's KV capacity in chunks and by a
 * per-node entry cap (the memory bound). It ages the way vLLM's prefix cache does: a node holds only as many chunks
 * as its KV cache holds tokens, least recently sent evicted first, and a chain's chunks are touched last to first so
 * that its first chunks are evicted last (vLLM frees a sequence's blocks from the tail too): what a node holds stays a
 * set of whole prefixes, and the longest cached prefix of a chain is found by binary search.
 *
 * <p>It is an estimate: the node's cache also holds running sequences, other routers' traffic and what it evicted
 * under pressure. {@link #drop} forgets a node (it left rotation, restarted, or reported its cache reset). Thread-safe
 * (one lock per node).
 */
public final class PrefixIndex {
  /** Approximate heap bytes per entry: a linked hash map entry (48), its Long key (16), the table slot (8). */
  public static final int BYTES_PER_ENTRY = 72;
  /** Tokens a chunk holds, for converting KV capacity to chunks: {@link PrefixChain#CHUNK_BYTES} ÷ ~4 bytes per token. */
  public static final int TOKENS_PER_CHUNK = PrefixChain.CHUNK_BYTES / 4;

  private final int maxEntriesPerNode;
  private final Map<String, NodeChunks> nodes = new ConcurrentHashMap<>();

  /** @param maxEntriesPerNode the memory bound: chunk hashes kept per node whatever its KV capacity (≥ 1) */
  public PrefixIndex(int maxEntriesPerNode) {
    if (maxEntriesPerNode < 1) {
      throw new IllegalArgumentException("maxEntriesPerNode: " + maxEntriesPerNode + " (expected ≥ 1)");
    }
    this.maxEntriesPerNode = maxEntriesPerNode;
  }

  /**
   * Sets how many prompt tokens {@code nodeId}'s prefix cache holds (its KV capacity; 0 = unknown: the per-node cap
   * alone bounds it). A smaller capacity evicts at once.
   */
  public void capacity(String nodeId, long kvTokens) {
    node(nodeId).capacity(kvTokens <= 0 ? maxEntriesPerNode
        : (int) Math.max(1, Math.min(maxEntriesPerNode, kvTokens / TOKENS_PER_CHUNK)));
  }

  /** Chunks of {@code chain} from its start that {@code nodeId} is estimated to hold (0 when none or unknown node). */
  public int cachedChunks(String nodeId, PrefixChain chain) {
    NodeChunks n = nodes.get(nodeId);
    return n == null || chain.chunks() == 0 ? 0 : n.longestPrefix(chain);
  }

  /** {@code chain} was sent to {@code nodeId}: its chunks become the node's most recently used. */
  public void sent(String nodeId, PrefixChain chain) {
    if (chain.chunks() > 0) {
      node(nodeId).add(chain);
    }
  }

  /** Forgets everything about {@code nodeId} (left rotation, restarted, cache reset). */
  public void drop(String nodeId) {
    NodeChunks n = nodes.get(nodeId);
    if (n != null) {
      n.clear();
    }
  }

  /** Chunk hashes held for {@code nodeId}. */
  public int entries(String nodeId) {
    NodeChunks n = nodes.get(nodeId);
    return n == null ? 0 : n.size();
  }

  /** Chunk hashes held over every node. */
  public long entries() {
    long sum = 0;
    for (NodeChunks n : nodes.values()) {
      sum += n.size();
    }
    return sum;
  }

  /** The per-node cap this index was built with. */
  public int maxEntriesPerNode() {
    return maxEntriesPerNode;
  }

  private NodeChunks node(String nodeId) {
    return nodes.computeIfAbsent(nodeId, id -> new NodeChunks(maxEntriesPerNode));
  }

  /** One node's chunk set: an access-ordered map whose eldest entry goes beyond capacity. */
  private static final class NodeChunks extends LinkedHashMap<Long, Boolean> {
    private int capacity;

    NodeChunks(int capacity) {
      super(64, 0.75f, true);
      this.capacity = capacity;
    }

    @Override
    protected boolean removeEldestEntry(Map.Entry<Long, Boolean> eldest) {
      return size() > capacity;
    }

    synchronized void capacity(int chunks) {
      capacity = chunks;
      var it = entrySet().iterator();
      while (size() > capacity && it.hasNext()) {
        it.next();
        it.remove();
      }
    }

    synchronized void add(PrefixChain chain) {
      for (int i = chain.chunks() - 1; i >= 0; i--) { // last to first: the first chunks are the most recent
        put(chain.hashAt(i), Boolean.TRUE);
      }
    }

    synchronized int longestPrefix(PrefixChain chain) {
      int lo = 0; // chunks known held
      int hi = chain.chunks();
      while (lo < hi) {
        int mid = (lo + hi + 1) >>> 1;
        if (containsKey(chain.hashAt(mid - 1))) {
          lo = mid;
        } else {
          hi = mid - 1;
        }
      }
      return lo;
    }

    @Override
    public synchronized int size() {
      return super.size();
    }

    @Override
    public synchronized void clear() {
      super.clear();
    }
  }
}
