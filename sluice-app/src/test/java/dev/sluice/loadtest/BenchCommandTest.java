package dev.sluice.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.cli.Main;
import dev.sluice.support.Json;
import dev.sluice.testkit.FakeClock;
import dev.sluice.testkit.TestCluster;
import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;

/**
 * {@code sluice bench} as a user runs it: options, exit codes, the JSON and HTML files, {@code --compare}; the report
 * opened in headless Chromium (Debian's {@code chromium} and {@code chromium-driver}, which {@code ./test.sh}
 * installs), its screenshot left at {@code target/bench-report.png}.
 */
class BenchCommandTest {
  static TestCluster cluster;
  @TempDir Path dir;

  @BeforeAll
  static void start() {
    cluster = LoadRunnerTest.demoShaped();
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  record Run(int exit, String out, String err) {}

  static Run bench(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    var cmd = Main.commandLine();
    cmd.setOut(new PrintWriter(out, true));
    cmd.setErr(new PrintWriter(err, true));
    String[] all = new String[args.length + 1];
    all[0] = "bench";
    System.arraycopy(args, 0, all, 1, args.length);
    int exit = cmd.execute(all);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void promptsFromAJsonlFileAreSentAndTheJsonResultCountsThem() throws Exception {
    Path prompts = dir.resolve("prompts.jsonl");
    Files.writeString(prompts, "{\"messages\":[{\"role\":\"user\",\"content\":\"Write a haiku\"}],\"max_tokens\":20}\n"
        + "\n{\"prompt\":\"Summarize the release notes\",\"max_tokens\":30}\n");
    Path json = dir.resolve("a.json");

    Run run = bench("--url", cluster.url(""), "--users", "5", "--requests", "30", "--prompts", prompts.toString(),
        "--no-stream", "--json", json.toString());

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out()).contains("requests 30, errors 0").contains("end-to-end").contains("by node:");
    JsonNode result = Json.MAPPER.readTree(json.toFile());
    assertThat(result.path("summary").path("requests").asLong()).isEqualTo(30);
    assertThat(result.path("summary").path("stream_requests").asLong()).isZero();
    long byNode = 0;
    for (JsonNode n : result.path("requests_by_node")) byNode += n.asLong();
    assertThat(byNode).isEqualTo(30);
    assertThat(result.path("timeline").isArray()).isTrue();
  }

  @Test
  void compareShowsEachMetricOfTwoRunsAndTheChange() throws Exception {
    Path a = dir.resolve("a.json");
    Path b = dir.resolve("b.json");
    Files.writeString(a, "{\"summary\":{\"requests\":100,\"qps\":20.0,\"e2e_p95_ms\":400.0}}");
    Files.writeString(b, "{\"summary\":{\"requests\":100,\"qps\":25.0,\"e2e_p95_ms\":300.0}}");

    Run run = bench("--compare", a.toString(), b.toString());

    assertThat(run.exit()).isZero();
    assertThat(run.out()).containsPattern("qps\\s+20\\.00\\s+25\\.00\\s+\\+25\\.0 %")
        .containsPattern("e2e_p95_ms\\s+400\\.00\\s+300\\.00\\s+-25\\.0 %")
        .containsPattern("requests\\s+100\\s+100\\s+\\+0\\.0 %"); // a count, printed as an integer
  }

  @Test
  void badOptionsExitWithTwoAndAnUnreachableGatewayWithOne() {
    assertThat(bench("--users", "5").exit()).isEqualTo(2); // no stop condition
    assertThat(bench("--users", "5", "--rate", "3", "-n", "5").exit()).isEqualTo(2); // both loops
    assertThat(bench("--preset", "nightly").exit()).isEqualTo(2);
    assertThat(bench("--duration", "soon", "-u", "1").exit()).isEqualTo(2);
    Run header = bench("-u", "1", "-n", "1", "--header", "no-colon");
    assertThat(header.exit()).isEqualTo(2);
    assertThat(header.err()).contains("must be NAME:VALUE");
    assertThat(bench("-u", "1", "-n", "1", "-H", "Authorization:Bearer x").err()).contains("--token-file");

    Run down = bench("--url", "http://127.0.0.1:1", "--users", "1", "--requests", "1");
    assertThat(down.exit()).isEqualTo(1);
    assertThat(down.err()).contains("did not answer");
  }

  @Test
  void theHtmlReportRendersItsChartsInHeadlessChromium() throws Exception {
    Path html = dir.resolve("report.html");
    Run run = bench("--url", cluster.url(""), "--users", "10", "--requests", "120", "--stream-share", "0.5",
        "--max-tokens-scale", "0.1", "--report", html.toString());
    assertThat(run.exit()).as(run.err()).isZero();
    String page = Files.readString(html);
    assertThat(page).doesNotContain("src=\"http").doesNotContain("href=\"http").doesNotContain("<script src");

    ChromeDriver driver = startBrowser();
    try {
      driver.get(html.toUri().toString());
      for (String id : new String[] {"summary", "e2e-histogram", "ttft-histogram", "latency-over-time"}) {
        WebElement e = driver.findElement(By.id(id));
        assertThat(e.isDisplayed()).as(id).isTrue();
        assertThat(e.getSize().getHeight()).as(id).isGreaterThan(50);
      }
      assertThat(driver.findElements(By.cssSelector("#e2e-histogram rect.bar"))).hasSize(30);
      assertThat(driver.findElement(By.cssSelector("#latency-over-time polyline.p95")).getAttribute("points"))
          .isNotBlank();
      File shot = driver.getScreenshotAs(OutputType.FILE);
      Files.createDirectories(Path.of("target"));
      Files.copy(shot.toPath(), Path.of("target/bench-report.png"), StandardCopyOption.REPLACE_EXISTING);
    } finally {
      driver.quit();
    }
  }

  /**
   * Every axis label of every chart lies inside its SVG's viewport, measured by the browser: with latencies of tens of
   * seconds the y label ({@code 42600 ms}) was right-aligned in the 40 px margin and ran off the left edge
   * ({@code 4260 ms} read {@code 260 ms}).
   */
  @Test
  void theReportsAxisLabelsAreNeverClippedByTheirCharts() throws Exception {
    FakeClock clock = new FakeClock();
    BenchResult r = new BenchResult(clock.nanos(), clock);
    for (int i = 0; i < 12_345; i++) { // five-digit counts and latencies: the widest labels a run makes
      long start = clock.nanos() + (i % 30) * 1_000_000_000L;
      long e2e = 1_000_000L + (i % 100) * 426_000L;
      r.record(new BenchResult.Sample(start, e2e, e2e / 2, new long[] {20_000, 21_000}, 200, null, "a10-01", "normal",
          3, true));
    }
    clock.advanceMillis(30_000);
    r.finish(clock.nanos(), "synthetic: 12,345 requests over 30 s");
    r.timeScale(10);
    Path html = Files.writeString(dir.resolve("wide.html"), BenchReport.html(r));

    ChromeDriver driver = startBrowser();
    try {
      driver.get(html.toUri().toString());
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> labels = (List<Map<String, Object>>) driver.executeScript(
          "return [...document.querySelectorAll('svg')].flatMap(svg => [...svg.querySelectorAll('text')].map(t => {"
              + "const b = t.getBBox(); const v = svg.viewBox.baseVal;"
              + "return {chart: svg.id, text: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height,"
              + " vw: v.width, vh: v.height}; }));");
      assertThat(labels).hasSizeGreaterThanOrEqualTo(9);
      assertThat(labels).anySatisfy(l -> assertThat((String) l.get("text")).matches("\\d{5} ms"));
      for (Map<String, Object> l : labels) {
        double x = num(l.get("x"));
        double y = num(l.get("y"));
        assertThat(x).as("%s", l).isGreaterThanOrEqualTo(0);
        assertThat(y).as("%s", l).isGreaterThanOrEqualTo(0);
        assertThat(x + num(l.get("w"))).as("%s", l).isLessThanOrEqualTo(num(l.get("vw")));
        assertThat(y + num(l.get("h"))).as("%s", l).isLessThanOrEqualTo(num(l.get("vh")));
      }
      assertThat(driver.findElement(By.id("time-scale")).getText()).contains("10×").contains("10 times faster");
      assertThat(driver.findElement(By.id("summary")).getText()).contains("requests 12345")
          .doesNotContain("12345.00");
    } finally {
      driver.quit();
    }
  }

  @Test
  void theSummaryLineAndTheJsonStateTheTimeScaleAndCountsAreIntegers() throws Exception {
    Path json = dir.resolve("run.json");
    Run run = bench("--url", cluster.url(""), "--users", "2", "--requests", "6", "--max-tokens-scale", "0.05",
        "--time-scale", "10", "--json", json.toString());
    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out().lines().findFirst().orElse("")).startsWith("requests 6, errors 0").endsWith("time scale 10×");
    assertThat(run.err()).contains("time scale 10×");
    JsonNode result = Json.MAPPER.readTree(json.toFile());
    assertThat(result.path("time_scale").asDouble()).isEqualTo(10.0);
    assertThat(result.path("summary").path("requests").isIntegralNumber()).isTrue();
    assertThat(result.path("summary").path("requests").asLong()).isEqualTo(6);
    Path again = Files.copy(json, dir.resolve("again.json"));
    assertThat(bench("--compare", json.toString(), again.toString()).out()).containsPattern("requests +6 +6 ");
    assertThat(bench("--url", cluster.url(""), "-n", "1", "-u", "1", "--time-scale", "0").err())
        .contains("--time-scale 0.0 must be > 0");
  }

  private static double num(Object o) {
    return ((Number) o).doubleValue();
  }

  private static ChromeDriver startBrowser() {
    return dev.sluice.testkit.HeadlessChromium.start("the bench report\'s browser test");
  }
}
