package dev.sluice.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.auth.AuthMode;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.config.AdminSettings;
import dev.sluice.config.AuthSettings;
import dev.sluice.config.CorsSettings;
import dev.sluice.config.ServerSettings;
import dev.sluice.sim.GpuProfile;
import dev.sluice.testkit.SecretLedger;
import dev.sluice.testkit.TestCluster;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin plane (/admin, /console, /metrics) through the real server: the RELIABILITY.md "auth" row for a data-plane
 * key on the admin API, the "console" rows (path traversal, evil CORS origin), console sign-in, and the separate admin
 * listener.
 */
@Order(2)
class AdminPlaneTest {
  static final String ADMIN_TOKEN = GatewayTokensTest.ADMIN_TOKEN;
  @TempDir Path dir;

  private TestCluster cluster(Path keys) {
    return new TestCluster().auth(new AuthSettings(AuthMode.TOKENS, keys, null))
        .admin(AdminSettings.defaults().withToken(KeyGenerator.sha256Hex(ADMIN_TOKEN)))
        .node("a", GpuProfile.A10, "qwen3:32b", 0);
  }

  @Test
  void adminPathsNeedTheAdminTokenAndADataPlaneTokenGets403() throws Exception {
    Path keys = dir.resolve("keys.json");
    var k = GatewayTokensTest.key(keys, "acme", Set.of(), null, null);
    try (TestCluster c = cluster(keys).start()) {
      for (String path : List.of("/admin/nodes", "/admin/degradation", "/admin/keys", "/metrics")) {
        HttpResponse<String> none = Calls.get(c.url(path));
        assertThat(none.statusCode()).as(path).isEqualTo(401);
        assertThat(none.body()).contains("admin token missing");
        HttpResponse<String> dataKey = Calls.get(c.url(path), Calls.bearer(k.secret()));
        assertThat(dataKey.statusCode()).as(path).isEqualTo(403);
        assertThat(dataKey.body()).contains("data-plane gateway token");
        HttpResponse<String> wrong = Calls.get(c.url(path),
            Calls.bearer(SecretLedger.secret("sluice-admin-WrongAdminTokenCanary0123456789abcdef")));
        assertThat(wrong.statusCode()).as(path).isEqualTo(401);
        assertThat(wrong.body()).contains("invalid admin token");
        assertThat(Calls.get(c.url(path), Calls.bearer(ADMIN_TOKEN)).statusCode()).as(path).isEqualTo(200);
      }
      assertThat(Calls.post(c.url("/admin/nodes/a/drain"), "{}", Calls.bearer(k.secret())).statusCode())
          .isEqualTo(403);
      assertThat(c.gateway.registry().get("a").health().snapshot().state().name()).isNotEqualTo("DRAINING");
      assertThat(Calls.post(c.url("/admin/cache/purge"), "{}").statusCode()).isEqualTo(401);
      assertThat(Calls.get(c.url("/healthz")).statusCode()).as("liveness stays open").isEqualTo(200);
    }
  }

  @Test
  void withoutAnAdminTokenConfiguredTheAdminPlaneIsClosed() {
    try (TestCluster c = new TestCluster().auth(new AuthSettings(AuthMode.TOKENS, dir.resolve("k.json"), null))
        .node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      HttpResponse<String> r = Calls.get(c.url("/admin/nodes"), Calls.bearer(ADMIN_TOKEN));
      assertThat(r.statusCode()).isEqualTo(403);
      assertThat(r.body()).contains("admin plane is closed").contains("admin.tokenSha256");
      assertThat(Calls.get(c.url("/metrics")).statusCode()).isEqualTo(403);
    }
  }

  @Test
  void metricsCanBeMadePublicWhileAdminStaysProtected() {
    AdminSettings a = new AdminSettings(KeyGenerator.sha256Hex(ADMIN_TOKEN), "127.0.0.1", AdminSettings.SAME_LISTENER,
        false, List.of());
    try (TestCluster c = new TestCluster().auth(new AuthSettings(AuthMode.TOKENS, dir.resolve("k.json"), null))
        .admin(a).node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      assertThat(Calls.get(c.url("/metrics")).statusCode()).isEqualTo(200);
      assertThat(Calls.get(c.url("/admin/nodes")).statusCode()).isEqualTo(401);
    }
  }

