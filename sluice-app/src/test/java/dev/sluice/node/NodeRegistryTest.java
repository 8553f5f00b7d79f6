package dev.sluice.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.api.ApiFlavor;
import dev.sluice.api.NodeDialect;
import dev.sluice.config.ModelSpec;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.ProviderSpec;
import dev.sluice.config.ServerSettings;
import dev.sluice.config.SluiceConfig;
import dev.sluice.config.Timeouts;
import dev.sluice.config.UpstreamSettings;
import dev.sluice.flow.NodeCap;
import dev.sluice.health.HealthListener;
import dev.sluice.health.HealthPolicy;
import dev.sluice.health.NodeState;
import dev.sluice.testkit.FakeClock;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NodeRegistryTest {
  private static SluiceConfig config(String gpuType) {
    return config(ApiFlavor.OLLAMA, gpuType, 0);
  }

  private static SluiceConfig config(ApiFlavor api, String gpuType, int maxConcurrent) {
    NodeSpec node = new NodeSpec("a10-01", URI.create("http://10.0.0.5:11434"), URI.create("http://10.0.0.5:11434/v1"),
        api, gpuType, null, Map.of(), null, "ollama").withMaxConcurrent(maxConcurrent);
    return new SluiceConfig(ServerSettings.defaults(), Timeouts.defaults(), UpstreamSettings.defaults(),
        List.of(new ProviderSpec("ollama", List.of(new ModelSpec("qwen3:32b", "qwen3:32b", 24576, 4096, null)),
            List.of(node))), "test");
  }

  @Test
  void aReloadThatChangesANodeButNotItsAddressKeepsTheDialectsTheProberDiscovered() {
    NodeRegistry registry = new NodeRegistry(HealthPolicy.defaults(), new FakeClock(), (id, from, to, reason) -> { });
    registry.apply(config("A10"));
    registry.get("a10-01").discoveredDialects(Set.of(NodeDialect.ANTHROPIC, NodeDialect.RESPONSES));

    registry.apply(config("A100"));

    assertThat(registry.get("a10-01").spec().gpuType()).isEqualTo("A100");
    assertThat(registry.get("a10-01").speaks(NodeDialect.ANTHROPIC)).isTrue();
    assertThat(registry.get("a10-01").dialects()).containsExactlyInAnyOrder(NodeDialect.OLLAMA, NodeDialect.OPENAI,
        NodeDialect.ANTHROPIC, NodeDialect.RESPONSES);
  }

  @Test
  void aNodeWithoutAGpuProfileHasAGuessedSpeedUntilItsFirstPrefillIsObserved() {
    NodeRegistry registry = new NodeRegistry(HealthPolicy.defaults(), new FakeClock(), HealthListener.none());
    registry.apply(config("A10"));
    assertThat(registry.get("a10-01").view(0).speedGuessed()).as("A10: a profile to start from").isFalse();

    for (String unknown : new String[] {null, "RTX-4090"}) {
      NodeRegistry fresh = new NodeRegistry(HealthPolicy.defaults(), new FakeClock(), HealthListener.none());
      fresh.apply(config(unknown));
      NodeEntry node = fresh.get("a10-01");
      assertThat(node.view(0).speedGuessed()).as("gpuType %s", unknown).isTrue();
      node.speed().observeFirstToken(47_000, 2.0, 0);
      assertThat(node.view(0).speedGuessed()).isFalse();
    }
  }

  // ------------------------------------------------------------------ concurrency caps

  private final FakeClock clock = new FakeClock();

  /** Two probe failures take a node DOWN, one success brings it back (to WARMING). */
  private static final HealthPolicy QUICK_DOWN = new HealthPolicy(Duration.ofSeconds(1), Duration.ofSeconds(1), 0, 1,
      2, 1, 10, 3, Duration.ofSeconds(30), Duration.ofSeconds(300), Duration.ofMinutes(10));

  private NodeEntry node(SluiceConfig config) {
    NodeRegistry registry = new NodeRegistry(QUICK_DOWN, clock, HealthListener.none());
    registry.apply(config);
    return registry.get("a10-01");
  }

  /** A vLLM scrape: its KV cache in tokens and its waiting requests; {@code restarted}: its counters went down. */
  private static NodeTelemetry scrape(long kvTokens, double waiting, boolean restarted) {
    return new NodeTelemetry(50, 60, 80, 2, waiting, 1_000, kvTokens, 40,
        new NodeTelemetry.PrefixCache(10, 5, 0.5, 10, 5, restarted ? 1 : 0, restarted));
  }

  @Test
  void aLearnedCapStartsFromItsGpuTypesKvGuessUntilTheNodesTelemetryReportsItsOwn() {
    NodeEntry e = node(config(ApiFlavor.OPENAI, "A10", 0));
    assertThat(e.cap().reading())
        .isEqualTo(new NodeCap.Reading(5, "learned: KV 5700 tokens (A10 guess) ÷ 1200 per request"));

    e.telemetry(scrape(11_392, 0, false));

    assertThat(e.cap().reading())
        .isEqualTo(new NodeCap.Reading(9, "learned: KV 11392 tokens (node telemetry) ÷ 1200 per request"));
  }

  @Test
  void aNodeOfAGpuTypeWithoutFiguresIsNotCappedUntilItsTelemetryOrABusyAnswerSays() {
    NodeEntry e = node(config(ApiFlavor.OPENAI, "MI300", 0));

    assertThat(e.cap().value()).isEqualTo(NodeCap.MAX_LEARNED);
    assertThat(e.cap().reading().source()).contains("not capped: no KV figure for GPU type MI300");
  }

  @Test
  void anOllamaNodesLearnedCapStartsFromItsSlotGuess() {
    NodeEntry e = node(config(ApiFlavor.OLLAMA, "A10", 0));

    assertThat(e.cap().reading()).isEqualTo(new NodeCap.Reading(GpuDefaults.OLLAMA_SLOTS,
        "learned: Ollama guess of 4 parallel slots (OLLAMA_NUM_PARALLEL)"));
  }

  @Test
  void requestsWaitingInsideTheNodeShrinkALearnedCapAndARestartOfTheNodeForgetsIt() {
    NodeEntry e = node(config(ApiFlavor.OPENAI, "A10", 0));
    e.telemetry(scrape(5_696, 2, false));
    assertThat(e.cap().value()).isEqualTo(4); // 5,696 ÷ 1,200 = 5, less one
    assertThat(e.cap().reading().source()).endsWith("; node reported 2 waiting");

    e.telemetry(scrape(5_696, 0, true));

    assertThat(e.cap().reading())
        .isEqualTo(new NodeCap.Reading(5, "learned: KV 5696 tokens (node telemetry) ÷ 1200 per request"));
  }

  @Test
  void aNodeBackFromDownStartsItsLearnedCapAfresh() {
    NodeEntry e = node(config(ApiFlavor.OLLAMA, "A10", 0));
    e.cap().busy(4);
    assertThat(e.cap().value()).isEqualTo(3);
    e.health().probeFailed("connect refused");
    e.health().probeFailed("connect refused");
    assertThat(e.health().state()).isEqualTo(NodeState.DOWN);
    assertThat(e.cap().value()).as("down is not a reason to learn more").isEqualTo(3);

    e.health().probeSucceeded();

    assertThat(e.health().state()).isEqualTo(NodeState.WARMING);
    assertThat(e.cap().value()).isEqualTo(4);
  }

  @Test
  void aConfiguredCapIgnoresTheNodesTelemetryAndRestarts() {
    NodeEntry e = node(config(ApiFlavor.OPENAI, "A10", 3));

    e.telemetry(scrape(100_000, 5, false));
    e.telemetry(scrape(100_000, 0, true));

    assertThat(e.cap().reading()).isEqualTo(new NodeCap.Reading(3, "nodes[a10-01].maxConcurrent"));
  }

  @Test
  void aReloadKeepsWhatALearnedCapLearnedButAnotherGpuTypeStartsAgainFromTheNodesOwnKvFigure() {
    NodeRegistry registry = new NodeRegistry(QUICK_DOWN, clock, HealthListener.none());
    registry.apply(config(ApiFlavor.OPENAI, "A10", 0));
    registry.get("a10-01").telemetry(scrape(5_696, 2, false));
    SluiceConfig before = config(ApiFlavor.OPENAI, "A10", 0);
    ProviderSpec p = before.providers().get(0);
    NodeSpec declared = p.nodes().get(0).withDialects(Set.of(NodeDialect.OPENAI), true);
    registry.apply(before.withProviders(List.of(new ProviderSpec(p.name(), p.models(), List.of(declared)))));
    assertThat(registry.get("a10-01").spec().dialectsDeclared()).as("a changed node, at the same address").isTrue();
    assertThat(registry.get("a10-01").cap().value()).isEqualTo(4);

    registry.apply(config(ApiFlavor.OPENAI, "A100", 0));

    assertThat(registry.get("a10-01").cap().reading())
        .isEqualTo(new NodeCap.Reading(5, "learned: KV 5696 tokens (node telemetry) ÷ 1200 per request"));
  }
}
