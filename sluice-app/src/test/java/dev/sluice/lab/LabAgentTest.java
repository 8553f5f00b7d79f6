package dev.sluice.lab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.loadtest.AgentWorkload;
import dev.sluice.sim.PromptTokens;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The agent workload in the lab: prompt token ids reach the engines' prefix caches, and runs are deterministic. */
class LabAgentTest {
  private static final long SECOND = 1_000_000_000L;

  private static LabSimulation.Config c2Agents(long seed) {
    return LabSimulation.Config.of(LabCluster.C2, Workload.AGENT, Scenario.STEADY,
        Capacity.of(LabCluster.C2, Workload.AGENT), 900 * SECOND, seed);
  }

  private static LabPolicy leastDelay() {
    return LabPolicy.standard().stream().filter(p -> p.label().equals("least-delay")).findFirst().orElseThrow();
  }

  @Test
  void agentTurnsHitTheEnginesPrefixCachesAndCachedEligibleTurnsGetTheirFirstTokenSooner() {
    RunResult result = LabSimulation.run(c2Agents(1), leastDelay());

    assertThat(result.arrived()).isGreaterThan(50);
    assertThat(result.requests()).anyMatch(RunResult.RequestRecord::cachedEligible);
    assertThat(result.prefixHitRate()).isGreaterThan(0.3);
    assertThat(RunResult.quantileSeconds(result.ttftNanos(true), 0.5))
        .isLessThan(RunResult.quantileSeconds(result.ttftNanos(false), 0.5));
  }

  @Test
  void sameSeedSameAgentRunForEveryPolicy() {
    for (LabPolicy policy : List.of(leastDelay(), LabPolicy.standard().get(0))) {
      RunResult first = LabSimulation.run(c2Agents(3), policy);
      RunResult again = LabSimulation.run(c2Agents(3), policy);

      assertThat(again.requests()).as(policy.label()).isEqualTo(first.requests());
      assertThat(again.prefixHitTokens()).as(policy.label()).isEqualTo(first.prefixHitTokens()).isPositive();
    }
  }

  @Test
  void theReportGivesAgentPointsTheirOwnTablesWithHitRateAndTtftByTurnKind() throws InterruptedException {
    RoutingLab.Options options = new RoutingLab.Options(1, false, 120, 2);
    List<RoutingLab.Point> points = List.of(new RoutingLab.Point(LabCluster.C2, Workload.AGENT, Scenario.STEADY, 1.0));

    List<RoutingLab.Summary> summaries = RoutingLab.run(options, points, LabPolicy.standard());
    String markdown = LabReport.markdown(summaries, options, "sluice lab", "routing-lab.svg");

    assertThat(markdown).contains("## Agent workload", "### C2 · agent", "| hit rate |", "cached-eligible TTFT p50",
        "Where each stands: at 100 % most goodput");
    assertThat(markdown.substring(markdown.indexOf("## All points"), markdown.indexOf("## Agent workload")))
        .doesNotContain("agent ·", "· agent");
    assertThat(summaries).allSatisfy(s -> assertThat(s.prefixHitRate().mean()).isPositive());
  }

  @Test
  void theFullGridEndsWithTheAgentPointsAndLeavesTheChatPointsAsTheyWere() {
    List<RoutingLab.Point> grid = RoutingLab.grid(false);
    List<RoutingLab.Point> agents = RoutingLab.agentGrid();

    assertThat(grid.subList(grid.size() - agents.size(), grid.size())).isEqualTo(agents);
    assertThat(grid.subList(0, grid.size() - agents.size())).noneMatch(p -> p.workload().agent());
    assertThat(agents).extracting(p -> p.cluster() + " " + p.workload().label()).containsOnly("C1 agent",
        "C2 agent", "C2 agent-prefill-heavy", "C2 agent-decode-heavy");
    assertThat(RoutingLab.grid(true)).noneMatch(p -> p.workload().agent());
  }

  @Test
  void mostAgentPromptsFitNoA10ContextButEveryOneFitsC2() {
    assertThat(Capacity.agentShareTooLong(LabCluster.C1, Workload.AGENT)).isGreaterThan(0.5);
    assertThat(Capacity.agentShareTooLong(LabCluster.C2, Workload.AGENT)).isZero();
    assertThat(Capacity.of(LabCluster.C2, Workload.AGENT_PREFILL_HEAVY)).isGreaterThan(Capacity.of(LabCluster.C2,
        Workload.AGENT)).isGreaterThan(Capacity.of(LabCluster.C2, Workload.AGENT_DECODE_HEAVY));
  }

  @Test
  void aSessionsPromptIdsAreThoseOfTheSimulatorsTokeniserOverTheToolsAndMessages() {
    AgentWorkload agents = Workload.AGENT.agentWorkload(5);
    int checked = 0;
    for (int i = 0; i < 8; i++) {
      LabSimulation.AgentSession session = new LabSimulation.AgentSession(agents.session(i));
      for (AgentWorkload.Step step = session.session.next(); step != null; step = session.session.next()) {
        for (AgentWorkload.Request request : step.requests()) {
          int[] ids = session.promptIds(request);

          assertThat(ids).isEqualTo(PromptTokens.of(request.tools().toString() + request.messages().toString()));
          assertThat(ids).hasSize(request.inputTokens());
          checked++;
        }
      }
    }
    assertThat(checked).isGreaterThan(100);
  }
}