  @Test
  void aSeparateAdminListenerOnLoopbackServesTheAdminPlaneAndTheDataPortDoesNot() {
    AdminSettings a = AdminSettings.defaults().withToken(KeyGenerator.sha256Hex(ADMIN_TOKEN)).withListener("127.0.0.1", 0);
    try (TestCluster c = new TestCluster().auth(new AuthSettings(AuthMode.TOKENS, dir.resolve("k.json"), null))
        .admin(a).node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      int adminPort = c.gateway.adminPort();
      assertThat(adminPort).isPositive().isNotEqualTo(c.port());
      String admin = "http://127.0.0.1:" + adminPort;
      assertThat(Calls.get(admin + "/admin/nodes", Calls.bearer(ADMIN_TOKEN)).statusCode()).isEqualTo(200);
      assertThat(Calls.get(admin + "/metrics", Calls.bearer(ADMIN_TOKEN)).statusCode()).isEqualTo(200);
      assertThat(Calls.get(admin + "/admin/nodes").statusCode()).isEqualTo(401);
      assertThat(Calls.post(admin + "/v1/chat/completions", GatewayTokensTest.CHAT).statusCode())
          .as("the admin port serves no data plane").isEqualTo(404);
      HttpResponse<String> onData = Calls.get(c.url("/admin/nodes"), Calls.bearer(ADMIN_TOKEN));
      assertThat(onData.statusCode()).isEqualTo(404);
      assertThat(onData.body()).contains("admin.port");
      assertThat(Calls.get(c.url("/metrics"), Calls.bearer(ADMIN_TOKEN)).statusCode()).isEqualTo(404);
      assertThat(Calls.get(c.url("/console"), Calls.bearer(ADMIN_TOKEN)).statusCode()).isEqualTo(404);
    }
  }

  @Test
  void theConsoleSignsInWithTheAdminTokenAndItsSessionCannotBeUsedCrossSite() throws Exception {
    try (TestCluster c = cluster(dir.resolve("k.json")).start()) {
      HttpResponse<String> first = Calls.get(c.url("/console"));
      assertThat(first.statusCode()).isEqualTo(303);
      assertThat(first.headers().firstValue("location")).hasValue("/console/login");
      HttpResponse<String> form = Calls.get(c.url("/console/login"));
      assertThat(form.statusCode()).isEqualTo(200);
      assertThat(form.body()).contains("Admin token");
      assertThat(form.headers().firstValue("content-security-policy")).hasValueSatisfying(v ->
          assertThat(v).contains("frame-ancestors 'none'"));

      HttpResponse<String> wrong = Calls.send("POST", c.url("/console/login"), null, "Content-Type",
          "application/x-www-form-urlencoded");
      assertThat(wrong.statusCode()).isIn(401, 413);
      HttpResponse<String> bad = login(c, "sluice-admin-NotTheAdminTokenCanary00000000000000");
      assertThat(bad.statusCode()).isEqualTo(401);
      assertThat(bad.headers().firstValue("set-cookie")).isEmpty();

      HttpResponse<String> ok = login(c, ADMIN_TOKEN);
      assertThat(ok.statusCode()).isEqualTo(303);
      String cookie = ok.headers().firstValue("set-cookie").orElseThrow();
      assertThat(cookie).contains("HttpOnly").contains("SameSite=Strict").doesNotContain(ADMIN_TOKEN);
      String session = cookie.substring(0, cookie.indexOf(';'));

      HttpResponse<String> page = Calls.get(c.url("/console"), "Cookie", session);
      assertThat(page.statusCode()).isEqualTo(200);
      assertThat(page.body()).contains("<title>Sluice console</title>");
      assertThat(page.headers().firstValue("x-frame-options")).hasValue("DENY");
      assertThat(Calls.get(c.url("/admin/nodes"), "Cookie", session).statusCode()).isEqualTo(200);
      HttpResponse<String> forged = Calls.post(c.url("/admin/nodes/a/drain"), "{}", "Cookie", session);
      assertThat(forged.statusCode()).as("a cross-site form cannot set the console header").isEqualTo(403);
      assertThat(Calls.post(c.url("/admin/nodes/a/drain"), "{}", "Cookie", session, "X-Sluice-Console", "1")
          .statusCode()).isEqualTo(200);

      HttpResponse<String> out = Calls.post(c.url("/console/logout"), "", "Cookie", session);
      assertThat(out.statusCode()).isEqualTo(303);
      assertThat(Calls.get(c.url("/admin/nodes"), "Cookie", session).statusCode()).isEqualTo(401);
    }
  }

