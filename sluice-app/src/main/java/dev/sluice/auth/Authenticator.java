package dev.sluice.auth;

import dev.sluice.support.Clock;
import io.vertx.core.Future;
import java.time.Instant;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Turns a request's credentials into a {@link Principal}: {@code Authorization: Bearer <token>}, else
 * {@code x-api-key}. Gateway keys ({@code sk-sluice-…}) are looked up in the current {@link ApiKeys} snapshot and
 * answered with an already-completed future (no blocking, this runs on the event loop for every request); JWTs go to
 * the {@link JwtVerifier}. Failures are {@link AuthException}s whose messages never contain the token.
 */
public final class Authenticator {
  static final String MISSING_MESSAGE = "unauthorized: gateway token missing (send Authorization: Bearer <token>, "
      + "or x-api-key: <token> as Anthropic clients do;"
      + " operators create tokens with `sluice keys create`)";
  static final String INVALID_MESSAGE = "invalid gateway token";

  // failures without a variable part are built once: AuthException has no stack trace and completed futures are
  // immutable, so sharing them across threads is safe
  private static final Future<Principal> MISSING = Future.failedFuture(new AuthException(AuthException.Reason.MISSING,
      MISSING_MESSAGE));
  private static final Future<Principal> INVALID = Future.failedFuture(AuthException.invalid(INVALID_MESSAGE));
  private static final Future<Principal> REVOKED =
      Future.failedFuture(AuthException.invalid(INVALID_MESSAGE + " (revoked)"));
  private static final Future<Principal> KEYS_NOT_ACCEPTED = Future.failedFuture(
      AuthException.invalid(INVALID_MESSAGE + " (gateway keys are not accepted here; send a JWT)"));
  private static final Future<Principal> JWT_NOT_ACCEPTED = Future.failedFuture(
      AuthException.invalid(INVALID_MESSAGE + " (JWTs are not accepted here; send a gateway key)"));
  private static final Future<Principal> ANONYMOUS = Future.succeededFuture(Principal.anonymous());

  private final AuthMode mode;
  private final Supplier<ApiKeys> keys;
  private final JwtVerifier jwt;
  private final Clock clock;

  /**
   * @param keys the current key snapshot, read once per request (swapped when keys change)
   * @param jwt the JWT verifier; required when {@code mode} accepts JWTs, else ignored and may be null
   * @param clock epoch milliseconds, for key expiry
   */
  public Authenticator(AuthMode mode, Supplier<ApiKeys> keys, JwtVerifier jwt, Clock clock) {
    this.mode = Objects.requireNonNull(mode, "mode");
    this.keys = Objects.requireNonNull(keys, "keys");
    this.clock = Objects.requireNonNull(clock, "clock");
    if (mode.acceptsJwt() && jwt == null) {
      throw new IllegalArgumentException("auth.mode " + mode.configName() + " needs a JWT verifier (auth.jwt)");
    }
    this.jwt = mode.acceptsJwt() ? jwt : null;
  }

  public AuthMode mode() {
    return mode;
  }

  /**
   * The caller of a request. Mode {@code none} ignores the headers and always answers
   * {@link Principal#anonymous()}.
   *
   * @param authorizationHeader the {@code Authorization} header, or null
   * @param xApiKeyHeader the {@code x-api-key} header, or null
   * @return the principal, or a failed future with an {@link AuthException}
   */
  public Future<Principal> authenticate(String authorizationHeader, String xApiKeyHeader) {
    if (mode == AuthMode.NONE) return ANONYMOUS;
    String token = bearer(authorizationHeader);
    if (token == null) token = trimmedOrNull(xApiKeyHeader);
    if (token == null) return MISSING;
    if (token.startsWith(KeyGenerator.PREFIX)) {
      return mode.acceptsKeys() ? key(token) : KEYS_NOT_ACCEPTED;
    }
    if (isJwtShaped(token)) {
      return jwt != null ? jwt.verify(token) : JWT_NOT_ACCEPTED;
    }
    return INVALID;
  }

  private Future<Principal> key(String token) {
    ApiKeys.Lookup found = keys.get().find(token, clock.millis());
    if (found instanceof ApiKeys.Found f) {
      ApiKey k = f.key();
      return Future.succeededFuture(new Principal(k.tenant(), k.id(), k.models(), k.limits(), Principal.Kind.KEY,
          k.weight(), k.maxBand(), k.resumeStreams()));
    }
    if (found instanceof ApiKeys.Revoked) return REVOKED;
    if (found instanceof ApiKeys.Expired e) {
      Instant at = e.key().expiresAt();
      return Future.failedFuture(AuthException.invalid(INVALID_MESSAGE + " (expired at " + at + ")"));
    }
    return INVALID;
  }

  /** The token of {@code Bearer <token>} (scheme in any case), or null. */
  private static String bearer(String header) {
    if (header == null) return null;
    String h = header.strip();
    if (h.length() < 7 || !h.regionMatches(true, 0, "Bearer", 0, 6) || !Character.isWhitespace(h.charAt(6))) {
      return null;
    }
    return trimmedOrNull(h.substring(7));
  }

  private static String trimmedOrNull(String s) {
    if (s == null) return null;
    String t = s.strip();
    return t.isEmpty() ? null : t;
  }

  private static boolean isJwtShaped(String token) {
    int first = token.indexOf('.');
    if (first < 0) return false;
    int second = token.indexOf('.', first + 1);
    return second >= 0 && token.indexOf('.', second + 1) < 0;
  }
}
