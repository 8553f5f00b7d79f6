package dev.sluice.sim;

import java.util.Objects;

/**
 * A misbehaviour applied to the next {@code count} generation requests of a node (faults queue FIFO). Build one with
 * the static factories; {@link Kind#wireName()} is the {@code kind} of {@code POST /sim/faults}.
 *
 * @param kind what goes wrong
 * @param count how many generation requests it applies to
 * @param afterTokens tokens streamed before a reset or stall (0 for the other kinds)
 * @param status HTTP status of a {@link Kind#STATUS} fault (0 otherwise)
 * @param body response body of a {@link Kind#STATUS} fault ({@code null} otherwise)
 */
public record SimFault(Kind kind, int count, int afterTokens, int status, String body) {

  /** What goes wrong. */
  public enum Kind {
    /** Read the request, then close the connection without sending a byte: a node killed before its first byte. */
    RESET_BEFORE_FIRST_BYTE("reset-before-first-byte"),
    /** Accept the request and never answer, until the client leaves. */
    HANG_BEFORE_FIRST_BYTE("hang-before-first-byte"),
    /** Answer with a fixed status and body, e.g. Ollama's 503 when its queue is full. */
    STATUS("status"),
    /** Stream some tokens, then close the connection. */
    RESET_AFTER_TOKENS("reset-after-tokens"),
    /** Stream some tokens, then go silent until the client leaves. */
    STALL_AFTER_TOKENS("stall-after-tokens");

    private final String wireName;

    Kind(String wireName) {
      this.wireName = wireName;
    }

    /** The name used by the {@code /sim/faults} control endpoint. */
    public String wireName() {
      return wireName;
    }

    /** The kind named {@code wireName}, or an error listing the valid names. */
    public static Kind fromWireName(String wireName) {
      for (Kind kind : values()) {
        if (kind.wireName.equals(wireName)) {
          return kind;
        }
      }
      throw new IllegalArgumentException("kind: \"" + wireName + "\" is not a fault kind (expected one of "
          + "reset-before-first-byte, hang-before-first-byte, status, reset-after-tokens, stall-after-tokens)");
    }
  }

  /** Ollama's answer when its request queue is full. */
  public static final String OLLAMA_BUSY_BODY =
      "{\"error\":\"server busy, please try again.  maximum pending requests exceeded\"}";

  public SimFault {
    Objects.requireNonNull(kind, "kind");
    if (count < 1) {
      throw new IllegalArgumentException("count: " + count + " (expected >= 1 requests)");
    }
    if (afterTokens < 0) {
      throw new IllegalArgumentException("afterTokens: " + afterTokens + " (expected >= 0)");
    }
    if (kind == Kind.STATUS && (status < 100 || status > 599 || body == null)) {
      throw new IllegalArgumentException("status fault: status " + status + " and body " + body
          + " (expected a status 100-599 and a body)");
    }
  }

  public static SimFault resetBeforeFirstByte(int count) {
    return new SimFault(Kind.RESET_BEFORE_FIRST_BYTE, count, 0, 0, null);
  }

  public static SimFault hangBeforeFirstByte(int count) {
    return new SimFault(Kind.HANG_BEFORE_FIRST_BYTE, count, 0, 0, null);
  }

  public static SimFault status(int status, String body, int count) {
    return new SimFault(Kind.STATUS, count, 0, status, body);
  }

  public static SimFault resetAfterTokens(int tokens, int count) {
    return new SimFault(Kind.RESET_AFTER_TOKENS, count, tokens, 0, null);
  }

  public static SimFault stallAfterTokens(int tokens, int count) {
    return new SimFault(Kind.STALL_AFTER_TOKENS, count, tokens, 0, null);
  }
}
