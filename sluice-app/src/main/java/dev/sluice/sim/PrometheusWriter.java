package dev.sluice.sim;

import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * A small writer of the Prometheus text exposition format 0.0.4: one {@code # HELP} and {@code # TYPE} per family,
 * samples after it, label values escaped ({@code \\}, {@code "}, newline), HELP text escaped ({@code \\}, newline).
 * Labels are given as alternating name/value pairs, in the order they are written.
 */
final class PrometheusWriter {
  static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final StringBuilder out = new StringBuilder(4096);
  private final Set<String> families = new HashSet<>();

  /** Starts a family; {@code type} is counter, gauge, histogram, summary or untyped. */
  PrometheusWriter family(String name, String type, String help) {
    if (!families.add(name)) {
      throw new IllegalStateException("metric family " + name + " written twice");
    }
    out.append("# HELP ").append(name).append(' ').append(escapeHelp(help)).append('\n');
    out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    return this;
  }

  /** One sample of the current family. */
  PrometheusWriter sample(String name, double value, String... labels) {
    return sample(name, value, labels, null, null);
  }

  /** One sample with the labels plus one more pair at the end (a histogram's {@code le}). */
  PrometheusWriter sample(String name, double value, String[] labels, String extraName, String extraValue) {
    if (labels.length % 2 != 0) {
      throw new IllegalArgumentException("labels: odd count " + labels.length + " (expected name/value pairs)");
    }
    out.append(name);
    if (labels.length > 0 || extraName != null) {
      out.append('{');
      for (int i = 0; i < labels.length; i += 2) {
        label(i > 0, labels[i], labels[i + 1]);
      }
      if (extraName != null) {
        label(labels.length > 0, extraName, extraValue);
      }
      out.append('}');
    }
    out.append(' ').append(format(value)).append('\n');
    return this;
  }

  private void label(boolean comma, String name, String value) {
    if (comma) {
      out.append(',');
    }
    out.append(name).append("=\"").append(escapeLabel(value)).append('"');
  }

  @Override
  public String toString() {
    return out.toString();
  }

  static String format(double value) {
    if (Double.isNaN(value)) {
      return "NaN";
    }
    if (Double.isInfinite(value)) {
      return value > 0 ? "+Inf" : "-Inf";
    }
    if (value == Math.rint(value) && Math.abs(value) < 1e15) {
      return Long.toString((long) value);
    }
    return String.format(Locale.ROOT, "%s", value);
  }

  static String escapeLabel(String value) {
    StringBuilder escaped = new StringBuilder(value.length());
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '\\' -> escaped.append("\\\\");
        case '"' -> escaped.append("\\\"");
        case '\n' -> escaped.append("\\n");
        default -> escaped.append(c);
      }
    }
    return escaped.toString();
  }

  private static String escapeHelp(String help) {
    return help.replace("\\", "\\\\").replace("\n", "\\n");
  }
}
