package dev.sluice.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.auth.AuthMode;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.config.AdminSettings;
import dev.sluice.config.AuthSettings;
import dev.sluice.sim.GpuProfile;
import dev.sluice.testkit.LogCapture;
import dev.sluice.testkit.SecretLedger;
import dev.sluice.testkit.TestCluster;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * RELIABILITY.md's "leak" row, run last (junit-platform.properties orders classes by {@code @Order}): after the whole
 * suite, no secret it used (gateway tokens, JWTs, the admin token, an upstream API key, an HMAC secret) appears in
 * anything logged (in memory and in surefire's captured output) or exported (every answer the suite received, and the
 * metrics, admin views and console of a gateway that has just seen them all); 10,000 random model names do not add a
 * metric series.
 */
@Order(Integer.MAX_VALUE)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SecretLeakTest {
  static final String UPSTREAM_KEY = SecretLedger.secret("sk-upstream-CanaryNodeApiKey0123456789abcdef");
  @TempDir Path dir;

  @Test
  @Order(1)
  void tenThousandRandomModelNamesDoNotAddMetricSeriesAndSecretsSentEverywhereAreNotExported() throws Exception {
    Path keys = dir.resolve("keys.json");
    var k = GatewayTokensTest.key(keys, "acme", Set.of(), null, null);
    String admin = GatewayTokensTest.ADMIN_TOKEN;
    try (TestCluster c = new TestCluster().auth(new AuthSettings(AuthMode.TOKENS, keys, null))
        .admin(AdminSettings.defaults().withToken(KeyGenerator.sha256Hex(admin)))
        .nodeApiKey(UPSTREAM_KEY).node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      // secrets in every place a client can put them: headers, the model name, the body, the path
      Calls.post(c.url("/v1/chat/completions"), GatewayTokensTest.CHAT, Calls.bearer(k.secret()));
      Calls.post(c.url("/v1/chat/completions"), GatewayTokensTest.CHAT.replace("qwen3:32b", k.secret()),
          Calls.bearer(k.secret()));
      Calls.post(c.url("/v1/chat/completions"), GatewayTokensTest.CHAT.replace("hi", admin), Calls.bearer(k.secret()));
      Calls.post(c.url("/v1/chat/completions"), "{\"model\":\"" + k.secret() + "\"", Calls.bearer(admin));
      Calls.get(c.url("/v1/" + k.secret()), Calls.bearer(k.secret()));
      Calls.get(c.url("/admin/nodes"), Calls.bearer(k.secret()));
      Calls.post(c.url("/admin/nodes"), "{\"id\":\"x\",\"baseUrl\":\"http://169.254.169.254\",\"apiKey\":\""
          + UPSTREAM_KEY + "\",\"model\":\"qwen3:32b\"}", Calls.bearer(admin));

      String before = Calls.get(c.url("/metrics"), Calls.bearer(admin)).body();
      SplittableRandom random = new SplittableRandom(7);
      for (int i = 0; i < 10_000; i++) {
        String model = "m-" + Long.toHexString(random.nextLong());
        Calls.post(c.url("/v1/chat/completions"), GatewayTokensTest.CHAT.replace("qwen3:32b", model),
            Calls.bearer(k.secret()));
      }
      String after = Calls.get(c.url("/metrics"), Calls.bearer(admin)).body();
      assertThat(series(after)).as("series after 10,000 unknown models").isEqualTo(series(before));
      assertThat(after).doesNotContain("m-");

      for (String path : List.of("/metrics", "/admin/nodes", "/admin/keys", "/admin/degradation", "/console",
          "/console/console.js")) {
        Calls.get(c.url(path), Calls.bearer(admin));
      }
    }
  }

  @Test
  @Order(2)
  void noSecretTheSuiteUsedAppearsInAnythingLoggedOrExported() throws Exception {
    Set<String> secrets = SecretLedger.secrets();
    assertThat(secrets).as("the suite registered its secrets").hasSizeGreaterThan(10);
    List<String[]> exports = SecretLedger.exports();
    List<String> logs = LogCapture.lines();
    assertThat(exports).hasSizeGreaterThan(10_000);
    assertThat(logs).isNotEmpty();
    List<String> found = new ArrayList<>();
    for (String secret : secrets) {
      for (String[] e : exports) {
        // the one answer that shows a gateway token, by design: its creation (once; only the hash is kept)
        boolean creation = e[0].startsWith("POST ") && e[0].endsWith("/admin/keys → 201");
        if (!creation && e[1].contains(secret)) found.add("export " + e[0] + " contains " + shortForm(secret));
      }
      for (String line : logs) {
        if (line.contains(secret)) found.add("log line contains " + shortForm(secret) + ": " + cut(line));
      }
    }
    // what surefire captured of every test class's output so far (stdout and stderr)
    Path reports = Path.of("target", "surefire-reports");
    long files = 0;
    if (Files.isDirectory(reports)) {
      try (Stream<Path> s = Files.list(reports)) {
        for (Path f : s.filter(p -> p.getFileName().toString().endsWith("-output.txt")).toList()) {
          files++;
          String text = Files.readString(f, StandardCharsets.UTF_8);
          for (String secret : secrets) {
            if (text.contains(secret)) found.add(f.getFileName() + " contains " + shortForm(secret));
          }
        }
      }
    }
    System.out.println("leak check: " + secrets.size() + " secrets × " + exports.size() + " exports, " + logs.size()
        + " log lines, " + files + " surefire output files: " + found.size() + " occurrences");
    assertThat(found).as("occurrences of test secrets").isEmpty();
  }

  private static long series(String metrics) {
    return metrics.lines().filter(l -> !l.startsWith("#") && !l.isBlank())
        .filter(l -> !l.startsWith("jvm_") && !l.startsWith("process_") && !l.startsWith("system_")
            && !l.startsWith("vertx_") && !l.startsWith("executor_") && !l.startsWith("netty_"))
        .count();
  }

  private static String shortForm(String secret) {
    return secret.substring(0, Math.min(12, secret.length())) + "…";
  }

  private static String cut(String line) {
    return line.length() > 200 ? line.substring(0, 200) + "…" : line;
  }
}
