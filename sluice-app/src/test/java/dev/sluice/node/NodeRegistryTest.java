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
import dev.sluice.health.HealthPolicy;
import dev.sluice.testkit.FakeClock;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NodeRegistryTest {
  private static SluiceConfig config(String gpuType) {
    NodeSpec node = new NodeSpec("a10-01", URI.create("http://10.0.0.5:11434"), URI.create("http://10.0.0.5:11434/v1"),
        ApiFlavor.OLLAMA, gpuType, null, Map.of(), null, "ollama");
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
}
