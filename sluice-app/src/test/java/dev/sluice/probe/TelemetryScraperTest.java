package dev.sluice.probe;

import static dev.sluice.probe.ProbeFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.sluice.api.ApiFlavor;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.ProviderSpec;
import dev.sluice.health.HealthListener;
import dev.sluice.node.NodeEntry;
import dev.sluice.node.NodeRegistry;
import dev.sluice.node.NodeTelemetry;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.support.Clock;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
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

  @Test
  void aVllmNodesKvCapacityAndItsPrefixCacheHitRateOverTheLastScrapeIntervalComeFromItsMetrics() throws Exception {
    try (ProbeFixture f = new ProbeFixture(null)) {
      // the engine's prefix cache runs in simulated time: an instant node (the fixture's, time scale 0) has none
      SimNode vllm = await(SimNode.start(f.simVertx, SimOptions.defaults().withId(ProbeFixture.NODE)
          .withModels(ProbeFixture.MODEL).withGpu(GpuProfile.A10).withTimeScale(50)));
      URI root = URI.create(vllm.baseUrl());
      NodeSpec spec = new NodeSpec(ProbeFixture.NODE, root, URI.create(root + "/v1"), ApiFlavor.OPENAI, "A10",
          URI.create(root + "/metrics"), Map.of(), null, "vllm");
      NodeRegistry registry = new NodeRegistry(ProbeFixture.POLICY, Clock.SYSTEM, HealthListener.none());
      registry.apply(f.config.withProviders(List.of(new ProviderSpec("vllm", f.config.providers().get(0).models(),
          List.of(spec)))));
      Supplier<NodeEntry> node = () -> registry.get(ProbeFixture.NODE);
      TelemetryScraper scraper = new TelemetryScraper(f.vertx, registry, Duration.ofHours(1), Duration.ofMillis(500));
      assertThat(await(scraper.scrapeNow(ProbeFixture.NODE))).isTrue();
      assertThat(node.get().kvCacheTokens()).as("num_gpu_blocks × block_size").isPositive();
      assertThat(node.get().kvCacheTokens() % 16).isZero();
      assertThat(node.get().telemetry().kvCacheUsedPercent()).isBetween(0.0, 100.0);
      assertThat(node.get().prefixCacheHitRate()).as("one scrape: no interval yet").isNaN();
      assertThat(node.get().prefixCacheHitRateTotal()).isNaN();

      String system = letters(4_000 * 4); // 4,000 tokens, 250 blocks of 16
      chat(vllm, system, "What is in the file?"); // cold
      chat(vllm, system, "Summarise the file."); // the system prompt is cached
      assertThat(await(scraper.scrapeNow(ProbeFixture.NODE))).isTrue();
      assertThat(node.get().prefixCacheHitRate()).as("4,000 of ~8,010 tokens were cached").isBetween(0.45, 0.55);
      double afterTwo = node.get().prefixCacheHitRateTotal();
      assertThat(afterTwo).isCloseTo(node.get().prefixCacheHitRate(), within(1e-9));

      chat(vllm, system, "Summarise the file."); // all but the last token cached
      assertThat(await(scraper.scrapeNow(ProbeFixture.NODE))).isTrue();
      assertThat(node.get().prefixCacheHitRate()).as("this interval's one request").isGreaterThan(0.99);
      assertThat(node.get().prefixCacheHitRateTotal()).isBetween(afterTwo, node.get().prefixCacheHitRate());
      assertThat(node.get().prefixCacheResets()).isZero();

      assertThat(await(scraper.scrapeNow(ProbeFixture.NODE))).isTrue();
      assertThat(node.get().prefixCacheHitRate()).as("no query in the interval").isNaN();
      assertThat(node.get().prefixCacheHitRateTotal()).as("the total stays").isGreaterThan(afterTwo);
      await(scraper.stop());
      await(vllm.close());
    }
  }

  @Test
  void thePrefixCacheHitRateIsTheShareOfQueriedTokensFoundCachedBetweenTwoScrapesAndACounterThatFellIsARestart() {
    NodeTelemetry.PrefixCache first = NodeTelemetry.PrefixCache.NONE.next(100, 40);
    assertThat(first.hitRate()).as("a baseline").isNaN();
    assertThat(first.hitRateTotal()).isNaN();

    NodeTelemetry.PrefixCache second = first.next(1_100, 840);
    assertThat(second.hitRate()).isCloseTo(0.8, within(1e-9));
    assertThat(second.hitRateTotal()).isCloseTo(0.8, within(1e-9));
    assertThat(second.resetNow()).isFalse();

    NodeTelemetry.PrefixCache idle = second.next(1_100, 840);
    assertThat(idle.hitRate()).as("no query in the interval").isNaN();
    assertThat(idle.hitRateTotal()).isCloseTo(0.8, within(1e-9));

    NodeTelemetry.PrefixCache restarted = idle.next(300, 150); // the node restarted and answered 300 tokens since
    assertThat(restarted.resetNow()).isTrue();
    assertThat(restarted.resets()).isEqualTo(1);
    assertThat(restarted.hitRate()).as("counted from zero").isCloseTo(0.5, within(1e-9));
    assertThat(restarted.hitRateTotal()).isCloseTo((800.0 + 150) / (1_000 + 300), within(1e-9));

    NodeTelemetry.PrefixCache after = restarted.next(500, 150);
    assertThat(after.resetNow()).as("only the scrape that saw it").isFalse();
    assertThat(after.resets()).isEqualTo(1);
    assertThat(after.hitRate()).isZero();

    NodeTelemetry.PrefixCache gone = after.next(Double.NaN, Double.NaN); // the page lost the counters
    assertThat(gone.hitRate()).isNaN();
    assertThat(gone.queries()).isNaN();
    assertThat(gone.hitRateTotal()).isEqualTo(after.hitRateTotal());
    assertThat(gone.next(600, 200).hitRate()).as("a new baseline").isNaN();
  }

  @Test
  void readsTheKvCacheOfEveryEngineFromCacheConfigLabelsAndPrefersTheCurrentCounterNamesToTheOldOnes() {
    String page = """
        # TYPE vllm:cache_config_info gauge
        vllm:cache_config_info{block_size="16",cache_dtype="auto",engine="0",num_gpu_blocks="2048",note="a,\\"b=c\\""} 1.0
        vllm:cache_config_info{block_size="16",engine="1",num_gpu_blocks="2048"} 1.0
        vllm:prefix_cache_queries_total{engine="0",model_name="m"} 600.0
        vllm:prefix_cache_queries_total{engine="1",model_name="m"} 400.0
        vllm:prefix_cache_hits_total{engine="0",model_name="m"} 300.0
        vllm:prefix_cache_hits_total{engine="1",model_name="m"} 100.0
        vllm:gpu_prefix_cache_queries_total{engine="0",model_name="m"} 99.0
        vllm:gpu_prefix_cache_hits_total{engine="0",model_name="m"} 1.0
        vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.25
        """;
    List<PrometheusReader.Sample> labelled = PrometheusReader.samples(page, TelemetryScraper.LABELLED_NAMES);
    assertThat(labelled.get(0).labels()).containsEntry("num_gpu_blocks", "2048").containsEntry("note", "a,\"b=c\"");
    NodeTelemetry t = TelemetryScraper.toTelemetry(PrometheusReader.firstSamples(page, TelemetryScraper.NAMES),
        labelled, NodeTelemetry.PrefixCache.NONE, 7);
    assertThat(t.kvCacheTokens()).as("2 engines × 2,048 blocks × 16 tokens").isEqualTo(65_536);
    assertThat(t.kvCacheUsedPercent()).isEqualTo(25.0);
    assertThat(t.prefixCache().queries()).isEqualTo(1_000);
    assertThat(t.prefixCache().hits()).isEqualTo(400);

    String v0 = """
        vllm:cache_config_info{block_size="16",num_gpu_blocks="None"} 1.0
        vllm:gpu_prefix_cache_queries_total{model_name="m"} 20
        vllm:gpu_prefix_cache_hits_total{model_name="m"} 5
        vllm:gpu_cache_usage_perc{model_name="m"} 0.5
        """;
    NodeTelemetry old = TelemetryScraper.toTelemetry(PrometheusReader.firstSamples(v0, TelemetryScraper.NAMES),
        PrometheusReader.samples(v0, TelemetryScraper.LABELLED_NAMES), t.prefixCache(), 8);
    assertThat(old.kvCacheTokens()).as("blocks not yet known").isZero();
    assertThat(old.kvCacheUsedPercent()).isEqualTo(50.0);
    assertThat(old.prefixCache().queries()).isEqualTo(20);
    assertThat(old.prefixCache().resetNow()).as("20 < 1,000").isTrue();
    assertThat(old.prefixCache().hitRate()).isCloseTo(0.25, within(1e-9));
  }

  private static void chat(SimNode node, String system, String user) throws Exception {
    String body = "{\"model\":\"" + ProbeFixture.MODEL + "\",\"max_tokens\":1,\"messages\":[{\"role\":\"system\","
        + "\"content\":\"" + system + "\"},{\"role\":\"user\",\"content\":\"" + user + "\"}]}";
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create(node.baseUrl() + "/v1/chat/completions")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }

  private static String letters(int count) {
    SplittableRandom random = new SplittableRandom(18);
    StringBuilder text = new StringBuilder(count);
    for (int i = 0; i < count; i++) text.append((char) ('a' + random.nextInt(26)));
    return text.toString();
  }
}
