package dev.sluice.sim;

import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * vLLM's automatic prefix cache of one node, in blocks of {@value #BLOCK_TOKENS} prompt tokens. A block is known by
 * a 64-bit hash chained over the blocks before it ({@link #blockHashes}), so a block matches only when the whole
 * prompt up to its end matches. A block is <em>pinned</em> while running sequences use it (a reference count) and
 * <em>free</em> once none does: free blocks keep their contents, in least-recently-freed order, and are evicted from
 * the oldest end when the engine needs their room ({@link #evictTo}). Pure bookkeeping: the engine decides what is
 * pinned, released and how much room is left; the number of blocks held never exceeds what it allows.
 */
final class PrefixCache {
  /** Tokens per KV block (vLLM's default {@code --block-size}). */
  static final int BLOCK_TOKENS = 16;
  /** The parent hash of a prompt's first block. */
  private static final long ROOT = 0x6A09E667F3BCC908L;

  /** Every cached block, pinned or free, by hash. */
  private final Map<Long, Block> blocks = new HashMap<>();
  /** Free blocks (reference count 0), oldest first: evicted from the front. */
  private final LinkedHashMap<Long, Block> free = new LinkedHashMap<>();
  private int pinned;

  /**
   * The chained hashes of the full blocks among the first {@code tokens} ids: {@code h[i] = hash(h[i-1], ids of
   * block i)}, {@code floor(tokens / 16)} of them (a partial last block is never cached).
   */
  static long[] blockHashes(int[] ids, int tokens) {
    int count = Math.min(ids.length, tokens) / BLOCK_TOKENS;
    long[] hashes = new long[count];
    long parent = ROOT;
    for (int b = 0; b < count; b++) {
      long h = parent;
      for (int i = b * BLOCK_TOKENS; i < (b + 1) * BLOCK_TOKENS; i++) {
        h = (h ^ (ids[i] & 0xFFFFFFFFL)) * 0x100000001B3L;
      }
      parent = mix(h);
      hashes[b] = parent;
    }
    return hashes;
  }

  /** How many of the leading {@code hashes}, at most {@code max}, are cached (pinned or free). */
  int leadingHits(long[] hashes, int max) {
    int n = Math.min(max, hashes.length);
    int hits = 0;
    while (hits < n && blocks.containsKey(hashes[hits])) {
      hits++;
    }
    return hits;
  }

  /** How many of the first {@code count} of {@code hashes} (all cached) are pinned by someone already. */
  int pinnedAmong(long[] hashes, int count) {
    int shared = 0;
    for (int i = 0; i < count; i++) {
      if (blocks.get(hashes[i]).refs > 0) {
        shared++;
      }
    }
    return shared;
  }

  /** Pins the block {@code hash}: takes a cached block (from the free list if free) or caches a new one. */
  void pin(long hash) {
    Block block = blocks.get(hash);
    if (block == null) {
      block = new Block();
      blocks.put(hash, block);
    } else if (block.refs == 0) {
      free.remove(hash);
    }
    if (block.refs++ == 0) {
      pinned++;
    }
  }

  /**
   * Unpins the first {@code count} of {@code hashes}, last block first, so that among one prompt's blocks the tail
   * is evicted before the head (as vLLM frees them) and a shorter prefix survives longer.
   */
  void release(long[] hashes, int count) {
    for (int i = count - 1; i >= 0; i--) {
      Block block = blocks.get(hashes[i]);
      if (--block.refs == 0) {
        pinned--;
        free.put(hashes[i], block);
      }
    }
  }

  /** Evicts the oldest free blocks until at most {@code room} free blocks are kept. */
  void evictTo(long room) {
    Iterator<Long> oldest = free.keySet().iterator();
    while (free.size() > Math.max(0, room)) {
      Long hash = oldest.next();
      oldest.remove();
      blocks.remove(hash);
    }
  }

  /** Blocks used by running sequences. */
  int pinnedBlocks() {
    return pinned;
  }

  /** Blocks kept for reuse that no running sequence uses. */
  int freeBlocks() {
    return free.size();
  }

  /** SplitMix64's finaliser. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private static final class Block {
    int refs;
  }
}
