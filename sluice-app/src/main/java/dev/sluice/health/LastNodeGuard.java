package dev.sluice.health;

import java.util.Collection;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * "Never eject the last node of a model" (RELIABILITY.md): an ejection that would leave any model the node serves with
 * no eligible node is withheld. The node stays in rotation, its failures keep feeding the cluster error rate, and the
 * model degrades (cached, downgraded or static answers) instead of failing every request at once. Active probes still
 * apply: a node whose probes fail becomes DEGRADED whatever this guard says.
 */
public final class LastNodeGuard implements EjectionGuard {
  private final Supplier<? extends Map<String, ? extends Collection<HealthSnapshot>>> nodesByModel;

  LastNodeGuard(Supplier<? extends Map<String, ? extends Collection<HealthSnapshot>>> nodesByModel) {
    this.nodesByModel = Objects.requireNonNull(nodesByModel, "nodesByModel");
  }

  @Override
  public EjectionDecision decide(String nodeId, long nowMillis) {
    return decide(nodeId, nodesByModel.get(), nowMillis);
  }

  /**
   * The rule as a pure function.
   *
   * @param nodeId the node whose ejection is due
   * @param nodesByModel snapshots of the nodes serving each model (model name → its nodes)
   * @param nowMillis health clock
   * @return allow, or withhold naming the first model (by name) that would be left without an eligible node
   */
  public static EjectionDecision decide(
      String nodeId, Map<String, ? extends Collection<HealthSnapshot>> nodesByModel, long nowMillis) {
    Objects.requireNonNull(nodeId, "nodeId");
    Objects.requireNonNull(nodesByModel, "nodesByModel");
    for (Map.Entry<String, ? extends Collection<HealthSnapshot>> e : new TreeMap<>(nodesByModel).entrySet()) {
      if (leavesNoEligibleNode(nodeId, e.getValue(), nowMillis)) {
        return EjectionDecision.withhold("last eligible node of " + e.getKey()
            + ": kept in rotation, the model degrades instead");
      }
    }
    return EjectionDecision.allow();
  }

  private static boolean leavesNoEligibleNode(String nodeId, Collection<HealthSnapshot> nodes, long nowMillis) {
    boolean serves = false;
    for (HealthSnapshot n : nodes) {
      if (n.nodeId().equals(nodeId)) {
        // Ejecting a node that is not eligible anyway takes nothing away from the model.
        if (!n.eligible(nowMillis)) return false;
        serves = true;
      } else if (n.eligible(nowMillis)) {
        return false;
      }
    }
    return serves;
  }
}
