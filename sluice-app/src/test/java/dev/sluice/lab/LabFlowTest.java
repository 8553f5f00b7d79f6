package dev.sluice.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.sluice.flow.Band;
import dev.sluice.lab.LabSimulation.TenantStream;
import dev.sluice.lab.RunResult.Outcome;
import dev.sluice.lab.RunResult.RequestRecord;
import dev.sluice.routing.LeastDelayPolicy;
import dev.sluice.sim.GpuProfile;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Flow control in the lab (virtual time): caps and the queue shed instead of timing out, fair share, bands. */
class LabFlowTest {
  private static final long SECOND = 1_000_000_000L;

  private static LabPolicy policy(String label) {
    return LabPolicy.standard().stream().filter(p -> p.label().equals(label)).findFirst().orElseThrow();
  }

  private static LabSimulation.Config chat(LabCluster cluster, double load, long seconds, long seed) {
    return LabSimulation.Config.of(cluster, Workload.CHAT, Scenario.STEADY, load * Capacity.of(cluster, Workload.CHAT),
        seconds * SECOND, seed);
  }

  private static long count(RunResult r, String tenant, Outcome outcome) {
    return r.requests().stream().filter(q -> q.tenant().equals(tenant) && q.outcome() == outcome).count();
  }

  private static long good(RunResult r, String tenant) {
    return r.requests().stream().filter(q -> q.tenant().equals(tenant) && q.good()).count();
  }

  private static long firstTokenTimeouts(RunResult r) {
    // a request that got its first token on a later attempt, or failed after attempts: the lab's timeouts and refusals
    return r.requests().stream().filter(q -> q.attempts() > 1).count();
  }

  @Test
  void aSaturatedClusterShedsWithFlowControlInsteadOfLettingRequestsTimeOutInsideTheNodes() {
    LabSimulation.Config config = chat(LabCluster.C1, 2.0, 300, 1);

    RunResult withFlow = LabSimulation.run(config, policy(LeastDelayPolicy.NAME));
    RunResult without = LabSimulation.run(config, policy(LabPolicy.LEAST_DELAY_NO_FLOW));

    assertThat(withFlow.shed()).isPositive();
    assertThat(firstTokenTimeouts(withFlow)).isLessThan(firstTokenTimeouts(without));
    assertThat(withFlow.failed()).isLessThan(without.failed());
    assertThat(withFlow.goodputPerSecond()).isGreaterThan(without.goodputPerSecond());
    assertThat(RunResult.quantileSeconds(withFlow.ttftNanos(), 0.99))
        .isLessThan(RunResult.quantileSeconds(without.ttftNanos(), 0.99));
  }

  @Test
  void oneTenantsBurstDoesNotStarveAnotherTenantsRequests() {
    // C1 holds about a dozen chats; A sends 200 at once, B a steady trickle
    TenantStream burst = TenantStream.burst("A", Band.INTERACTIVE, 200, 20 * SECOND, 1_000, 200);
    TenantStream trickle = TenantStream.poisson("B", Band.INTERACTIVE, 0.1);
    LabSimulation.Config base = chat(LabCluster.C1, 1, 300, 2);

    RunResult both = LabSimulation.run(base.withStreams(List.of(burst, trickle)), policy(LeastDelayPolicy.NAME));
    RunResult alone = LabSimulation.run(base.withStreams(List.of(trickle)), policy(LeastDelayPolicy.NAME));

    assertThat(count(both, "A", Outcome.SHED)).isGreaterThan(100); // the burst is far past what C1 serves in 2 s
    assertThat(good(alone, "B")).isGreaterThan(15);
    assertThat((double) good(both, "B")).isGreaterThanOrEqualTo(0.9 * good(alone, "B"));
  }

  @Test
  void batchRequestsWaitBehindInteractiveOnesAndStillFinish() {
    LabSimulation.Config base = chat(LabCluster.C2, 1, 300, 3);
    TenantStream users = TenantStream.poisson("users", Band.INTERACTIVE, 0.9 * Capacity.of(LabCluster.C2,
        Workload.CHAT));
    TenantStream reports = TenantStream.burst("reports", Band.BATCH, 50, 30 * SECOND, 1_000, 500);

    RunResult mixed = LabSimulation.run(base.withStreams(List.of(users, reports)), policy(LeastDelayPolicy.NAME));
    RunResult alone = LabSimulation.run(base.withStreams(List.of(users)), policy(LeastDelayPolicy.NAME));

    assertThat(count(mixed, "reports", Outcome.COMPLETED)).isEqualTo(50);
    assertThat((double) good(mixed, "users")).isGreaterThanOrEqualTo(0.97 * good(alone, "users"));
    double batchTtft = mixed.requests().stream().filter(q -> q.band() == Band.BATCH)
        .mapToLong(RequestRecord::ttftNanos).average().orElseThrow();
    double usersTtft = mixed.requests().stream().filter(q -> q.band() == Band.INTERACTIVE && q.ttftNanos() >= 0)
        .mapToLong(RequestRecord::ttftNanos).average().orElseThrow();
    assertThat(batchTtft).isGreaterThan(usersTtft);
  }

