package dev.sluice.console;

import dev.sluice.routing.GpuWeightedPolicy;
import dev.sluice.routing.LeastDelayPolicy;
import dev.sluice.routing.LeastRequestPolicy;
import dev.sluice.routing.NodeView;
import dev.sluice.routing.PrefixHashPolicy;
import dev.sluice.routing.RoundRobinPolicy;
import dev.sluice.routing.RouteRequest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The routing policy's current view of one model's nodes, in words, for the console: which node it would pick for a
 * typical request now and why each other node is behind ("lowest est. answer 2.1 s (TTFT 0.3 s)"; "est. 3.4 s: slower
 * decode, 38 ms/token vs 12 on h100-01"), or why a node is out of rotation. Least-delay's numbers are its own
 * estimate ({@link LeastDelayPolicy#estimate}) of {@link AdminApi#TYPICAL}; other policies are described by their
 * rule, with the same estimate for reference.
 */
final class RouteExplainer {
  /**
   * Silence shorter than this is the ordinary gap between chunks, not worth naming as the reason a node is behind (at a
   * simulator's time scale a busy node is "silent" for tens of ms all the time).
   */
  static final long NOTABLE_SILENCE_MILLIS = 1_000;

  private RouteExplainer() {}

  /**
   * One node as the explanation sees it.
   *
   * @param view the node now, as the router would see it
   * @param outOfRotation why it is not a candidate now (state, ejection, cooling, cap), or null when it is
   * @param weight its gpu-weighted weight
   */
  record Candidate(NodeView view, String outOfRotation, int weight) {}

  /** Node id → the sentence for it; {@code chosen} gets the policy's pick first. */
  static Map<String, Explanation> explain(String policy, List<Candidate> nodes) {
    Map<String, Explanation> out = new HashMap<>();
    List<Candidate> in = new ArrayList<>();
    for (Candidate c : nodes) {
      if (c.outOfRotation() != null) out.put(c.view().id(), new Explanation(false, c.outOfRotation()));
      else in.add(c);
    }
    if (in.isEmpty()) return out;
    Map<String, LeastDelayPolicy.Estimate> est = new HashMap<>();
    for (Candidate c : in) est.put(c.view().id(), AdminApi.LEAST_DELAY.estimate(AdminApi.TYPICAL, c.view()));
    in.sort(Comparator.comparingDouble(c -> est.get(c.view().id()).e2eMillis()));
    boolean single = in.size() == 1;
    switch (policy.startsWith(LeastDelayPolicy.NAME) ? LeastDelayPolicy.NAME : policy) {
      case RoundRobinPolicy.NAME -> {
        for (Candidate c : in) {
          out.put(c.view().id(), new Explanation(single, single ? "the only node in rotation"
              : "takes turns with " + (in.size() - 1) + " other node" + (in.size() > 2 ? "s" : "") + " (1/" + in.size()
                  + " each)"));
        }
      }
      case GpuWeightedPolicy.NAME -> {
        int sum = in.stream().mapToInt(Candidate::weight).sum();
        Candidate top = in.stream().max(Comparator.comparingInt(Candidate::weight)).orElseThrow();
        for (Candidate c : in) {
          out.put(c.view().id(), new Explanation(c == top, "weight " + c.weight() + " of " + sum + ": about "
              + (sum == 0 ? 0 : Math.round(100.0 * c.weight() / sum)) + " % of requests"));
        }
      }
      case LeastRequestPolicy.NAME -> {
        Candidate top = in.stream().min(Comparator.comparingInt(c -> c.view().inFlightRequests())).orElseThrow();
        for (Candidate c : in) {
          int n = c.view().inFlightRequests();
          out.put(c.view().id(), new Explanation(c == top, c == top ? "fewest requests in flight (" + n + ")"
              : n + " in flight vs " + top.view().inFlightRequests() + " on " + top.view().id()));
        }
      }
      case LeastDelayPolicy.NAME -> leastDelay(in, est, out);
      default -> {
        String rule = PrefixHashPolicy.NAME.equals(policy) ? "by a hash of the session or prompt prefix"
            : policy + " orders the nodes by its own score";
        for (Candidate c : in) {
          LeastDelayPolicy.Estimate e = est.get(c.view().id());
          out.put(c.view().id(), new Explanation(false, rule + "; est. answer " + duration(e.e2eMillis())
              + " (TTFT " + duration(e.ttftMillis()) + ")"));
        }
      }
    }
    return out;
  }

  /** Least-delay: the lowest estimated end-to-end time first; every other node with the term that puts it behind. */
  private static void leastDelay(List<Candidate> sorted, Map<String, LeastDelayPolicy.Estimate> est,
      Map<String, Explanation> out) {
    Candidate best = sorted.get(0);
    LeastDelayPolicy.Estimate b = est.get(best.view().id());
    out.put(best.view().id(), new Explanation(true, (sorted.size() == 1 ? "the only node in rotation: " : "lowest ")
        + "est. answer " + duration(b.e2eMillis()) + " (TTFT " + duration(b.ttftMillis()) + ")"));
    for (int i = 1; i < sorted.size(); i++) {
      Candidate c = sorted.get(i);
      LeastDelayPolicy.Estimate e = est.get(c.view().id());
      out.put(c.view().id(), new Explanation(false, "est. answer " + duration(e.e2eMillis()) + " (TTFT "
          + duration(e.ttftMillis()) + ") because " + behind(c.view(), e, best.view(), b)));
    }
  }

  /** The largest of the estimate's terms by which {@code node} is behind {@code best}, in words. */
  static String behind(NodeView node, LeastDelayPolicy.Estimate e, NodeView best, LeastDelayPolicy.Estimate b) {
    double backlog = backlog(node);
    double queue = Math.max(0, e.ttftMillis() - e.ownPrefillMillis() - e.stallMillis() - backlog);
    double[] diffs = {
        e.ownPrefillMillis() - b.ownPrefillMillis(),
        backlog - backlog(best),
        queue - Math.max(0, b.ttftMillis() - b.ownPrefillMillis() - b.stallMillis() - backlog(best)),
        node.silentMillis() < NOTABLE_SILENCE_MILLIS ? 0 : e.stallMillis() - b.stallMillis(),
        (e.e2eMillis() - e.ttftMillis()) - (b.e2eMillis() - b.ttftMillis()),
    };
    int worst = 0;
    for (int i = 1; i < diffs.length; i++) if (diffs[i] > diffs[worst]) worst = i;
    if (diffs[worst] <= 0) return "tied with " + best.id() + " (the first of equals is taken)";
    return switch (worst) {
      case 0 -> String.format(Locale.ROOT, "slower prefill: %,.0f tokens/s vs %,.0f on %s",
          node.speed().prefillTokensPerSecond(), best.speed().prefillTokensPerSecond(), best.id());
      case 1 -> String.format(Locale.ROOT, "busier: %,d prompt tokens waiting for prefill (%d requests in flight)",
          node.inFlightPrefillTokens(), node.inFlightRequests());
      case 2 -> node.inFlightRequests() + " requests in flight fill its slots: a new one waits for one to finish";
      case 3 -> "silent for " + duration(node.silentMillis()) + " with requests in flight";
      default -> String.format(Locale.ROOT, "slower decode: %.1f ms/token vs %.1f on %s%s",
          node.speed().decodeMillisPerToken(), best.speed().decodeMillisPerToken(), best.id(),
          node.inFlightDecodes() > 0 ? " (" + node.inFlightDecodes() + (node.inFlightDecodes() == 1 ? " answer"
              : " answers") + " decoding)" : "");
    };
  }

  private static double backlog(NodeView v) {
    return Math.max(0, v.inFlightPrefillTokens()) * 1000.0 / v.speed().prefillTokensPerSecond();
  }

  /** "850 ms", "2.1 s", "1 min 5 s". */
  static String duration(double millis) {
    if (millis < 1_000) return Math.round(millis) + " ms";
    if (millis < 60_000) return String.format(Locale.ROOT, "%.1f s", millis / 1000);
    long s = Math.round(millis / 1000);
    return s / 60 + " min " + s % 60 + " s";
  }

  /**
   * @param chosen the node the policy picks first now
   * @param text why (or why not)
   */
  record Explanation(boolean chosen, String text) {}
}
