package dev.sluice.auth;

import static dev.sluice.auth.TestJwts.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.sluice.flow.Band;
import dev.sluice.limit.Limits;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class AuthenticatorTest {
  private static final Instant T0 = Instant.parse("2026-06-01T00:00:00Z");
  private static final long NOW = T0.toEpochMilli();
  private static Vertx vertx;
  private static JwtVerifier jwt;
  private static String jwtToken;

  private final KeyGenerator.Created key =
      KeyGenerator.create("acme", Set.of("qwen3:32b"), new Limits(60, 0, 0), null, null, T0.minusSeconds(60));
  private final KeyGenerator.Created expiring =
      KeyGenerator.create("acme", null, null, T0.minusSeconds(1), null, T0.minusSeconds(60));
  private final KeyGenerator.Created revoked = KeyGenerator.create("acme", null, null, null, null, T0.minusSeconds(60));
  private final KeyGenerator.Created batch =
      KeyGenerator.create("reports", null, null, 3, Band.BATCH, null, null, T0.minusSeconds(60));
  private final AtomicReference<ApiKeys> keys = new AtomicReference<>(ApiKeys.of(List.of(key.key(), expiring.key(),
      revoked.key(), batch.key())).revoke(revoked.key().id(), T0.minusSeconds(5)));

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    jwt = new JwtVerifier(vertx, JwtSettings.ofKeys(List.of(new JwtKeySpec("HS256", null, null, TestJwts.HS_SECRET))),
        () -> NOW);
    jwtToken = TestJwts.sign(TestJwts.header("HS256", null), TestJwts.claims("beta", NOW / 1000 + 60),
        TestJwts.hmacKey(TestJwts.HS_SECRET));
  }

  @AfterAll
  static void stop() {
    jwt.close();
    vertx.close().await();
  }

  private Authenticator auth(AuthMode mode) {
    return new Authenticator(mode, keys::get, mode.acceptsJwt() ? jwt : null, () -> NOW);
  }

  private static String failure(Future<Principal> f, AuthException.Reason reason, String... tokens) {
    AuthException e = catchThrowableOfType(AuthException.class, () -> await(f));
    assertThat(e).isNotNull();
    assertThat(e.reason()).isEqualTo(reason);
    for (String t : tokens) assertThat(e.getMessage()).doesNotContain(t);
    return e.getMessage();
  }

  @Test
  void modeNoneIsAnonymousWhateverTheHeaders() {
    Authenticator a = auth(AuthMode.NONE);
    assertThat(await(a.authenticate(null, null))).isEqualTo(Principal.anonymous());
    assertThat(await(a.authenticate("Bearer garbage", "x"))).isEqualTo(Principal.anonymous());
    assertThat(Principal.anonymous().tenant()).isEqualTo("anonymous");
    assertThat(Principal.anonymous().mayUse("anything")).isTrue();
  }

  @Test
  void aKeyIsAcceptedFromBearerInAnyCaseOrFromXApiKey() {
    Authenticator a = auth(AuthMode.TOKENS);
    Principal expected = new Principal("acme", key.key().id(), Set.of("qwen3:32b"), new Limits(60, 0, 0),
        Principal.Kind.KEY);
    assertThat(await(a.authenticate("Bearer " + key.secret(), null))).isEqualTo(expected);
    assertThat(await(a.authenticate("  bEaReR   " + key.secret() + "  ", null))).isEqualTo(expected);
    assertThat(await(a.authenticate(null, " " + key.secret()))).isEqualTo(expected);
    assertThat(await(a.authenticate("Basic dXNlcjpwYXNz", key.secret()))).isEqualTo(expected);
    Future<Principal> f = a.authenticate("Bearer " + key.secret(), null);
    assertThat(f.isComplete()).as("the key path never waits").isTrue();
  }

  @Test
  void aKeysWeightAndHighestBandAreThePrincipalsAndAKeyWithoutThemCarriesNone() {
    Principal p = await(auth(AuthMode.TOKENS).authenticate("Bearer " + batch.secret(), null));
    assertThat(p).isEqualTo(new Principal("reports", batch.key().id(), Set.of(), null, Principal.Kind.KEY, 3,
        Band.BATCH));
    Principal plain = await(auth(AuthMode.TOKENS).authenticate("Bearer " + key.secret(), null));
    assertThat(plain.weight()).isZero();
    assertThat(plain.maxBand()).isNull();
  }

  @Test
  void aMissingTokenGetsTheExactMissingMessage() {
    for (AuthMode mode : List.of(AuthMode.TOKENS, AuthMode.JWT, AuthMode.TOKENS_AND_JWT)) {
      for (String[] h : new String[][] {{null, null}, {"Bearer ", null}, {"Bearer", "  "}, {"Basic abc", null}}) {
        assertThat(failure(auth(mode).authenticate(h[0], h[1]), AuthException.Reason.MISSING))
            .isEqualTo("unauthorized: gateway token missing (send Authorization: Bearer <token>, or x-api-key: "
                + "<token> as Anthropic clients do; operators create"
                + " tokens with `sluice keys create`)");
      }
    }
  }

  @Test
  void badKeysGetExactMessagesWithoutTheToken() {
    Authenticator a = auth(AuthMode.TOKENS_AND_JWT);
    String wrong = key.key().id() + "Z".repeat(32);
    assertThat(failure(a.authenticate("Bearer " + wrong, null), AuthException.Reason.INVALID, wrong))
        .isEqualTo("invalid gateway token");
    assertThat(failure(a.authenticate("Bearer " + revoked.secret(), null), AuthException.Reason.INVALID,
        revoked.secret())).isEqualTo("invalid gateway token (revoked)");
    assertThat(failure(a.authenticate("Bearer " + expiring.secret(), null), AuthException.Reason.INVALID,
        expiring.secret())).isEqualTo("invalid gateway token (expired at 2026-05-31T23:59:59Z)");
    assertThat(failure(a.authenticate("Bearer opaque-thing", null), AuthException.Reason.INVALID, "opaque-thing"))
        .isEqualTo("invalid gateway token");
  }

  @Test
  void aKeyRevokedInANewSnapshotIsRefusedOnTheNextRequest() {
    Authenticator a = auth(AuthMode.TOKENS);
    assertThat(await(a.authenticate("Bearer " + key.secret(), null)).tenant()).isEqualTo("acme");
    keys.set(keys.get().revoke(key.key().id(), T0));
    assertThat(failure(a.authenticate("Bearer " + key.secret(), null), AuthException.Reason.INVALID))
        .isEqualTo("invalid gateway token (revoked)");
  }

  @Test
  void eachModeAcceptsOnlyItsTokenKinds() {
    assertThat(await(auth(AuthMode.JWT).authenticate("Bearer " + jwtToken, null)).kind())
        .isEqualTo(Principal.Kind.JWT);
    assertThat(await(auth(AuthMode.TOKENS_AND_JWT).authenticate(null, jwtToken)).tenant()).isEqualTo("beta");
    assertThat(await(auth(AuthMode.TOKENS_AND_JWT).authenticate("Bearer " + key.secret(), null)).kind())
        .isEqualTo(Principal.Kind.KEY);
    assertThat(failure(auth(AuthMode.JWT).authenticate("Bearer " + key.secret(), null), AuthException.Reason.INVALID,
        key.secret())).startsWith("invalid gateway token");
    assertThat(failure(auth(AuthMode.TOKENS).authenticate("Bearer " + jwtToken, null), AuthException.Reason.INVALID,
        jwtToken)).startsWith("invalid gateway token");
    String badJwt = jwtToken.substring(0, jwtToken.length() - 4) + "AAAA";
    assertThat(failure(auth(AuthMode.JWT).authenticate("Bearer " + badJwt, null), AuthException.Reason.INVALID,
        badJwt)).isEqualTo("invalid gateway token (JWT: signature does not verify)");
  }

  @Test
  void aModeThatAcceptsJwtsNeedsAVerifier() {
    assertThatThrownBy(() -> new Authenticator(AuthMode.JWT, keys::get, null, () -> NOW))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs a JWT verifier");
  }
}
