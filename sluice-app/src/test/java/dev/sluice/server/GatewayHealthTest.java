package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.config.RoutingSettings;
import dev.sluice.health.NodeState;
import dev.sluice.node.NodeEntry;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import dev.sluice.upstream.ForwardedHeaders;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Health and routing through the real gateway: probes, ejection, recovery, and where traffic goes. */
class GatewayHealthTest {
  private static final String CHAT = "{\"model\":\"qwen3:32b\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

  private static RoutingSettings policy(String name) {
    return new RoutingSettings(name, RoutingSettings.DEFAULT_FAILOVER, RoutingSettings.DEFAULT_TTFT_BUDGET,
        RoutingSettings.DEFAULT_GPU_BASES);
  }

  private static NodeState state(TestCluster c, String node) {
    return c.gateway.registry().get(node).health().state();
  }

  @Test
  void aKilledNodeTurnsDegradedAfterThreeProbesCostsNoClientErrorAndReturnsOnlyAfterWarmUp() {
    try (TestCluster c = new TestCluster().routing(policy("round-robin"))
        .node("a", GpuProfile.A100, "qwen3:32b", 0).node("b", GpuProfile.A100, "qwen3:32b", 0).start()) {
      c.sim("a").injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS));
      await().atMost(Duration.ofSeconds(10)).until(() -> state(c, "a") == NodeState.DEGRADED);
      assertThat(c.gateway.registry().get("a").health().snapshot().reason()).contains("3 consecutive probe failures");
      for (int i = 0; i < 20; i++) {
        assertThat(Http.post(c.url("/v1/chat/completions"), CHAT).statusCode()).isEqualTo(200);
      }

