package dev.sluice.probe;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * A small, defensive reader of the Prometheus text format (0.0.4): {@code name{labels} value [timestamp]} lines,
 * comments and blank lines ignored, malformed lines skipped. {@link #firstSamples} keeps the first sample of each
 * wanted name (a node's GPU is the first one its exporter lists); {@link #samples} keeps them all, with their labels
 * (counters to sum over a node's engines, info metrics whose facts are labels).
 */
final class PrometheusReader {
  private PrometheusReader() {}

  /** One sample line: the metric's name, its labels in order, its value. */
  record Sample(String name, Map<String, String> labels, double value) {}

  /** First value of each name in {@code wanted} found in {@code text}. */
  static Map<String, Double> firstSamples(String text, Set<String> wanted) {
    Map<String, Double> out = new HashMap<>();
    read(text, wanted, s -> {
      out.putIfAbsent(s.name(), s.value());
      return out.size() < wanted.size();
    }, false);
    return out;
  }

  /** Every sample of the names in {@code wanted}, with its labels, in page order. */
  static List<Sample> samples(String text, Set<String> wanted) {
    List<Sample> out = new ArrayList<>();
    read(text, wanted, s -> out.add(s), true);
    return out;
  }

  /** Feeds each wanted sample to {@code each} until it returns false; labels are parsed only when asked. */
  private static void read(String text, Set<String> wanted, Predicate<Sample> each, boolean withLabels) {
    if (text == null || wanted.isEmpty()) return;
    int pos = 0;
    int len = text.length();
    while (pos < len) {
      int end = text.indexOf('\n', pos);
      if (end < 0) end = len;
      String line = text.substring(pos, end).strip();
      pos = end + 1;
      if (line.isEmpty() || line.charAt(0) == '#') continue;
      int nameEnd = 0;
      while (nameEnd < line.length() && isNameChar(line.charAt(nameEnd))) nameEnd++;
      if (nameEnd == 0) continue;
      String name = line.substring(0, nameEnd);
      if (!wanted.contains(name)) continue;
      int rest = nameEnd;
      Map<String, String> labels = Map.of();
      if (rest < line.length() && line.charAt(rest) == '{') {
        int close = labelsEnd(line, rest + 1);
        if (close < 0) continue;
        if (withLabels) labels = labels(line, rest + 1, close);
        rest = close + 1;
      }
      String[] fields = line.substring(rest).strip().split("\\s+");
      if (fields.length == 0 || fields[0].isEmpty()) continue;
      Double v = parseValue(fields[0]);
      if (v != null && !each.test(new Sample(name, labels, v))) return;
    }
  }

  /** The {@code key="value"} pairs between {@code from} and {@code close}; a malformed rest is dropped. */
  private static Map<String, String> labels(String line, int from, int close) {
    Map<String, String> out = new LinkedHashMap<>();
    int i = from;
    while (i < close) {
      while (i < close && (line.charAt(i) == ',' || line.charAt(i) == ' ')) i++;
      int eq = line.indexOf('=', i);
      if (eq < 0 || eq >= close || eq + 1 >= close || line.charAt(eq + 1) != '"') break;
      String key = line.substring(i, eq).strip();
      StringBuilder value = new StringBuilder();
      int j = eq + 2;
      for (; j < close; j++) {
        char c = line.charAt(j);
        if (c == '"') break;
        if (c == '\\' && j + 1 < close) {
          char next = line.charAt(++j);
          value.append(next == 'n' ? '\n' : next);
        } else {
          value.append(c);
        }
      }
      out.put(key, value.toString());
      i = j + 1;
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
