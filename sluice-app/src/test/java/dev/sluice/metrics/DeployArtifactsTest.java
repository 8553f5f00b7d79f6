package dev.sluice.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.sim.GpuProfile;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** deploy/prometheus/alerts.yml and deploy/grafana/sluice.json: valid, and only about metrics Sluice exports. */
class DeployArtifactsTest {
  private static final Path DEPLOY = Path.of("..", "deploy");
  private static final Pattern SLUICE_NAME = Pattern.compile("\\bsluice_[a-z0-9_]+");

  @Test
  void theAlertRulesPassPromtoolsCheckAndTheirUnitTests() {
    assertThat(promtool("check", "rules", DEPLOY.resolve("prometheus/alerts.yml").toString()))
        .contains("SUCCESS: 9 rules found");
    assertThat(promtool("test", "rules", DEPLOY.resolve("prometheus/alerts_test.yml").toString())).contains("SUCCESS");
  }

  @Test
  void theAlertsCoverTheRunbookAndOnlyUseExportedMetrics() throws Exception {
    String rules = Files.readString(DEPLOY.resolve("prometheus/alerts.yml"));
    assertThat(rules).contains("alert: SluiceRouterDown", "alert: SluiceNodeDegraded", "alert: SluiceNodeDown",
        "alert: SluiceErrorRateWarning", "alert: SluiceErrorRateCritical", "alert: SluiceErrorRatePage",
        "alert: SluiceDegradationActive", "alert: SluiceNodeStopsAnswering");
    assertThat(rules.split("- alert: ", -1)).allSatisfy(rule -> {
      if (rule.startsWith("Sluice")) assertThat(rule).contains("summary:", "docs/operations.md#monitoring");
    });
    Set<String> exported = exportedNames();
    assertThat(names(rules)).isNotEmpty().allSatisfy(n -> assertThat(exported).as("exported metric names").contains(n));
  }

  @Test
  void everyDashboardPanelQueriesOnlyMetricsSluiceExports() throws Exception {
    JsonNode dashboard = Json.MAPPER.readTree(DEPLOY.resolve("grafana/sluice.json").toFile());
    assertThat(dashboard.path("schemaVersion").asInt()).isGreaterThanOrEqualTo(36);
    assertThat(dashboard.path("templating").path("list").get(0).path("name").asText()).isEqualTo("DS_PROMETHEUS");
    Set<String> exported = exportedNames();
    List<String> titles = new ArrayList<>();
    for (JsonNode panel : dashboard.path("panels")) {
      titles.add(panel.path("title").asText());
      assertThat(panel.path("datasource").path("uid").asText()).isEqualTo("${DS_PROMETHEUS}");
      assertThat(panel.path("targets")).as(panel.path("title").asText()).isNotEmpty();
      for (JsonNode target : panel.path("targets")) {
        String expr = target.path("expr").asText();
        Set<String> used = names(expr);
        assertThat(used).as("metrics in %s: %s", panel.path("title").asText(), expr).isNotEmpty();
        assertThat(used).as("%s: %s", panel.path("title").asText(), expr)
            .allSatisfy(n -> assertThat(exported).contains(n));
      }
    }
    assertThat(String.join("|", titles)).contains("Request rate by outcome", "Error rate", "Latency",
        "Time to first token", "Gateway overhead", "Tokens / s", "Node states", "GPU utilisation", "GPU temperature",
        "GPU memory", "Degradation level", "Cache hit ratio", "Rate-limited");
  }

  /** Every series name of a real scrape, after traffic and after each event-driven counter fired once. */
  private static Set<String> exportedNames() {
    try (TestCluster c = new TestCluster().node("a10-01", GpuProfile.A10, "qwen3:32b", 50)
        .node("a10-02", GpuProfile.A10, "qwen3:32b", 50).start()) {
      c.metrics.bindConfigReloads(() -> 1, () -> 0);
      String chat = "{\"model\":\"qwen3:32b\",\"max_tokens\":4,\"stream\":true,\"messages\":[{\"role\":\"user\","
          + "\"content\":\"hi\"}]}";
      Http.post(c.url("/v1/chat/completions"), chat);
      c.sim("a10-01").injectFault(dev.sluice.sim.SimFault.status(500, "{}", 1));
      c.sim("a10-02").injectFault(dev.sluice.sim.SimFault.status(500, "{}", 1));
      Http.post(c.url("/v1/chat/completions"), chat); // a retry
      c.metrics.rateLimited("tenant", "requests");
      c.metrics.nodeEjected("a10-01");
      c.metrics.nodeSuspected("a10-01");
      c.metrics.authFailure("invalid");
      c.metrics.degradationTransition("cluster", "cache");
      String text = Http.get(c.url("/metrics")).body();
      return text.lines().filter(l -> !l.startsWith("#") && !l.isBlank())
          .map(l -> l.split("[{ ]", 2)[0]).collect(Collectors.toCollection(TreeSet::new));
    }
  }

  /** The sluice_* metric names in a text, with a histogram's _bucket/_count/_sum kept as written. */
  private static Set<String> names(String text) {
    Set<String> out = new TreeSet<>();
    Matcher m = SLUICE_NAME.matcher(text);
    while (m.find()) out.add(m.group());
    return out;
  }

  private static String promtool(String... args) {
    List<String> command = new ArrayList<>(List.of("promtool"));
    command.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      p.getInputStream().transferTo(out);
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      String text = out.toString(StandardCharsets.UTF_8);
      assertThat(p.exitValue()).as("%s: %s", command, text).isZero();
      return text;
    } catch (java.io.IOException e) {
      throw new AssertionError("promtool is missing: install the Debian package prometheus (test.sh does)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
