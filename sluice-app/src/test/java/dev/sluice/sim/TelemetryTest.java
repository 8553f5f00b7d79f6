package dev.sluice.sim;

import static dev.sluice.sim.SimHttp.chat;
import static dev.sluice.sim.SimHttp.get;
import static dev.sluice.sim.SimHttp.post;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Telemetry over real HTTP; the text format is checked by Prometheus' own parser ({@code promtool}). */
class TelemetryTest extends SimNodesFixture {
  private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})? (\\S+)$");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");
  private static final List<String> DCGM_LABELS = List.of("gpu", "UUID", "pci_bus_id", "device", "modelName",
      "Hostname");

  @Test
  void servesDcgmAndVllmFamiliesThatPrometheusParses() throws Exception {
    SimNode node = start(SimOptions.defaults().withId("a10-01").withTimeScale(0));
    post(node, "/api/chat", chat("qwen3:32b", 5, false));

    HttpResponse<String> all = get(node, "/metrics");
    HttpResponse<String> dcgm = get(node, "/metrics/dcgm");
    HttpResponse<String> vllm = get(node, "/metrics/vllm");

    assertThat(all.headers().firstValue("content-type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
    for (HttpResponse<String> response : List.of(all, dcgm, vllm)) {
      assertThat(response.statusCode()).isEqualTo(200);
      assertParsesWithPromtool(response.body());
    }
    assertThat(families(dcgm.body())).containsExactlyInAnyOrder("DCGM_FI_DEV_SM_CLOCK", "DCGM_FI_DEV_MEMORY_TEMP",
        "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_XID_ERRORS",
        "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_THERMAL_VIOLATION", "DCGM_EXP_CLOCK_EVENTS_COUNT");
    assertThat(families(vllm.body())).containsExactlyInAnyOrder("vllm:num_requests_running",
        "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc", "vllm:num_preemptions_total",
        "vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:prefix_cache_queries_total",
        "vllm:prefix_cache_hits_total", "vllm:time_to_first_token_seconds",
        "vllm:cache_config_info");
    assertThat(families(all.body())).containsAll(families(dcgm.body())).containsAll(families(vllm.body()));
  }

  @Test
  void labelsDcgmSeriesLikeTheRealExporter() throws Exception {
    SimNode node = start(SimOptions.defaults().withId("h100-01").withGpu(GpuProfile.H100).withTimeScale(0));

    Map<String, Map<String, String>> series = series(get(node, "/metrics/dcgm").body());

    Map<String, String> temp = series.get("DCGM_FI_DEV_GPU_TEMP");
    assertThat(temp.keySet()).containsExactlyElementsOf(DCGM_LABELS);
    assertThat(temp).containsEntry("gpu", "0").containsEntry("device", "nvidia0")
        .containsEntry("modelName", "NVIDIA H100 80GB HBM3").containsEntry("Hostname", "h100-01");
    assertThat(temp.get("UUID")).startsWith("GPU-");
    assertThat(temp.get("pci_bus_id")).matches("[0-9A-F]{8}:[0-9A-F]{2}:[0-9A-F]{2}\\.[0-9]");
    assertThat(series.keySet()).contains("DCGM_EXP_CLOCK_EVENTS_COUNT{sw_thermal}",
        "DCGM_EXP_CLOCK_EVENTS_COUNT{hw_thermal}", "DCGM_EXP_CLOCK_EVENTS_COUNT{hw_slowdown}",
        "DCGM_EXP_CLOCK_EVENTS_COUNT{power_cap}");
    assertThat(series.get("DCGM_EXP_CLOCK_EVENTS_COUNT{sw_thermal}").keySet())
        .containsExactlyElementsOf(concat(DCGM_LABELS, "clock_event"));
  }

  @Test
  void countsVllmTokensAndTimeToFirstTokenPerRequest() throws Exception {
    SimNode node = start(SimOptions.defaults().withTimeScale(0));
    for (int i = 0; i < 3; i++) {
      post(node, "/api/chat", chat("qwen3:32b", 7, false));
    }

    String text = get(node, "/metrics/vllm").body();

    assertThat(value(text, "vllm:generation_tokens_total")).isEqualTo(21);
    assertThat(value(text, "vllm:prompt_tokens_total")).isEqualTo(9);
    assertThat(value(text, "vllm:time_to_first_token_seconds_count")).isEqualTo(3);
    assertThat(value(text, "vllm:num_requests_running")).isZero();
    assertThat(value(text, "vllm:kv_cache_usage_perc")).isBetween(0.0, 1.0);
    assertThat(text).contains("vllm:generation_tokens_total{model_name=\"qwen3:32b\",engine=\"0\"} 21\n",
        "vllm:time_to_first_token_seconds_bucket{model_name=\"qwen3:32b\",engine=\"0\",le=\"+Inf\"} 3\n");
  }

  @Test
  void reportsLoadedWeightsAsFramebufferUsedOnAnIdleNode() throws Exception {
    SimNode node = start(SimOptions.defaults().withTimeScale(0));

    String text = get(node, "/metrics/dcgm").body();

    double weightsMiB = 32e9 * 0.6 / (1024 * 1024);
    assertThat(value(text, "DCGM_FI_DEV_FB_USED")).isCloseTo(weightsMiB, org.assertj.core.data.Offset.offset(1.0));
    assertThat(value(text, "DCGM_FI_DEV_FB_USED") + value(text, "DCGM_FI_DEV_FB_FREE")).isEqualTo(23_028);
    assertThat(value(text, "DCGM_FI_DEV_GPU_UTIL")).isZero();
    assertThat(value(text, "DCGM_FI_DEV_GPU_TEMP")).isBetween(35.0, 40.0);
  }

  @Test
  void keepsTheDcgmSampleUntilTheSampleIntervalHasPassed() throws Exception {
    SimNode node = start(SimOptions.defaults().withTimeScale(1));
    String before = get(node, "/metrics/dcgm").body();

    post(node, "/api/chat", chat("qwen3:32b", 3, false));

    assertThat(get(node, "/metrics/dcgm").body()).isEqualTo(before);
    assertThat(value(get(node, "/metrics/vllm").body(), "vllm:generation_tokens_total")).isEqualTo(3);
  }

  @Test
  void temperatureRisesWithLoadThroughAFirstOrderLag() {
    long minute = Duration.ofMinutes(1).toNanos();

    assertThat(Telemetry.nextTemperature(38, 80, minute)).isCloseTo(38 + 42 * (1 - Math.exp(-1)),
        org.assertj.core.data.Offset.offset(0.01));
    assertThat(Telemetry.nextTemperature(38, 80, 0)).isEqualTo(38);
    assertThat(Telemetry.nextTemperature(80, 38, 10 * minute)).isCloseTo(38, org.assertj.core.data.Offset.offset(0.01));
  }

  @Test
  void readsFullUtilisationAndHeatsUpUnderSustainedLoad() throws Exception {
    SimNode node = start(SimOptions.defaults().withTimeScale(200));
    CompletableFuture<?> load = CompletableFuture.runAsync(() -> {
      try {
        post(node, "/api/chat", chat("qwen3:32b", 4_000, false), Duration.ofSeconds(30));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });

    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      String text = get(node, "/metrics/dcgm").body();
      assertThat(value(text, "DCGM_FI_DEV_GPU_UTIL")).isGreaterThanOrEqualTo(90);
      assertThat(value(text, "DCGM_FI_DEV_GPU_TEMP")).isGreaterThan(60);
      assertThat(value(text, "DCGM_FI_DEV_SM_CLOCK")).isGreaterThan(1_500);
      assertThat(value(text, "DCGM_FI_DEV_POWER_USAGE")).isGreaterThan(100);
    });
    load.cancel(true);
  }

  @Test
  void thermalThrottleReadsHotWithLowClockAndGrowingThrottleCounters() throws Exception {
    SimNode node = start(SimOptions.defaults().withTimeScale(1_000));
    node.injectFault(SimFault.node(SimFault.Kind.THERMAL_THROTTLE));

    String first = get(node, "/metrics/dcgm").body();
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      String later = get(node, "/metrics/dcgm").body();
      assertThat(value(later, "DCGM_EXP_CLOCK_EVENTS_COUNT", "sw_thermal"))
          .isGreaterThan(value(first, "DCGM_EXP_CLOCK_EVENTS_COUNT", "sw_thermal"));
      assertThat(value(later, "DCGM_FI_DEV_THERMAL_VIOLATION"))
          .isGreaterThan(value(first, "DCGM_FI_DEV_THERMAL_VIOLATION"));
    });
    String text = get(node, "/metrics/dcgm").body();
    assertThat(value(text, "DCGM_FI_DEV_GPU_TEMP")).isBetween(88.0, 90.0);
    assertThat(value(text, "DCGM_FI_DEV_SM_CLOCK")).isLessThan(1_695 * 0.7);
    assertThat(value(text, "DCGM_EXP_CLOCK_EVENTS_COUNT", "hw_thermal")).isZero();
  }

  @Test
  void hotButHealthyReads85DegreesWithoutClockEvents() throws Exception {
    SimNode node = start(SimOptions.defaults().withTimeScale(1_000));
    node.injectFault(SimFault.node(SimFault.Kind.HOT_BUT_HEALTHY));

    String text = get(node, "/metrics/dcgm").body();

    assertThat(value(text, "DCGM_FI_DEV_GPU_TEMP")).isEqualTo(85);
    assertThat(value(text, "DCGM_EXP_CLOCK_EVENTS_COUNT", "sw_thermal")).isZero();
    assertThat(value(text, "DCGM_FI_DEV_THERMAL_VIOLATION")).isZero();
  }

  @Test
  void escapesLabelValuesAndWritesOneHelpAndTypePerFamily() {
    PrometheusWriter text = new PrometheusWriter();
    text.family("x_total", "counter", "help with \\ and\nnewline")
        .sample("x_total", 1, "a", "quote \" backslash \\ newline \n end")
        .sample("x_total", 2.5, "a", "b");

    assertThat(text.toString()).isEqualTo("# HELP x_total help with \\\\ and\\nnewline\n# TYPE x_total counter\n"
        + "x_total{a=\"quote \\\" backslash \\\\ newline \\n end\"} 1\nx_total{a=\"b\"} 2.5\n");
    assertParsesWithPromtool(text.toString());
  }

  /**
   * Runs {@code promtool check metrics}: exit 1 is a parse error; exit 3 lists lint findings, of which only those the
   * real DCGM exporter and vLLM also get are accepted (counter without _total, camelCase labels, colons).
   */
  static void assertParsesWithPromtool(String text) {
    dev.sluice.testkit.Promtool.checkMetrics(text).forEach(line -> assertThat(line).as("promtool finding")
        .containsAnyOf("counter metrics should have \"_total\" suffix",
            "label names should be written in 'snake_case' not 'camelCase'",
            "metric names should not contain ':'"));
  }

  private static List<String> families(String text) {
    return text.lines().filter(line -> line.startsWith("# TYPE ")).map(line -> line.split(" ")[2]).toList();
  }

  /** Labels of each series, keyed by name, or {@code name{clock_event}} for the clock-event series. */
  private static Map<String, Map<String, String>> series(String text) {
    Map<String, Map<String, String>> series = new LinkedHashMap<>();
    text.lines().filter(line -> !line.startsWith("#")).forEach(line -> {
      Matcher sample = SAMPLE.matcher(line);
      assertThat(sample.matches()).as(line).isTrue();
      Map<String, String> labels = new LinkedHashMap<>();
      Matcher label = LABEL.matcher(sample.group(3) == null ? "" : sample.group(3));
      while (label.find()) {
        labels.put(label.group(1), label.group(2));
      }
      String key = labels.containsKey("clock_event") ? sample.group(1) + "{" + labels.get("clock_event") + "}"
          : sample.group(1);
      series.put(key, labels);
    });
    return series;
  }

  private static double value(String text, String name) {
    return value(text, name, null);
  }

  private static double value(String text, String name, String clockEvent) {
    return text.lines().filter(line -> line.startsWith(name + "{") || line.startsWith(name + " "))
        .filter(line -> clockEvent == null || line.contains("clock_event=\"" + clockEvent + "\""))
        .map(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
        .findFirst().orElseThrow(() -> new AssertionError(name + " is missing from:\n" + text));
  }

  private static List<String> concat(List<String> list, String last) {
    List<String> all = new ArrayList<>(list);
    all.add(last);
    return all;
  }

}
