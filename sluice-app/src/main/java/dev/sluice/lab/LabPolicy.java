package dev.sluice.lab;

import dev.sluice.config.FlowSettings;
import dev.sluice.config.RoutingSettings;
import dev.sluice.flow.FlowQueue;
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
 * @param flow flow control as the gateway runs it (per-node caps, a queue per model), or null: off
 */
public record LabPolicy(
    String label, Function<List<LabCluster.NodeSpec>, RoutingPolicy> factory, FailoverOrder failover,
    long ttftBudgetMillis, boolean oracle, Flow flow) {
  /** The model's TTFT budget in the lab: the goodput SLO. */
  public static final long TTFT_BUDGET_MILLIS = LabSimulation.TTFT_SLO_NANOS / 1_000_000;
  /** Label of least-delay without affinity (today's least-delay before issue 20's affinity). */
  public static final String LEAST_DELAY_NO_AFFINITY = "least-delay-no-affinity";
  /** Label of least-delay without flow control (the lab's least-delay before issue 21's flow control). */
  public static final String LEAST_DELAY_NO_FLOW = "least-delay-no-flow";
  /**
   * The TTFT budget of least-delay with flow control: the gateway's default {@code routing.ttftBudget} (2 s), as a
   * gateway runs it out of the box. (The lab's other least-delay variants keep the goodput SLO, 5 s, as before.)
   */
  public static final long FLOW_TTFT_BUDGET_MILLIS = RoutingSettings.DEFAULT_TTFT_BUDGET.toMillis();

  /**
   * Flow control in a lab run, with the gateway's defaults ({@link #DEFAULT}): every node gets a learned
   * {@link dev.sluice.flow.NodeCap}; a request that finds every eligible node at its cap (or requests of its band or
   * higher already waiting) waits in one {@link FlowQueue} per model until {@code maxWaitMillis} after its arrival.
   *
   * @param maxWaitMillis how long an interactive request may wait for a slot ({@code routing.flow.maxWait})
   * @param batchMaxWaitMillis how long a batch request may wait (the lab's batch job: nobody waits on it turn by turn)
   * @param queue the queue's length and deficit round-robin quantum
   */
  public record Flow(long maxWaitMillis, long batchMaxWaitMillis, FlowQueue.Settings queue) {
    /** How long a batch request may wait for spare capacity: the gateway's {@code routing.flow.batchMaxWait}. */
    public static final long BATCH_MAX_WAIT_MILLIS = FlowSettings.DEFAULT_BATCH_MAX_WAIT.toMillis();
    /** The gateway's defaults: maxWait = routing.ttftBudget (2 s), the queue's default length and quantum. */
    public static final Flow DEFAULT = new Flow(
        FlowSettings.defaults().maxWait(RoutingSettings.DEFAULT_TTFT_BUDGET).toMillis(), BATCH_MAX_WAIT_MILLIS,
        FlowQueue.Settings.DEFAULT);

    public Flow {
      Objects.requireNonNull(queue, "queue");
      if (maxWaitMillis < 0 || batchMaxWaitMillis < 0) {
        throw new IllegalArgumentException("waits must be ≥ 0: " + maxWaitMillis + ", " + batchMaxWaitMillis);
      }
    }
  }

  public LabPolicy {
    Objects.requireNonNull(label, "label");
    Objects.requireNonNull(factory, "factory");
    Objects.requireNonNull(failover, "failover");
  }

  /** A production policy (warmth from the router's own affinity estimate). */
  public LabPolicy(String label, Function<List<LabCluster.NodeSpec>, RoutingPolicy> factory, FailoverOrder failover,
      long ttftBudgetMillis) {
    this(label, factory, failover, ttftBudgetMillis, false, null);
  }

  /** A policy without flow control. */
  public LabPolicy(String label, Function<List<LabCluster.NodeSpec>, RoutingPolicy> factory, FailoverOrder failover,
      long ttftBudgetMillis, boolean oracle) {
    this(label, factory, failover, ttftBudgetMillis, oracle, null);
  }

  /** This policy under {@code label} with flow control {@code flow} and TTFT budget {@code ttftBudgetMillis}. */
  public LabPolicy withFlow(String label, Flow flow, long ttftBudgetMillis) {
    return new LabPolicy(label, factory, failover, ttftBudgetMillis, oracle, Objects.requireNonNull(flow, "flow"));
  }

  /** Whether flow control is on. */
  public boolean flowControl() {
    return flow != null;
  }

  /** The policies of {@code workload}: {@link #agent()} for agent sessions, {@link #standard()} otherwise. */
  public static List<LabPolicy> forWorkload(Workload workload) {
    return workload.agent() ? agent() : standard();
  }

  /**
   * The policies of the agent workloads: round-robin, the brief's gpu-weighted, queue-kv, prefix-hash (consistent
   * hashing on the session, no release), least-delay without affinity ({@value #LEAST_DELAY_NO_AFFINITY}, admission
   * on), least-delay-no-flow (affinity with the default release penalty, no flow control: least-delay before flow
   * control), least-delay (the same with flow control, the gateway's default), and the lab-only {@code oracle}.
   */
  public static List<LabPolicy> agent() {
    return agent(Affinity.Settings.DEFAULT_RELEASE_PENALTY_MILLIS);
  }

  /** {@link #agent()} with least-delay's release penalty {@code releasePenaltyMillis} (for tuning). */
  public static List<LabPolicy> agent(long releasePenaltyMillis) {
    return agent(releasePenaltyMillis, Flow.DEFAULT);
  }

  /** {@link #agent(long)} with flow control {@code flow} for least-delay (for tuning). */
  public static List<LabPolicy> agent(long releasePenaltyMillis, Flow flow) {
    LabPolicy noFlow = new LabPolicy(LEAST_DELAY_NO_FLOW,
        nodes -> leastDelay(nodes, true).withReleasePenalty(releasePenaltyMillis), FailoverOrder.DEFAULT,
        TTFT_BUDGET_MILLIS);
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
        noFlow,
        noFlow.withFlow(LeastDelayPolicy.NAME, flow, FLOW_TTFT_BUDGET_MILLIS),
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
   * and with admission control ({@value #LEAST_DELAY_NO_FLOW}), and least-delay with admission and flow control (the
   * gateway's default). Least-delay is told each node's slot count (Ollama {@code parallel}; unlimited on vLLM), as
   * the gateway would from its node config.
   */
  public static List<LabPolicy> standard() {
    return standard(Flow.DEFAULT);
  }

  /** {@link #standard()} with flow control {@code flow} for least-delay (for tuning). */
  public static List<LabPolicy> standard(Flow flow) {
    LabPolicy noFlow = new LabPolicy(LEAST_DELAY_NO_FLOW, nodes -> leastDelay(nodes, true), FailoverOrder.DEFAULT,
        TTFT_BUDGET_MILLIS);
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
        noFlow,
        noFlow.withFlow(LeastDelayPolicy.NAME, flow, FLOW_TTFT_BUDGET_MILLIS));
  }

  private static LeastDelayPolicy leastDelay(List<LabCluster.NodeSpec> nodes, boolean admission) {
    Map<String, Integer> slots = nodes.stream().collect(Collectors.toMap(LabCluster.NodeSpec::id,
        n -> n.gpu().ollama() ? Math.max(1, n.gpu().parallel()) : LeastDelayPolicy.UNLIMITED_SLOTS));
    return new LeastDelayPolicy(admission, LeastDelayPolicy.DEFAULT_BATCH_SLOPE,
        view -> slots.getOrDefault(view.id(), LeastDelayPolicy.UNLIMITED_SLOTS));
  }
}
