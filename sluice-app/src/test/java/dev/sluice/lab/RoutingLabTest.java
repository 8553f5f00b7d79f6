package dev.sluice.lab;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The quick grid end to end: a report and a plot with every policy. */
class RoutingLabTest {
  @Test
  void theQuickLabReportsEveryPolicyAtEveryPoint() throws InterruptedException {
    RoutingLab.Options options = new RoutingLab.Options(1, true, 60, 2);
    List<LabPolicy> policies = LabPolicy.standard();

    List<RoutingLab.Summary> summaries = RoutingLab.run(options, RoutingLab.grid(true), policies);
    String markdown = LabReport.markdown(summaries, options, "sluice lab --quick", "routing-lab.svg");
    String svg = LabReport.svg(summaries);

    assertThat(summaries).hasSize(RoutingLab.grid(true).size() * policies.size());
    assertThat(policies).extracting(LabPolicy::label).containsExactly("round-robin", "gpu-weighted",
        "least-request", "queue-kv", "least-delay-no-admission", "least-delay-no-flow", "least-delay");
    for (LabPolicy policy : policies) {
      assertThat(markdown).contains("| 70 % | " + policy.label() + " |", "| 130 % | " + policy.label() + " |");
      assertThat(svg).contains(">" + policy.label() + "<");
    }
    assertThat(markdown).startsWith("# Routing lab").contains("sluice lab --quick", "## Method", "Capacity");
    assertThat(svg).startsWith("<svg").endsWith("</svg>\n").contains("<polyline");
    assertThat(summaries).allSatisfy(s -> assertThat(s.arrived().mean()).isPositive());
  }

  @Test
  void capacityIsTheSumOfTheNodesAndGrowsWithFasterGpus() {
    double a10 = Capacity.node(dev.sluice.sim.GpuProfile.A10, Workload.CHAT);
    double h100 = Capacity.node(dev.sluice.sim.GpuProfile.H100, Workload.CHAT);

    assertThat(Capacity.of(LabCluster.C1, Workload.CHAT)).isEqualTo(a10 + a10 + a10);
    assertThat(h100).isGreaterThan(10 * a10);
    assertThat(Capacity.of(LabCluster.C2, Workload.BURSTY))
        .isEqualTo(Capacity.of(LabCluster.C2, Workload.CHAT));
  }
}
