package dev.sluice.lab;

import dev.sluice.routing.FailoverOrder;
import dev.sluice.routing.GpuWeightedPolicy;
import dev.sluice.routing.LeastDelayPolicy;
import dev.sluice.routing.LeastRequestPolicy;
import dev.sluice.routing.QueueKvScorerPolicy;
import dev.sluice.routing.RoundRobinPolicy;
import dev.sluice.routing.RoutingPolicy;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A policy as the lab runs it: a fresh production {@link RoutingPolicy} per run (policies may keep state, such as a
 * round-robin cursor), built for the run's nodes; the failover order the gateway applies to its plan; and the TTFT
 * budget the lab passes in {@link dev.sluice.routing.RouteRequest} (policies without admission control ignore it).
 *
 * @param label name in the report
 * @param factory makes one instance per run from the cluster's nodes
 * @param failover how the gateway filters and orders the plan's failover nodes
 * @param ttftBudgetMillis the model's TTFT budget, given with every request
 */
public record LabPolicy(
    String label, Function<List<LabCluster.NodeSpec>, RoutingPolicy> factory, FailoverOrder failover,
    long ttftBudgetMillis) {
  /** The model's TTFT budget in the lab: the goodput SLO. */
  public static final long TTFT_BUDGET_MILLIS = LabSimulation.TTFT_SLO_NANOS / 1_000_000;

  public LabPolicy {
    Objects.requireNonNull(label, "label");
    Objects.requireNonNull(factory, "factory");
    Objects.requireNonNull(failover, "failover");
  }

  /**
   * The policies of design/ROUTING.md, by their production classes: round-robin, the brief's gpu-weighted (with the
   * brief's same-GPU-class failover), least-request, the llm-d-like queue+KV scorer, and least expected delay without
   * and with admission control. Least-delay is told each node's slot count (Ollama {@code parallel}; unlimited on
   * vLLM), as the gateway would from its node config.
   */
  public static List<LabPolicy> standard() {
    return List.of(
        new LabPolicy(RoundRobinPolicy.NAME, nodes -> new RoundRobinPolicy(), FailoverOrder.DEFAULT,
            TTFT_BUDGET_MILLIS),
        new LabPolicy(GpuWeightedPolicy.NAME, nodes -> new GpuWeightedPolicy(), FailoverOrder.SAME_GPU_CLASS,
            TTFT_BUDGET_MILLIS),
        new LabPolicy(LeastRequestPolicy.NAME, nodes -> new LeastRequestPolicy(), FailoverOrder.DEFAULT,
            TTFT_BUDGET_MILLIS),
        new LabPolicy(QueueKvScorerPolicy.NAME, nodes -> new QueueKvScorerPolicy(), FailoverOrder.DEFAULT,
            TTFT_BUDGET_MILLIS),
        new LabPolicy(LeastDelayPolicy.NAME_NO_ADMISSION, nodes -> leastDelay(nodes, false), FailoverOrder.DEFAULT,
            TTFT_BUDGET_MILLIS),
        new LabPolicy(LeastDelayPolicy.NAME, nodes -> leastDelay(nodes, true), FailoverOrder.DEFAULT,
            TTFT_BUDGET_MILLIS));
  }

  private static RoutingPolicy leastDelay(List<LabCluster.NodeSpec> nodes, boolean admission) {
    Map<String, Integer> slots = nodes.stream().collect(Collectors.toMap(LabCluster.NodeSpec::id,
        n -> n.gpu().ollama() ? Math.max(1, n.gpu().parallel()) : LeastDelayPolicy.UNLIMITED_SLOTS));
    return new LeastDelayPolicy(admission, LeastDelayPolicy.DEFAULT_BATCH_SLOPE,
        view -> slots.getOrDefault(view.id(), LeastDelayPolicy.UNLIMITED_SLOTS));
  }
}
