package dev.sluice.routing;

import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Least outstanding requests (Envoy's and NGINX's {@code least_conn}): the node with the fewest requests this router
 * has in flight, random tie-break among equals; the plan is all candidates by ascending in-flight count. Blind to node
 * speed and to prompt size (ROUTING.md: good, but not token-aware). Stateless, so thread-safe.
 */
public final class LeastRequestPolicy implements RoutingPolicy {
  /** Config name. */
  public static final String NAME = "least-request";

  @Override
  public RouteDecision decide(RouteRequest request, List<NodeView> candidates, RandomGenerator random) {
    Ordering.check(request, candidates, random);
    return new RouteDecision.Plan(Ordering.ascending(candidates, NodeView::inFlightRequests, random));
  }

  @Override
  public String name() {
    return NAME;
  }
}
