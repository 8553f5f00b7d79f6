package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.config.ConfigHolder;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.FileConfigWatcher;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What operators rely on: /metrics, /healthz, /readyz, and config changes applied without a restart. */
class OperationsTest {
  private static final String CHAT = "{\"model\":\"qwen3:32b\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

  @Test
  void metricsShowRouterUpRequestsByModelAndStatusAndDurationHistograms() {
    try (TestCluster c = new TestCluster().node("a10-01", GpuProfile.A10, "qwen3:32b", 0).start()) {
      Http.post(c.url("/v1/chat/completions"), CHAT);
      Http.post(c.url("/v1/chat/completions"), "{\"model\":\"random-" + System.nanoTime() + "\",\"messages\":[{}]}");
      String metrics = Http.get(c.url("/metrics")).body();
      assertThat(metrics).contains("sluice_router_up 1.0");
      assertThat(metrics).contains(
          "sluice_requests_total{endpoint=\"openai_chat\",model=\"qwen3:32b\",node=\"a10-01\",outcome=\"ok\",status=\"2xx\"} 1.0");
      assertThat(metrics).contains(
          "sluice_requests_total{endpoint=\"openai_chat\",model=\"unknown\",node=\"none\",outcome=\"client_error\",status=\"4xx\"} 1.0");
      assertThat(metrics).contains("sluice_request_duration_seconds_bucket{endpoint=\"openai_chat\",model=\"qwen3:32b\",le=\"0.005\"}");
      assertThat(metrics).doesNotContain("random-");
      assertThat(metrics).contains("jvm_memory_used_bytes");
    }
  }

  @Test
  void severalEventLoopsShareOneFreePortWhenPortZeroIsAsked() throws Exception {
    try (TestCluster c = new TestCluster().eventLoops(2).node("a10-01", GpuProfile.A10, "qwen3:32b", 0).start()) {
      assertThat(c.port()).isPositive();
      for (int i = 0; i < 4; i++) { // a new connection each: the listeners take turns
        try (Http.RawClient raw = new Http.RawClient(c.port(), "POST", "/v1/chat/completions",
            CHAT.replace("{\"model\"", "{\"stream\":true,\"model\""))) {
          assertThat(raw.readUntil("[DONE]")).startsWith("HTTP/1.1 200");
        }
      }
    }
  }

  @Test
  void healthAndReadinessAnswer() {
    try (TestCluster c = new TestCluster().node("a10-01", GpuProfile.A10, "qwen3:32b", 0).start()) {
      assertThat(Http.get(c.url("/healthz")).statusCode()).isEqualTo(200);
      assertThat(Http.get(c.url("/readyz")).body()).contains("\"status\":\"ready\"").contains("\"nodes\":1");
    }
  }

  @Test
  void aConfigFileChangeIsAppliedWithoutRestartAndABadOneIsRejected(@TempDir Path dir) throws Exception {
    Vertx vertx = Vertx.vertx();
    SimNode qwen3 = TestCluster.await(SimNode.start(vertx, SimOptions.defaults().withId("a").withTimeScale(0)));
    SimNode qwen2 = TestCluster.await(SimNode.start(vertx,
        SimOptions.defaults().withId("b").withModels("qwen2:7b").withTimeScale(0)));
    Path file = dir.resolve("sluice.json");
    Files.writeString(file, config(qwen3, null));
    ConfigHolder holder = new ConfigHolder(ConfigLoader.load(file));
    Gateway gw = new Gateway(vertx, holder, new SluiceMetrics(), 1);
    FileConfigWatcher watcher = new FileConfigWatcher(vertx, file, holder, Duration.ofMillis(50));
    try {
      int port = TestCluster.await(gw.start("127.0.0.1", 0));
      watcher.start();
      String url = "http://127.0.0.1:" + port + "/v1/chat/completions";
      String qwen2Chat = CHAT.replace("qwen3:32b", "qwen2:7b");
      await().atMost(Duration.ofSeconds(10)).until(() -> Http.post(url, CHAT).statusCode() == 200);
      assertThat(Http.post(url, qwen2Chat).statusCode()).isEqualTo(404);

      Files.writeString(file, config(qwen3, qwen2));
      await().atMost(Duration.ofSeconds(10)).until(() -> Http.post(url, qwen2Chat).statusCode() == 200);

      Files.writeString(file, "{\"providers\": {\"broken\": ");
      await().atMost(Duration.ofSeconds(10)).until(() -> watcher.rejections() == 1);
      assertThat(Http.post(url, qwen2Chat).statusCode()).isEqualTo(200);
      assertThat(Http.post(url, CHAT).statusCode()).isEqualTo(200);
    } finally {
      watcher.stop();
      TestCluster.await(gw.close());
      TestCluster.await(vertx.close());
    }
  }

  private static String config(SimNode qwen3, SimNode qwen2) {
    String p3 = "\"qwen3\":{\"api\":\"ollama\",\"models\":[{\"id\":\"qwen3:32b\"}],\"nodes\":[{\"id\":\"a\",\"baseUrl\":\""
        + qwen3.baseUrl() + "\"}]}";
    String p2 = qwen2 == null ? "" : ",\"qwen2\":{\"api\":\"ollama\",\"models\":[{\"id\":\"qwen2:7b\"}],\"nodes\":[{\"id\":\"b\","
        + "\"baseUrl\":\"" + qwen2.baseUrl() + "\"}]}";
    return "{\"auth\":{\"mode\":\"none\"},\"health\":{\"probeInterval\":\"100ms\",\"probeTimeout\":\"100ms\"},"
        + "\"providers\":{" + p3 + p2 + "}}";
  }
}
