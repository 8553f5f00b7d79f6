package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import dev.sluice.upstream.ForwardedHeaders;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Least-delay sees a node slow down by its answers: a throttled H100 loses its traffic to the A100 beside it. */
class ThrottledNodeTest {
  private static final String CHAT = "{\"model\":\"qwen3:32b\",\"max_tokens\":8,\"stream\":true,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

  private static List<String> answeredBy(TestCluster c, int n) {
    List<String> nodes = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), CHAT);
      assertThat(r.statusCode()).isEqualTo(200);
      nodes.add(r.headers().firstValue(ForwardedHeaders.NODE_HEADER).orElseThrow());
    }
    return nodes;
  }

  @Test
  void aThrottledNodesShareFallsWithinSecondsOfItSlowingDown() {
    // real speeds (time scale 1): H100 15 ms per token, A100 19 ms; throttled ×0.55 the H100 takes ~27 ms
    try (TestCluster c = new TestCluster()
        .node("h100", GpuProfile.H100, "qwen3:32b", 1)
        .node("a100", GpuProfile.A100, "qwen3:32b", 1).start()) {
      List<String> before = answeredBy(c, 10);
      assertThat(before.stream().filter("h100"::equals).count()).as("H100's share before: %s", before)
          .isGreaterThanOrEqualTo(8);
      // the idle A100 gets one request every 5 s so that its speed is known, not assumed from its profile
      await().atMost(Duration.ofSeconds(15)).until(() -> {
        answeredBy(c, 1);
        return c.gateway.registry().get("a100").speed().decodeSamples() > 0;
      });

      c.sim("h100").injectFault(SimFault.node(SimFault.Kind.THERMAL_THROTTLE));
      answeredBy(c, 5); // under a second of answers: the estimate moves 20 % of the way per answer
      List<String> after = answeredBy(c, 10);
      assertThat(after.stream().filter("a100"::equals).count()).as("A100's share after throttling: %s", after)
          .isGreaterThanOrEqualTo(8);
    }
  }

  @Test
  void aNodeThatOnlyAnswersPlainRequestsHasItsDecodeSpeedLearned() {
    // an A100 at time scale 10 decodes at ~1.9 ms a token, ten times its profile's 19 ms: short prompts and 32-token
    // plain answers, so the decode part dominates each answer's time
    String plain = "{\"model\":\"qwen3:32b\",\"max_tokens\":32,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    try (TestCluster c = new TestCluster().node("a100", GpuProfile.A100, "qwen3:32b", 10).start()) {
      for (int i = 0; i < 5; i++) assertThat(Http.post(c.url("/v1/chat/completions"), plain).statusCode()).isEqualTo(200);
      var speed = c.gateway.registry().get("a100").speed();
      // the client has the whole body once its last byte is relayed; the gateway learns from it a moment later
      await().atMost(Duration.ofSeconds(2)).until(() -> speed.decodeSamples() == 5);
      assertThat(speed.current().decodeMillisPerToken()).as("learned decode ms per token").isLessThan(6);
    }
  }
}
