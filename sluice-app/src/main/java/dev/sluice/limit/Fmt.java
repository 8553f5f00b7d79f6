package dev.sluice.limit;

/** Number and duration formats for this package's messages and headers, the same in every locale. */
final class Fmt {
  private Fmt() {}

  /** {@code 31204 → "31,204"}: a fixed "," grouping, whatever the JVM's locale. */
  static String grouped(long value) {
    String digits = Long.toString(Math.abs(value));
    StringBuilder out = new StringBuilder(digits.length() + 8);
    if (value < 0) {
      out.append('-');
    }
    int lead = digits.length() % 3 == 0 ? 3 : digits.length() % 3;
    out.append(digits, 0, lead);
    for (int i = lead; i < digits.length(); i += 3) {
      out.append(',').append(digits, i, i + 3);
    }
    return out.toString();
  }

  /**
   * OpenAI's (Go's) duration format at millisecond precision, as in {@code x-ratelimit-reset-*}: {@code "20ms"},
   * {@code "1s"}, {@code "1.5s"}, {@code "1m30s"}, {@code "6m0s"}, {@code "1h0m0s"}; {@code "0s"} for zero.
   */
  static String duration(long millis) {
    if (millis <= 0) {
      return "0s";
    }
    if (millis < 1000) {
      return millis + "ms";
    }
    StringBuilder out = new StringBuilder(12);
    long hours = millis / 3_600_000;
    long minutes = millis / 60_000 % 60;
    if (hours > 0) {
      out.append(hours).append('h');
    }
    if (hours > 0 || minutes > 0) {
      out.append(minutes).append('m');
    }
    out.append(millis / 1000 % 60);
    long fraction = millis % 1000;
    if (fraction > 0) {
      String digits = Long.toString(1000 + fraction).substring(1);
      int end = digits.length();
      while (digits.charAt(end - 1) == '0') {
        end--;
      }
      out.append('.').append(digits, 0, end);
    }
    return out.append('s').toString();
  }
}