  @Test
  void theSameSeedGivesTheSameRunWithFlowControlAndTenants() {
    LabSimulation.Config config = chat(LabCluster.C2, 1, 60, 4).withStreams(List.of(
        TenantStream.poisson("A", Band.INTERACTIVE, 12), TenantStream.poisson("B", Band.INTERACTIVE, 2),
        TenantStream.burst("C", Band.BATCH, 20, 10 * SECOND, 800, 300)));

    RunResult first = LabSimulation.run(config, policy(LeastDelayPolicy.NAME));
    RunResult second = LabSimulation.run(config, policy(LeastDelayPolicy.NAME));

    assertThat(first.requests()).isEqualTo(second.requests());
    assertThat(first.requests()).extracting(RequestRecord::tenant).contains("A", "B", "C");
  }

  @Test
  void aTenantSendsTheSameRequestsAloneAndAmongOthers() {
    TenantStream b = TenantStream.poisson("B", Band.INTERACTIVE, 1);
    LabSimulation.Config base = chat(LabCluster.C2, 1, 60, 5);

    RunResult alone = LabSimulation.run(base.withStreams(List.of(b)), policy(LeastDelayPolicy.NAME));
    RunResult mixed = LabSimulation.run(base.withStreams(List.of(TenantStream.poisson("A", Band.INTERACTIVE, 5), b)),
        policy(LeastDelayPolicy.NAME));

    assertThat(mixed.requests().stream().filter(q -> q.tenant().equals("B"))
        .map(q -> q.arrivalNanos() + "/" + q.promptTokens()).toList())
        .isEqualTo(alone.requests().stream().map(q -> q.arrivalNanos() + "/" + q.promptTokens()).toList());
  }

  @Test
  void withoutTenantStreamsEveryRequestIsTheDefaultTenantsAndInteractive() {
    RunResult r = LabSimulation.run(chat(LabCluster.C1, 0.5, 60, 6), policy(LeastDelayPolicy.NAME));

    assertThat(r.requests()).isNotEmpty().allSatisfy(q -> {
      assertThat(q.tenant()).isEqualTo(LabRequest.DEFAULT_TENANT);
      assertThat(q.band()).isEqualTo(Band.INTERACTIVE);
    });
  }

  @Test
  void maxMinFairAllocationGivesLightTenantsTheirDemandAndTheHeavyOneTheRest() {
    Map<String, Double> allocation = LabFairness.maxMinFair(Map.of("A", 10.0, "B", 1.0, "C", 1.0), 8);

    assertThat(allocation).containsEntry("A", 6.0).containsEntry("B", 1.0).containsEntry("C", 1.0);
    assertThat(LabFairness.jain(new double[] {1, 1, 1, 1})).isEqualTo(1.0);
    assertThat(LabFairness.jain(new double[] {1, 0, 0, 0})).isEqualTo(0.25);
  }

  @Test
  void eventsLeaveLessCapacityThanNominalAndSteadyRunsAll() {
    long run = 900 * SECOND;
    double nominal = Capacity.of(LabCluster.C2, Workload.CHAT);

    assertThat(Capacity.available(LabCluster.C2, Workload.CHAT, Scenario.STEADY, run)).isEqualTo(nominal);
    double a100 = Capacity.node(GpuProfile.A100, Workload.CHAT);
    double h100 = Capacity.node(GpuProfile.H100, Workload.CHAT);
    // a100-1 down 180 s, a100-2 hung 180 s, h100-1 at ×0.55 for 480 s of 900
    assertThat(Capacity.available(LabCluster.C2, Workload.CHAT, Scenario.EVENTS, run))
        .isCloseTo(nominal - 2 * a100 * 0.2 - h100 * 0.45 * 480 / 900, within(1e-9));
  }

  @Test
  void theSameSeedsGiveTheSameReportWithItsFlowControlGoalsAndFairness() throws InterruptedException {
    RoutingLab.Options options = new RoutingLab.Options(1, false, 60, 2);
    List<RoutingLab.Point> points = List.of(new RoutingLab.Point(LabCluster.C2, Workload.CHAT, Scenario.STEADY, 1.0),
        new RoutingLab.Point(LabCluster.C2, Workload.CHAT, Scenario.STEADY, 1.3));
    List<LabPolicy> policies = List.of(policy(LabPolicy.LEAST_DELAY_NO_FLOW), policy(LeastDelayPolicy.NAME));

    String first = LabReport.markdown(RoutingLab.run(options, points, policies), LabFairness.run(options, policies),
        options, "sluice lab", "routing-lab.svg");
    String again = LabReport.markdown(RoutingLab.run(options, points, policies), LabFairness.run(options, policies),
        options, "sluice lab", "routing-lab.svg");

    assertThat(again).isEqualTo(first);
    assertThat(first).contains("## Flow control: overload", "Goals, C2 · chat · steady: goodput at 130 %",
        "## Flow control: fairness and bands", "Jain's index", "Goals, least-delay: B–D each keep");
  }
}
