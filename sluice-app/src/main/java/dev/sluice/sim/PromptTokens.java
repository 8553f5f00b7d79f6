package dev.sluice.sim;

/**
 * The simulator's own deterministic tokeniser, the one its prompt counts already use: a prompt's code points cut into
 * pieces of 4 from the start (the last piece may be shorter), one token per piece, so a text of {@code n} code
 * points has {@code ceil(n / 4)} tokens (see {@link TextGenerator#promptTokens}). A token's id is a 32-bit hash of
 * its code points: equal pieces give equal ids, and two prompts that start with the same text start with the same
 * tokens, which is all prefix caching needs.
 */
public final class PromptTokens {
  /** Code points per token. */
  static final int CODE_POINTS_PER_TOKEN = 4;

  private PromptTokens() {}

  /** The token ids of {@code text}, in order; empty for an empty text. */
  public static int[] of(CharSequence text) {
    int[] codePoints = text.codePoints().toArray();
    int[] ids = new int[(codePoints.length + CODE_POINTS_PER_TOKEN - 1) / CODE_POINTS_PER_TOKEN];
    for (int t = 0; t < ids.length; t++) {
      int h = 0x2545F491;
      int end = Math.min(codePoints.length, (t + 1) * CODE_POINTS_PER_TOKEN);
      for (int i = t * CODE_POINTS_PER_TOKEN; i < end; i++) {
        h = (h ^ codePoints[i]) * 0x01000193;
      }
      ids[t] = fmix(h ^ (end - t * CODE_POINTS_PER_TOKEN));
    }
    return ids;
  }

  /** MurmurHash3's 32-bit finaliser. */
  private static int fmix(int h) {
    h ^= h >>> 16;
    h *= 0x85EBCA6B;
    h ^= h >>> 13;
    h *= 0xC2B2AE35;
    h ^= h >>> 16;
    return h;
  }
}
