package dev.sluice.console;

import dev.sluice.testkit.HeadlessChromium;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Takes the console's pictures from a running gateway: the whole page 1400 px wide, and the first 1,600 px of it 420
 * px wide. How
 * {@code docs/console.png} and {@code docs/console-narrow.png} were taken (a demo under load after a fault; see
 * docs/operations.md, "Console"):
 *
 * <pre>
 * java -jar sluice-app/target/sluice.jar demo --port 19210 --time-scale 10       # prints the tokens
 * SLUICE_TOKEN=… java -jar sluice-app/target/sluice.jar bench --url http://127.0.0.1:19210 -u 30 -d 6m --slo-ttft 500ms
 * curl -X POST http://127.0.0.1:&lt;a10-01's port&gt;/sim/faults -d '{"kind":"error-rate","percent":40,"status":500}'
 * curl -X POST http://127.0.0.1:&lt;a10-02's port&gt;/sim/faults -d '{"kind":"refuse-connections","seconds":300}'
 * mvn -B -o -q -pl sluice-app dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
 * java -cp sluice-app/target/test-classes:sluice-app/target/classes:$(cat /tmp/cp.txt) \
 *   dev.sluice.console.ConsoleScreenshots http://127.0.0.1:19210 "$SLUICE_ADMIN_TOKEN" docs/console.png \
 *   docs/console-narrow.png
 * </pre>
 */
public final class ConsoleScreenshots {
  private ConsoleScreenshots() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 4) {
      System.err.println("usage: ConsoleScreenshots GATEWAY_URL ADMIN_TOKEN WIDE.png NARROW.png");
      System.exit(2);
    }
    ChromeDriver driver = HeadlessChromium.start("the console's screenshots");
    try {
      driver.get(args[0] + "/console/login");
      driver.findElement(By.id("token")).sendKeys(args[1]);
      driver.findElement(By.cssSelector("form button[type=submit]")).click();
      WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(20));
      wait.until(d -> "live".equals(d.findElement(By.id("live")).getText()));
      nextPush(driver); // a second push: the first one draws before the charts have their sizes
      shoot(driver, 1400, 6000, Path.of(args[2]));
      shoot(driver, 420, 1600, Path.of(args[3])); // a phone's first screens: the header and the first node cards
    } finally {
      driver.quit();
    }
  }

  /** Waits for the page's next state (pushed every second): {@code body[data-updated]} changes. */
  private static void nextPush(ChromeDriver driver) {
    String before = driver.findElement(By.tagName("body")).getAttribute("data-updated");
    new WebDriverWait(driver, Duration.ofSeconds(10)).until(d -> !String.valueOf(before)
        .equals(d.findElement(By.tagName("body")).getAttribute("data-updated")));
  }

  /** The page at {@code width} px from the top (the viewport stretched to its height, at most {@code maxHeight}). */
  private static void shoot(ChromeDriver driver, int width, int maxHeight, Path target) throws Exception {
    driver.executeCdpCommand("Emulation.setDeviceMetricsOverride", Map.of("width", width, "height", 900,
        "deviceScaleFactor", 1, "mobile", false));
    nextPush(driver); // the next state push redraws at the new width
    long height = (Long) driver.executeScript("return document.documentElement.scrollHeight");
    driver.executeCdpCommand("Emulation.setDeviceMetricsOverride", Map.of("width", width, "height",
        (int) Math.min(maxHeight, height), "deviceScaleFactor", 1, "mobile", false));
    try {
      Path parent = target.toAbsolutePath().getParent();
      if (parent != null) Files.createDirectories(parent);
      Files.copy(driver.getScreenshotAs(OutputType.FILE).toPath(), target, StandardCopyOption.REPLACE_EXISTING);
      System.out.println(target + ": " + width + " × " + Math.min(maxHeight, height) + " px");
    } finally {
      driver.executeCdpCommand("Emulation.clearDeviceMetricsOverride", Map.of());
    }
  }
}
