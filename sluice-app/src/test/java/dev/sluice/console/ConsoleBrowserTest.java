package dev.sluice.console;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.auth.AuthMode;
import dev.sluice.auth.KeyFile;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.config.AdminSettings;
import dev.sluice.config.AuthSettings;
import dev.sluice.health.HealthPolicy;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.sim.SimNode;
import dev.sluice.testkit.SecretLedger;
import dev.sluice.testkit.TestCluster;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web console in real headless Chromium, driven by Selenium, against a cluster shaped like {@code sluice demo}
 * (a10-01, a100-01, h100-01 serving qwen3:32b; a10-02 serving qwen2:7b) with gateway tokens and an admin token:
 * a wrong token gets a message, sign in, see every node READY, see each node's share of the answers and the routing
 * policy's choice in words, make the least-used node fail and watch its error count rise until it is ejected (with
 * the time it stays out), see a repeated prompt's cache hits on its node, break a node and watch its telemetry turn
 * stale within two scrape periods, the node turn DEGRADED and the error-rate chart move, drain a node
 * from the page and see traffic stop reaching it, and check the page in a 420 px window. Screenshots go to
 * {@code target/console-*.png}.
 *
 * <p>Needs Debian's {@code chromium} and {@code chromium-driver} ({@code ./test.sh} installs them); no network: the
 * driver binary is given, so Selenium Manager never runs.
 *
 * <p>The README's {@code docs/console.png} is this test's last screenshot at 1400 px:
 * {@code mvn -B -o -pl sluice-app test -Dtest=ConsoleBrowserTest -Dsluice.console.screenshot=docs/console.png}
 * (path relative to the repository root).
 */
class ConsoleBrowserTest {
  static final String ADMIN_TOKEN = SecretLedger.secret("sluice-admin-ConsoleBrowserToken0123456789abcdefABCD");
  static final String BIG = "qwen3:32b";
  static final String SMALL = "qwen2:7b";
  /** The gateway's telemetry scrape period here: the default 15 s would make the stale check slow. */
  static final Duration SCRAPE_PERIOD = Duration.ofSeconds(3);

  @TempDir Path dir;
  private TestCluster cluster;
  private ChromeDriver driver;
  private ScheduledExecutorService load;

  @AfterEach
  void tearDown() {
    if (load != null) load.shutdownNow();
    if (driver != null) driver.quit();
    if (cluster != null) cluster.close();
  }

  @Test
  void showsTheClusterLiveAndItsActionsReachTheNodes() throws Exception {
    String gatewayToken = startCluster();
    driver = startBrowser();
    try {
      scenario(gatewayToken);
    } catch (Throwable t) {
      screenshot("target/console-failure.png");
      String page = driver.findElement(By.tagName("body")).getText();
      throw new AssertionError("page at " + driver.getCurrentUrl() + " (screenshot target/console-failure.png): "
          + page.substring(0, Math.min(2000, page.length())) + "\nbrowser log: "
          + driver.manage().logs().get(org.openqa.selenium.logging.LogType.BROWSER).getAll(), t);
    }
  }

  private void scenario(String gatewayToken) throws Exception {
    WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(20), Duration.ofMillis(100));

    // a wrong token at sign-in: the page says so, and the form is there to try again
    driver.get(cluster.url("/console"));
    wait.until(d -> d.getCurrentUrl().endsWith("/console/login"));
    assertThat(driver.findElements(By.id("login-message"))).as("no message before a sign-in failed").isEmpty();
    driver.findElement(By.id("token")).sendKeys("sluice-admin-not-the-token");
    driver.findElement(By.cssSelector("form button[type=submit]")).click();
    wait.until(d -> !d.findElements(By.id("login-message")).isEmpty());
    assertThat(driver.findElement(By.id("login-message")).getText()).contains("not the admin token");
    assertThat(driver.findElement(By.id("login-message")).isDisplayed()).isTrue();
    screenshot("target/console-login-failed.png");

