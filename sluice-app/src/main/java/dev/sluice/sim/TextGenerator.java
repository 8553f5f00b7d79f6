package dev.sluice.sim;

import java.util.ArrayList;
import java.util.List;
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
 * so that consumers must split streams on byte boundaries correctly. One word is one token.
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

  /** {@code count} tokens of filler text; every token but the first starts with a space. */
  static List<String> tokens(SplittableRandom random, int count) {
    List<String> tokens = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      String word = VOCABULARY[random.nextInt(VOCABULARY.length)];
      tokens.add(i == 0 ? word : " " + word);
    }
    return tokens;
  }
}
