package dev.sluice.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Token accounting and deterministic filler text.
 *
 * <p>Prompt tokens are estimated as {@code ceil(code points / 4)} (at least 1), the usual rule of thumb for English
 * with BPE tokenizers. Output lengths without a client limit follow a chat-like distribution taken from the Azure
 * conversation trace: a piecewise-linear inverse CDF through the quantiles p0 = 8, p25 = 64, p50 = 129, p75 = 330,
 * p90 = 520, p100 = 600 tokens, which gives a median of 129, a mean of about 210 and a maximum of 600.
 *
 * <p>Output text is words from a fixed vocabulary that includes multi-byte UTF-8 (2-, 3- and 4-byte code points),
 * so that consumers must split streams on byte boundaries correctly. One word is one token. The word at each position
 * of an answer is a hash of (seed, conversation, position), see {@link #answer}.
 */
final class TextGenerator {
  /** Upper bound of a requested output length. */
  static final int MAX_OUTPUT_TOKENS = 4096;

  private static final double[] QUANTILES = {0, 0.25, 0.5, 0.75, 0.9, 1.0};
  private static final double[] QUANTILE_TOKENS = {8, 64, 129, 330, 520, 600};

  private static final String[] VOCABULARY = {
      "the", "model", "answers", "with", "a", "short", "and", "useful", "reply", "about", "GPU", "tokens",
      "café", "naïve", "Straße", "日本語", "テキスト", "emoji", "🚀", "✨", "données", "Ωmega", "→", "€",
      "\"quoted\"", "back\\slash", "tab\t", "line.\n", "of", "to", "in", "is"
  };

  private static final Set<String> WORDS = Set.of(VOCABULARY);
  private static final int LONGEST_WORD = WORDS.stream().mapToInt(String::length).max().orElseThrow();

  private TextGenerator() {}

  /** Estimated tokens of a prompt: {@code ceil(code points / 4)}, at least 1. */
  static int promptTokens(CharSequence text) {
    long codePoints = text.codePoints().count();
    return (int) Math.max(1, (codePoints + 3) / 4);
  }

  /** An output length drawn from the chat-like distribution described on the class. */
  static int sampleOutputTokens(SplittableRandom random) {
    double p = random.nextDouble();
    int i = 1;
    while (QUANTILES[i] < p) {
      i++;
    }
    double share = (p - QUANTILES[i - 1]) / (QUANTILES[i] - QUANTILES[i - 1]);
    return (int) Math.round(QUANTILE_TOKENS[i - 1] + share * (QUANTILE_TOKENS[i] - QUANTILE_TOKENS[i - 1]));
  }

  /**
   * The answer to a conversation (its {@link GenerationRequest#conversation() key}) under {@code seed}: the token at
   * position {@code i} depends on (seed, conversation, i) only, and the natural length (without a client limit) on
   * (seed, conversation) only, so any node with the same seed gives the same answer and can continue another's.
   *
   * <p>{@code partial} is the start of the answer the client already has ({@code ""} for none). When it is a prefix
   * of the uninterrupted answer, cut anywhere (even inside a token), the answer is the rest of the uninterrupted one:
   * first the rest of the cut token, then the following tokens. Otherwise the answer continues from position
   * {@link #promptTokens estimated tokens} of {@code partial}. With a limit ({@code maxTokens} &gt; 0, already capped
   * by the caller) it is exactly that many new tokens; without one it ends where the uninterrupted answer ends.
   *
   * @return the new tokens; {@code finished} is whether the answer ended by itself ({@code stop}) rather than at the
   *     limit
   */
  static Answer answer(long seed, long conversation, String partial, int maxTokens) {
    long key = key(seed, conversation);
    int natural = sampleOutputTokens(new SplittableRandom(key));
    List<String> tokens = new ArrayList<>();
    int position = 0;
    int matched = 0;
    while (matched < partial.length()) {
      String token = token(key, position);
      if (partial.startsWith(token, matched)) {
        matched += token.length();
        position++;
      } else if (token.startsWith(partial.substring(matched))) {
        tokens.add(token.substring(partial.length() - matched)); // the rest of the cut token
        break;
      } else {
        position = promptTokens(partial); // not the start of this answer: continue from its estimated length
        break;
      }
    }
    int end = maxTokens > 0 ? position + maxTokens : Math.max(position, natural);
    for (int i = position + tokens.size(); i < end; i++) {
      tokens.add(token(key, i));
    }
    return new Answer(tokens, maxTokens == 0);
  }

  /** Whether {@code partial} is exactly the first tokens of the answer to {@code conversation} under {@code seed}. */
  static boolean startsAnswer(long seed, long conversation, String partial) {
    long key = key(seed, conversation);
    int matched = 0;
    for (int position = 0; matched < partial.length(); position++) {
      String token = token(key, position);
      if (!partial.startsWith(token, matched)) {
        return false;
      }
      matched += token.length();
    }
    return true;
  }

  /** Whether {@code text} is one word of the vocabulary. */
  static boolean isWord(String text) {
    return WORDS.contains(text);
  }

  /** The vocabulary words {@code text} ends with. */
  static List<String> wordsEnding(CharSequence text) {
    List<String> words = new ArrayList<>();
    String tail = text.subSequence(Math.max(0, text.length() - LONGEST_WORD), text.length()).toString();
    for (String word : VOCABULARY) {
      if (tail.endsWith(word)) {
        words.add(word);
      }
    }
    return words;
  }

  /** New tokens of an answer and whether it ended by itself. */
  record Answer(List<String> tokens, boolean finished) {}

  /** The token at {@code position} of the answer keyed {@code key}; every token but the first starts with a space. */
  private static String token(long key, int position) {
    String word = VOCABULARY[(int) Math.floorMod(mix(key + (position + 1L) * 0x9E3779B97F4A7C15L),
        (long) VOCABULARY.length)];
    return position == 0 ? word : " " + word;
  }

  private static long key(long seed, long conversation) {
    return mix(seed * 0x9E3779B97F4A7C15L ^ conversation);
  }

  /** SplitMix64's finaliser. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
