package dev.sluice.doctor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The checks' judgements on measured figures: pure, no I/O, so a table-driven test can call them. */
final class Verdicts {
  private Verdicts() {}

  /** Check 3: memory use per node (NaN = no reading yet); nodes without a metricsUrl are left out by the caller. */
  static CheckResult memory(Map<String, Double> percentByNode, double maxPercent) {
    Check c = Check.GPU_MEMORY;
    if (percentByNode.isEmpty()) {
      return CheckResult.skip(c, "no node has a metricsUrl (DCGM exporter) configured");
    }
    List<String> over = new ArrayList<>();
    List<String> unread = new ArrayList<>();
    double highest = 0;
    String highestNode = "";
    for (var e : percentByNode.entrySet()) {
      double p = e.getValue();
      if (Double.isNaN(p)) {
        unread.add(e.getKey());
        continue;
      }
      if (p > highest || highestNode.isEmpty()) {
        highest = p;
        highestNode = e.getKey();
      }
      if (p > maxPercent) over.add(e.getKey() + " " + pct(p));
    }
    if (!over.isEmpty()) {
      return CheckResult.fail(c, String.join(", ", over) + " (limit " + pct(maxPercent) + ")",
          "free GPU memory on " + String.join(", ", over.stream().map(s -> s.split(" ")[0]).toList())
              + ": unload models, lower the KV cache (vLLM --gpu-memory-utilization, Ollama num_ctx/OLLAMA_NUM_PARALLEL)"
              + " or move models to a larger GPU");
    }
    if (!unread.isEmpty() && highestNode.isEmpty()) {
      return CheckResult.fail(c, "no DCGM reading from " + String.join(", ", unread),
          "check each node's metricsUrl answers with DCGM_FI_DEV_FB_USED/FB_FREE (dcgm-exporter)");
    }
    String measured = "highest " + pct(highest) + " on " + highestNode + " (limit " + pct(maxPercent) + ")";
    if (!unread.isEmpty()) {
      return CheckResult.warn(c, measured + "; no reading yet from " + String.join(", ", unread),
          "check the metricsUrl of " + String.join(", ", unread));
    }
    return CheckResult.pass(c, measured);
  }

  /** Check 4: router state per configured node (null = the router does not know the node). */
  static CheckResult ready(Map<String, String> stateByNode) {
    Check c = Check.NODES_READY;
    List<String> bad = new ArrayList<>();
    stateByNode.forEach((id, state) -> {
      if (!"READY".equals(state)) bad.add(id + " " + (state == null ? "unknown to the router" : state));
    });
    if (bad.isEmpty()) return CheckResult.pass(c, stateByNode.size() + "/" + stateByNode.size() + " READY");
    return CheckResult.fail(c, String.join(", ", bad),
        "see GET /admin/nodes for each node's reason; start or repair the node, then POST /admin/nodes/{id}/probe");
  }

  /** Check 5: errors among the load run's requests. */
  static CheckResult errorRate(int errors, int total, double maxPercent, String firstError) {
    Check c = Check.ERROR_RATE;
    if (total == 0) return CheckResult.skip(c, "no model configured: nothing to send");
    double rate = 100.0 * errors / total;
    String measured = errors + "/" + total + " errors = " + pct(rate) + " (limit < " + pct(maxPercent) + ")";
    if (rate < maxPercent) return CheckResult.pass(c, measured);
    return CheckResult.fail(c, measured + (firstError == null ? "" : "; first: " + firstError),
        "look at the failing requests' node (x-sluice-node) and GET /admin/nodes; add capacity or fix the node");
  }

  /** Check 6: P95 per GPU class against its limit; {@code p95ByClass} and {@code limitByClass} share keys. */
  static CheckResult p95(Map<String, Duration> p95ByClass, Map<String, Duration> limitByClass) {
    Check c = Check.P95_LATENCY;
    if (p95ByClass.isEmpty()) return CheckResult.skip(c, "no successful request to measure");
    List<String> parts = new ArrayList<>();
    List<String> over = new ArrayList<>();
    p95ByClass.forEach((cls, p95) -> {
      Duration limit = limitByClass.get(cls);
      String part = cls + " " + secs(p95) + " (≤ " + secs(limit) + ")";
      parts.add(part);
      if (p95.compareTo(limit) > 0) over.add(part);
    });
    if (over.isEmpty()) return CheckResult.pass(c, String.join(", ", parts));
    return CheckResult.fail(c, String.join(", ", parts),
        "too slow on " + String.join(", ", over) + ": add nodes of that class, lower max_tokens, or route long "
            + "prompts elsewhere");
  }

  /** Check 7: contextWindow mismatches found ("qwen3:32b on a10-01: configured 32768, node reports 24576"). */
  static CheckResult contextWindow(int compared, List<String> mismatches, List<String> unknown) {
    Check c = Check.CONTEXT_WINDOW;
    if (!mismatches.isEmpty()) {
      return CheckResult.fail(c, String.join("; ", mismatches),
          "set each model's contextWindow to what its nodes serve (or set the node's num_ctx / --max-model-len)");
    }
    if (compared == 0) {
      return CheckResult.warn(c, "nothing compared" + (unknown.isEmpty() ? "" : ": " + String.join("; ", unknown)),
          "configure contextWindow for each model and make the nodes report it");
    }
    String measured = compared + " model/node pairs match";
    if (!unknown.isEmpty()) {
      return CheckResult.warn(c, measured + "; not compared: " + String.join("; ", unknown),
          "configure contextWindow for each model");
    }
    return CheckResult.pass(c, measured);
  }

  static String pct(double p) {
    return String.format(Locale.ROOT, "%.1f %%", p);
  }

  static String secs(Duration d) {
    return String.format(Locale.ROOT, "%.2f s", d.toNanos() / 1e9);
  }
}
