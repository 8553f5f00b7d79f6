package dev.sluice.console;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.routing.NodeSpeed;
import dev.sluice.routing.NodeView;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The console's sentence per node: which one the policy picks now, and why each other one is behind. */
class RouteExplainerTest {
  private static NodeView node(String id, double prefill, double decodeMs, int inFlight, long prefillTokens,
      long silentMillis) {
    return new NodeView(id, "A100", inFlight, prefillTokens, 0, Double.NaN, Double.NaN, -1, 1,
        new NodeSpeed(prefill, decodeMs, 1), silentMillis);
  }

  private static RouteExplainer.Candidate in(NodeView v) {
    return new RouteExplainer.Candidate(v, null, 100);
  }

  @Test
  void leastDelayPicksTheLowestEstimatedAnswerAndNamesTheTermThatPutsEachOtherNodeBehind() {
    Map<String, RouteExplainer.Explanation> e = RouteExplainer.explain("least-delay", List.of(
        in(node("fast", 40_000, 12, 0, 0, 0)),
        in(node("slow-decode", 40_000, 48, 0, 0, 0)),
        in(node("slow-prefill", 500, 12, 0, 0, 0)),
        in(node("busy", 40_000, 12, 3, 200_000, 0)),
        in(node("silent", 40_000, 12, 1, 0, 4_000))));

    assertThat(e.get("fast").chosen()).isTrue();
    assertThat(e.get("fast").text()).matches("lowest est\\. answer \\d+(\\.\\d)? m?s \\(TTFT \\d+ ms\\)");
    assertThat(e.get("slow-decode").chosen()).isFalse();
    assertThat(e.get("slow-decode").text()).contains("because slower decode: 48.0 ms/token vs 12.0 on fast");
    assertThat(e.get("slow-prefill").text()).contains("because slower prefill: 500 tokens/s vs 40,000 on fast");
    assertThat(e.get("busy").text()).contains("because busier: 200,000 prompt tokens waiting for prefill");
    assertThat(e.get("silent").text()).contains("because silent for 4.0 s with requests in flight");
  }

  @Test
  void aNodeOutOfRotationSaysWhyAndTheOnlyCandidateSaysSo() {
    Map<String, RouteExplainer.Explanation> e = RouteExplainer.explain("least-delay", List.of(
        in(node("a", 40_000, 12, 0, 0, 0)),
        new RouteExplainer.Candidate(node("b", 40_000, 12, 0, 0, 0), "ejected: back in 12.0 s", 100)));
    assertThat(e.get("a").text()).startsWith("the only node in rotation: est. answer");
    assertThat(e.get("b")).isEqualTo(new RouteExplainer.Explanation(false, "ejected: back in 12.0 s"));
  }

  @Test
  void otherPoliciesAreDescribedByTheirRule() {
    List<RouteExplainer.Candidate> two = List.of(
        new RouteExplainer.Candidate(node("a", 40_000, 12, 2, 0, 0), null, 100),
        new RouteExplainer.Candidate(node("b", 40_000, 12, 0, 0, 0), null, 300));
    assertThat(RouteExplainer.explain("round-robin", two).get("a").text())
        .isEqualTo("takes turns with 1 other node (1/2 each)");
    assertThat(RouteExplainer.explain("gpu-weighted", two).get("b"))
        .isEqualTo(new RouteExplainer.Explanation(true, "weight 300 of 400: about 75 % of requests"));
    assertThat(RouteExplainer.explain("least-request", two).get("a").text()).isEqualTo("2 in flight vs 0 on b");
    assertThat(RouteExplainer.explain("prefix-hash", two).get("a").text())
        .startsWith("by a hash of the session or prompt prefix; est. answer");
  }

  @Test
  void durationsReadAsAPersonWouldSayThem() {
    assertThat(RouteExplainer.duration(850)).isEqualTo("850 ms");
    assertThat(RouteExplainer.duration(2_140)).isEqualTo("2.1 s");
    assertThat(RouteExplainer.duration(65_000)).isEqualTo("1 min 5 s");
  }
}
