package dev.sluice.routing;

import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Orders the eligible nodes for one request (or rejects it). Pure: no I/O, no clock reads, no Vert.x or Micrometer;
 * the same inputs and random sequence give the same decision, so the gateway and the routing lab run the same code.
 * Implementations may keep state between calls only when it is part of the policy itself (a round-robin cursor);
 * they must be safe to call from several threads.
 */
public interface RoutingPolicy {
  /**
   * @param request the request
   * @param candidates eligible nodes (serve the model, not ejected, not draining); never empty
   * @param random tie-breaks and weighted draws
   */
  RouteDecision decide(RouteRequest request, List<NodeView> candidates, RandomGenerator random);

  /** The name used in config ({@code routing.policy}) and metrics. */
  String name();
}
