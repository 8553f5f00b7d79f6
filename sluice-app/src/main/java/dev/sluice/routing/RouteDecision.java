package dev.sluice.routing;

import java.util.List;

/** What a policy decides for one request. */
public sealed interface RouteDecision {
  /** Try these nodes in this order (first choice first); never empty. */
  record Plan(List<String> nodeIds) implements RouteDecision {
    public Plan {
      nodeIds = List.copyOf(nodeIds);
      if (nodeIds.isEmpty()) throw new IllegalArgumentException("a plan needs at least one node");
    }
  }

  /** Admission control: no node can meet the budget; answer 429 with Retry-After. */
  record Reject(long retryAfterMillis, String reason) implements RouteDecision {}
}
