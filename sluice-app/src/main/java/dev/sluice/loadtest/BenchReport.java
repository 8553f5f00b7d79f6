package dev.sluice.loadtest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;

/**
 * The self-contained HTML report of a bench: inline CSS and SVG, no script, no external URL, so it opens from a file
 * or a CI artifact anywhere. Elements a test looks for: {@code #summary}, {@code #e2e-histogram},
 * {@code #ttft-histogram}, {@code #latency-over-time}, {@code #time-scale}; axis labels {@code text.x-min},
 * {@code text.x-max}, {@code text.y-max}.
 */
public final class BenchReport {
  private static final int W = 640;
  private static final int H = 220;
  private static final int PAD = 40;

  private BenchReport() {}

  public static String html(BenchResult r) {
    StringBuilder sb = new StringBuilder(32_000);
    sb.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>sluice bench</title><style>")
        .append("body{font:14px system-ui,sans-serif;margin:24px;color:#1d2330;max-width:1400px}")
        .append("h1{font-size:20px}h2{font-size:16px;margin-top:28px}")
        .append("table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #dde;text-align:right}")
        .append("th:first-child,td:first-child{text-align:left}.plan{color:#556}")
        .append(".charts{display:flex;flex-wrap:wrap;gap:24px}svg{background:#f8f9fc;border:1px solid #dde}")
        .append("svg text{font:11px system-ui,sans-serif;fill:#445}.bar{fill:#4a78c2}.p50{stroke:#2a9d57}")
        .append(".p95{stroke:#d1495b}.qps{fill:#c9d6ee}</style></head><body>");
    sb.append("<h1>sluice bench</h1><p class=\"plan\">").append(esc(r.plan())).append("</p>");
    sb.append("<p id=\"time-scale\" class=\"plan\">").append(esc(upper(r.timeScaleSentence()))).append(".</p>");
    sb.append("<h2>Latency</h2><div class=\"charts\">");
    synchronized (r) {
      histogram(sb, "e2e-histogram", "end-to-end latency (ms), requests per bucket", r.e2e);
      histogram(sb, "ttft-histogram", "time to first token (ms), streams", r.ttft);
      overTime(sb, r);
    }
    sb.append("</div>");
    Map<String, Double> m = r.summary();
    sb.append("<h2>Summary</h2><table id=\"summary\"><tr><th>metric</th><th>value</th></tr>");
    m.forEach((k, v) -> sb.append("<tr><td>").append(esc(k)).append("</td><td>")
        .append(BenchResult.format(k, v)).append("</td></tr>"));
    sb.append("</table>");
    if (r.agentTurns()) {
      sb.append("<h2>Agent workload</h2><p id=\"prefix-cache\">prefix-cache hit rate (nodes' counters): ")
          .append(esc(r.prefixCacheHitRate())).append("</p><pre id=\"agent-stats\">").append(esc(r.agentStats()))
          .append("</pre>");
    }
    sb.append("<h2>Counts</h2><table id=\"counts\"><tr><th>by</th><th>value</th><th>requests</th></tr>");
    counts(sb, "node", r.nodes());
    counts(sb, "outcome", r.outcomes());
    counts(sb, "error", r.errors());
    sb.append("</table>");
    sb.append("</body></html>\n");
    return sb.toString();
  }

  private static void counts(StringBuilder sb, String by, Map<String, Long> counts) {
    counts.forEach((k, v) -> sb.append("<tr><td>").append(by).append("</td><td>").append(esc(k)).append("</td><td>")
        .append(v).append("</td></tr>"));
  }