    // sign in with the admin token through the form
    driver.findElement(By.id("token")).sendKeys(ADMIN_TOKEN);
    driver.findElement(By.cssSelector("form button[type=submit]")).click();
    wait.until(d -> d.getTitle().equals("Sluice console"));

    // every node READY, live
    wait.until(d -> List.of("a10-01", "a100-01", "h100-01", "a10-02").stream().allMatch(n -> "READY".equals(state(n))));
    wait.until(d -> "live".equals(d.findElement(By.id("live")).getText()));
    assertThat(cell("a10-01", "dialects")).as("the APIs the node serves").contains("ollama", "openai");
    // each node's concurrency cap as "in flight / cap", where it came from as the cell's tooltip
    wait.until(d -> cell("a10-01", "cap").matches("\\d+ / \\d+"));
    wait.until(d -> cellTitle("a10-01", "cap").contains("KV 5696 tokens (node telemetry)"));
    assertThat(driver.findElement(By.id("degradation-level")).getText()).isEqualTo("NORMAL");
    assertThat(new org.openqa.selenium.support.ui.Select(driver.findElement(By.id("policy"))).getOptions())
        .extracting(WebElement::getText).contains("least-delay", "gpu-weighted", "round-robin");

    // background traffic: both models, from the test's own scheduler (a few requests a second)
    AtomicLong sent = new AtomicLong();
    startLoad(gatewayToken, 150, sent);
    List<String> bigNodes = List.of("a10-01", "a100-01", "h100-01");
    wait.until(d -> Long.parseLong(d.findElement(By.id("error-trend")).getAttribute("data-total")) > 5);
    wait.until(d -> !cell("h100-01", "ttft").equals("–"));
    wait.until(d -> cell("a10-01", "gpu").matches("GPU \\d+ %"));
    assertThat(attr("a10-01", "telemetry", "data-stale")).as("scraped just now").isEqualTo("fresh");
    assertThat(errorsDrawn()).as("no error before the fault").isZero();
    if (screenshotMode()) { // for the picture: a couple hundred requests of history before the fault
      await().atMost(Duration.ofSeconds(90)).until(() -> sent.get() > 300);
    }
    screenshot("target/console-ready.png");

