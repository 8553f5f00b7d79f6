package dev.sluice.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sluice.auth.AuthMode;
import dev.sluice.auth.JwtKeySpec;
import dev.sluice.auth.JwtSettings;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.config.AdminSettings;
import dev.sluice.config.AuthSettings;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.sim.GpuProfile;
import dev.sluice.support.Json;
import dev.sluice.testkit.SecretLedger;
import dev.sluice.testkit.TestCluster;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * JWT through the real server, against a JWKS served over real HTTP: every vector of RELIABILITY.md's first "auth"
 * row (alg none, HS/RS confusion, kid tricks, expired, missing exp, wrong aud/iss, JWKS rotation), claims mapped to
 * tenant, models and limits, and tokens+jwt.
 */
@Order(4)
class JwtAuthTest {
  static final byte[] HS_SECRET = SecretLedger.secret("hs256-canary-secret-0123456789abcdefghijklmnop")
      .getBytes(StandardCharsets.UTF_8);
  static final String ISS = "https://idp.example.com";
  static final String AUD = "sluice";
  static Vertx vertx;
  static HttpServer jwksServer;
  static final AtomicReference<String> jwks = new AtomicReference<>("{\"keys\":[]}");
  static final AtomicInteger jwksFetches = new AtomicInteger();
  static KeyPair rsa;
  static KeyPair rotated;

  @TempDir Path dir;

  @BeforeAll
  static void jwksEndpoint() throws Exception {
    rsa = Jwts.rsa();
    rotated = Jwts.rsa();
    jwks.set(Json.MAPPER.writeValueAsString(Map.of("keys", List.of(Jwts.jwk(rsa, "k1")))));
    vertx = Vertx.vertx();
    jwksServer = vertx.createHttpServer().requestHandler(req -> {
      jwksFetches.incrementAndGet();
      req.response().putHeader("Content-Type", "application/json").end(jwks.get());
    }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get();
  }

  @BeforeEach
  void jwksServesTheFirstKey() throws Exception {
    jwks.set(Json.MAPPER.writeValueAsString(Map.of("keys", List.of(Jwts.jwk(rsa, "k1")))));
  }

  @AfterAll
  static void stop() {
    vertx.close();
  }

  static JwtSettings settings(Duration minRefresh) {
    return new JwtSettings(List.of(new JwtKeySpec("HS256", "hs", null, new String(HS_SECRET, StandardCharsets.UTF_8))),
        URI.create("http://127.0.0.1:" + jwksServer.actualPort() + "/jwks.json"), Duration.ofMinutes(5), minRefresh,
        ISS, List.of(AUD), Duration.ofSeconds(30), "sub", "models", "limits");
  }

  /** Without the backoff after failed credentials: these tests send dozens of bad tokens from one address on purpose. */
  private TestCluster cluster(AuthMode mode, Duration minRefresh) {
    return new TestCluster().auth(new AuthSettings(mode, dir.resolve("keys.json"), settings(minRefresh)))
        .server(dev.sluice.config.ServerSettings.defaults()
            .withFailedCredentials(dev.sluice.auth.FailureBackoff.Settings.off()))
        .admin(AdminSettings.defaults().withToken(KeyGenerator.sha256Hex(GatewayTokensTest.ADMIN_TOKEN)))
        .node("a", GpuProfile.A10, "qwen3:32b", 0).node("b", GpuProfile.A10, "qwen2:7b", 0);
  }

  static Map<String, Object> claims(String sub, long expOffsetSeconds) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("sub", sub);
    c.put("iss", ISS);
    c.put("aud", AUD);
    c.put("iat", Jwts.now() - 5);
    c.put("exp", Jwts.now() + expOffsetSeconds);
    return c;
  }

  static Map<String, Object> header(String alg, String kid) {
    Map<String, Object> h = new LinkedHashMap<>();
    h.put("alg", alg);
    h.put("typ", "JWT");
    if (kid != null) h.put("kid", kid);
    return h;
  }

  static HttpResponse<String> chat(TestCluster c, String token) {
    return Calls.post(c.url("/v1/chat/completions"), GatewayTokensTest.CHAT, Calls.bearer(token));
  }

  static String message(HttpResponse<String> r) throws Exception {
    return Json.MAPPER.readTree(r.body()).path("error").path("message").asText();
  }

  @Test
  void validRs256FromTheJwksAndHs256FromTheConfigAreAcceptedAndMappedToTenantModelsAndLimits() throws Exception {
    try (TestCluster c = cluster(AuthMode.JWT, Duration.ofSeconds(30)).start()) {
      assertThat(chat(c, Jwts.rs256(rsa, header("RS256", "k1"), claims("acme", 300))).statusCode()).isEqualTo(200);
      assertThat(chat(c, Jwts.hs256(HS_SECRET, header("HS256", "hs"), claims("acme", 300))).statusCode())
          .isEqualTo(200);
      Map<String, Object> limited = claims("small", 300);
      limited.put("models", List.of("qwen2:7b"));
      limited.put("limits", Map.of("requestsPerMinute", 1));
      String t = Jwts.rs256(rsa, header("RS256", "k1"), limited);
      HttpResponse<String> notAllowed = chat(c, t);
      assertThat(notAllowed.statusCode()).isEqualTo(403);
      assertThat(message(notAllowed)).contains("qwen3:32b");
      String small = GatewayTokensTest.CHAT.replace("qwen3:32b", "qwen2:7b");
      assertThat(Calls.post(c.url("/v1/chat/completions"), small, Calls.bearer(t)).statusCode()).isEqualTo(200);
      assertThat(Calls.post(c.url("/v1/chat/completions"), small, Calls.bearer(t)).statusCode())
          .as("the limits claim: 1 request/min").isEqualTo(429);
    }
  }

