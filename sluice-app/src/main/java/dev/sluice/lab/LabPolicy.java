package dev.sluice.lab;

import dev.sluice.routing.Affinity;
import dev.sluice.routing.FailoverOrder;
import dev.sluice.routing.GpuWeightedPolicy;
import dev.sluice.routing.LeastDelayPolicy;
import dev.sluice.routing.LeastRequestPolicy;
import dev.sluice.routing.PrefixHashPolicy;
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
 * @param oracle the lab's prefix-reuse reference: the request's warmth is read from the engines' prefix caches
 *     (what they really hold) instead of the router's {@link dev.sluice.routing.Affinity} estimate
 */
public record LabPolicy(
    String label, Function<List<LabCluster.NodeSpec>, RoutingPolicy> factory, FailoverOrder failover,
    long ttftBudgetMillis, boolean oracle) {
  /** The model's TTFT budget in the lab: the goodput SLO. */
  public static final long TTFT_BUDGET_MILLIS = LabSimulation.TTFT_SLO_NANOS / 1_000_000;
  /** Label of least-delay without affinity (today's least-delay before issue 20's affinity). */
  public static final String LEAST_DELAY_NO_AFFINITY = "least-delay-no-affinity";

  public LabPolicy {
    Objects.requireNonNull(label, "label");
    Objects.requireNonNull(factory, "factory");
    Objects.requireNonNull(failover, "failover");
  }

  /** A production policy (warmth from the router's own affinity estimate). */
  public LabPolicy(String label, Function<List<LabCluster.NodeSpec>, RoutingPolicy> factory, FailoverOrder failover,
      long ttftBudgetMillis) {
    this(label, factory, failover, ttftBudgetMillis, false);
  }

  /** The policies of {@code workload}: {@link #agent()} for agent sessions, {@link #standard()} otherwise. */
  public static List<LabPolicy> forWorkload(Workload workload) {
    return workload.agent() ? agent() : standard();
  }

  /**
   * The policies of the agent workloads: round-robin, the brief's gpu-weighted, queue-kv, prefix-hash (consistent
   * hashing on the session, no release), least-delay without affinity ({@value #LEAST_DELAY_NO_AFFINITY}, admission
   * on), least-delay (affinity with the default release penalty), and the lab-only {@code oracle}.
   */
  public static List<LabPolicy> agent() {
    return agent(Affinity.Settings.DEFAULT_RELEASE_PENALTY_MILLIS);
  }

  /** {@link #agent()} with least-delay's release penalty {@code releasePenaltyMillis} (for tuning). */
  public static List<LabPolicy> agent(long releasePenaltyMillis) {
    return List.of(
        new LabPolicy(RoundRobinPolicy.NAME, nodes -> new RoundRobinPolicy(), FailoverOrder.DEFAULT,
            TTFT_BUDGET_MILLIS),
        new LabPolicy(GpuWeightedPolicy.NAME, nodes -> new GpuWeightedPolicy(), FailoverOrder.SAME_GPU_CLASS,
            TTFT_BUDGET_MILLIS),
        new LabPolicy(QueueKvScorerPolicy.NAME, nodes -> new QueueKvScorerPolicy(), FailoverOrder.DEFAULT,
            TTFT_BUDGET_MILLIS),
        new LabPolicy(PrefixHashPolicy.NAME, nodes -> new PrefixHashPolicy(), FailoverOrder.DEFAULT,
            TTFT_BUDGET_MILLIS),
        new LabPolicy(LEAST_DELAY_NO_AFFINITY,
            nodes -> leastDelay(nodes, true).withReleasePenalty(LeastDelayPolicy.NO_AFFINITY), FailoverOrder.DEFAULT,
            TTFT_BUDGET_MILLIS),
        new LabPolicy(LeastDelayPolicy.NAME,
            nodes -> leastDelay(nodes, true).withReleasePenalty(releasePenaltyMillis), FailoverOrder.DEFAULT,
            TTFT_BUDGET_MILLIS),
        oracleReference());
  }

  /** The lab's prefix-reuse reference ({@link OraclePolicy}): not a production policy. */
  public static LabPolicy oracleReference() {
    return new LabPolicy(OraclePolicy.NAME, nodes -> new OraclePolicy(), FailoverOrder.DEFAULT, TTFT_BUDGET_MILLIS,
        true);
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

  private static LeastDelayPolicy leastDelay(List<LabCluster.NodeSpec> nodes, boolean admission) {
    Map<String, Integer> slots = nodes.stream().collect(Collectors.toMap(LabCluster.NodeSpec::id,
        n -> n.gpu().ollama() ? Math.max(1, n.gpu().parallel()) : LeastDelayPolicy.UNLIMITED_SLOTS));
    return new LeastDelayPolicy(admission, LeastDelayPolicy.DEFAULT_BATCH_SLOPE,
        view -> slots.getOrDefault(view.id(), LeastDelayPolicy.UNLIMITED_SLOTS));
  }
}
