package dev.sluice.probe;

import static dev.sluice.probe.ProbeFixture.MODEL;
import static dev.sluice.probe.ProbeFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.api.ApiFlavor;
import dev.sluice.config.ModelSpec;
import dev.sluice.health.HealthPolicy;
import dev.sluice.health.NodeState;
import dev.sluice.sim.SimFault;
import dev.sluice.testkit.Http;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ProberTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  @Test
  void aHealthyNodeGoesFromStartingThroughWarmingToReadyAfterItsWarmUpPrompt() {
    ModelSpec.GpuProfile warm = new ModelSpec.GpuProfile("22G", true, "Say hi");
    try (ProbeFixture f = new ProbeFixture(warm)) {
      await(f.prober.start());
      await().atMost(WAIT).until(() -> f.state() == NodeState.READY);

      assertThat(f.transitions).extracting(ProbeFixture.Seen::to)
          .containsExactly(NodeState.WARMING, NodeState.READY);
      ProbeFixture.Seen ready = f.last(NodeState.READY);
      assertThat(ready.paths()).containsKey("/api/tags");
      assertThat(ready.paths().get("/api/chat")).as("warm-up prompt before READY").isEqualTo(1L);
      // prefetch and the generation probe
      assertThat(ready.paths().get("/api/generate")).isEqualTo(2L);
      assertThat(ready.reason()).contains("warm-up done");
      assertThat(f.node().servedModels()).containsExactly(MODEL);
      assertThat(f.node().canServe(MODEL, System.currentTimeMillis())).isTrue();
    }
  }

  @Test
  void aNodeWithoutWarmUpIsReadyAfterItsFirstProbeAndAGenerationProbe() {
    try (ProbeFixture f = new ProbeFixture(null)) {
      await(f.prober.start());
      await().atMost(WAIT).until(() -> f.state() == NodeState.READY);
      ProbeFixture.Seen ready = f.last(NodeState.READY);
      assertThat(ready.paths()).doesNotContainKey("/api/chat");
      assertThat(ready.paths().get("/api/generate")).isEqualTo(1L);
    }
  }

  @Test
  void aKilledNodeTurnsDegradedAfterThreeProbesAndReturnsOnlyAfterProbesAndAGenerationProbe() {
    try (ProbeFixture f = new ProbeFixture(null)) {
      await(f.prober.start());
      await().atMost(WAIT).until(() -> f.state() == NodeState.READY);

      f.sim.injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS));
      await().atMost(WAIT).until(() -> f.state() == NodeState.DEGRADED);
      assertThat(f.last(NodeState.DEGRADED).reason()).isEqualTo("3 consecutive probe failures (connect refused)");

      long generationsBefore = f.sim.stats().count("/api/generate");
      long tagsBefore = f.sim.stats().count("/api/tags");
      f.sim.clearFaults();
      await().atMost(WAIT).until(() -> f.state() == NodeState.READY);

      ProbeFixture.Seen back = f.last(NodeState.READY);
      assertThat(back.reason()).isEqualTo("2 consecutive probes and a generation probe passed");
      assertThat(back.paths().get("/api/tags") - tagsBefore).isGreaterThanOrEqualTo(2);
      assertThat(back.paths().get("/api/generate") - generationsBefore).as("a generation at the node").isEqualTo(1);
    }
  }

  @Test
  void aHungEngineFailsTheGenerationProbeAndStaysDegradedWhileShallowProbesPass() {
    try (ProbeFixture f = new ProbeFixture(null)) {
      await(f.prober.start());
      await().atMost(WAIT).until(() -> f.state() == NodeState.READY);

      f.sim.injectFault(SimFault.node(SimFault.Kind.HUNG_ENGINE));
      f.prober.onEjected(ProbeFixture.NODE); // as passive outlier detection would after first-token timeouts
      await().atMost(WAIT).until(() -> f.state() == NodeState.DEGRADED);
      assertThat(f.last(NodeState.DEGRADED).reason()).isEqualTo("generation probe failed (timeout after 300 ms)");

      long generations = f.sim.stats().count("/api/generate");
      await().atMost(WAIT).during(Duration.ofMillis(800))
          .until(() -> f.state() == NodeState.DEGRADED);
      assertThat(f.node().health().snapshot().consecutiveProbeSuccesses()).isGreaterThanOrEqualTo(4);
      assertThat(f.sim.stats().count("/api/generate")).as("generation probe retried while DEGRADED")
          .isGreaterThan(generations);

      f.sim.clearFaults();
      await().atMost(WAIT).until(() -> f.state() == NodeState.READY);
    }
  }

  @Test
  void aHungEngineAtStartupNeverBecomesReady() {
    try (ProbeFixture f = new ProbeFixture(new ModelSpec.GpuProfile(null, false, "Say hi"))) {
      f.sim.injectFault(SimFault.node(SimFault.Kind.HUNG_ENGINE));
      await(f.prober.start());
      await().atMost(WAIT).until(() -> f.state() == NodeState.DEGRADED);
      assertThat(f.last(NodeState.DEGRADED).reason()).isEqualTo("warm-up failed");
      await().atMost(WAIT).during(Duration.ofMillis(500)).until(() -> f.state() != NodeState.READY);
    }
  }

  @Test
  void aNodeListingAnotherModelIsNotEligibleForTheConfiguredOne() {
    try (ProbeFixture f = new ProbeFixture(null)) {
      await(f.prober.start());
      await().atMost(WAIT).until(() -> f.state() == NodeState.READY);

      f.sim.injectFault(SimFault.wrongModel("llama3:8b"));
      await().atMost(WAIT).until(() -> Set.of("llama3:8b").equals(f.node().servedModels()));
      assertThat(f.node().canServe(MODEL, System.currentTimeMillis())).isFalse();
      assertThat(f.node().canServe("llama3:8b", System.currentTimeMillis())).isTrue();

      f.sim.clearFaults();
      await().atMost(WAIT).until(() -> f.node().canServe(MODEL, System.currentTimeMillis()));
    }
  }

  @Test
  void anOpenAiNodeIsProbedOnHealthListsItsModelsAndWarmsUpWithAChatCompletion() {
    try (ProbeFixture f = new ProbeFixture(ApiFlavor.OPENAI, dev.sluice.sim.SimOptions.defaults(),
        new ModelSpec.GpuProfile(null, true, "Say hi"), null, RepairRunner.Settings.defaults())) {
      await(f.prober.start());
      await().atMost(WAIT).until(() -> f.state() == NodeState.READY);
      ProbeFixture.Seen ready = f.last(NodeState.READY);
      assertThat(ready.paths()).containsKey("/health").doesNotContainKey("/api/tags")
          .doesNotContainKey("/api/generate"); // no prefetch on OpenAI nodes
      // warm-up prompt and the generation probe
      assertThat(ready.paths().get("/v1/chat/completions")).isEqualTo(2L);
      await().atMost(WAIT).until(() -> Set.of(MODEL).equals(f.node().servedModels()));
      assertThat(f.sim.stats().count("/v1/models")).isEqualTo(1);
    }
  }

  @Test
  void probeNowReportsTheCauseOfAFailure() {
    try (ProbeFixture f = new ProbeFixture(null)) {
      assertThat(await(f.prober.probeNow(ProbeFixture.NODE))).isTrue();
      await().atMost(WAIT).until(() -> f.state() == NodeState.READY); // the generation probe follows the first probe
      f.sim.injectFault(SimFault.node(SimFault.Kind.BLACK_HOLE));
      assertThat(await(f.prober.probeNow(ProbeFixture.NODE))).isFalse();
      assertThat(await(f.prober.probeNow(ProbeFixture.NODE))).isFalse();
      assertThat(await(f.prober.probeNow(ProbeFixture.NODE))).isFalse();
      assertThat(f.state()).isEqualTo(NodeState.DEGRADED);
      assertThat(f.last(NodeState.DEGRADED).reason()).isEqualTo("3 consecutive probe failures (timeout after 200 ms)");
    }
  }

  @Test
  void theGenerationProbeStreamsSeveralTokensToTheEndSoANodeWhoseStreamsStallAfterTwoFailsIt() {
    try (ProbeFixture f = new ProbeFixture(null)) {
      double tokensBefore = generatedTokens(f);
      assertThat(await(f.prober.generationProbeNow(ProbeFixture.NODE))).as("healthy node").isTrue();
      assertThat(generatedTokens(f) - tokensBefore).as("tokens generated for the probe")
          .isEqualTo(HealthPolicy.GENERATION_PROBE_TOKENS);

      f.sim.injectFault(SimFault.stall(2));
      assertThat(await(f.prober.generationProbeNow(ProbeFixture.NODE))).as("streams stall after 2 chunks").isFalse();
      assertThat(f.node().health().snapshot().reason())
          .isEqualTo("generation probe failed (stalled after 2 tokens, no complete answer within 300 ms)");

      f.sim.clearFaults();
      assertThat(await(f.prober.generationProbeNow(ProbeFixture.NODE))).as("healthy again").isTrue();
    }
  }

  /** The simulated node's own count of generated tokens (its vLLM-style /metrics). */
  private static double generatedTokens(ProbeFixture f) {
    String page = Http.get(f.sim.baseUrl() + "/metrics").body();
    return PrometheusReader.firstSamples(page, Set.of("vllm:generation_tokens_total")).get("vllm:generation_tokens_total");
  }

  @Test
  void parsesModelNamesDefensively() {
    assertThat(Prober.parseNames("{\"models\":[{\"name\":\"a:1\"},{\"name\":\"b\"},{}]}", "models", "name"))
        .containsExactly("a:1", "b");
    assertThat(Prober.parseNames("{\"data\":[{\"id\":\"m\"}]}", "data", "id")).containsExactly("m");
    assertThat(Prober.parseNames("not json", "models", "name")).isNull();
    assertThat(Prober.parseNames("{\"models\":3}", "models", "name")).isNull();
  }
}
