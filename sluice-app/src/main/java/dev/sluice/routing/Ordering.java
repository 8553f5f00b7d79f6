package dev.sluice.routing;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.function.ToDoubleFunction;
import java.util.random.RandomGenerator;

/** Shared helpers of the policies: input checks and "sort by score, equal scores in random order". */
final class Ordering {
  private Ordering() {}

  private record Keyed(String id, double score, long tieBreak) {}

  /** Node ids by ascending score; nodes with equal scores in an order drawn from {@code random}; NaN last. */
  static List<String> ascending(List<NodeView> nodes, ToDoubleFunction<NodeView> score, RandomGenerator random) {
    List<Keyed> keyed = new ArrayList<>(nodes.size());
    for (NodeView node : nodes) {
      keyed.add(new Keyed(node.id(), score.applyAsDouble(node), random.nextLong()));
    }
    keyed.sort(Comparator.comparingDouble(Keyed::score).thenComparingLong(Keyed::tieBreak));
    List<String> ids = new ArrayList<>(keyed.size());
    for (Keyed k : keyed) {
      ids.add(k.id());
    }
    return ids;
  }

  /** Node ids by descending score; ties in random order. */
  static List<String> descending(List<NodeView> nodes, ToDoubleFunction<NodeView> score, RandomGenerator random) {
    return ascending(nodes, node -> -score.applyAsDouble(node), random);
  }

  /** Checks the arguments every {@link RoutingPolicy#decide} receives. */
  static void check(RouteRequest request, List<NodeView> candidates, RandomGenerator random) {
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(candidates, "candidates");
    Objects.requireNonNull(random, "random");
    if (candidates.isEmpty()) {
      throw new IllegalArgumentException("no candidate nodes for model " + request.model()
          + " (the caller must answer 'no node available' before asking a policy)");
    }
  }
}