    // a long prompt repeated through the gateway: the node that answers it shows its cache hits once two scrapes saw
    // them (the short background prompts fill no 16-token block: 0 %); no request named a session yet: 0 pinned
    assertThat(cell("a10-01", "sessions")).isEqualTo("0");
    String repeated = "{\"model\":\"" + BIG + "\",\"max_tokens\":1,\"messages\":[{\"role\":\"system\",\"content\":\""
        + "You read files. ".repeat(1_000) + "\"},{\"role\":\"user\",\"content\":\"What is in the file?\"}]}";
    await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(500)).until(() -> {
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create(cluster.url("/v1/chat/completions"))).header("Authorization", "Bearer " + gatewayToken)
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(repeated)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      for (String n : bigNodes) TestCluster.await(cluster.gateway.telemetryScraper().scrapeNow(n));
      return bigNodes.stream().anyMatch(n -> cell(n, "cache-hits").matches("[1-9]\\d* %"));
    });

    // every qwen3:32b node shows its share of the answers (1 / 5 / 15 min); the policy's pick is explained in words
    wait.until(d -> bigNodes.stream().allMatch(n -> cell(n, "share").matches("\\d+ / \\d+ / \\d+ %")));
    wait.until(d -> bigNodes.stream().anyMatch(n -> cell(n, "route").startsWith("chosen now: lowest est. answer")));
    wait.until(d -> bigNodes.stream().anyMatch(n -> cell(n, "route").contains("because")));

    // the least-used qwen3:32b node starts failing every generation: its error count rises on the page (the gateway
    // fails its attempts over, so the requests are still answered), and after 3 failures in a row it is ejected, the
    // page showing how long it stays out
    String leastUsed = bigNodes.stream().min(Comparator.comparingLong(n -> requestsShown(n))).orElseThrow();
    long errorsBefore = errorsShown(leastUsed);
    cluster.sim(leastUsed).injectFault(SimFault.errorRate(100, 500));
    WebDriverWait slow = new WebDriverWait(driver, Duration.ofSeconds(60), Duration.ofMillis(100));
    slow.until(d -> errorsShown(leastUsed) > errorsBefore);
    long errorsSeen = errorsShown(leastUsed);
    slow.until(d -> errorsShown(leastUsed) > errorsSeen);
    assertThat(cell(leastUsed, "errors")).as("1 / 5 / 15 min").matches("\\d+ / [1-9]\\d* / [1-9]\\d*");
    slow.until(d -> cell(leastUsed, "error-kinds").contains("node_error"));
    slow.until(d -> cell(leastUsed, "ejection").matches("ejected: back in \\d+(\\.\\d)? s \\(ejection 1\\)"));
    long remaining = Long.parseLong(attr(leastUsed, "ejection", "data-remaining"));
    assertThat(remaining).as("the first ejection lasts ejectionBase (30 s)").isBetween(1L, 30_000L);
    screenshot("target/console-ejected.png");
    cluster.sim(leastUsed).clearFaults();

    // a10-02, the only qwen2:7b node, stops listening: probes fail → DEGRADED; its requests get the static reply
    cluster.sim("a10-02").injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS));
    // its telemetry scrape fails too: the page greys it as stale within two scrape periods, never showing the last
    // numbers as live
    new WebDriverWait(driver, SCRAPE_PERIOD.multipliedBy(2), Duration.ofMillis(50))
        .until(d -> "stale".equals(attr("a10-02", "telemetry", "data-stale")));
    assertThat(cellClass("a10-02", "telemetry")).contains("stale");
    assertThat(cell("a10-02", "telemetry-age")).contains("stale: last scrape failed");
    wait.until(d -> "DEGRADED".equals(state("a10-02")));
    wait.ignoring(StaleElementReferenceException.class).until(d -> d.findElement(By.cssSelector(
        "article[data-node='a10-02'] .state")).getAttribute("class").contains("state-DEGRADED")); // cards redraw every second
    wait.until(d -> errorsDrawn() > 0);
    wait.until(d -> d.findElement(By.id("changes")).getText().contains("a10-02 READY → DEGRADED"));
    screenshot("target/console-degraded.png");

    // drain h100-01 from the page: no new request reaches it while qwen3:32b traffic goes on elsewhere
    SimNode h100 = cluster.sim("h100-01");
    long before = generations(h100);
    await().atMost(Duration.ofSeconds(10)).until(() -> generations(h100) > before); // it did take traffic
    clickAction("drain", "h100-01");
    wait.until(d -> "DRAINING".equals(state("h100-01")));
    await().atMost(Duration.ofSeconds(10)).until(() -> cluster.gateway.registry().get("h100-01").view(
        System.currentTimeMillis()).inFlightRequests() == 0);
    long drainedAt = generations(h100);
    long othersAt = generations(cluster.sim("a10-01")) + generations(cluster.sim("a100-01"));
    long sentAt = sent.get();
    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5))
        .until(() -> generations(h100) == drainedAt);
    assertThat(sent.get()).as("traffic went on").isGreaterThan(sentAt + 5);
    assertThat(generations(cluster.sim("a10-01")) + generations(cluster.sim("a100-01")))
        .as("the other qwen3:32b nodes took it").isGreaterThan(othersAt);
    wait.ignoring(StaleElementReferenceException.class).until(d -> d.findElement(By.cssSelector(
        "article[data-node='h100-01'] button[data-action]")).getText().equals("Undrain"));
    screenshot("target/console-drained.png");
    String docs = System.getProperty("sluice.console.screenshot");
    if (docs != null && !docs.isBlank()) docsScreenshot(Path.of("..").resolve(docs));

    // a narrow window stacks the sections and scrolls the table, not the page
    driver.manage().window().setSize(new Dimension(420, 900));
    wait.until(d -> (Boolean) js("return window.innerWidth <= 440"));
    wait.until(d -> (Boolean) js("return document.documentElement.scrollWidth <= window.innerWidth"));
    assertThat((Long) js("return document.documentElement.scrollWidth")).isLessThanOrEqualTo(
        (Long) js("return window.innerWidth"));
    screenshot("target/console-narrow.png");

    // the page ran under its strict content security policy without a violation (no inline script or style)
    assertThat(driver.manage().logs().get(org.openqa.selenium.logging.LogType.BROWSER).getAll())
        .noneMatch(e -> e.getMessage().contains("Content Security Policy"));
  }

  // ------------------------------------------------------------------ the cluster

  /** The demo's shape with fast probes; returns a gateway token. */
  private String startCluster() throws Exception {
    Path keys = dir.resolve("keys.json");
    KeyGenerator.Created k = KeyGenerator.create("console-test", Set.of(), null, null, null, Instant.now());
    KeyFile.write(keys, KeyFile.read(keys).with(k.key()));
    SecretLedger.secret(k.secret());
    HealthPolicy fast = TestCluster.fastProbes(Duration.ofMillis(300));
    // DOWN would follow DEGRADED after 12 failed probes (3.6 s here): keep the node DEGRADED while the page is watched
    HealthPolicy probes = new HealthPolicy(fast.probeInterval(), fast.probeTimeout(), fast.probeJitter(),
        fast.failuresToDegrade(), 10_000, fast.successesToRecover(), fast.healthWindowProbes(),
        fast.failuresToEject(), fast.ejectionBase(), fast.ejectionMax(), fast.ejectionMemory());
    double timeScale = screenshotMode() ? 4 : 10; // 4 or 10 times faster than the real GPUs
    cluster = new TestCluster().auth(new AuthSettings(AuthMode.TOKENS, keys, null))
        .admin(AdminSettings.defaults().withToken(KeyGenerator.sha256Hex(ADMIN_TOKEN)))
        .health(probes).telemetry(SCRAPE_PERIOD)
        .node("a10-01", GpuProfile.A10, BIG, timeScale)
        .node("a100-01", GpuProfile.A100, BIG, timeScale)
        .node("h100-01", GpuProfile.H100, BIG, timeScale)
        .node("a10-02", GpuProfile.A10, SMALL, timeScale)
        .start();
    return k.secret();
  }

  private static boolean screenshotMode() {
    String s = System.getProperty("sluice.console.screenshot");
    return s != null && !s.isBlank();
  }

  /** Requests on a fixed period (two big-model requests for one small-model request), each on its own. */
  private void startLoad(String token, long periodMillis, AtomicLong sent) {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    load = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "console-test-load");
      t.setDaemon(true);
      return t;
    });
    AtomicLong n = new AtomicLong();
    int perTick = screenshotMode() ? 2 : 1;
    load.scheduleAtFixedRate(() -> {
      for (int i = 0; i < perTick; i++) {
        String model = n.incrementAndGet() % 3 == 0 ? SMALL : BIG;
        String body = "{\"model\":\"" + model + "\",\"max_tokens\":24,\"messages\":[{\"role\":\"user\","
            + "\"content\":\"status report " + n.get() + "\"}]}";
        HttpRequest req = HttpRequest.newBuilder(URI.create(cluster.url("/v1/chat/completions")))
            .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
            .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(body)).build();
        client.sendAsync(req, HttpResponse.BodyHandlers.discarding());
        sent.incrementAndGet();
      }
    }, 0, periodMillis, TimeUnit.MILLISECONDS);
  }

  /** Generation requests a simulated node received (probes' generations included; they stop while drained). */
  private static long generations(SimNode sim) {
    return sim.stats().count("/api/chat") + sim.stats().count("/api/generate")
        + sim.stats().count("/v1/chat/completions");
  }

  // ------------------------------------------------------------------ the browser

  private static ChromeDriver startBrowser() {
    return dev.sluice.testkit.HeadlessChromium.start("the console\'s browser test");
  }

  /** The state shown in a node's row, or null while the row is not there (or is being redrawn). */
  private String state(String node) {
    try {
      List<WebElement> rows = driver.findElements(By.cssSelector("article[data-node='" + node + "']"));
      return rows.isEmpty() ? null : rows.get(0).getAttribute("data-state");
    } catch (StaleElementReferenceException e) {
      return null;
    }
  }

  private String cell(String node, String role) {
    try {
      List<WebElement> cells = driver.findElements(By.cssSelector("article[data-node='" + node + "'] [data-role='"
          + role + "']"));
      return cells.isEmpty() ? "–" : cells.get(0).getText();
    } catch (StaleElementReferenceException e) {
      return "–";
    }
  }

  private String cellClass(String node, String role) {
    return attr(node, role, "class");
  }

  /** An attribute of a node card's element with {@code role} ("" while absent or redrawn). */
  private String attr(String node, String role, String name) {
    try {
      List<WebElement> cells = driver.findElements(By.cssSelector("article[data-node='" + node + "'] [data-role='"
          + role + "']"));
      return cells.isEmpty() ? "" : String.valueOf(cells.get(0).getAttribute(name));
    } catch (StaleElementReferenceException e) {
      return "";
    }
  }

  /** A node card's number attribute (-1 while the card is absent or redrawn). */
  private long cardNumber(String node, String name) {
    try {
      List<WebElement> cards = driver.findElements(By.cssSelector("article[data-node='" + node + "']"));
      return cards.isEmpty() ? -1 : Long.parseLong(cards.get(0).getAttribute(name));
    } catch (StaleElementReferenceException e) {
      return -1;
    }
  }

  /** Requests the node answered over 15 minutes, as its card says. */
  private long requestsShown(String node) {
    return cardNumber(node, "data-requests");
  }

  /** The node's failed attempts over 15 minutes, as its card says. */
  private long errorsShown(String node) {
    return cardNumber(node, "data-errors");
  }

  private String cellTitle(String node, String role) {
    try {
      List<WebElement> cells = driver.findElements(By.cssSelector("article[data-node='" + node + "'] [data-role='"
          + role + "']"));
      return cells.isEmpty() ? "" : String.valueOf(cells.get(0).getAttribute("title"));
    } catch (StaleElementReferenceException e) {
      return "";
    }
  }

  /** What the error-rate chart draws: failed + static requests over its 15 minutes, all models. */
  private long errorsDrawn() {
    return Long.parseLong(driver.findElement(By.id("error-trend")).getAttribute("data-total-errors"));
  }

  /** Clicks a node's action button; rows are redrawn every second, so a stale button is looked up again. */
  private void clickAction(String action, String node) {
    await().atMost(Duration.ofSeconds(10)).ignoreException(StaleElementReferenceException.class).until(() -> {
      driver.findElement(By.cssSelector("button[data-action='" + action + "'][data-node='" + node + "']")).click();
      return true;
    });
  }

  private Object js(String script) {
    return ((JavascriptExecutor) driver).executeScript(script);
  }

  private void screenshot(String path) throws Exception {
    Path target = Path.of(path);
    Files.createDirectories(target.getParent());
    Files.copy(driver.getScreenshotAs(OutputType.FILE).toPath(), target, StandardCopyOption.REPLACE_EXISTING);
  }

  /** The whole page at 1400 px wide: the viewport is stretched to the page's height for the shot (DevTools). */
  private void docsScreenshot(Path target) throws Exception {
    long height = (Long) js("return document.documentElement.scrollHeight");
    driver.executeCdpCommand("Emulation.setDeviceMetricsOverride", java.util.Map.of("width", 1400, "height",
        (int) Math.min(6000, height), "deviceScaleFactor", 1, "mobile", false));
    try {
      Files.createDirectories(target.toAbsolutePath().getParent());
      Files.copy(driver.getScreenshotAs(OutputType.FILE).toPath(), target, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      driver.executeCdpCommand("Emulation.clearDeviceMetricsOverride", java.util.Map.of());
    }
  }

}
