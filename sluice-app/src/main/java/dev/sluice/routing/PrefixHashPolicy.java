package dev.sluice.routing;

import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Consistent hashing on the session key, with no release (config name {@code prefix-hash}): the baseline that shows
 * why least-delay's affinity releases a saturated node. Each request goes to the candidate with the highest
 * rendezvous score {@code hash(routingKey, nodeId)} ({@link Warmth#routingKey()}: the session key, else the hash of
 * the prompt's first 16 KB), the others after it by score, so a session stays on one node however loaded it is, and
 * moves only when that node leaves rotation (then only its sessions move). A request with nothing to hash (no session,
 * a prompt under one chunk) gets a random order. Stateless, so thread-safe.
 */
public final class PrefixHashPolicy implements RoutingPolicy {
  /** Config name. */
  public static final String NAME = "prefix-hash";

  @Override
  public RouteDecision decide(RouteRequest request, List<NodeView> candidates, RandomGenerator random) {
    Ordering.check(request, candidates, random);
    long key = request.warmth().routingKey();
    if (key == 0) {
      return new RouteDecision.Plan(Ordering.ascending(candidates, v -> 0, random));
    }
    return new RouteDecision.Plan(Ordering.descending(candidates, v -> score(key, v.id()), random));
  }

  /** The rendezvous score of {@code nodeId} for {@code key}: uniform over nodes, stable for a node set's members. */
  static double score(long key, String nodeId) {
    return (PrefixChain.fmix(key ^ PrefixChain.hash(nodeId)) >>> 11) * 0x1.0p-53;
  }

  @Override
  public String name() {
    return NAME;
  }
}
