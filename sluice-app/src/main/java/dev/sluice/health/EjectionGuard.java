package dev.sluice.health;

import java.util.Collection;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Decides whether a due passive ejection of a node may take effect.
 *
 * <p>{@link NodeHealth} asks while synchronised on the guard instance, and publishes the ejection before it lets go, so
 * share one guard among all nodes: two last nodes of a model failing at once cannot both be ejected. A guard must read
 * only {@link HealthSnapshot}s (lock-free), never call into a {@link NodeHealth}'s mutators.
 */
@FunctionalInterface
public interface EjectionGuard {
  EjectionDecision decide(String nodeId, long nowMillis);

  /** Every ejection takes effect (tests, and single-purpose tools with no model map). */
  static EjectionGuard allowAll() {
    return AllowAll.INSTANCE;
  }

  /**
   * Never eject the last eligible node of a model; see {@link LastNodeGuard}.
   *
   * @param nodesByModel current snapshots of the nodes serving each model (model name → its nodes), read per decision
   */
  static EjectionGuard lastNode(Supplier<? extends Map<String, ? extends Collection<HealthSnapshot>>> nodesByModel) {
    return new LastNodeGuard(nodesByModel);
  }
}

/** The guard that never objects. */
enum AllowAll implements EjectionGuard {
  INSTANCE;

  @Override
  public EjectionDecision decide(String nodeId, long nowMillis) {
    return EjectionDecision.allow();
  }
}