      long generationsBefore = c.sim("a").stats().count("/api/generate") + c.sim("a").stats().count("/api/chat");
      c.sim("a").clearFaults();
      await().atMost(Duration.ofSeconds(10)).until(() -> state(c, "a") == NodeState.READY);
      long generationsAfter = c.sim("a").stats().count("/api/generate") + c.sim("a").stats().count("/api/chat");
      assertThat(generationsAfter).as("a real generation reached the node before it was READY again")
          .isGreaterThan(generationsBefore);
    }
  }

  @Test
  void requestsDuringTheFirstProbesOfAKilledNodeStillSucceed() {
    try (TestCluster c = new TestCluster().routing(policy("round-robin"))
        .node("a", GpuProfile.A100, "qwen3:32b", 0).node("b", GpuProfile.A100, "qwen3:32b", 0).start()) {
      c.sim("a").injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS));
      for (int i = 0; i < 20; i++) {
        assertThat(Http.post(c.url("/v1/chat/completions"), CHAT).statusCode()).isEqualTo(200);
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> state(c, "a") == NodeState.DEGRADED);
    }
  }

  @Test
  void aHungEngineIsCaughtByTheFirstTokenTimeoutAndTakenOutWhileItsShallowProbeStillPasses() {
    try (TestCluster c = new TestCluster().routing(policy("round-robin"))
        .timeouts(TestCluster.timeouts(Duration.ofMillis(300), Duration.ofSeconds(5), Duration.ofSeconds(30)))
        .node("hung", GpuProfile.A100, "qwen3:32b", 0).node("ok", GpuProfile.A100, "qwen3:32b", 0).start()) {
      c.sim("hung").injectFault(SimFault.node(SimFault.Kind.HUNG_ENGINE));
      for (int i = 0; i < 12; i++) {
        assertThat(Http.post(c.url("/v1/chat/completions"), CHAT).statusCode()).isEqualTo(200);
      }
      NodeEntry hung = c.gateway.registry().get("hung");
      await().atMost(Duration.ofSeconds(10)).until(() -> !hung.health().eligible(c.gateway.registry().nowMillis()));
      long tagsBefore = c.sim("hung").stats().count("/api/tags");
      await().atMost(Duration.ofSeconds(5)).until(() -> c.sim("hung").stats().count("/api/tags") > tagsBefore + 2);
      assertThat(hung.health().snapshot().consecutiveProbeFailures()).as("the shallow probe passes").isZero();
      assertThat(hung.health().eligible(c.gateway.registry().nowMillis())).isFalse();
    }
  }

  @Test
  void leastDelaySendsLessToAThrottledNodeWhileAHotButHealthyNodeKeepsItsShare() {
    try (TestCluster c = new TestCluster().routing(policy("least-delay"))
        .node("throttled", GpuProfile.A100, "qwen3:32b", 5)
        .node("hot", GpuProfile.A100, "qwen3:32b", 5)
        .node("normal", GpuProfile.A100, "qwen3:32b", 5).start()) {
      c.sim("throttled").injectFault(SimFault.node(SimFault.Kind.THERMAL_THROTTLE));
      c.sim("hot").injectFault(SimFault.node(SimFault.Kind.HOT_BUT_HEALTHY));
      String prompt = "word ".repeat(1600);
      // each request its own prompt (no shared prefix): identical prompts would all stay where the first one is
      // cached (affinity), throttled or not, while that node is within the release penalty of the best
      java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
      java.util.function.Supplier<String> chat = () -> "{\"model\":\"qwen3:32b\",\"max_tokens\":30,\"stream\":true,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"" + n.incrementAndGet() + " " + prompt + "\"}]}";
      Map<String, Integer> served = new java.util.concurrent.ConcurrentHashMap<>();
      // 6 clients at once: load spreads by backlog, and each node's speed is learned from its own answers
      java.util.concurrent.ExecutorService clients = java.util.concurrent.Executors.newFixedThreadPool(6);
      try {
        java.util.List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
        for (int i = 0; i < 120; i++) {
          done.add(clients.submit(() -> {
            HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), chat.get());
            assertThat(r.statusCode()).isEqualTo(200);
            served.merge(r.headers().firstValue(ForwardedHeaders.NODE_HEADER).orElseThrow(), 1, Integer::sum);
          }));
        }
        for (var f : done) f.get();
      } catch (Exception e) {
        throw new AssertionError(e);
      } finally {
        clients.shutdownNow();
      }
      System.out.println("least-delay shares with a throttled and a hot-but-healthy node: " + served);
      int throttled = served.getOrDefault("throttled", 0);
      int hot = served.getOrDefault("hot", 0);
      int normal = served.getOrDefault("normal", 0);
      assertThat(throttled).as("throttled node's share of %s", served).isLessThan(Math.min(hot, normal));
      assertThat(hot).as("hot-but-healthy node's share of %s", served).isGreaterThanOrEqualTo(normal / 2);
      assertThat(c.gateway.registry().get("throttled").speed().current().speedFactor())
          .isLessThan(c.gateway.registry().get("hot").speed().current().speedFactor());
    }
  }

  @Test
  void theAdminApiShowsEachNodeAndDrainsAndUndrainsIt() throws Exception {
    try (TestCluster c = new TestCluster().node("a", GpuProfile.A10, "qwen3:32b", 0)
        .node("b", GpuProfile.H100, "qwen3:32b", 0).start()) {
      JsonNode nodes = Json.MAPPER.readTree(Http.get(c.url("/admin/nodes")).body());
      assertThat(nodes.path("policy").asText()).isEqualTo("least-delay");
      assertThat(nodes.path("nodes").get(0).path("state").asText()).isEqualTo("READY");
      assertThat(nodes.path("nodes").get(0).path("speed").has("speedFactor")).isTrue();
      assertThat(nodes.path("nodes").get(1).path("weight").asInt()).isPositive();
      assertThat(nodes.path("nodes").get(1).path("score").path("estimatedTtftMillis").asLong())
          .as("an H100 starts a typical prompt sooner than an A10")
          .isLessThan(nodes.path("nodes").get(0).path("score").path("estimatedTtftMillis").asLong());

      assertThat(Http.post(c.url("/admin/nodes/b/drain"), "").statusCode()).isEqualTo(200);
      for (int i = 0; i < 5; i++) {
        assertThat(Http.post(c.url("/v1/chat/completions"), CHAT).headers().firstValue(ForwardedHeaders.NODE_HEADER))
            .hasValue("a");
      }
      assertThat(Http.post(c.url("/admin/nodes/b/undrain"), "").statusCode()).isEqualTo(200);
      assertThat(state(c, "b")).isEqualTo(NodeState.READY);
      assertThat(Http.get(c.url("/metrics")).body())
          .contains("sluice_node_state{node=\"b\",state=\"READY\"} 1.0")
          .contains("sluice_node_speed_factor{node=\"a\"}");
    }
  }

  @Test
  void whenEveryNodeIsOutOfRotationTheClientGets503WithTheReasonAndRetryAfter() throws Exception {
    try (TestCluster c = new TestCluster().withoutDegradation().node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      Http.post(c.url("/admin/nodes/a/drain"), "");
      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), CHAT);
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.headers().firstValue("retry-after")).isPresent();
      JsonNode err = Json.MAPPER.readTree(r.body()).path("error");
      assertThat(err.path("code").asText()).isEqualTo("no_healthy_node");
      assertThat(err.path("message").asText()).contains("a DRAINING");
    }
  }

  @Test
  void sameGpuClassFailoverNeverCrossesToAnotherGpuClass() {
    try (TestCluster c = new TestCluster().withoutDegradation()
        .routing(new RoutingSettings("round-robin", "same-gpu-class", RoutingSettings.DEFAULT_TTFT_BUDGET,
            RoutingSettings.DEFAULT_GPU_BASES))
        .node("a100-bad", GpuProfile.A100, "qwen3:32b", 0).node("h100", GpuProfile.H100, "qwen3:32b", 0).start()) {
      c.sim("a100-bad").injectFault(SimFault.resetBeforeFirstByte(1_000));
      int failed = 0;
      int ok = 0;
      for (int i = 0; i < 6; i++) {
        int status = Http.post(c.url("/v1/chat/completions"), CHAT).statusCode();
        if (status == 502) failed++;
        if (status == 200) ok++;
      }
      assertThat(failed).as("requests whose first choice was the A100 had no other A100 to fail over to").isPositive();
      assertThat(ok + failed).isEqualTo(6);
    }
  }

  @Test
  void aReloadedProbeIntervalAppliesAtOnceNotAfterTheOldInterval() {
    try (TestCluster c = new TestCluster().health(TestCluster.fastProbes(Duration.ofSeconds(60)))
        .node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      c.health(TestCluster.fastProbes(Duration.ofMillis(100)));
      c.configs.swap(c.config());
      c.sim("a").injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS));
      // three failed probes at the new 100 ms interval; the old interval would take three minutes
      await().atMost(Duration.ofSeconds(5)).until(() ->
          c.gateway.registry().get("a").health().state() == dev.sluice.health.NodeState.DEGRADED);
    }
  }

  @Test
  void theRoutingPolicyCanBeSwitchedByAConfigReload() throws Exception {
    try (TestCluster c = new TestCluster().node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      var current = c.configs.current();
      c.configs.swap(new dev.sluice.config.SluiceConfig(current.server(), current.timeouts(), current.upstream(),
          policy("gpu-weighted"), current.health(), current.providers(), "reloaded").withAuth(current.auth()));
      assertThat(Json.MAPPER.readTree(Http.get(c.url("/admin/nodes")).body()).path("policy").asText())
          .isEqualTo("gpu-weighted");
      assertThat(Http.post(c.url("/v1/chat/completions"), CHAT).statusCode()).isEqualTo(200);
    }
  }
}
