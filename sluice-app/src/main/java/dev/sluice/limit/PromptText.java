package dev.sluice.limit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.sluice.routing.PrefixChain;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The text a model will read from one request body, whichever of Sluice's APIs it came through, with its token count:
 * a cheap {@link #estimatedTokens() estimate} made once, and an {@link #exactTokens() exact} count made only if asked.
 *
 * <p>Read: OpenAI chat {@code messages[].content} (a string, or parts whose {@code text} is read and whose images
 * count {@value #IMAGE_TOKENS} tokens each), {@code messages[].name}, {@code messages[].tool_calls[].function} name
 * and arguments, {@code tools} and legacy {@code functions} (as their JSON text); OpenAI completions {@code prompt}
 * (a string, strings, or token ids, counted as they are) and {@code suffix}; Ollama chat {@code messages[].content}
 * and {@code images}; Ollama generate {@code prompt}, {@code system} and {@code images}; embeddings {@code input};
 * Anthropic Messages {@code system} (a string or text blocks) and content blocks ({@code text}, {@code tool_use} name
 * and input, {@code tool_result} content, {@code thinking}, images counted); OpenAI Responses {@code instructions}
 * and {@code input} items (messages, {@code function_call} name and arguments, {@code function_call_output},
 * reasoning text).
 * Both counts add OpenAI's chat overheads: {@value #TOKENS_PER_MESSAGE} per message and {@value #TOKENS_PER_REQUEST}
 * per request. Thread-safe.
 */
public final class PromptText {
  /**
   * Tokens charged per image: OpenAI's figure for a 1024×1024 image at high detail (85 + 4 tiles × 170); local vision
   * models use a similar few hundred, and the gateway does not decode images to measure them.
   */
  public static final int IMAGE_TOKENS = 765;
  /** OpenAI's counting rule: each message is wrapped in role and separator tokens ({@code <|im_start|>role ...}). */
  public static final int TOKENS_PER_MESSAGE = 4;
  /** OpenAI's counting rule: every reply is primed with {@code <|im_start|>assistant<|im_sep|>}. */
  public static final int TOKENS_PER_REQUEST = 3;

  /** Prompts shorter than this (in characters) are estimated in one pass, without the segment memo. */
  static final int MEMO_MIN_CHARS = 8 * 1024;
  /** Bytes per memo segment, before it is extended to the next cut (a space after a word). */
  static final int SEGMENT_BYTES = 2 * 1024;
  /** The text's buffer is made at most this large up front (a body of images has little text). */
  static final int MAX_PRESIZE_CHARS = 1 << 20;
  /** Segments remembered: 32 Ki of ~2 KB each cover 64 MB of distinct prompt text in a few MB of heap. */
  static final int MEMO_SEGMENTS = 32 * 1024;

  /**
   * The estimate, in quarter tokens, of prompt segments seen before, by the hash of their UTF-8 bytes. Agents resend
   * the same system prompt, tools and earlier turns with every request (docs AGENTS.md: 96 % of turns reuse at least
   * 90 % of the previous input), so a long prompt's estimate costs a hash of its bytes plus one pass over the new text.
   */
  private static final Cache<Long, Long> MEMO = Caffeine.newBuilder().maximumSize(MEMO_SEGMENTS).build();

  private final String text;
  private final String param;
  private final int overhead;
  private final int estimated;
  private volatile int exact = -1;
  private volatile byte[] utf8;

  private PromptText(String text, String param, long overhead) {
    this.text = text;
    this.param = param;
    this.overhead = (int) Math.min(Integer.MAX_VALUE / 2, overhead);
    this.estimated = saturatedAdd(text.length() < MEMO_MIN_CHARS ? TokenEstimator.estimate(text) : bySegments(),
        this.overhead);
  }

  /**
   * {@link TokenEstimator#estimate} of the text, summed over segments that end where a whitespace run starts (the
   * estimate is additive there, {@link TokenEstimator#quarters}), each segment's quarters taken from {@link #MEMO}
   * when its bytes were seen before: the same figure as one pass, up to a 2⁻⁶⁴ hash collision.
   */
  private int bySegments() {
    byte[] b = utf8();
    boolean ascii = b.length == text.length();
    long quarters = 0;
    int charAt = 0; // the character where byte byteAt starts (found by counting only when the text is not ASCII)
    int byteAt = 0;
    for (int start = 0; start < b.length; ) {
      int end = Math.min(b.length, start + SEGMENT_BYTES);
      while (end < b.length && !(isSpace(b[end]) && !isSpace(b[end - 1]))) end++;
      Long key = PrefixChain.hash(b, start, end);
      Long known = MEMO.getIfPresent(key);
      if (known == null) {
        int from = ascii ? start : (charAt += chars(b, byteAt, start));
        int to = ascii ? end : (charAt += chars(b, start, end));
        if (!ascii) byteAt = end;
        known = TokenEstimator.quarters(text, from, to);
        MEMO.put(key, known);
      }
      quarters += known;
      start = end;
    }
    return TokenEstimator.tokens(quarters);
  }

  /** UTF-16 characters encoded by {@code b[from, to)}: one per sequence start, two for a 4-byte sequence. */
  private static int chars(byte[] b, int from, int to) {
    int n = 0;
    for (int i = from; i < to; i++) {
      int x = b[i] & 0xff;
      if ((x & 0xC0) != 0x80) n += x >= 0xF0 ? 2 : 1;
    }
    return n;
  }

  private static boolean isSpace(byte c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
  }

  /** Extracts the prompt from a request body of any of Sluice's generation or embedding APIs. */
  public static PromptText of(ObjectNode body) {
    return of(body, 256);
  }

  /**
   * As {@link #of(ObjectNode)}, the text gathered in a buffer of {@code expectedChars} (the body's length: the text is
   * never much longer), so a long prompt is not copied again and again as the buffer grows.
   */
  public static PromptText of(ObjectNode body, int expectedChars) {
    Objects.requireNonNull(body, "body");
    Extractor x = new Extractor(Math.max(16, Math.min(expectedChars, MAX_PRESIZE_CHARS)));
    // Canonical order, what stays the same across an agent's turns first: system, tools, then the conversation.
    // routing/PrefixChain hashes this text, so a turn that extends the last one shares its prefix.
    x.parts(body.get("system"));
    x.text(body.get("instructions"));
    x.json(body.get("tools"));
    x.json(body.get("functions"));
    JsonNode messages = body.get("messages");
    if (messages != null && messages.isArray()) {
      for (JsonNode message : messages) {
        x.message(message);
      }
    }
    x.textOrTokens(body.get("prompt"));
    x.text(body.get("suffix"));
    x.textOrTokens(body.get("input"));
    x.images(body.get("images"));
    String param = messages != null ? "messages" : body.has("input") ? "input" : "prompt";
    long overhead = (long) TOKENS_PER_MESSAGE * x.messages + TOKENS_PER_REQUEST + (long) IMAGE_TOKENS * x.images
        + x.tokenIds;
    return new PromptText(x.out.toString(), param, overhead);
  }

  /** Plain text as one user message; for tests and callers that already hold the text. */
  static PromptText ofText(String text) {
    return new PromptText(Objects.requireNonNull(text, "text"), "messages", TOKENS_PER_MESSAGE + TOKENS_PER_REQUEST);
  }

  /**
   * The text read, parts joined by line breaks (without images, token ids and overheads), in canonical order: system
   * and instructions, tools, then messages, prompt and input.
   */
  public String text() {
    return text;
  }

  /**
   * {@link #text()} as UTF-8 (made once; the prefix chain hashes the same bytes). Shared, not copied: callers must not
   * change it.
   */
  public byte[] utf8() {
    byte[] b = utf8;
    if (b == null) {
      b = text.getBytes(StandardCharsets.UTF_8);
      utf8 = b;
    }
    return b;
  }

  /** The request field that holds the prompt, for error replies: {@code messages}, {@code prompt} or {@code input}. */
  public String param() {
    return param;
  }

  /** {@link TokenEstimator#estimate} of the text plus overheads; computed once, at construction. */
  public int estimatedTokens() {
    return estimated;
  }

  /** {@link TokenEstimator#count} of the text plus overheads; computed on the first call, once. */
  public int exactTokens() {
    int value = exact;
    if (value >= 0) {
      return value;
    }
    synchronized (this) {
      if (exact < 0) {
        exact = saturatedAdd(TokenEstimator.count(text), overhead);
      }
      return exact;
    }
  }

  /** Whether {@link #exactTokens()} has run (the BPE pass); for tests of the fast path. */
  boolean exactComputed() {
    return exact >= 0;
  }

  private static int saturatedAdd(int a, int b) {
    return (int) Math.min(Integer.MAX_VALUE, (long) a + b);
  }

  /** Collects text pieces and counts; one per call of {@link #of}. */
  private static final class Extractor {
    final StringBuilder out;
    int messages;
    int images;
    long tokenIds;

    Extractor(int capacity) {
      out = new StringBuilder(capacity);
    }

    void message(JsonNode message) {
      if (!message.isObject()) {
        return;
      }
      messages++;
      parts(message.get("content"));
      text(message.get("name"));
      images(message.get("images"));
      JsonNode toolCalls = message.get("tool_calls");
      if (toolCalls != null && toolCalls.isArray()) {
        for (JsonNode call : toolCalls) {
          JsonNode function = call.get("function");
          if (function != null) {
            text(function.get("name"));
            JsonNode arguments = function.get("arguments");
            if (arguments != null && arguments.isTextual()) {
              text(arguments);
            } else {
              json(arguments);
            }
          }
        }
      }
    }

    /** A string, or an array of content parts. */
    void parts(JsonNode content) {
      if (content != null && content.isArray()) {
        for (JsonNode part : content) {
          part(part);
        }
      } else {
        text(content);
      }
    }

    /**
     * A content part or block: text is read (also a tool call's name and input, a tool result's content, thinking),
     * images counted; anything else (audio, files) is not estimated.
     */
    void part(JsonNode part) {
      if (part.isTextual()) {
        text(part);
        return;
      }
      JsonNode type = part.get("type");
      String kind = type != null && type.isTextual() ? type.asText() : "";
      if (kind.startsWith("image") || kind.equals("input_image")) {
        images++;
        return;
      }
      text(part.get("text"));
      text(part.get("refusal"));
      text(part.get("thinking"));
      if (kind.equals("tool_use")) {
        text(part.get("name"));
        json(part.get("input"));
      } else if (kind.equals("tool_result")) {
        parts(part.get("content"));
      }
    }

    /** One item of a Responses {@code input}: a message, a function call or its output, reasoning. */
    void item(JsonNode item) {
      JsonNode type = item.get("type");
      String kind = type != null && type.isTextual() ? type.asText() : "message";
      switch (kind) {
        case "message" -> message(item);
        case "function_call" -> {
          text(item.get("name"));
          text(item.get("arguments"));
        }
        case "function_call_output" -> parts(item.get("output"));
        case "reasoning" -> {
          parts(item.get("summary"));
          parts(item.get("content"));
        }
        default -> { } // other items are refused or passed through; not estimated
      }
    }

    /** A string, or an array of strings, or token ids (one level or nested). */
    void textOrTokens(JsonNode node) {
      if (node == null || !node.isArray()) {
        text(node);
        return;
      }
      for (JsonNode item : node) {
        if (item.isNumber()) {
          tokenIds++;
        } else if (item.isArray()) {
          textOrTokens(item);
        } else if (item.isObject()) {
          item(item);
        } else {
          text(item);
        }
      }
    }

    void text(JsonNode node) {
      if (node != null && node.isTextual()) {
        append(node.asText());
      }
    }

    void json(JsonNode node) {
      if (node != null && !node.isNull() && !node.isMissingNode()) {
        append(node.toString());
      }
    }

    void images(JsonNode node) {
      if (node != null && node.isArray()) {
        images += node.size();
      }
    }

    private void append(String piece) {
      if (piece.isEmpty()) {
        return;
      }
      if (!out.isEmpty()) {
        out.append('\n');
      }
      out.append(piece);
    }
  }
}
