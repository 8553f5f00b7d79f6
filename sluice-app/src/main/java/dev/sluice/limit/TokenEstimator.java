package dev.sluice.limit;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;

/**
 * Prompt token counts: a fast conservative {@link #estimate(CharSequence) estimate} for every request, and an
 * {@link #count(String) exact} BPE count for the few that come close to a limit.
 *
 * <p>The exact count uses tiktoken's {@code cl100k_base} vocabulary (jtokkit). Sluice's models mostly run Qwen2/3 or
 * Llama 3 tokenizers, whose vocabularies extend cl100k's (about 150 k and 128 k entries against 100 k), so they merge
 * at least as much: a cl100k count is a close upper bound for them, and the one count we can compute without shipping
 * each model's tokenizer. Chinese text is the exception worth knowing: Qwen's vocabulary needs noticeably fewer tokens
 * than cl100k there, so the bound is loose, never short.
 *
 * <p>The estimate is one pass over the characters with a cost per character class, tuned against cl100k on English
 * prose, Chinese prose, Java, Python and JSON (test samples in {@code src/test/resources/limit}) so that it never
 * comes out more than 10 % below the exact count on those and stays within 1.5× above it:
 * <ul>
 *   <li>ASCII letters: each camelCase piece of a word costs 1 token up to {@value #SHORT_WORD_LETTERS} letters plus 1
 *       per further {@value #SHORT_WORD_LETTERS_PER_TOKEN}, and 1 per {@value #LONG_WORD_LETTERS_PER_TOKEN} letters
 *       beyond {@value #LONG_WORD_START} (compounds such as German nouns split finely); a piece without a vowel
 *       (abbreviations, random strings) costs 1 per {@value #VOWELLESS_LETTERS_PER_TOKEN} letters;</li>
 *   <li>digits: 1 token per group of up to {@value #DIGITS_PER_TOKEN} (cl100k splits numbers that way);</li>
 *   <li>ASCII punctuation: 1 per {@value #PUNCTUATION_PER_TOKEN} characters of a run, except a lone {@code .} or
 *       {@code _} before a letter ({@code .add}, {@code _ms}), which merges into the word;</li>
 *   <li>whitespace: a single space or tab is free (it merges into the next word), a longer run or a line break costs
 *       1, an indentation after a line break 1 more;</li>
 *   <li>CJK ideographs, kana and hangul: {@value #CJK_QUARTERS}/4 tokens per character (common ideographs are one
 *       cl100k token, rarer ones two or three); CJK and general punctuation 1 per character;</li>
 *   <li>other letters (accented Latin, Cyrillic, Greek, ...): 1 per 2 characters; other symbols by UTF-8 length (1,
 *       2, or 3 for emoji and other characters outside the BMP);</li>
 *   <li>a long whitespace-free word that changes character class at least every
 *       {@value #DENSE_PIECES_PER_10_CHARS}/10 characters (base64, hashes) costs at least 3/4 token per character,
 *       since BPE finds few merges in random text.</li>
 * </ul>
 * Both methods are thread-safe.
 */
public final class TokenEstimator {
  /** Costs are summed in quarter tokens so that CJK characters can cost 1.25 without floating point. */
  private static final int Q = 4;
  /** Letters of a word piece that cl100k almost always encodes as one token ("the", "request", "gateway"). */
  static final int SHORT_WORD_LETTERS = 7;
  /** Letters per extra token in a piece longer than {@link #SHORT_WORD_LETTERS} (measured: English ≈ 1.1 tokens). */
  static final int SHORT_WORD_LETTERS_PER_TOKEN = 6;
  /** From this length on a piece is probably a compound or rare word, which BPE splits finely. */
  static final int LONG_WORD_START = 10;
  /** Letters per token beyond {@link #LONG_WORD_START} (measured on German compounds: 2.7–3.3 letters per token). */
  static final int LONG_WORD_LETTERS_PER_TOKEN = 3;
  /** A vowel-less piece ("xkq", "HTTP", base64 fragments) rarely matches a vocabulary entry longer than 2 letters. */
  static final int VOWELLESS_LETTERS_PER_TOKEN = 2;
  /** cl100k's pre-tokenizer cuts digit runs into groups of at most 3. */
  static final int DIGITS_PER_TOKEN = 3;
  /** Punctuation runs merge in pairs or better in cl100k ("{\"", "\":", "();", "->"). */
  static final int PUNCTUATION_PER_TOKEN = 2;
  /** Quarter tokens per CJK ideograph, kana or hangul syllable: 1.25 (measured: 1.05 on common Chinese prose). */
  static final int CJK_QUARTERS = 5;
  /** A whitespace-free word at least this long is checked for random-looking content. */
  static final int DENSE_WORD_MIN_CHARS = 12;
  /** Pieces (class changes) per 10 characters above which a word is random-looking (base64 ≈ 6, code ≈ 2.5). */
  static final int DENSE_PIECES_PER_10_CHARS = 4;
  /** Quarter tokens per character of a random-looking word (measured: base64 0.72, hex 0.64 tokens per char). */
  static final int DENSE_QUARTERS_PER_CHAR = 3;

