package dev.sluice.observe;

import dev.sluice.support.Ids;

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) as the gateway uses it: the client's {@code traceparent}
 * is accepted when valid (else a new trace starts), and the node is called under the gateway's own span of the same
 * trace, so the client's header never reaches a node verbatim. {@code tracestate} is passed on as given.
 *
 * @param traceId 32 lower-case hex digits, not all zero
 * @param spanId the gateway's span: 16 hex digits, not all zero (the parent id of the node's span)
 * @param flags trace flags, two hex digits (the client's, else {@value #SAMPLED})
 * @param tracestate the client's {@code tracestate}, or null
 */
public record TraceContext(String traceId, String spanId, String flags, String tracestate) {
  /** Flags of a trace the gateway starts: sampled, so a node that traces records the request. */
  public static final String SAMPLED = "01";
  /** Longer tracestate values are dropped (the spec allows 32 members of at most 256 characters each). */
  static final int MAX_TRACESTATE_CHARS = 512;

  /**
   * The gateway's span for a request carrying {@code traceparent} (may be null): the same trace id and flags when the
   * header is valid (version 00), a new trace otherwise; always a new span id.
   */
  public static TraceContext continueOrStart(String traceparent, String tracestate) {
    String state = tracestate == null || tracestate.length() > MAX_TRACESTATE_CHARS || !printable(tracestate)
        ? null : tracestate;
    if (traceparent != null && valid(traceparent.trim())) {
      String t = traceparent.trim();
      return new TraceContext(t.substring(3, 35), Ids.hex16(), t.substring(53, 55), state);
    }
    return new TraceContext(Ids.hex32(), Ids.hex16(), SAMPLED, null);
  }

  /** The {@code traceparent} to send upstream: this trace, the gateway's span as parent. */
  public String traceparent() {
    return "00-" + traceId + '-' + spanId + '-' + flags;
  }

  /** {@code 00-<32 hex>-<16 hex>-<2 hex>}, lower case, ids not all zero. */
  static boolean valid(String h) {
    if (h.length() != 55 || !h.startsWith("00-") || h.charAt(35) != '-' || h.charAt(52) != '-') return false;
    return hex(h, 3, 35) && hex(h, 36, 52) && hex(h, 53, 55) && !zero(h, 3, 35) && !zero(h, 36, 52);
  }

  private static boolean hex(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) return false;
    }
    return true;
  }

  private static boolean zero(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      if (s.charAt(i) != '0') return false;
    }
    return true;
  }

  private static boolean printable(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c > 0x7e) return false;
    }
    return true;
  }
}
