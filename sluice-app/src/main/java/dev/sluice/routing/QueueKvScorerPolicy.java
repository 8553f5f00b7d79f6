package dev.sluice.routing;

import java.util.List;
import java.util.random.RandomGenerator;

/**
 * An llm-d-like baseline (config name {@code queue-kv}) for the routing lab to compare against: llm-d's scheduler
 * with its queue scorer and KV-cache-utilisation scorer (no prefix scorer, no token-load scorer), a max-score picker
 * with random ties.
 *
 * <pre>
 * queueScore = (maxQ − q) / (maxQ − minQ) over the candidates     (1 for every node when all q are equal)
 * kvScore    = 1 − kv / maxKv over the candidates                 (1 for every node when maxKv = 0)
 * score      = queueWeight × queueScore + kvWeight × kvScore      (default weights 1 and 1)
 * </pre>
 *
 * <p>Router-local proxies, as ROUTING.md allows: queue depth {@code q} = {@link NodeView#inFlightRequests()} (the
 * gateway's count of outstanding requests stands in for vLLM's {@code num_requests_waiting}), KV utilisation
 * {@code kv} = {@link NodeView#inFlightPrefillTokens()} normalised by the busiest candidate (prompt tokens being
 * loaded into the cache stand in for {@code kv_cache_usage_perc}, whose per-node capacity the view does not carry).
 * Like the llm-d scorers it is speed-blind on purpose: that is the difference the lab measures. The plan is all
 * candidates by descending score. Stateless, so thread-safe.
 */
public final class QueueKvScorerPolicy implements RoutingPolicy {
  /** Config name. */
  public static final String NAME = "queue-kv";
  /** llm-d's default scorer weights are equal. */
  public static final double DEFAULT_QUEUE_WEIGHT = 1;
  /** llm-d's default scorer weights are equal. */
  public static final double DEFAULT_KV_WEIGHT = 1;

  private final double queueWeight;
  private final double kvWeight;

  /** Equal weights. */
  public QueueKvScorerPolicy() {
    this(DEFAULT_QUEUE_WEIGHT, DEFAULT_KV_WEIGHT);
  }

  /**
   * @param queueWeight weight of the queue-depth score (≥ 0)
   * @param kvWeight weight of the KV-utilisation score (≥ 0)
   */
  public QueueKvScorerPolicy(double queueWeight, double kvWeight) {
    if (!(queueWeight >= 0) || !(kvWeight >= 0)) {
      throw new IllegalArgumentException("scorer weights must be ≥ 0: queue " + queueWeight + ", kv " + kvWeight);
    }
    this.queueWeight = queueWeight;
    this.kvWeight = kvWeight;
  }

  @Override
  public RouteDecision decide(RouteRequest request, List<NodeView> candidates, RandomGenerator random) {
    Ordering.check(request, candidates, random);
    int minQ = Integer.MAX_VALUE;
    int maxQ = Integer.MIN_VALUE;
    long maxKv = 0;
    for (NodeView node : candidates) {
      minQ = Math.min(minQ, node.inFlightRequests());
      maxQ = Math.max(maxQ, node.inFlightRequests());
      maxKv = Math.max(maxKv, node.inFlightPrefillTokens());
    }
    int lowQ = minQ;
    int highQ = maxQ;
    long highKv = maxKv;
    return new RouteDecision.Plan(Ordering.descending(candidates, node -> {
      double queueScore = highQ == lowQ ? 1 : (double) (highQ - node.inFlightRequests()) / (highQ - lowQ);
      double kvScore = highKv <= 0 ? 1 : 1 - (double) Math.max(0, node.inFlightPrefillTokens()) / highKv;
      return queueWeight * queueScore + kvWeight * kvScore;
    }, random));
  }

  @Override
  public String name() {
    return NAME;
  }
}