  private static final String ENCODING_NAME = "cl100k_base";

  private TokenEstimator() {}

  /** Conservative, allocation-free estimate of the cl100k token count of {@code text}; see the class comment. */
  public static int estimate(CharSequence text) {
    return tokens(quarters(text, 0, text.length()));
  }

  /** Quarter tokens rounded up to whole tokens. */
  static int tokens(long quarters) {
    return (int) Math.min(Integer.MAX_VALUE, (quarters + Q - 1) / Q);
  }

  /**
   * The estimate of {@code text[from, to)} in quarter tokens, unrounded. Additive over cuts: where a whitespace run
   * starts after a non-space character ({@link #isCut}), the quarters of the two sides sum to the quarters of the
   * whole, since every rule looks no further than the end of a word or of a run of spaces.
   */
  static long quarters(CharSequence text, int from, int to) {
    int n = to;
    long quarters = 0;
    long wordStartQuarters = 0;
    int wordStart = -1;
    int wordPieces = 0;
    int i = from;
    while (i < n) {
      char c = text.charAt(i);
      if (isSpace(c)) {
        if (wordStart >= 0) {
          quarters = closeWord(quarters, wordStartQuarters, i - wordStart, wordPieces);
          wordStart = -1;
        }
        int j = i;
        boolean lineBreak = false;
        int trailing = 0;
        while (j < n && isSpace(text.charAt(j))) {
          char w = text.charAt(j++);
          if (w == '\n' || w == '\r') {
            lineBreak = true;
            trailing = 0;
          } else {
            trailing++;
          }
        }
        if (lineBreak) {
          quarters += trailing >= 2 ? 2 * Q : Q;
        } else if (j - i >= 2) {
          quarters += Q;
        }
        i = j;
        continue;
      }
      if (wordStart < 0) {
        wordStart = i;
        wordStartQuarters = quarters;
        wordPieces = 0;
      }
      if (isAsciiLetter(c)) {
        int pieceStart = i;
        boolean vowel = false;
        boolean prevUpper = false;
        int j = i;
        while (j < n) {
          char l = text.charAt(j);
          boolean upper = l >= 'A' && l <= 'Z';
          if (!upper && (l < 'a' || l > 'z')) {
            break;
          }
          if (upper && j > pieceStart && (!prevUpper || nextIsLower(text, j + 1, n))) {
            quarters += letterPiece(j - pieceStart, vowel);
            wordPieces++;
            pieceStart = j;
            vowel = false;
          }
          vowel |= isVowel(l);
          prevUpper = upper;
          j++;
        }
        quarters += letterPiece(j - pieceStart, vowel);
        wordPieces++;
        i = j;
      } else if (c >= '0' && c <= '9') {
        int j = i;
        while (j < n && text.charAt(j) >= '0' && text.charAt(j) <= '9') {
          j++;
        }
        quarters += (long) Q * ceilDiv(j - i, DIGITS_PER_TOKEN);
        wordPieces++;
        i = j;
      } else if (c < 0x80) {
        int j = i;
        while (j < n && isAsciiPunctuation(text.charAt(j))) {
          j++;
        }
        int len = j - i;
        boolean mergesIntoWord = len == 1 && (c == '.' || c == '_') && j < n && isAsciiLetter(text.charAt(j));
        if (!mergesIntoWord) {
          quarters += (long) Q * ceilDiv(len, PUNCTUATION_PER_TOKEN);
        }
        wordPieces++;
        i = j;
      } else {
        int cp = Character.codePointAt(text, i);
        quarters += nonAscii(cp);
        wordPieces++;
        i += Character.charCount(cp);
      }
    }
    if (wordStart >= 0) {
      quarters = closeWord(quarters, wordStartQuarters, n - wordStart, wordPieces);
    }
    return quarters;
  }