  @Test
  void aTokenWithWeightAndMaxPriorityClaimsIsServedAndOneWithABadBandIsRefusedNamingTheClaim() throws Exception {
    try (TestCluster c = cluster(AuthMode.JWT, Duration.ofSeconds(30)).start()) {
      Map<String, Object> batch = claims("reports", 300);
      batch.put("weight", 3);
      batch.put("maxPriority", "batch");
      assertThat(chat(c, Jwts.rs256(rsa, header("RS256", "k1"), batch)).statusCode()).isEqualTo(200);

      Map<String, Object> bad = claims("reports", 300);
      bad.put("maxPriority", "realtime");
      HttpResponse<String> r = chat(c, Jwts.rs256(rsa, header("RS256", "k1"), bad));
      assertThat(r.statusCode()).isEqualTo(401);
      assertThat(message(r)).isEqualTo("invalid gateway token (JWT: claim maxPriority is not a priority band "
          + "(expected interactive or batch))");
      Map<String, Object> heavy = claims("reports", 300);
      heavy.put("weight", 1_000_000);
      HttpResponse<String> w = chat(c, Jwts.rs256(rsa, header("RS256", "k1"), heavy));
      assertThat(w.statusCode()).isEqualTo(401);
      assertThat(message(w)).contains("claim weight is not a weight (expected a whole number from 1 to 1000)");
      assertThat(c.sim("a").stats().count("/v1/chat/completions")).as("only the good token reached a node")
          .isEqualTo(1);
    }
  }

