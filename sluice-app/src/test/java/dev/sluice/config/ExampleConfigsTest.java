package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.api.ApiFlavor;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The config files the README points users to load as documented. */
class ExampleConfigsTest {
  private static final Path EXAMPLES = Path.of("..", "examples");

  @Test
  void theBriefsProviderBlockExampleLoads() throws Exception {
    SluiceConfig c = ConfigLoader.load(EXAMPLES.resolve("brief-provider.json"));
    assertThat(c.models()).containsOnlyKeys("qwen3:32b");
    assertThat(c.nodes()).singleElement().satisfies(n -> assertThat(n.root().toString()).isEqualTo("http://127.0.0.1:11434"));
  }

  @Test
  void theClusterExampleLoadsWithAllItsNodes() throws Exception {
    SluiceConfig c = ConfigLoader.load(EXAMPLES.resolve("cluster.json"));
    assertThat(c.nodes()).extracting(NodeSpec::id).containsExactly("a10-01", "a100-01", "h100-01", "a10-02");
    assertThat(c.model("qwen3:32b")).hasValueSatisfying(r -> assertThat(r.nodes()).hasSize(3));
    assertThat(c.node("h100-01")).hasValueSatisfying(n -> assertThat(n.api()).isEqualTo(ApiFlavor.OPENAI));
    assertThat(c.degradation().downgrade()).containsEntry("qwen3:32b", "qwen2:7b");
    assertThat(c.limits().perTenant().requestsPerMinute()).isEqualTo(600);
  }
}
