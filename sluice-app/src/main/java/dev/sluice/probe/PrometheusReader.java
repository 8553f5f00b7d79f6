package dev.sluice.probe;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * A small, defensive reader of the Prometheus text format (0.0.4): {@code name{labels} value [timestamp]} lines,
 * comments and blank lines ignored, malformed lines skipped. Keeps the first sample of each wanted name (a node's GPU
 * is the first one its exporter lists).
 */
final class PrometheusReader {
  private PrometheusReader() {}

  /** First value of each name in {@code wanted} found in {@code text}. */
  static Map<String, Double> firstSamples(String text, Set<String> wanted) {
    Map<String, Double> out = new HashMap<>();
    if (text == null) return out;
    int pos = 0;
    int len = text.length();
    while (pos < len && out.size() < wanted.size()) {
      int end = text.indexOf('\n', pos);
      if (end < 0) end = len;
      String line = text.substring(pos, end).strip();
      pos = end + 1;
      if (line.isEmpty() || line.charAt(0) == '#') continue;
      int nameEnd = 0;
      while (nameEnd < line.length() && isNameChar(line.charAt(nameEnd))) nameEnd++;
      if (nameEnd == 0) continue;
      String name = line.substring(0, nameEnd);
      if (!wanted.contains(name) || out.containsKey(name)) continue;
      int rest = nameEnd;
      if (rest < line.length() && line.charAt(rest) == '{') {
        int close = labelsEnd(line, rest + 1);
        if (close < 0) continue;
        rest = close + 1;
      }
      String[] fields = line.substring(rest).strip().split("\\s+");
      if (fields.length == 0 || fields[0].isEmpty()) continue;
      Double v = parseValue(fields[0]);
      if (v != null) out.put(name, v);
    }
    return out;
  }

  private static boolean isNameChar(char c) {
    return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == ':';
  }

  /** Index of the '}' closing a label set starting at {@code from}, honouring quoted values; -1 if none. */
  private static int labelsEnd(String line, int from) {
    boolean quoted = false;
    for (int i = from; i < line.length(); i++) {
      char c = line.charAt(i);
      if (quoted) {
        if (c == '\\') i++;
        else if (c == '"') quoted = false;
      } else if (c == '"') {
        quoted = true;
      } else if (c == '}') {
        return i;
      }
    }
    return -1;
  }

  private static Double parseValue(String s) {
    switch (s) {
      case "NaN": return Double.NaN;
      case "+Inf": return Double.POSITIVE_INFINITY;
      case "-Inf": return Double.NEGATIVE_INFINITY;
      default:
        try {
          return Double.parseDouble(s);
        } catch (NumberFormatException e) {
          return null;
        }
    }
  }
}
