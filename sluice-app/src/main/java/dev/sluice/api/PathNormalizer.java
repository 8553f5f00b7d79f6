package dev.sluice.api;

import java.util.ArrayDeque;

/**
 * Turns a raw request path into the canonical form the allow-list is checked against: percent-encoded unreserved
 * characters decoded, repeated slashes collapsed, dot segments removed, trailing slash dropped. Anything that could
 * smuggle a different path past the check (encoded slash or backslash, control characters, other percent escapes)
 * yields null, which the server answers with 404. Sluice builds the upstream path from the endpoint, never from the
 * client's path, so the check cannot be bypassed by a path the node would read differently.
 */
public final class PathNormalizer {
  private PathNormalizer() {}

  /** The canonical path, or null when the raw path is not acceptable. */
  public static String normalise(String raw) {
    if (raw == null || raw.isEmpty() || raw.charAt(0) != '/') return null;
    String decoded = decodeUnreserved(raw);
    if (decoded == null) return null;
    String[] parts = decoded.split("/", -1);
    ArrayDeque<String> out = new ArrayDeque<>();
    for (String seg : parts) {
      if (seg.isEmpty() || seg.equals(".")) continue;
      if (seg.equals("..")) {
        if (!out.isEmpty()) out.removeLast();
        continue;
      }
      out.addLast(seg);
    }
    return "/" + String.join("/", out);
  }

  private static String decodeUnreserved(String raw) {
    StringBuilder sb = null;
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c < 0x21 || c == 0x7f || c == '\\') return null;
      if (c != '%') {
        if (sb != null) sb.append(c);
        continue;
      }
      if (i + 2 >= raw.length()) return null;
      int hi = Character.digit(raw.charAt(i + 1), 16);
      int lo = Character.digit(raw.charAt(i + 2), 16);
      if (hi < 0 || lo < 0) return null;
      char d = (char) (hi * 16 + lo);
      boolean unreserved = Character.isLetterOrDigit(d) && d < 0x80 || d == '-' || d == '.' || d == '_' || d == '~';
      if (!unreserved) return null;
      if (sb == null) sb = new StringBuilder(raw.length()).append(raw, 0, i);
      sb.append(d);
      i += 2;
    }
    return sb == null ? raw : sb.toString();
  }
}