  @Test
  void everyHostileOrInvalidTokenGets401AndNoNodeIsCalled() throws Exception {
    try (TestCluster c = cluster(AuthMode.JWT, Duration.ofSeconds(30)).start()) {
      Map<String, String> vectors = new LinkedHashMap<>();
      vectors.put("alg none", Jwts.unsigned(header("none", null), claims("acme", 300)));
      vectors.put("alg None", Jwts.unsigned(header("None", null), claims("acme", 300)));
      vectors.put("alg NONE with the RS signature kept", Jwts.unsigned(header("NONE", "k1"), claims("acme", 300))
          + Jwts.rs256(rsa, header("RS256", "k1"), claims("acme", 300)).split("\\.")[2]);
      vectors.put("HS/RS confusion (HMAC keyed with the RSA public key)",
          Jwts.hs256(Jwts.publicPem(rsa).getBytes(StandardCharsets.UTF_8), header("HS256", "k1"), claims("acme", 300)));
      vectors.put("RS256 with the HS key's kid", Jwts.rs256(Jwts.rsa(), header("RS256", "hs"), claims("acme", 300)));
      vectors.put("kid path traversal", Jwts.rs256(Jwts.rsa(), header("RS256", "../../../../dev/null"),
          claims("acme", 300)));
      vectors.put("kid SQL", Jwts.rs256(Jwts.rsa(), header("RS256", "x' OR '1'='1"), claims("acme", 300)));
      vectors.put("kid 10,000 chars", Jwts.rs256(rsa, header("RS256", "k".repeat(10_000)), claims("acme", 300)));
      vectors.put("signed by an unknown key", Jwts.rs256(Jwts.rsa(), header("RS256", "k1"), claims("acme", 300)));
      vectors.put("expired", Jwts.rs256(rsa, header("RS256", "k1"), claims("acme", -120)));
      Map<String, Object> noExp = claims("acme", 0);
      noExp.remove("exp");
      vectors.put("missing exp", Jwts.rs256(rsa, header("RS256", "k1"), noExp));
      Map<String, Object> wrongAud = claims("acme", 300);
      wrongAud.put("aud", "someone-else");
      vectors.put("wrong aud", Jwts.rs256(rsa, header("RS256", "k1"), wrongAud));
      Map<String, Object> wrongIss = claims("acme", 300);
      wrongIss.put("iss", "https://evil.example");
      vectors.put("wrong iss", Jwts.rs256(rsa, header("RS256", "k1"), wrongIss));
      Map<String, Object> future = claims("acme", 300);
      future.put("nbf", Jwts.now() + 600);
      vectors.put("not yet valid", Jwts.rs256(rsa, header("RS256", "k1"), future));
      KeyPair attacker = Jwts.rsa();
      for (String h : List.of("jku", "x5u")) {
        Map<String, Object> hdr = header("RS256", "k1");
        hdr.put(h, "https://evil.example/keys");
        vectors.put(h + " header", Jwts.rs256(rsa, hdr, claims("acme", 300)));
      }
      Map<String, Object> embedded = header("RS256", "evil");
      embedded.put("jwk", Jwts.jwk(attacker, "evil"));
      vectors.put("embedded jwk signed by its own key", Jwts.rs256(attacker, embedded, claims("acme", 300)));
      vectors.put("bad tenant claim", Jwts.rs256(rsa, header("RS256", "k1"), claims("a b/../c", 300)));
      vectors.put("two segments", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0");
      vectors.put("garbage", "eyJ.eyJ.eyJ");
      for (var v : vectors.entrySet()) {
        HttpResponse<String> r = chat(c, v.getValue());
        assertThat(r.statusCode()).as(v.getKey()).isEqualTo(401);
        assertThat(message(r)).as(v.getKey()).startsWith("invalid gateway token");
        assertThat(r.body()).as(v.getKey()).doesNotContain(v.getValue());
      }
      assertThat(c.sim("a").stats().count("/v1/chat/completions")).isZero();
    }
  }

  @Test
  void aRotatedJwksKeyIsAcceptedAfterOneRefreshAndUnknownKidsDoNotHammerTheJwksEndpoint() throws Exception {
    try (TestCluster c = cluster(AuthMode.JWT, Duration.ofSeconds(2)).start()) {
      assertThat(chat(c, Jwts.rs256(rsa, header("RS256", "k1"), claims("acme", 300))).statusCode()).isEqualTo(200);
      jwks.set(Json.MAPPER.writeValueAsString(Map.of("keys", List.of(Jwts.jwk(rotated, "k2")))));
      String fresh = Jwts.rs256(rotated, header("RS256", "k2"), claims("acme", 300));
      long rotatedAt = System.nanoTime();
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
          .until(() -> chat(c, fresh).statusCode() == 200);
      System.out.println("JWKS rotation accepted after " + (System.nanoTime() - rotatedAt) / 1_000_000 + " ms");

      // signed before counting: 30 RSA key generations inside the window took over 2 s on a loaded machine
      KeyPair stranger = Jwts.rsa();
      List<String> unknownKids = new java.util.ArrayList<>();
      for (int i = 0; i < 30; i++) {
        unknownKids.add(Jwts.rs256(stranger, header("RS256", "unknown-" + i), claims("acme", 300)));
      }
      int before = jwksFetches.get();
      for (String t : unknownKids) assertThat(chat(c, t).statusCode()).isEqualTo(401);
      assertThat(jwksFetches.get() - before).as("30 unknown kids within ~2 s: at most 2 refreshes").isLessThanOrEqualTo(2);
    }
  }

  @Test
  void whenTheJwksEndpointIsDownTheLastGoodKeysKeepVerifying() throws Exception {
    try (TestCluster c = cluster(AuthMode.JWT, Duration.ofSeconds(1)).start()) {
      String good = Jwts.rs256(rsa, header("RS256", "k1"), claims("acme", 300));
      await().atMost(Duration.ofSeconds(10)).until(() -> chat(c, good).statusCode() == 200);
      jwks.set("<html>502 Bad Gateway</html>");
      // an unknown kid forces a refresh, which fails: the known key still works
      chat(c, Jwts.rs256(Jwts.rsa(), header("RS256", "zzz"), claims("acme", 300)));
      assertThat(chat(c, Jwts.rs256(rsa, header("RS256", "k1"), claims("acme", 300))).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void tokensPlusJwtAcceptsBothAndTokensModeRefusesAJwt() throws Exception {
    Path keys = dir.resolve("keys.json");
    var k = GatewayTokensTest.key(keys, "acme", Set.of(), null, null);
    String jwt = Jwts.rs256(rsa, header("RS256", "k1"), claims("acme", 300));
    try (TestCluster c = cluster(AuthMode.TOKENS_AND_JWT, Duration.ofSeconds(30)).start()) {
      assertThat(chat(c, k.secret()).statusCode()).isEqualTo(200);
      assertThat(chat(c, jwt).statusCode()).isEqualTo(200);
    }
    try (TestCluster c = new TestCluster().auth(new AuthSettings(AuthMode.TOKENS, keys, null))
        .node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      assertThat(chat(c, jwt).statusCode()).isEqualTo(401);
      assertThat(chat(c, k.secret()).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void jwtEnabledWithoutAnyKeyRefusesToStart() {
    assertThatThrownBy(() -> ConfigLoader.parse("{\"auth\":{\"mode\":\"jwt\"},\"providers\":{\"p\":{\"baseUrl\":"
        + "\"http://127.0.0.1:1/v1\",\"models\":[\"m\"]}}}", "test"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("auth.jwt")
        .hasMessageContaining("refuses to start with JWT enabled");
    assertThatThrownBy(() -> ConfigLoader.parse("{\"auth\":{\"mode\":\"jwt\",\"jwt\":{\"issuer\":\"x\"}},"
        + "\"providers\":{\"p\":{\"baseUrl\":\"http://127.0.0.1:1/v1\",\"models\":[\"m\"]}}}", "test"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("auth.jwt");
    assertThatThrownBy(() -> new AuthSettings(AuthMode.JWT, null, null)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("refusing to start");
  }
}
