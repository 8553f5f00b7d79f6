package dev.sluice.lab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.routing.LeastDelayPolicy;
import dev.sluice.routing.PrefixHashPolicy;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The lab's affinity (virtual time): what least-delay's affinity gains, the oracle, prefix-hash, determinism. */
class LabAffinityTest {
  private static final long SECOND = 1_000_000_000L;

  private static LabSimulation.Config agents(Workload workload, double load, long seconds, long seed) {
    return LabSimulation.Config.of(LabCluster.C2, workload, Scenario.STEADY,
        load * Capacity.of(LabCluster.C2, workload), seconds * SECOND, seed);
  }

  private static LabPolicy agentPolicy(String label) {
    return LabPolicy.agent().stream().filter(p -> p.label().equals(label)).findFirst().orElseThrow();
  }

  @Test
  void leastDelaysAffinityFindsMoreOfThePromptCachedThanLeastDelayWithoutIt() {
    LabSimulation.Config config = agents(Workload.AGENT_PREFILL_HEAVY, 2.0, 300, 1);

    // both without flow control, so that affinity is the only difference
    RunResult with = LabSimulation.run(config, agentPolicy(LabPolicy.LEAST_DELAY_NO_FLOW));
    RunResult without = LabSimulation.run(config, agentPolicy(LabPolicy.LEAST_DELAY_NO_AFFINITY));

    assertThat(with.prefixHitRate()).isGreaterThan(without.prefixHitRate() + 0.03);
    assertThat(with.affinity().hitShare()).isGreaterThan(without.affinity().hitShare());
    assertThat(with.affinity().total()).isPositive();
  }

  @Test
  void theOracleFindsAtLeastAsMuchOfThePromptCachedAsLeastDelay() {
    LabSimulation.Config config = agents(Workload.AGENT_PREFILL_HEAVY, 2.0, 300, 1);

    RunResult oracle = LabSimulation.run(config, LabPolicy.oracleReference());
    RunResult ours = LabSimulation.run(config, agentPolicy(LeastDelayPolicy.NAME));

    assertThat(oracle.prefixHitRate()).isGreaterThanOrEqualTo(ours.prefixHitRate());
  }

  @Test
  void prefixHashKeepsEverySessionOnOneNode() {
    // the A100s and the H100 of C2 at 30 %: every agent prompt fits each of them and none leaves rotation, the only
    // reasons prefix-hash would move a session
    List<LabCluster.NodeSpec> nodes = LabCluster.C2.nodes().subList(3, 6);
    LabSimulation.Config config = new LabSimulation.Config(nodes, Workload.AGENT, List.of(),
        0.3 * Capacity.of(nodes, Workload.AGENT), 900 * SECOND, 2);

    RunResult result = LabSimulation.run(config, agentPolicy(PrefixHashPolicy.NAME));

    Map<String, Set<String>> nodesBySession = new HashMap<>();
    for (RunResult.RequestRecord r : result.requests()) {
      if (r.node() != null && r.attempts() == 1) {
        nodesBySession.computeIfAbsent(r.session(), k -> new HashSet<>()).add(r.node());
      }
    }
    assertThat(nodesBySession).hasSizeGreaterThan(15);
    assertThat(nodesBySession.values()).allSatisfy(served -> assertThat(served).hasSize(1));
  }

  @Test
  void chatRunsAreTheSameWithAndWithoutAffinity() {
    LabSimulation.Config chat = LabSimulation.Config.of(LabCluster.C2, Workload.CHAT, Scenario.STEADY,
        Capacity.of(LabCluster.C2, Workload.CHAT), 120 * SECOND, 4);

    RunResult with = LabSimulation.run(chat, agentPolicy(LabPolicy.LEAST_DELAY_NO_FLOW));
    RunResult without = LabSimulation.run(chat, agentPolicy(LabPolicy.LEAST_DELAY_NO_AFFINITY));

    assertThat(with.requests()).isEqualTo(without.requests());
    assertThat(with.affinity().total()).isZero();
  }

  @Test
  void sameSeedSameAgentReportWithGoalsAndTheOracle() throws InterruptedException {
    RoutingLab.Options options = new RoutingLab.Options(1, false, 120, 2);
    List<RoutingLab.Point> points = List.of(
        new RoutingLab.Point(LabCluster.C2, Workload.AGENT_PREFILL_HEAVY, Scenario.STEADY, 0.5),
        new RoutingLab.Point(LabCluster.C2, Workload.AGENT_PREFILL_HEAVY, Scenario.STEADY, 2.0));

    String first = report(options, points);
    String again = report(options, points);

    assertThat(again).isEqualTo(first);
    assertThat(first).contains("| ÷ oracle | affinity hit | moved |", "| 200 % | oracle |",
        "| 50 % | least-delay-no-affinity |", "| 50 % | prefix-hash |", "Goals: TTFT p90 of least-delay",
        "routing-lab-agent.svg");
  }

  private static String report(RoutingLab.Options options, List<RoutingLab.Point> points)
      throws InterruptedException {
    List<RoutingLab.Summary> summaries = RoutingLab.run(options, points,
        point -> LabPolicy.forWorkload(point.workload()));
    return LabReport.markdown(summaries, options, "sluice lab", "routing-lab.svg") + LabReport.agentSvg(summaries);
  }
}
