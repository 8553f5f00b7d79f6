package dev.sluice.sim;

import java.util.Arrays;

/**
 * The KV of an Ollama runner's parallel slots, as llama.cpp keeps it: each slot holds the tokens of the last prompt
 * it processed, and a new prompt goes to the free slot that shares the longest common prefix with it (the first such
 * slot on a tie, as Ollama's {@code findLongestCacheSlot} picks), whose matching tokens need no prefill. There is no
 * sharing between slots. Memory is one prompt per slot.
 */
final class SlotCache {
  static final int[] EMPTY = new int[0];

  private final int[][] tokens;
  private final int[] valid;
  private final boolean[] busy;

  SlotCache(int slots) {
    tokens = new int[slots][];
    valid = new int[slots];
    busy = new boolean[slots];
    Arrays.fill(tokens, EMPTY);
  }

  /** The free slot sharing the longest prefix with {@code ids} (the lowest on a tie), or -1 if all are busy. */
  int best(int[] ids) {
    int best = -1;
    int longest = -1;
    for (int s = 0; s < tokens.length; s++) {
      if (!busy[s]) {
        int common = commonPrefix(s, ids);
        if (common > longest) {
          longest = common;
          best = s;
        }
      }
    }
    return best;
  }

  /** Tokens of {@code ids} at the start of what {@code slot} holds. */
  int commonPrefix(int slot, int[] ids) {
    int[] kept = tokens[slot];
    int n = Math.min(valid[slot], ids.length);
    int i = 0;
    while (i < n && kept[i] == ids[i]) {
      i++;
    }
    return i;
  }

  /** Gives {@code slot} to a prompt {@code ids} whose first {@code reused} tokens it already holds. */
  void acquire(int slot, int[] ids, int reused) {
    busy[slot] = true;
    tokens[slot] = ids;
    valid[slot] = reused;
  }

  /** Frees {@code slot}, which now holds the first {@code processed} tokens of its last prompt. */
  void release(int slot, int processed) {
    busy[slot] = false;
    valid[slot] = Math.min(processed, tokens[slot].length);
  }
}
