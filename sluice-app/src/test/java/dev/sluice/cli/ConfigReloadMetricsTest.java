package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.config.ConfigLoader;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sluice serve} with a config file counts the reloads it applied and rejected on /metrics, for as long as it runs. */
class ConfigReloadMetricsTest {
  @TempDir Path dir;

  private static String config(SimNode node, String probeInterval) {
    return "{\"auth\":{\"mode\":\"none\"},\"health\":{\"probeInterval\":\"" + probeInterval + "\"},"
        + "\"providers\":{\"qwen3\":{\"api\":\"ollama\",\"models\":[{\"id\":\"qwen3:32b\"}],"
        + "\"nodes\":[{\"id\":\"a\",\"baseUrl\":\"" + node.baseUrl() + "\"}]}}}";
  }

  private static List<String> reloads(String metricsUrl) {
    return Http.get(metricsUrl).body().lines().filter(l -> l.startsWith("sluice_config_reloads_total")).toList();
  }

  @Test
  void acceptedAndRejectedReloadsAreCountedOnMetricsEvenAfterAGarbageCollection() throws Exception {
    Vertx simVertx = Vertx.vertx();
    SimNode node = TestCluster.await(SimNode.start(simVertx, SimOptions.defaults().withId("a").withTimeScale(0)));
    Path file = dir.resolve("sluice.json");
    Files.writeString(file, config(node, "200ms"));
    ServeCommand.Running running = ServeCommand.start(ConfigLoader.loadDetailed(file), file, "127.0.0.1", 0, 1);
    try {
      String metrics = "http://127.0.0.1:" + running.port() + "/metrics";
      Files.writeString(file, config(node, "300ms"));
      await().atMost(Duration.ofSeconds(10)).until(() -> running.configs().current().health().probeInterval()
          .equals(Duration.ofMillis(300)));
      Files.writeString(file, "{\"providers\": {\"broken\": ");
      System.gc(); // the counters' state must outlive a collection (Micrometer holds it weakly)
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(reloads(metrics))
          .contains("sluice_config_reloads_total{result=\"rejected\"} 1.0"));

      System.gc();
      assertThat(reloads(metrics)).containsExactly("sluice_config_reloads_total{result=\"accepted\"} 1.0",
          "sluice_config_reloads_total{result=\"rejected\"} 1.0");
    } finally {
      running.stop();
      TestCluster.await(node.close());
      TestCluster.await(simVertx.close());
    }
  }
}
