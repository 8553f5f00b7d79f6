package dev.sluice.sim;

import static dev.sluice.sim.SimHttp.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.cli.SimCommand;
import io.vertx.core.Vertx;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class SimClusterTest {

  @Test
  void startsEveryNodeOfTheFileWithItsFaultsOverridesAndTheTopLevelDefaults() throws Exception {
    List<SimCluster.NodeSpec> specs = SimCluster.parse("""
        {"timeScale": 0, "seed": 9, "nodes": [
          {"id": "a10-01", "port": 0, "gpu": "A10", "models": ["qwen3:32b"],
           "overrides": {"prefillTokensPerSecond": 800}, "faults": [{"kind": "thermal-throttle"}]},
          {"id": "h100-01", "port": 0, "gpu": "H100", "seed": 3, "timeScale": 5}]}""");
    Vertx vertx = Vertx.vertx();
    try {
      List<SimNode> nodes = SimCluster.start(vertx, specs).await();

      assertThat(nodes).extracting(node -> node.options().id()).containsExactly("a10-01", "h100-01");
      assertThat(nodes.get(0).options().overrides()).isEqualTo(Map.of("prefillTokensPerSecond", 800.0));
      assertThat(nodes.get(0).options().seed()).isEqualTo(9);
      assertThat(nodes.get(0).options().timeScale()).isZero();
      assertThat(nodes.get(0).nodeFaults()).extracting(SimFault::describe).containsExactly("thermal-throttle");
      assertThat(nodes.get(1).options().seed()).isEqualTo(3);
      assertThat(nodes.get(1).options().timeScale()).isEqualTo(5);
      assertThat(nodes.get(1).options().models()).containsExactly(SimOptions.DEFAULT_MODEL);
      for (SimNode node : nodes) {
        assertThat(get(node, "/health").statusCode()).isEqualTo(200);
      }
    } finally {
      vertx.close().await();
    }
  }

  @Test
  void namesTheKeyAndTheFixOfEveryValidationError() {
    assertThatThrownBy(() -> SimCluster.parse("{\"nodes\":[{\"id\":\"a\"},{\"id\":\"b\"},{\"gpu\":\"B200\"}]}"))
        .hasMessage("cluster: nodes[2].gpu: \"B200\" is not a profile (expected A10, A10_OLLAMA, A100, A100_BF16, "
            + "H100, H100_BF16)");
    assertThatThrownBy(() -> SimCluster.parse("{\"nodes\":[{\"id\":\"a\",\"faults\":[{\"kind\":\"melt\"}]}]}"))
        .hasMessageStartingWith("cluster: nodes[0].faults[0]: kind: \"melt\" is not a fault kind");
    assertThatThrownBy(() -> SimCluster.parse("{\"nodes\":[{\"id\":\"a\",\"gpus\":\"A10\"}]}"))
        .hasMessageStartingWith("cluster: nodes[0]: unknown key \"gpus\"");
    assertThatThrownBy(() -> SimCluster.parse("{\"nodes\":[{\"id\":\"a\"},{\"id\":\"a\"}]}"))
        .hasMessageContaining("nodes[1].id: \"a\" is used twice");
    assertThatThrownBy(() -> SimCluster.parse("{\"nodes\":[{\"port\":70000}]}"))
        .hasMessageStartingWith("cluster: nodes[0].port: 70000 is out of range");
    assertThatThrownBy(() -> SimCluster.parse("{\"nodes\":[]}")).hasMessageStartingWith("cluster: nodes:");
  }

  @Test
  void bundlesTheDemoClusterOfFourNodes() {
    List<SimCluster.NodeSpec> demo = SimCluster.resource(SimCluster.DEMO_RESOURCE);

    assertThat(demo).extracting(spec -> spec.options().id() + " " + spec.options().gpu() + " "
        + spec.options().models()).containsExactly("a10-01 A10 [qwen3:32b]", "a100-01 A100 [qwen3:32b]",
        "h100-01 H100 [qwen3:32b]", "a10-02 A10 [qwen2:7b]");
  }

  @Test
  void simCommandExitsWith2NamingTheKeyOfAnInvalidClusterFile(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("cluster.json"), "{\"nodes\":[{\"gpu\":\"B200\"}]}");
    StringWriter err = new StringWriter();

    int exitCode = new CommandLine(new SimCommand()).setErr(new PrintWriter(err))
        .execute("--cluster", file.toString());

    assertThat(exitCode).isEqualTo(2);
    assertThat(err.toString()).contains("cluster: nodes[0].gpu: \"B200\" is not a profile");
  }

  @Test
  void simCommandRejectsABadFaultFlagOrOverride() {
    StringWriter err = new StringWriter();
    CommandLine command = new CommandLine(new SimCommand()).setErr(new PrintWriter(err));

    assertThat(command.execute("--fault", "error-rate:percent=20,status=404")).isEqualTo(2);
    assertThat(command.execute("--set", "prefillTokensPerSecond")).isEqualTo(2);

    assertThat(err.toString()).contains("expected 500, 503 or 429", "is not NAME=VALUE");
  }
}