  /** Bars over 30 linear buckets from 0 to the p99.9 (the rest in the last bucket). */
  private static void histogram(StringBuilder sb, String id, String title, Histogram h) {
    int buckets = 30;
    long[] counts = new long[buckets];
    double top = h.getTotalCount() == 0 ? 1 : Math.max(1, h.getValueAtPercentile(99.9));
    for (HistogramIterationValue v : h.recordedValues()) {
      int b = (int) Math.min(buckets - 1, v.getValueIteratedTo() / top * buckets);
      counts[b] += v.getCountAtValueIteratedTo();
    }
    long max = 1;
    for (long c : counts) max = Math.max(max, c);
    svgOpen(sb, id, title);
    double bw = (W - 2.0 * PAD) / buckets;
    for (int i = 0; i < buckets; i++) {
      double bh = (H - 2.0 * PAD) * counts[i] / max;
      sb.append(String.format("<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>"
          + "%.0f–%.0f ms: %d</title></rect>", PAD + i * bw, H - PAD - bh, bw - 1, bh, top * i / buckets / 1000,
          top * (i + 1) / buckets / 1000, counts[i]));
    }
    axis(sb, "0", String.format("%.0f ms", top / 1000), max + " per bucket");
    sb.append("</svg></figure>");
  }

  /** p50 and p95 end-to-end latency of each second (lines) over the requests started in it (pale bars). */
  private static void overTime(StringBuilder sb, BenchResult r) {
    svgOpen(sb, "latency-over-time", "latency over time: p50 (green), p95 (red), requests started (bars)");
    int last = r.seconds.isEmpty() ? 1 : Math.max(1, r.seconds.lastKey() + 1);
    double maxMs = 1;
    long maxReq = 1;
    for (BenchResult.Second s : r.seconds.values()) {
      if (s.e2e.getTotalCount() > 0) maxMs = Math.max(maxMs, s.e2e.getValueAtPercentile(95) / 1000.0);
      maxReq = Math.max(maxReq, s.requests);
    }
    double bw = (W - 2.0 * PAD) / last;
    List<String> p50 = new ArrayList<>();
    List<String> p95 = new ArrayList<>();
    for (var e : r.seconds.entrySet()) {
      double x = PAD + e.getKey() * bw;
      double bh = (H - 2.0 * PAD) * e.getValue().requests / maxReq;
      sb.append(String.format("<rect class=\"qps\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>", x,
          H - PAD - bh, Math.max(1, bw - 1), bh));
      Histogram h = e.getValue().e2e;
      if (h.getTotalCount() == 0) continue;
      double cx = x + bw / 2;
      p50.add(String.format("%.1f,%.1f", cx, H - PAD - (H - 2.0 * PAD) * h.getValueAtPercentile(50) / 1000 / maxMs));
      p95.add(String.format("%.1f,%.1f", cx, H - PAD - (H - 2.0 * PAD) * h.getValueAtPercentile(95) / 1000 / maxMs));
    }
    sb.append("<polyline class=\"p50\" fill=\"none\" stroke-width=\"2\" points=\"").append(String.join(" ", p50))
        .append("\"/><polyline class=\"p95\" fill=\"none\" stroke-width=\"2\" points=\"")
        .append(String.join(" ", p95)).append("\"/>");
    axis(sb, "0 s", last + " s", String.format("%.0f ms", maxMs));
    sb.append("</svg></figure>");
  }

  private static void svgOpen(StringBuilder sb, String id, String title) {
    sb.append("<figure><figcaption>").append(esc(title)).append("</figcaption><svg id=\"").append(id)
        .append("\" xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(W).append("\" height=\"").append(H)
        .append("\" viewBox=\"0 0 ").append(W).append(' ').append(H).append("\">");
  }

  /**
   * The axes and their end labels. The y label stands above the y axis, left-aligned on it, so a long one
   * ({@code 42600 ms}) never runs off the chart's left edge as it did when right-aligned in the 40 px margin.
   */
  private static void axis(StringBuilder sb, String xMin, String xMax, String yMax) {
    sb.append(String.format("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#889\"/>", PAD, H - PAD, W - PAD,
        H - PAD));
    sb.append(String.format("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#889\"/>", PAD, PAD, PAD, H - PAD));
    sb.append(String.format("<text class=\"x-min\" x=\"%d\" y=\"%d\">%s</text>", PAD, H - PAD + 16, esc(xMin)));
    sb.append(String.format("<text class=\"x-max\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>", W - PAD,
        H - PAD + 16, esc(xMax)));
    sb.append(String.format("<text class=\"y-max\" x=\"%d\" y=\"%d\">%s</text>", PAD, PAD - 8, esc(yMax)));
  }

  private static String upper(String s) {
    return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
  }

  private static String esc(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
