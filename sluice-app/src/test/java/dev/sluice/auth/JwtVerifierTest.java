package dev.sluice.auth;

import static dev.sluice.auth.TestJwts.await;
import static dev.sluice.auth.TestJwts.claims;
import static dev.sluice.auth.TestJwts.header;
import static dev.sluice.auth.TestJwts.sign;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.sluice.flow.Band;
import dev.sluice.limit.Limits;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.impl.jose.JWK;
import io.vertx.ext.auth.impl.jose.JWT;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JwtVerifierTest {
  private static final long NOW = 1_780_000_000_000L;
  private static final long NOW_S = NOW / 1000;
  private static Vertx vertx;
  private static KeyPair rsa;
  private static KeyPair ec;

  private final AtomicLong clock = new AtomicLong(NOW);
  private JwtVerifier verifier;

  @BeforeAll
  static void keys() {
    vertx = Vertx.vertx();
    rsa = TestJwts.rsa();
    ec = TestJwts.ec();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  @BeforeEach
  void allThreeAlgs() {
    verifier = verifier(settings(List.of(rsaKey(), ecKey(), hsKey()), null, List.of()));
  }

  @AfterEach
  void close() {
    verifier.close();
  }

  private static JwtKeySpec rsaKey() {
    return new JwtKeySpec("RS256", "rsa-1", TestJwts.pem(rsa.getPublic()), null);
  }

  private static JwtKeySpec ecKey() {
    return new JwtKeySpec("ES256", "ec-1", TestJwts.pem(ec.getPublic()), null);
  }

  private static JwtKeySpec hsKey() {
    return new JwtKeySpec("HS256", "hs-1", null, TestJwts.HS_SECRET);
  }

  private static JwtSettings settings(List<JwtKeySpec> keys, String issuer, List<String> audience) {
    return new JwtSettings(keys, null, null, null, issuer, audience, Duration.ofSeconds(30), null, null, null);
  }

  private JwtVerifier verifier(JwtSettings s) {
    return new JwtVerifier(vertx, s, clock::get);
  }

  private String rs256(Map<String, Object> claims) {
    return sign(header("RS256", "rsa-1"), claims, rsa.getPrivate());
  }

  private static String rejection(JwtVerifier v, String token) {
    AuthException e = catchThrowableOfType(AuthException.class, () -> await(v.verify(token)));
    assertThat(e).as("token must be rejected").isNotNull();
    assertThat(e.reason()).isEqualTo(AuthException.Reason.INVALID);
    assertThat(e.getMessage()).doesNotContain(token);
    String signature = token.substring(token.lastIndexOf('.') + 1);
    if (signature.length() >= 8) assertThat(e.getMessage()).doesNotContain(signature);
    assertThat(e.getStackTrace()).isEmpty();
    return e.getMessage();
  }

  @Test
  void refusesToStartWithJwtEnabledAndNoKeys() {
    assertThatThrownBy(() -> verifier(settings(List.of(), null, List.of())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("auth.jwt: no keys configured (set auth.jwt.keys or auth.jwt.jwksUrl); refusing to start with JWT"
            + " enabled and nothing to verify signatures with");
  }

  @Test
  void validRs256TokenMapsToAPrincipalWithTenantModelsAndLimits() {
    Map<String, Object> c = claims("acme", NOW_S + 600);
    c.put("models", List.of("qwen3:32b", "llama3:8b"));
    c.put("limits", Map.of("requestsPerMinute", 60, "tokensPerMinute", 10_000, "concurrent", 2));
    Principal p = await(verifier.verify(rs256(c)));
    assertThat(p).isEqualTo(new Principal("acme", "rsa-1", Set.of("qwen3:32b", "llama3:8b"),
        new Limits(60, 10_000, 2), Principal.Kind.JWT));
    assertThat(p.mayUse("qwen3:32b")).isTrue();
    assertThat(p.mayUse("other")).isFalse();
  }

  @Test
  void validEs256TokenSignedAsRawRAndSIsAccepted() {
    String token = sign(header("ES256", "ec-1"), claims("tenant.es", NOW_S + 60), ec.getPrivate());
    assertThat(Base64.getUrlDecoder().decode(token.substring(token.lastIndexOf('.') + 1))).hasSize(64);
    Principal p = await(verifier.verify(token));
    assertThat(p.tenant()).isEqualTo("tenant.es");
    assertThat(p.models()).isEmpty();
    assertThat(p.limits()).isNull();
  }

  @Test
  void es256TokenSignedByVertxItselfIsAccepted() throws Exception {
    JWT signer = new JWT().addJWK(new JWK(new PubSecKeyOptions().setAlgorithm("ES256").setId("ec-1")
        .setBuffer(TestJwts.privatePem(ec.getPrivate()))));
    String token = signer.sign(new JsonObject().put("sub", "acme").put("exp", NOW_S + 60),
        new JWTOptions().setAlgorithm("ES256").setNoTimestamp(true));
    assertThat(Base64.getUrlDecoder().decode(token.substring(token.lastIndexOf('.') + 1))).hasSize(64);
    assertThat(await(verifier.verify(token)).tenant()).isEqualTo("acme");
  }

  @Test
  void validHs256TokenIsAccepted() {
    String token = sign(header("HS256", "hs-1"), claims("acme", NOW_S + 60), TestJwts.hmacKey(TestJwts.HS_SECRET));
    assertThat(await(verifier.verify(token)).keyId()).isEqualTo("hs-1");
  }

  @Test
  void aTokenWithoutKidIsVerifiedAgainstTheKeysOfItsAlg() {
    String token = sign(header("RS256", null), claims("acme", NOW_S + 60), rsa.getPrivate());
    Principal p = await(verifier.verify(token));
    assertThat(p.tenant()).isEqualTo("acme");
    assertThat(p.keyId()).isNull();
  }

  @ParameterizedTest(name = "alg {0}")
  @ValueSource(strings = {"none", "None", "NONE", "nOnE"})
  void aTokenSignedWithAlgNoneIsRejectedInEveryCase(String alg) {
    String unsigned = TestJwts.segment(header(alg, null)) + "." + TestJwts.segment(claims("acme", NOW_S + 60));
    assertThat(rejection(verifier, unsigned + ".c2ln")).isEqualTo("invalid gateway token (JWT: alg none is not accepted)");
    assertThat(rejection(verifier, unsigned + ".")).isEqualTo("invalid gateway token (JWT: not a JWT)");
    assertThat(rejection(verifier, unsigned)).isEqualTo("invalid gateway token (JWT: not a JWT)");
  }

  @Test
  void anHs256TokenWhoseSecretIsTheRsaPublicKeyPemIsRejected() {
    JwtVerifier rsaOnly = verifier(settings(List.of(rsaKey()), null, List.of()));
    String pem = TestJwts.pem(rsa.getPublic());
    for (String kid : new String[] {"rsa-1", null}) {
      String token = sign(header("HS256", kid), claims("acme", NOW_S + 60), TestJwts.hmacKey(pem));
      assertThat(rejection(rsaOnly, token)).isEqualTo("invalid gateway token (JWT: alg HS256 has no configured key)");
    }
    rsaOnly.close();
  }

  @Test
  void anRs256TokenIsRejectedWhenOnlyHmacKeysAreConfigured() {
    JwtVerifier hsOnly = verifier(settings(List.of(hsKey()), null, List.of()));
    assertThat(rejection(hsOnly, rs256(claims("acme", NOW_S + 60))))
        .isEqualTo("invalid gateway token (JWT: alg RS256 has no configured key)");
    hsOnly.close();
  }

  @Test
  void theKidOfAnRsaKeyUsedWithHs256IsRejected() {
    String pem = TestJwts.pem(rsa.getPublic());
    String token = sign(header("HS256", "rsa-1"), claims("acme", NOW_S + 60), TestJwts.hmacKey(pem));
    assertThat(rejection(verifier, token))
        .isEqualTo("invalid gateway token (JWT: alg does not match the key named by kid)");
  }

  @Test
  void anUnknownKidIsRejected() {
    String token = sign(header("RS256", "rsa-2"), claims("acme", NOW_S + 60), rsa.getPrivate());
    assertThat(rejection(verifier, token)).isEqualTo("invalid gateway token (JWT: unknown kid)");
  }

  @Test
  void aPathTraversalKidIsJustAnUnknownKid() {
    String token = sign(header("RS256", "../../dev/null"), claims("acme", NOW_S + 60), rsa.getPrivate());
    assertThat(rejection(verifier, token)).isEqualTo("invalid gateway token (JWT: unknown kid)");
  }

  @Test
  void aVeryLongOrNonAsciiKidIsRejected() {
    for (String kid : new String[] {"k".repeat(129), "k".repeat(100_000).substring(0, 5000), "rsa-1\n", "rsä"}) {
      String token = sign(header("RS256", kid), claims("acme", NOW_S + 60), rsa.getPrivate());
      assertThat(rejection(verifier, token)).startsWith("invalid gateway token (JWT: kid is not 1 to 128");
    }
  }

  @Test
  void aTokenSignedByAnotherKeyDoesNotVerify() {
    KeyPair other = TestJwts.rsa();
    String token = sign(header("RS256", "rsa-1"), claims("acme", NOW_S + 60), other.getPrivate());
    assertThat(rejection(verifier, token)).isEqualTo("invalid gateway token (JWT: signature does not verify)");
  }

  @Test
  void aTokenWithTamperedClaimsDoesNotVerify() {
    String token = rs256(claims("acme", NOW_S + 60));
    String[] parts = token.split("\\.");
    String forged = parts[0] + "." + TestJwts.segment(claims("root", NOW_S + 60)) + "." + parts[2];
    assertThat(rejection(verifier, forged)).isEqualTo("invalid gateway token (JWT: signature does not verify)");
  }

  @ParameterizedTest(name = "header {0}")
  @ValueSource(strings = {"jku", "x5u", "jwk", "x5c"})
  void embeddedOrRemoteKeyHeadersAreRejectedEvenWithAValidSignature(String name) {
    Map<String, Object> h = header("RS256", "rsa-1");
    h.put(name, name.equals("jwk") ? TestJwts.jwk(rsa.getPublic(), "rsa-1").getMap()
        : name.equals("x5c") ? List.of("MIIB") : "https://evil.example/keys");
    assertThat(rejection(verifier, sign(h, claims("acme", NOW_S + 60), rsa.getPrivate())))
        .isEqualTo("invalid gateway token (JWT: embedded or remote keys (jku, x5u, jwk, x5c) are not accepted)");
  }

  @Test
  void aCritHeaderIsRejected() {
    Map<String, Object> h = header("RS256", "rsa-1");
    h.put("crit", List.of("exp"));
    assertThat(rejection(verifier, sign(h, claims("acme", NOW_S + 60), rsa.getPrivate())))
        .isEqualTo("invalid gateway token (JWT: crit header is not accepted)");
  }

  @Test
  void anExpiredTokenIsRejected() {
    assertThat(rejection(verifier, rs256(claims("acme", NOW_S - 3600))))
        .isEqualTo("invalid gateway token (JWT: expired)");
  }

  @Test
  void aTokenWithoutExpIsRejected() {
    Map<String, Object> c = claims("acme", 0);
    c.remove("exp");
    assertThat(rejection(verifier, rs256(c))).isEqualTo("invalid gateway token (JWT: exp claim missing)");
    c.put("exp", "tomorrow");
    assertThat(rejection(verifier, rs256(c))).isEqualTo("invalid gateway token (JWT: exp claim is not a number)");
  }

  @Test
  void theLeewayIsHonouredOnExp() {
    assertThat(await(verifier.verify(rs256(claims("acme", NOW_S - 10)))).tenant()).isEqualTo("acme");
    assertThat(rejection(verifier, rs256(claims("acme", NOW_S - 60))))
        .isEqualTo("invalid gateway token (JWT: expired)");
  }

  @Test
  void theInjectedClockDecidesExpiryNotTheWallClock() {
    String token = rs256(claims("acme", NOW_S + 60));
    assertThat(await(verifier.verify(token)).tenant()).isEqualTo("acme");
    clock.addAndGet(Duration.ofSeconds(91).toMillis());
    assertThat(rejection(verifier, token)).isEqualTo("invalid gateway token (JWT: expired)");
  }

  @Test
  void aRepeatedTokenIsCheckedOnceAndStillExpiresOnTime() {
    String token = rs256(claims("acme", NOW_S + 60));
    for (int i = 0; i < 100; i++) assertThat(await(verifier.verify(token)).tenant()).isEqualTo("acme");
    assertThat(verifier.signatureChecks()).isEqualTo(1);
    clock.addAndGet(Duration.ofSeconds(91).toMillis());
    assertThat(rejection(verifier, token)).isEqualTo("invalid gateway token (JWT: expired)");
  }

  @Test
  void aTokenNotValidYetIsRejected() {
    Map<String, Object> c = claims("acme", NOW_S + 600);
    c.put("nbf", NOW_S + 120);
    assertThat(rejection(verifier, rs256(c))).isEqualTo("invalid gateway token (JWT: not valid yet (nbf))");
    c.put("nbf", NOW_S + 20); // within leeway
    assertThat(await(verifier.verify(rs256(c))).tenant()).isEqualTo("acme");
    c.put("iat", NOW_S + 120);
    assertThat(rejection(verifier, rs256(c))).isEqualTo("invalid gateway token (JWT: issued in the future (iat))");
  }

  @Test
  void aWrongIssuerIsRejected() {
    JwtVerifier v = verifier(settings(List.of(rsaKey()), "https://idp.example", List.of()));
    Map<String, Object> c = claims("acme", NOW_S + 60);
    assertThat(rejection(v, rs256(c))).isEqualTo("invalid gateway token (JWT: issuer not accepted)");
    c.put("iss", "https://evil.example");
    assertThat(rejection(v, rs256(c))).isEqualTo("invalid gateway token (JWT: issuer not accepted)");
    c.put("iss", "https://idp.example");
    assertThat(await(v.verify(rs256(c))).tenant()).isEqualTo("acme");
    v.close();
  }

  @Test
  void aWrongAudienceIsRejectedAndAStringOrArrayAudienceIsAccepted() {
    JwtVerifier v = verifier(settings(List.of(rsaKey()), null, List.of("sluice", "gateway")));
    Map<String, Object> c = claims("acme", NOW_S + 60);
    assertThat(rejection(v, rs256(c))).isEqualTo("invalid gateway token (JWT: audience not accepted)");
    c.put("aud", "other");
    assertThat(rejection(v, rs256(c))).isEqualTo("invalid gateway token (JWT: audience not accepted)");
    c.put("aud", List.of("other", "another"));
    assertThat(rejection(v, rs256(c))).isEqualTo("invalid gateway token (JWT: audience not accepted)");
    c.put("aud", "gateway");
    assertThat(await(v.verify(rs256(c))).tenant()).isEqualTo("acme");
    c.put("aud", List.of("other", "sluice"));
    assertThat(await(v.verify(rs256(c))).tenant()).isEqualTo("acme");
    v.close();
  }

  @Test
  void aTenantClaimThatIsNotATenantIdIsRejected() {
    for (Object sub : new Object[] {"a b", "", "-lead", "x".repeat(65), 42, "acme\u0000"}) {
      Map<String, Object> c = claims("acme", NOW_S + 60);
      c.put("sub", sub);
      assertThat(rejection(verifier, rs256(c))).startsWith("invalid gateway token (JWT: claim sub is not a tenant id");
    }
  }

  @Test
  void malformedModelsOrLimitsClaimsAreRejected() {
    Map<String, Object> c = claims("acme", NOW_S + 60);
    c.put("models", "qwen3:32b");
    assertThat(rejection(verifier, rs256(c))).contains("claim models is not an array of model names");
    c.remove("models");
    c.put("limits", Map.of("requestsPerMinute", -1));
    assertThat(rejection(verifier, rs256(c))).contains("claim limits is not valid");
  }

  @Test
  void weightAndMaxPriorityClaimsBecomeThePrincipalsWeightAndHighestBand() {
    Map<String, Object> c = claims("acme", NOW_S + 60);
    c.put("weight", 5);
    c.put("maxPriority", "batch");
    Principal p = await(verifier.verify(rs256(c)));
    assertThat(p.weight()).isEqualTo(5);
    assertThat(p.maxBand()).isEqualTo(Band.BATCH);
    Principal none = await(verifier.verify(rs256(claims("acme", NOW_S + 61))));
    assertThat(none.weight()).as("absent: the tenant's weight applies").isZero();
    assertThat(none.maxBand()).isNull();
  }

  @Test
  void aResumeFalseClaimTurnsStreamResumptionOffForTheTokenAndAnythingButABooleanRefusesIt() {
    Map<String, Object> c = claims("acme", NOW_S + 60);
    c.put("resume", false);
    assertThat(await(verifier.verify(rs256(c))).resumeStreams()).isFalse();
    assertThat(await(verifier.verify(rs256(claims("acme", NOW_S + 61)))).resumeStreams()).as("absent: on").isTrue();
    c.put("resume", "no");
    assertThat(rejection(verifier, rs256(c))).contains("claim resume must be true or false");
  }

  @Test
  void aWeightOrBandClaimThatIsNotOneRefusesTheTokenNamingTheClaimButNotItsValue() {
    Object[] weights = {0, 1001, "2", 2.5, -1, List.of(1)};
    for (Object w : weights) {
      Map<String, Object> c = claims("acme", NOW_S + 60);
      c.put("weight", w);
      assertThat(rejection(verifier, rs256(c))).as(String.valueOf(w))
          .isEqualTo("invalid gateway token (JWT: claim weight is not a weight (expected a whole number from 1 to "
              + "1000))");
    }
    Object[] bands = {"urgent-canary", "", 1, List.of("batch"), Map.of("max", "batch")};
    for (Object b : bands) {
      Map<String, Object> c = claims("acme", NOW_S + 60);
      c.put("maxPriority", b);
      assertThat(rejection(verifier, rs256(c))).as(String.valueOf(b))
          .isEqualTo("invalid gateway token (JWT: claim maxPriority is not a priority band (expected interactive or "
              + "batch))");
    }
    Map<String, Object> c = claims("acme", NOW_S + 60);
    c.put("maxPriority", "Interactive");
    assertThat(await(verifier.verify(rs256(c))).maxBand()).as("any case, as in the config").isEqualTo(Band.INTERACTIVE);
  }

  @Test
  void weightAndMaxPriorityClaimNamesAreConfigurable() {
    JwtVerifier v = verifier(new JwtSettings(List.of(rsaKey()), null, null, null, null, null, null, null, null, null,
        "share", "tier"));
    Map<String, Object> c = claims("acme", NOW_S + 60);
    c.put("share", 7);
    c.put("tier", "batch");
    c.put("weight", "ignored: not the configured claim");
    Principal p = await(v.verify(rs256(c)));
    assertThat(p.weight()).isEqualTo(7);
    assertThat(p.maxBand()).isEqualTo(Band.BATCH);
    c.put("tier", "urgent");
    assertThat(rejection(v, rs256(c))).contains("claim tier is not a priority band");
    v.close();
  }

  @Test
  void configurableClaimNamesAreUsed() {
    JwtVerifier v = verifier(new JwtSettings(List.of(rsaKey()), null, null, null, null, null, null, "org", "allowed",
        "quota"));
    Map<String, Object> c = claims("user-1", NOW_S + 60);
    c.put("org", "acme");
    c.put("allowed", List.of("m1"));
    c.put("quota", Map.of("concurrent", 3));
    Principal p = await(v.verify(rs256(c)));
    assertThat(p.tenant()).isEqualTo("acme");
    assertThat(p.models()).containsExactly("m1");
    assertThat(p.limits()).isEqualTo(new Limits(0, 0, 3));
    v.close();
  }

  @Test
  void garbageIsNotAJwt() {
    for (String garbage : new String[] {"a.b.c", "..", "a..c", "eyJ.eyJ.x", "x.y.z.w", "a b.c.d",
        "bm90IGpzb24.e30.c2ln", "W10.e30.c2ln"}) {
      assertThat(rejection(verifier, garbage)).isIn("invalid gateway token (JWT: not a JWT)",
          "invalid gateway token (JWT: alg missing)");
    }
  }

  @Test
  void duplicateHeaderMembersAreRejected() {
    String header = Base64.getUrlEncoder().withoutPadding().encodeToString(
        "{\"alg\":\"RS256\",\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8));
    assertThat(rejection(verifier, header + "." + TestJwts.segment(claims("acme", NOW_S + 60)) + ".c2ln"))
        .isEqualTo("invalid gateway token (JWT: not a JWT)");
  }

  @Test
  void hs256SecretsShorterThan32BytesAreRefused() {
    assertThatThrownBy(() -> new JwtKeySpec("HS256", null, null, "short-secret"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 32 bytes");
    assertThat(hsKey().toString()).doesNotContain(TestJwts.HS_SECRET);
  }

  @Test
  void aKeySpecWhosePemDoesNotMatchItsAlgIsRefused() {
    assertThatThrownBy(() -> new JwtKeySpec("ES256", null, TestJwts.pem(rsa.getPublic()), null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not an EC public key");
    assertThatThrownBy(() -> new JwtKeySpec("RS512", null, TestJwts.pem(rsa.getPublic()), null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected RS256, ES256 or HS256");
  }
}
