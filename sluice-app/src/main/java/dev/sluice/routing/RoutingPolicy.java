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

  /**
   * A new policy by config name: {@code round-robin}, {@code least-request}, {@code gpu-weighted},
   * {@code least-delay} (default), {@code least-delay-no-admission}, {@code queue-kv}, {@code prefix-hash}.
   *
   * @throws IllegalArgumentException for an unknown name, listing the known ones
   */
  static RoutingPolicy of(String name) {
    return Policies.byName(name);
  }

  /** Static round robin per model. */
  static RoutingPolicy roundRobin() {
    return new RoundRobinPolicy();
  }

  /** Fewest in-flight requests, random tie-break. */
  static RoutingPolicy leastRequest() {
    return new LeastRequestPolicy();
  }

  /** The brief's GPU-weighted random policy with its base table. */
  static RoutingPolicy gpuWeighted() {
    return new GpuWeightedPolicy();
  }

  /** Least expected delay with admission control: the default. */
  static RoutingPolicy leastDelay() {
    return new LeastDelayPolicy();
  }

  /** The llm-d-like queue + KV scorer baseline. */
  static RoutingPolicy queueKv() {
    return new QueueKvScorerPolicy();
  }
}
