package dev.sluice.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.cli.Main;
import dev.sluice.support.Json;
import dev.sluice.testkit.TestCluster;
import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
        .containsPattern("requests\\s+100\\.00\\s+100\\.00\\s+\\+0\\.0 %");
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

  private static ChromeDriver startBrowser() {
    return dev.sluice.testkit.HeadlessChromium.start("the bench report\'s browser test");
  }
}
