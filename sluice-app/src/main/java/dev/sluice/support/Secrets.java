package dev.sluice.support;

import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Redaction of secrets in text that leaves the process (log lines, error messages): gateway keys keep only their public
 * id, admin tokens, JWTs and {@code Bearer} credentials are replaced, and so is every value {@link #register registered}
 * at startup (upstream API keys, HS256 secrets, the admin token). Text without any of these is returned as it is,
 * without allocating.
 */
public final class Secrets {
  /** Values shorter than this are not registered: too likely to match ordinary words and numbers. */
  public static final int MIN_REGISTERED_LENGTH = 8;

  private static final String KEY_PREFIX = "sk-sluice-";
  private static final String ADMIN_PREFIX = "sluice-admin-";
  private static final String JWT_START = "eyJ";

  /**
   * One pass over every shape: group 1 a Bearer credential, group 2 a gateway key's public id (the rest of the key is
   * dropped), group 3 an admin token, group 4 a JWT (header and payload are base64url of a JSON object, so "eyJ").
   */
  private static final Pattern SHAPES = Pattern.compile(
      "((?i:bearer)\\s+(?!\\(redacted\\))[^\\s\"',;]+)"
          + "|sk-sluice-([A-Za-z0-9]{8})[A-Za-z0-9]*"
          + "|(sluice-admin-[A-Za-z0-9]+)"
          + "|(eyJ[A-Za-z0-9_-]*\\.eyJ[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]*)");

  private static volatile String[] registered = new String[0];

  private Secrets() {}

  /**
   * Adds a value to redact from now on, wherever it appears. Null and values shorter than
   * {@link #MIN_REGISTERED_LENGTH} characters are ignored. Registration is additive and thread-safe.
   */
  public static synchronized void register(String secret) {
    if (secret == null || secret.length() < MIN_REGISTERED_LENGTH) return;
    String[] current = registered;
    for (String s : current) {
      if (s.equals(secret)) return;
    }
    String[] next = Arrays.copyOf(current, current.length + 1);
    next[current.length] = secret;
    // longest first, so a secret that contains another is replaced whole
    Arrays.sort(next, (a, b) -> Integer.compare(b.length(), a.length()));
    registered = next;
  }

  /** {@code s} with every secret replaced; null for null. The same instance when nothing needed redacting. */
  public static String redact(CharSequence s) {
    if (s == null) return null;
    String text = s.toString();
    String out = text;
    if (hasMarker(text)) {
      Matcher m = SHAPES.matcher(text);
      if (m.find()) {
        StringBuilder sb = new StringBuilder(text.length());
        do {
          m.appendReplacement(sb, Matcher.quoteReplacement(replacement(m)));
        } while (m.find());
        m.appendTail(sb);
        out = sb.toString();
      }
    }
    for (String secret : registered) {
      if (out.contains(secret)) out = out.replace(secret, "(redacted)");
    }
    return out;
  }

  private static String replacement(Matcher m) {
    if (m.group(1) != null) return "Bearer (redacted)";
    if (m.group(2) != null) return KEY_PREFIX + m.group(2) + "…";
    if (m.group(3) != null) return ADMIN_PREFIX + "…(redacted)";
    return JWT_START + "…(redacted JWT)";
  }

  private static boolean hasMarker(String text) {
    return text.contains("sk-sluice-") || text.contains(ADMIN_PREFIX) || text.contains(JWT_START)
        || containsBearer(text);
  }

  private static boolean containsBearer(String text) {
    for (int i = 0, last = text.length() - 6; i <= last; i++) {
      char c = text.charAt(i);
      if ((c == 'b' || c == 'B') && text.regionMatches(true, i, "bearer", 0, 6)) return true;
    }
    return false;
  }
}