  private static HttpResponse<String> login(TestCluster c, String token) {
    String form = "token=" + java.net.URLEncoder.encode(token, StandardCharsets.UTF_8);
    return Calls.send("POST", c.url("/console/login"), form, "Content-Type", "application/x-www-form-urlencoded");
  }

  @Test
  void consolePathTraversalVectorsGet400Or404AndNeverAFile() throws Exception {
    try (TestCluster c = cluster(dir.resolve("k.json")).start()) {
      String session = login(c, ADMIN_TOKEN).headers().firstValue("set-cookie").orElseThrow().split(";")[0];
      List<String> vectors = List.of("/console/../../etc/passwd", "/console/..%2f..%2fetc%2fpasswd",
          "/console/%2e%2e/%2e%2e/etc/passwd", "/console/..\\..\\etc\\passwd", "/console/....//....//etc/passwd",
          "/console/%252e%252e/etc/passwd", "/console/logback.xml", "/console/../logback.xml",
          "/console/../demo-cluster.json", "/console/%00index.html", "/console/index.html%00.png",
          "/console//etc/passwd", "/console/dev/sluice/cli/Main.class", "/console/.hidden.js", "/console/META-INF/MANIFEST.MF");
      for (String v : vectors) {
        String raw = rawGet(c.port(), v, session);
        int status = Integer.parseInt(raw.substring(9, 12));
        assertThat(status).as(v).isIn(400, 404);
        assertThat(raw).as(v).doesNotContain("root:").doesNotContain("<configuration>").doesNotContain("\"nodes\"")
            .doesNotContain("Main-Class");
      }
      assertThat(Calls.get(c.url("/console/console.js"), "Cookie", session).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void anEvilOriginOnTheConsoleOrAdminApiGets403AndIsNeverReflected() {
    ServerSettings s = new ServerSettings(ServerSettings.DEFAULT_HOST, 0, ServerSettings.DEFAULT_MAX_BODY_BYTES,
        ServerSettings.DEFAULT_MAX_JSON_DEPTH, ServerSettings.DEFAULT_MAX_HEADER_BYTES,
        new CorsSettings(List.of("https://app.example.com"), false, Duration.ofMinutes(10)));
    try (TestCluster c = cluster(dir.resolve("k.json")).server(s).start()) {
      for (String path : List.of("/console", "/console/login", "/admin/nodes", "/metrics", "/v1/chat/completions")) {
        HttpResponse<String> r = Calls.get(c.url(path), "Origin", "https://evil.example", "Authorization",
            "Bearer " + ADMIN_TOKEN);
        assertThat(r.statusCode()).as(path).isEqualTo(403);
        assertThat(r.headers().firstValue("access-control-allow-origin")).as(path).isEmpty();
        assertThat(r.body()).doesNotContain("evil.example");
        HttpResponse<String> pre = Calls.send("OPTIONS", c.url(path), null, "Origin", "https://evil.example",
            "Access-Control-Request-Method", "POST");
        assertThat(pre.headers().firstValue("access-control-allow-origin")).as(path).isEmpty();
      }
    }
  }

  /** A GET with the path exactly as given (no client-side normalisation). */
  static String rawGet(int port, String path, String cookie) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nCookie: " + cookie
          + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = s.getInputStream();
      String resp = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      SecretLedger.export("raw GET " + path, resp);
      return resp;
    }
  }
}
