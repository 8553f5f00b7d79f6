package dev.sluice.lab;

import dev.sluice.routing.NodeView;
import dev.sluice.routing.RouteDecision;
import dev.sluice.routing.RouteRequest;
import dev.sluice.routing.RoutingPolicy;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * The lab's reference for prefix reuse, not a production policy: every request to the candidate whose engine holds
 * the longest cached prefix of its prompt right now, ignoring load (on a tie: fewest requests in flight, then
 * candidate order). The lab gives it a {@link dev.sluice.routing.Warmth} read from the engines' prefix caches
 * ({@link dev.sluice.sim.BatchEngine#cachedPrefixTokens}) instead of the router's estimate, so its hit rate is what
 * a router that knew every cache exactly would get by always following the cache.
 */
final class OraclePolicy implements RoutingPolicy {
  /** Label in the report. */
  static final String NAME = "oracle";

  @Override
  public RouteDecision decide(RouteRequest request, List<NodeView> candidates, RandomGenerator random) {
    List<NodeView> sorted = new ArrayList<>(candidates);
    sorted.sort(Comparator.comparingInt((NodeView v) -> -request.cachedTokens(v.id()))
        .thenComparingInt(NodeView::inFlightRequests));
    return new RouteDecision.Plan(sorted.stream().map(NodeView::id).toList());
  }

  @Override
  public String name() {
    return NAME;
  }
}