  /** Whether the estimate is additive at {@code i}: a whitespace run starts there, after a non-space character. */
  static boolean isCut(CharSequence text, int i) {
    return i > 0 && i < text.length() && isSpace(text.charAt(i)) && !isSpace(text.charAt(i - 1));
  }

  /**
   * Exact token count with cl100k_base (special tokens such as {@code <|endoftext|>} counted as the plain text they
   * are, since the gateway never sends them as control tokens).
   */
  public static int count(String text) {
    return Cl100k.ENCODING.countTokensOrdinary(text);
  }

  /** Holder idiom: the vocabulary (a few MB) loads on first use, once, thread-safely. */
  private static final class Cl100k {
    static final Encoding ENCODING = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);

    static {
      if (!ENCODING_NAME.equals(ENCODING.getName())) {
        throw new IllegalStateException("jtokkit returned " + ENCODING.getName() + " for " + ENCODING_NAME);
      }
    }
  }

  private static long closeWord(long quarters, long wordStartQuarters, int wordChars, int pieces) {
    if (wordChars < DENSE_WORD_MIN_CHARS || pieces * 10L < (long) DENSE_PIECES_PER_10_CHARS * wordChars) {
      return quarters;
    }
    return Math.max(quarters, wordStartQuarters + (long) DENSE_QUARTERS_PER_CHAR * wordChars);
  }

  /** Quarter tokens of one camelCase piece of {@code len} ASCII letters. */
  private static long letterPiece(int len, boolean hasVowel) {
    if (len >= 2 && !hasVowel) {
      return (long) Q * ceilDiv(len, VOWELLESS_LETTERS_PER_TOKEN);
    }
    int shortPart = Math.min(len, LONG_WORD_START);
    int tokens = 1 + Math.max(0, shortPart - SHORT_WORD_LETTERS + SHORT_WORD_LETTERS_PER_TOKEN - 1)
        / SHORT_WORD_LETTERS_PER_TOKEN;
    if (len > LONG_WORD_START) {
      tokens += ceilDiv(len - LONG_WORD_START, LONG_WORD_LETTERS_PER_TOKEN);
    }
    return (long) Q * tokens;
  }

  /** After a run of capitals, a capital followed by a lower-case letter starts a piece ("HTTP|Server"). */
  private static boolean nextIsLower(CharSequence text, int k, int end) {
    if (k >= end) {
      return false;
    }
    char c = text.charAt(k);
    return c >= 'a' && c <= 'z';
  }

  private static long nonAscii(int cp) {
    if (isCjk(cp)) {
      return CJK_QUARTERS;
    }
    if (isWidePunctuation(cp)) {
      return Q;
    }
    if (Character.isLetter(cp)) {
      return Q / 2;
    }
    if (cp > 0xFFFF) {
      return 3L * Q;
    }
    return cp < 0x800 ? Q : 2L * Q;
  }

  private static boolean isCjk(int cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) // CJK unified ideographs
        || (cp >= 0x3400 && cp <= 0x4DBF) // extension A
        || (cp >= 0x20000 && cp <= 0x3FFFF) // extensions B and later
        || (cp >= 0xF900 && cp <= 0xFAFF) // compatibility ideographs
        || (cp >= 0x3040 && cp <= 0x30FF) // hiragana, katakana
        || (cp >= 0xAC00 && cp <= 0xD7AF) // hangul syllables
        || (cp >= 0x1100 && cp <= 0x11FF) // hangul jamo
        || (cp >= 0x3130 && cp <= 0x318F); // hangul compatibility jamo
  }

  private static boolean isWidePunctuation(int cp) {
    return (cp >= 0x2000 && cp <= 0x206F) // general punctuation: dashes, curly quotes, ellipsis
        || (cp >= 0x3000 && cp <= 0x303F) // CJK symbols and punctuation: 。、「」
        || (cp >= 0xFF00 && cp <= 0xFFEF); // full-width forms: ，！（）
  }

  private static boolean isVowel(char c) {
    return switch (c | 0x20) {
      case 'a', 'e', 'i', 'o', 'u', 'y' -> true;
      default -> false;
    };
  }

  private static boolean isSpace(char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
  }

  private static boolean isAsciiLetter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }

  private static boolean isAsciiPunctuation(char c) {
    return c < 0x80 && !isSpace(c) && !isAsciiLetter(c) && !(c >= '0' && c <= '9');
  }

  private static int ceilDiv(int a, int b) {
    return (a + b - 1) / b;
  }
}
