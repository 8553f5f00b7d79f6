package dev.sluice.probe;

import static dev.sluice.probe.ProbeFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.sluice.api.ApiFlavor;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.ProviderSpec;
import dev.sluice.health.HealthListener;
import dev.sluice.node.NodeRegistry;
import dev.sluice.node.NodeTelemetry;
import dev.sluice.sim.SimFault;
import dev.sluice.support.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TelemetryScraperTest {

  @Test
  void fillsTelemetryFromTheNodesMetricsAndKeepsTheOldValuesWhenAScrapeFails() {
    try (ProbeFixture f = new ProbeFixture(null)) {
      TelemetryScraper scraper = new TelemetryScraper(f.vertx, f.registry, Duration.ofHours(1), Duration.ofMillis(500));
      assertThat(f.node().telemetry()).isSameAs(NodeTelemetry.NONE);

      assertThat(await(scraper.scrapeNow(ProbeFixture.NODE))).isTrue();
      NodeTelemetry t = f.node().telemetry();
      assertThat(t.gpuTempCelsius()).isBetween(30.0, 90.0);
      assertThat(t.gpuUtilPercent()).isBetween(0.0, 100.0);
      assertThat(t.memoryUsedPercent()).isBetween(1.0, 100.0);
      assertThat(t.requestsRunning()).isZero();
      assertThat(t.requestsWaiting()).isZero();
      assertThat(t.ageMillis(System.currentTimeMillis())).isBetween(0L, 5_000L);

      f.sim.injectFault(SimFault.node(SimFault.Kind.BLACK_HOLE)); // answers nothing, on open connections too
      assertThat(await(scraper.scrapeNow(ProbeFixture.NODE))).isFalse();
      assertThat(f.node().telemetry()).isSameAs(t);
      f.sim.clearFaults();
      await(f.sim.close()); // connection refused
      assertThat(await(scraper.scrapeNow(ProbeFixture.NODE))).isFalse();
      assertThat(f.node().telemetry()).isSameAs(t);
      await(scraper.stop());
    }
  }

  @Test
  void readsFromOllamasApiPsWhenAModelSpillsOutOfGpuMemory() {
    try (ProbeFixture f = new ProbeFixture(null)) {
      TelemetryScraper scraper = new TelemetryScraper(f.vertx, f.registry, Duration.ofHours(1), Duration.ofMillis(500));
      await(scraper.scrapeOllamaPsNow(ProbeFixture.NODE));
      assertThat(f.node().vramShare()).isEqualTo(1.0);
      f.sim.injectFault(SimFault.node(SimFault.Kind.CPU_OFFLOAD));
      await(scraper.scrapeOllamaPsNow(ProbeFixture.NODE));
      assertThat(f.node().vramShare()).isLessThan(1.0);
      await(scraper.stop());
    }
  }

  @Test
  void aNodeAddedAtRunTimeIsScrapedAtTheAddressCheckedWhenItWasAddedNotWhereItsNameResolvesNow() throws Exception {
    try (ProbeFixture f = new ProbeFixture(null)) {
      String name = "gpu.rebind.test"; // no DNS answers it: only the pinned address reaches the node
      java.net.URI root = java.net.URI.create("http://" + name + ":" + java.net.URI.create(f.sim.baseUrl()).getPort());
      NodeSpec byName = new NodeSpec(ProbeFixture.NODE, root, java.net.URI.create(root + "/v1"), ApiFlavor.OLLAMA, "A10",
          java.net.URI.create(root + "/metrics"), Map.of(), null, "ollama");
      NodeRegistry registry = new NodeRegistry(ProbeFixture.POLICY, Clock.SYSTEM, HealthListener.none());
      TelemetryScraper scraper = new TelemetryScraper(f.vertx, registry, Duration.ofHours(1), Duration.ofMillis(500));
      registry.apply(f.config.withProviders(List.of(new ProviderSpec("ollama", f.config.providers().get(0).models(),
          List.of(byName)))));
      assertThat(await(scraper.scrapeNow(ProbeFixture.NODE))).as("the name alone reaches nothing").isFalse();

      NodeSpec pinned = byName.withPinnedAddresses(Map.of(name, java.net.InetAddress.getByName("127.0.0.1")));
      registry.apply(f.config.withProviders(List.of(new ProviderSpec("ollama", f.config.providers().get(0).models(),
          List.of(pinned)))));
      assertThat(await(scraper.scrapeNow(ProbeFixture.NODE))).isTrue();
      assertThat(registry.get(ProbeFixture.NODE).telemetry().memoryUsedPercent()).isBetween(1.0, 100.0);
      await(scraper.scrapeOllamaPsNow(ProbeFixture.NODE));
      assertThat(registry.get(ProbeFixture.NODE).vramShare()).isEqualTo(1.0);
      await(scraper.stop());
    }
  }

  @Test
  void readsTheFirstSampleOfEachNameAndSkipsWhatItCannotParse() {
    String page = """
        # HELP DCGM_FI_DEV_GPU_TEMP GPU temperature (in C).
        # TYPE DCGM_FI_DEV_GPU_TEMP gauge
        DCGM_FI_DEV_GPU_TEMP{gpu="0",modelName="NVIDIA A10",Hostname="a{}\\"b"} 71
        DCGM_FI_DEV_GPU_TEMP{gpu="1"} 40
        DCGM_FI_DEV_GPU_UTIL{gpu="0" 55
        DCGM_FI_DEV_GPU_UTIL garbage
        DCGM_FI_DEV_GPU_UTIL{gpu="0"} 93 1700000000000
        DCGM_FI_DEV_FB_USED 18000
        DCGM_FI_DEV_FB_FREE{gpu="0"} 2000
        vllm:num_requests_running{model_name="qwen3:32b",engine="0"} 3.0
        vllm:num_requests_waiting{model_name="qwen3:32b",engine="0"} NaN
        """;
    Map<String, Double> v = PrometheusReader.firstSamples(page, TelemetryScraper.NAMES);
    assertThat(v).containsEntry("DCGM_FI_DEV_GPU_TEMP", 71.0).containsEntry("DCGM_FI_DEV_GPU_UTIL", 93.0)
        .containsEntry("vllm:num_requests_running", 3.0);
    NodeTelemetry t = TelemetryScraper.toTelemetry(v, 1234);
    assertThat(t.memoryUsedPercent()).isCloseTo(90.0, within(1e-9));
    assertThat(t.requestsWaiting()).isNaN();
    assertThat(t.scrapedAtMillis()).isEqualTo(1234);
    assertThat(TelemetryScraper.toTelemetry(Map.of(), 5).gpuTempCelsius()).isNaN();
  }
}
