package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.config.RoutingSettings;
import dev.sluice.degrade.DegradationSettings;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A request reads one config snapshot (the config and the router built from it) when it arrives and uses it for every
 * attempt it makes, however many reloads land meanwhile: it never routes one attempt by one config and the next by
 * another.
 */
class ConfigSnapshotTest {
  private static final String CHAT = "{\"model\":\"qwen3:32b\",\"max_tokens\":4,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";

  /** gpu-weighted with one GPU class weighted 0: the first choice is always a node of the other class. */
  private static RoutingSettings preferring(String gpu, String other) {
    return new RoutingSettings("gpu-weighted", "any", RoutingSettings.DEFAULT_TTFT_BUDGET,
        Map.of(gpu, 100, other, 0, "A100", 100));
  }

  @Test
  void aReloadBetweenTwoAttemptsOfOneRequestDoesNotChangeHowItsNextAttemptIsRouted() throws Exception {
    try (TestCluster c = new TestCluster()
        .timeouts(TestCluster.timeouts(Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(20)))
        .degradation(DegradationSettings.defaults().withDowngrade(Map.of("qwen3:32b", "qwen2:7b")))
        .routing(preferring("A10", "H100"))
        .node("big", GpuProfile.A100, "qwen3:32b", 0)
        .node("small-a10", GpuProfile.A10, "qwen2:7b", 0)
        .node("small-h100", GpuProfile.H100, "qwen2:7b", 0).start()) {
      c.sim("big").injectFault(SimFault.hangBeforeFirstByte(1));
      CompletableFuture<HttpResponse<String>> answer =
          CompletableFuture.supplyAsync(() -> Http.post(c.url("/v1/chat/completions"), CHAT));
      // the first attempt hangs on the big model's only node until timeouts.firstToken (2 s)...
      await().atMost(Duration.ofSeconds(5)).until(() -> c.sim("big").stats().count("/v1/chat/completions") == 1);
      // ...and meanwhile a reload turns the routing of the smaller model the other way round
      c.configs.swap(c.routing(preferring("H100", "A10")).config());

      HttpResponse<String> r = answer.get(30, TimeUnit.SECONDS);

      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-model-downgraded")).hasValue("qwen2:7b");
      assertThat(r.headers().firstValue("x-sluice-node")).as("the downgrade attempt is routed by the config the "
          + "request arrived with").hasValue("small-a10");
      HttpResponse<String> after = Http.post(c.url("/v1/chat/completions"),
          CHAT.replace("qwen3:32b", "qwen2:7b"));
      assertThat(after.headers().firstValue("x-sluice-node")).as("a request after the reload uses the new config")
          .hasValue("small-h100");
    }
  }
}
