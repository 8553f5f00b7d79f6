package dev.sluice.lab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.lab.RunResult.Outcome;
import dev.sluice.lab.RunResult.RequestRecord;
import dev.sluice.lab.Scenario.LabEvent;
import dev.sluice.sim.BatchEngine;
import dev.sluice.sim.EngineControl;
import dev.sluice.sim.EngineProfile;
import dev.sluice.sim.GpuProfile;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The discrete-event simulation: determinism, fidelity to the engine, failover around a dead node. */
class LabSimulationTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void sameSeedSameResultsAndSameRequestsForEveryPolicy() {
    LabSimulation.Config config = LabSimulation.Config.of(LabCluster.C2, Workload.CHAT, Scenario.EVENTS, 8, 60 * SECOND,
        7);
    List<LabPolicy> policies = LabPolicy.standard();

    RunResult first = LabSimulation.run(config, policies.get(5));
    RunResult again = LabSimulation.run(config, policies.get(5));
    RunResult other = LabSimulation.run(config, policies.get(0));

    assertThat(again.requests()).isEqualTo(first.requests());
    assertThat(again.ttftNanos()).isEqualTo(first.ttftNanos());
    assertThat(again.nodes()).isEqualTo(first.nodes());
    assertThat(first.arrived()).isGreaterThan(300);
    assertThat(other.requests()).extracting(RequestRecord::promptTokens)
        .isEqualTo(first.requests().stream().map(RequestRecord::promptTokens).toList());
  }

  @Test
  void aLoneRequestOnOneNodeHasTheEnginesSoloTimings() {
    LabCluster.NodeSpec node = new LabCluster.NodeSpec("a10-1", GpuProfile.A10);
    LabSimulation.Config config = new LabSimulation.Config(List.of(node), Workload.CHAT, List.of(), 0.002,
        20_000 * SECOND, 3);
    BatchEngine reference = new BatchEngine(EngineProfile.of(GpuProfile.A10), new EngineControl());

    RunResult result = LabSimulation.run(config, LabPolicy.standard().get(0));

    assertThat(result.completed()).isEqualTo(result.arrived());
    List<RequestRecord> alone = new ArrayList<>(); // neither overlapped by the one before nor the one after
    List<RequestRecord> all = result.requests();
    for (int i = 0; i < all.size(); i++) {
      RequestRecord r = all.get(i);
      boolean clearBefore = i == 0 || all.get(i - 1).arrivalNanos() + all.get(i - 1).e2eNanos() <= r.arrivalNanos();
      boolean clearAfter = i == all.size() - 1 || r.arrivalNanos() + r.e2eNanos() <= all.get(i + 1).arrivalNanos();
      if (clearBefore && clearAfter) {
        alone.add(r);
      }
    }
    assertThat(alone).hasSizeGreaterThanOrEqualTo(20);
    assertThat(alone).allSatisfy(r -> {
      long[] solo = reference.soloSchedule(r.promptTokens(), r.outputTokens());
      assertThat(r.ttftNanos()).isEqualTo(solo[0]);
      assertThat(r.e2eNanos()).isEqualTo(solo[1]);
    });
  }

  @Test
  void aHardDownNodeServesNothingAndItsTrafficFailsOver() {
    LabSimulation.Config config = new LabSimulation.Config(LabCluster.C1.nodes(), Workload.CHAT,
        List.of(new LabEvent(LabEvent.Kind.DOWN, "a10-2", 0, Long.MAX_VALUE)), 0.3, 600 * SECOND, 11);

    for (LabPolicy policy : List.of(LabPolicy.standard().get(0), LabPolicy.standard().get(2))) {
      RunResult result = LabSimulation.run(config, policy);

      assertThat(result.nodes().get("a10-2").completions()).as(policy.label()).isZero();
      assertThat(result.nodes().get("a10-2").attempts()).as(policy.label()).isPositive(); // tried, refused
      assertThat(result.requests()).as(policy.label()).noneMatch(r -> "a10-2".equals(r.node()));
      assertThat(result.completed()).as(policy.label()).isEqualTo(result.arrived() - result.failed());
      assertThat(result.nodes().get("a10-1").completions() + result.nodes().get("a10-3").completions())
          .as(policy.label()).isEqualTo(result.completed()).isPositive();
    }
  }

  @Test
  void aHungNodeCostsAFirstTokenTimeoutThenTheNextNodeAnswers() {
    LabSimulation.Config config = new LabSimulation.Config(LabCluster.C1.nodes(), Workload.CHAT,
        List.of(new LabEvent(LabEvent.Kind.HUNG, "a10-1", 0, Long.MAX_VALUE)), 0.1, 300 * SECOND, 5);

    RunResult result = LabSimulation.run(config, LabPolicy.standard().get(0)); // round-robin: a10-1 gets its turn

    assertThat(result.nodes().get("a10-1").completions()).isZero();
    assertThat(result.requests()).anySatisfy(r -> {
      assertThat(r.attempts()).isGreaterThan(1);
      assertThat(r.outcome()).isEqualTo(Outcome.COMPLETED);
      assertThat(r.ttftNanos()).isGreaterThanOrEqualTo(LabSimulation.FIRST_TOKEN_TIMEOUT_NANOS);
    });
  }

  @Test
  void aHungNodeIsSuspectedAtItsFirstTimeoutAndGetsNoRequestWhileItHangs() {
    LabSimulation.Config config = new LabSimulation.Config(LabCluster.C1.nodes(), Workload.CHAT,
        List.of(new LabEvent(LabEvent.Kind.HUNG, "a10-1", 0, Long.MAX_VALUE)), 0.1, 600 * SECOND, 5);

    RunResult result = LabSimulation.run(config, LabPolicy.standard().get(0)); // round-robin: a10-1 gets its turn

    // Its first timeout (10 s) suspects it, its generation probe fails 30 s later: DEGRADED while it hangs. Only the
    // requests routed to it before the first timeout try it.
    long firstTimeout = result.requests().stream().filter(r -> r.attempts() > 1).mapToLong(RequestRecord::arrivalNanos)
        .min().orElseThrow();
    long routedBefore = result.requests().stream().filter(r -> r.arrivalNanos() <= firstTimeout).count();
    assertThat(result.nodes().get("a10-1").attempts()).isLessThanOrEqualTo((int) routedBefore);
    assertThat(result.failed()).isZero();
  }
}
