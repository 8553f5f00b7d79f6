package dev.sluice.auth;

import static dev.sluice.auth.TestJwts.await;
import static dev.sluice.auth.TestJwts.claims;
import static dev.sluice.auth.TestJwts.header;
import static dev.sluice.auth.TestJwts.sign;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.security.KeyPair;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** JwtVerifier against a real JWKS endpoint (a Vert.x server on port 0) and a fake clock. */
class JwksSourceTest {
  private static final long NOW = 1_780_000_000_000L;
  private static final Duration MIN_INTERVAL = Duration.ofSeconds(30);
  private static Vertx vertx;
  private static KeyPair rsa1;
  private static KeyPair rsa2;
  private static KeyPair ec;

  private final AtomicLong clock = new AtomicLong(NOW);
  private final AtomicReference<String> body = new AtomicReference<>();
  private final AtomicInteger status = new AtomicInteger(200);
  private final AtomicInteger requests = new AtomicInteger();
  private HttpServer server;
  private JwtVerifier verifier;

  @BeforeAll
  static void keys() {
    vertx = Vertx.vertx();
    rsa1 = TestJwts.rsa();
    rsa2 = TestJwts.rsa();
    ec = TestJwts.ec();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  @BeforeEach
  void serveJwks() {
    serve(TestJwts.jwk(rsa1.getPublic(), "k1"), TestJwts.jwk(ec.getPublic(), "e1"));
    server = vertx.createHttpServer().requestHandler(req -> {
      requests.incrementAndGet();
      req.response().setStatusCode(status.get()).putHeader("content-type", "application/json").end(body.get());
    }).listen(0).await();
    URI url = URI.create("http://127.0.0.1:" + server.actualPort() + "/.well-known/jwks.json");
    // the scheduled refresh is long: every fetch in these tests is the first one or on demand
    verifier = new JwtVerifier(vertx, new JwtSettings(List.of(), url, Duration.ofHours(1), MIN_INTERVAL, null, null,
        null, null, null, null), clock::get);
    await(verifier.start());
  }

  @AfterEach
  void close() {
    verifier.close();
    server.close().await();
  }

  private void serve(JsonObject... keys) {
    body.set(new JsonObject().put("keys", new JsonArray(List.of((Object[]) keys))).encode());
  }

  private String token(KeyPair key, String alg, String kid) {
    return sign(header(alg, kid), claims("acme", clock.get() / 1000 + 3600), key.getPrivate());
  }

  private String rejection(String token) {
    AuthException e = catchThrowableOfType(AuthException.class, () -> await(verifier.verify(token)));
    assertThat(e).isNotNull();
    return e.getMessage();
  }

  @Test
  void keysFromTheJwksVerifyRs256AndEs256Tokens() {
    assertThat(verifier.jwks().fetchCount()).isEqualTo(1);
    assertThat(await(verifier.verify(token(rsa1, "RS256", "k1"))).keyId()).isEqualTo("k1");
    assertThat(await(verifier.verify(token(ec, "ES256", "e1"))).tenant()).isEqualTo("acme");
    assertThat(rejection(token(ec, "ES256", "k1"))).contains("alg does not match the key named by kid");
  }

  @Test
  void aRotatedKeyIsAcceptedAfterOneRefresh() {
    serve(TestJwts.jwk(rsa2.getPublic(), "k2"));
    String rotated = token(rsa2, "RS256", "k2");
    clock.addAndGet(MIN_INTERVAL.toMillis());
    assertThat(await(verifier.verify(rotated)).keyId()).isEqualTo("k2");
    assertThat(verifier.jwks().fetchCount()).isEqualTo(2);
    assertThat(rejection(token(rsa1, "RS256", "k1"))).isEqualTo("invalid gateway token (JWT: unknown kid)");
  }

  @Test
  void tokensWithUnknownKidsCauseAtMostOneFetchPerMinRefreshInterval() {
    clock.addAndGet(MIN_INTERVAL.toMillis());
    for (int i = 0; i < 50; i++) {
      assertThat(rejection(token(rsa1, "RS256", "nope-" + i))).isEqualTo("invalid gateway token (JWT: unknown kid)");
      clock.addAndGet(100); // 5 s in all, well inside one interval
    }
    assertThat(verifier.jwks().fetchCount()).isEqualTo(2);
    assertThat(requests.get()).isEqualTo(2);
    clock.addAndGet(MIN_INTERVAL.toMillis());
    rejection(token(rsa1, "RS256", "nope-again"));
    assertThat(verifier.jwks().fetchCount()).isEqualTo(3);
  }

  @Test
  void whenTheJwksIsDownTheLastGoodKeysStillVerify() {
    status.set(503);
    body.set("upstream connect error");
    clock.addAndGet(MIN_INTERVAL.toMillis());
    assertThat(rejection(token(rsa1, "RS256", "unknown"))).contains("unknown kid"); // forces a failing fetch
    assertThat(verifier.jwks().fetchCount()).isEqualTo(2);
    assertThat(await(verifier.verify(token(rsa1, "RS256", "k1"))).tenant()).isEqualTo("acme");
    server.close().await();
    clock.addAndGet(MIN_INTERVAL.toMillis());
    assertThat(rejection(token(rsa1, "RS256", "unknown"))).contains("unknown kid"); // connection refused
    assertThat(await(verifier.verify(token(ec, "ES256", "e1"))).tenant()).isEqualTo("acme");
  }

  @Test
  void garbageFromTheJwksDoesNotReplaceTheLastGoodKeys() {
    for (String garbage : new String[] {"<html>login</html>", "{\"keys\":[]}", "{\"keys\":\"x\"}",
        "{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"RS512\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}", "{\"keys\":[{\"kty\":\"RSA\"}]}"}) {
      body.set(garbage);
      clock.addAndGet(MIN_INTERVAL.toMillis());
      rejection(token(rsa1, "RS256", "unknown"));
      assertThat(await(verifier.verify(token(rsa1, "RS256", "k1"))).tenant()).as(garbage).isEqualTo("acme");
    }
    assertThat(verifier.jwks().fetchCount()).isEqualTo(6);
  }

  @Test
  void aVerifierWhoseJwksWasNeverReachableRejectsEveryToken() {
    JwtVerifier unreachable = new JwtVerifier(vertx, new JwtSettings(List.of(), URI.create("http://127.0.0.1:1/jwks"),
        Duration.ofHours(1), MIN_INTERVAL, null, null, null, null, null, null), clock::get);
    await(unreachable.start());
    AuthException e = catchThrowableOfType(AuthException.class,
        () -> await(unreachable.verify(token(rsa1, "RS256", "k1"))));
    assertThat(e.getMessage()).isEqualTo("invalid gateway token (JWT: no signing keys loaded yet (JWKS unreachable))");
    String unsigned = TestJwts.segment(header("none", null)) + "." + TestJwts.segment(claims("acme", NOW / 1000 + 60));
    e = catchThrowableOfType(AuthException.class, () -> await(unreachable.verify(unsigned + ".x")));
    assertThat(e.getMessage()).isEqualTo("invalid gateway token (JWT: alg none is not accepted)");
    unreachable.close();
  }

  @Test
  void theScheduledRefreshPicksUpANewKeyWithoutAnyToken() {
    URI url = URI.create("http://127.0.0.1:" + server.actualPort() + "/jwks");
    JwksSource source = new JwksSource(vertx, url, Duration.ofMillis(50), MIN_INTERVAL, clock::get);
    await(source.start());
    serve(TestJwts.jwk(rsa2.getPublic(), "k2"));
    await().atMost(Duration.ofSeconds(5)).until(() -> source.keys().keys().size() == 1
        && "k2".equals(source.keys().keys().get(0).getId()));
    source.close();
  }
}
