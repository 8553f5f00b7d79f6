package dev.sluice.auth;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.flow.Band;
import dev.sluice.limit.Limits;
import dev.sluice.support.Clock;
import dev.sluice.support.Json;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.ext.auth.NoSuchKeyIdException;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.impl.jose.JWK;
import io.vertx.ext.auth.impl.jose.JWT;
import java.io.IOException;
import java.security.SignatureException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Verifies gateway JWTs and maps their claims to a {@link Principal}. The header is checked here before Vert.x sees
 * the token: {@code alg} must be one that a configured or JWKS key has (no {@code none}, and a key is only used with
 * its own alg, which defeats HS/RS confusion), embedded or remote keys ({@code jku}, {@code x5u}, {@code jwk},
 * {@code x5c}) and {@code crit} are refused, and {@code kid} must be short printable ASCII. Vert.x checks the
 * signature; time claims are checked here against the injected clock with {@link JwtSettings#leeway()}.
 *
 * <p>Verification is synchronous (an RSA or ECDSA verify, tens of microseconds); only a token with an unknown kid
 * waits for a JWKS fetch, which {@link JwksSource} rate-limits.
 */
public final class JwtVerifier implements AutoCloseable {
  /** Longest token looked at; identity providers' tokens are 1-2 KiB. */
  static final int MAX_TOKEN_CHARS = 16 * 1024;
  static final int MAX_KID_CHARS = 128;
  private static final Set<String> REMOTE_KEY_HEADERS = Set.of("jku", "x5u", "jwk", "x5c");
  private static final Base64.Decoder B64URL = Base64.getUrlDecoder();

  private final JwtSettings settings;
  private final Clock clock;
  private final List<JWK> inlineKeys;
  private final JwksSource jwks;
  private volatile Keys keys;

  /**
   * The keys in use: Vert.x's verifier (null when there are none: never hand a token to a Vert.x JWT without keys,
   * it would accept unsigned tokens), which algs have keys, and which kids belong to which alg.
   */
  private record Keys(JWT jwt, Set<String> algs, Map<String, Set<String>> algsByKid, Set<String> algsWithoutKid,
      JwksSource.KeySet fromJwks) {
    static Keys of(List<JWK> inline, JwksSource.KeySet fromJwks) {
      List<JWK> all = new ArrayList<>(inline);
      all.addAll(fromJwks.keys());
      if (all.isEmpty()) return new Keys(null, Set.of(), Map.of(), Set.of(), fromJwks);
      JWT jwt = new JWT();
      Set<String> algs = new HashSet<>();
      Map<String, Set<String>> byKid = new HashMap<>();
      Set<String> withoutKid = new HashSet<>();
      for (JWK k : all) {
        jwt.addJWK(k);
        algs.add(k.getAlgorithm());
        if (k.getId() == null) {
          withoutKid.add(k.getAlgorithm());
        } else {
          byKid.computeIfAbsent(k.getId(), x -> new HashSet<>()).add(k.getAlgorithm());
        }
      }
      if (jwt.isUnsecure()) throw new IllegalStateException("JWT verifier without keys"); // never: all is non-empty
      return new Keys(jwt, Set.copyOf(algs), Map.copyOf(byKid), Set.copyOf(withoutKid), fromJwks);
    }
  }

  /** The parts of a token that passed the header checks. */
  private record Token(String alg, String kid, String payloadSegment) {}

  /**
   * @param clock epoch milliseconds, for exp/nbf/iat and the JWKS on-demand rate limit
   * @throws IllegalArgumentException when {@code settings} has neither inline keys nor a JWKS URL
   */
  public JwtVerifier(Vertx vertx, JwtSettings settings, Clock clock) {
    Objects.requireNonNull(vertx, "vertx");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.clock = Objects.requireNonNull(clock, "clock");
    if (!settings.hasKeySource()) {
      throw new IllegalArgumentException("auth.jwt: no keys configured (set auth.jwt.keys or auth.jwt.jwksUrl);"
          + " refusing to start with JWT enabled and nothing to verify signatures with");
    }
    List<JWK> inline = new ArrayList<>();
    for (JwtKeySpec spec : settings.keys()) {
      PubSecKeyOptions o = new PubSecKeyOptions().setAlgorithm(spec.alg()).setId(spec.kid())
          .setBuffer(spec.pem() != null ? spec.pem() : spec.secret());
      inline.add(new JWK(o));
    }
    this.inlineKeys = List.copyOf(inline);
    this.jwks = settings.jwksUrl() == null ? null : new JwksSource(vertx, settings.jwksUrl(), settings.jwksRefresh(),
        settings.jwksMinRefreshInterval(), clock);
    this.keys = Keys.of(inlineKeys, JwksSource.KeySet.EMPTY);
  }

  /** Fetches the JWKS once, when there is one. Completes after that attempt; never fails. */
  public Future<Void> start() {
    return jwks == null ? Future.succeededFuture() : jwks.start();
  }

  /** The JWKS source, or null without a JWKS URL (for tests and metrics). */
  JwksSource jwks() {
    return jwks;
  }

  /**
   * The principal of a valid token. Fails with {@link AuthException} (INVALID) for every bad token; the message
   * never contains the token or claim values.
   */
  public Future<Principal> verify(String token) {
    Verified hit = token == null ? null : verified.getIfPresent(token);
    if (hit != null && hit.keys() == currentKeys() && clock.millis() - settings.leeway().toMillis()
        < hit.expMillis()) {
      return Future.succeededFuture(hit.principal());
    }
    Token t;
    try {
      t = checkHeader(token);
    } catch (AuthException e) {
      return Future.failedFuture(e);
    }
    Keys k = currentKeys();
    String problem = keyProblem(k, t);
    if (problem == null) return complete(k, token, t);
    if (jwks == null || problem.equals(KID_OF_OTHER_ALG)) return Future.failedFuture(invalid(problem));
    return jwks.refreshForUnknownKid().compose(changed -> {
      Keys again = currentKeys();
      String still = keyProblem(again, t);
      return still == null ? complete(again, token, t) : Future.failedFuture(invalid(still));
    });
  }

  @Override
  public void close() {
    if (jwks != null) jwks.close();
  }

  private Keys currentKeys() {
    Keys k = keys;
    if (jwks != null && jwks.keys() != k.fromJwks()) {
      synchronized (this) {
        k = keys;
        JwksSource.KeySet latest = jwks.keys();
        if (latest != k.fromJwks()) {
          k = Keys.of(inlineKeys, latest);
          keys = k;
        }
      }
    }
    return k;
  }

  private static final String KID_OF_OTHER_ALG = "alg does not match the key named by kid";

  /** Null when {@code k} has a key for this token's alg and kid, else the reason. */
  private static String keyProblem(Keys k, Token t) {
    if (k.jwt() == null) return "no signing keys loaded yet (JWKS unreachable)";
    if (!k.algs().contains(t.alg())) return "alg " + t.alg() + " has no configured key";
    if (t.kid() == null || k.algsWithoutKid().contains(t.alg())) return null;
    Set<String> algsOfKid = k.algsByKid().get(t.kid());
    if (algsOfKid == null) return "unknown kid";
    return algsOfKid.contains(t.alg()) ? null : KID_OF_OTHER_ALG;
  }

  private Future<Principal> complete(Keys k, String token, Token t) {
    signatureChecks.incrementAndGet();
    try {
      k.jwt().decode(token);
    } catch (NoSuchKeyIdException e) {
      return Future.failedFuture(invalid("unknown kid"));
    } catch (SignatureException e) {
      return Future.failedFuture(invalid("signature does not verify"));
    } catch (RuntimeException e) {
      return Future.failedFuture(invalid("signature does not verify"));
    }
    try {
      Principal p = principal(t);
      verified.put(token, new Verified(p, millis(json(t.payloadSegment()).get("exp")), k));
      return Future.succeededFuture(p);
    } catch (AuthException e) {
      return Future.failedFuture(e);
    }
  }

  /**
   * A token that verified, with the key set that verified it: reused until its exp (with leeway) while that key set
   * is still the current one (a JWKS change re-verifies everything), so a client sending the same token on every
   * request costs one map lookup instead of a signature check (~50 µs for RS256).
   */
  private record Verified(Principal principal, long expMillis, Keys keys) {}

  private final AtomicLong signatureChecks = new AtomicLong();

  /** Signature checks done so far (tests: a repeated token is checked once). */
  long signatureChecks() {
    return signatureChecks.get();
  }

  /** Verified tokens; bounded, and each entry lives at most {@link #VERIFIED_TTL}. */
  private final com.github.benmanes.caffeine.cache.Cache<String, Verified> verified =
      com.github.benmanes.caffeine.cache.Caffeine.newBuilder().maximumSize(VERIFIED_MAX_ENTRIES)
          .expireAfterWrite(VERIFIED_TTL).build();
  static final int VERIFIED_MAX_ENTRIES = 10_000;
  static final Duration VERIFIED_TTL = Duration.ofMinutes(5);

  private Token checkHeader(String token) {
    if (token == null || token.length() > MAX_TOKEN_CHARS) throw invalid("not a JWT");
    int dot1 = token.indexOf('.');
    int dot2 = dot1 < 0 ? -1 : token.indexOf('.', dot1 + 1);
    if (dot1 <= 0 || dot2 <= dot1 + 1 || dot2 == token.length() - 1 || token.indexOf('.', dot2 + 1) >= 0
        || !base64url(token, 0, token.length())) {
      throw invalid("not a JWT");
    }
    JsonNode header = json(token.substring(0, dot1));
    if (header == null || !header.isObject()) throw invalid("not a JWT");
    JsonNode algNode = header.get("alg");
    if (algNode == null || !algNode.isTextual()) throw invalid("alg missing");
    String alg = algNode.textValue();
    if (alg.equalsIgnoreCase("none")) throw invalid("alg none is not accepted");
    if (!JwtKeySpec.ALGS.contains(alg)) {
      throw invalid(alg.matches("[A-Za-z0-9]{1,10}") ? "alg " + alg + " is not accepted (RS256, ES256, HS256 are)"
          : "alg is not accepted (RS256, ES256, HS256 are)");
    }
    for (String h : REMOTE_KEY_HEADERS) {
      if (header.has(h)) throw invalid("embedded or remote keys (jku, x5u, jwk, x5c) are not accepted");
    }
    if (header.has("crit")) throw invalid("crit header is not accepted");
    String kid = null;
    JsonNode kidNode = header.get("kid");
    if (kidNode != null && !kidNode.isNull()) {
      if (!kidNode.isTextual() || !acceptableKid(kidNode.textValue())) {
        throw invalid("kid is not 1 to " + MAX_KID_CHARS + " printable ASCII characters");
      }
      kid = kidNode.textValue();
    }
    return new Token(alg, kid, token.substring(dot1 + 1, dot2));
  }

  /** True for a kid of 1 to {@value #MAX_KID_CHARS} printable ASCII characters. */
  static boolean acceptableKid(String kid) {
    if (kid.isEmpty() || kid.length() > MAX_KID_CHARS) return false;
    for (int i = 0; i < kid.length(); i++) {
      char c = kid.charAt(i);
      if (c < 0x20 || c > 0x7e) return false;
    }
    return true;
  }

  private Principal principal(Token t) {
    JsonNode claims = json(t.payloadSegment());
    if (claims == null || !claims.isObject()) throw invalid("claims are not a JSON object");
    long now = clock.millis();
    long leeway = settings.leeway().toMillis();
    JsonNode exp = claims.get("exp");
    if (exp == null || exp.isNull()) throw invalid("exp claim missing");
    if (!exp.isNumber()) throw invalid("exp claim is not a number");
    if (now - leeway >= millis(exp)) throw invalid("expired");
    JsonNode nbf = claims.get("nbf");
    if (nbf != null && !nbf.isNull() && (!nbf.isNumber() || millis(nbf) > now + leeway)) {
      throw invalid("not valid yet (nbf)");
    }
    JsonNode iat = claims.get("iat");
    if (iat != null && !iat.isNull() && (!iat.isNumber() || millis(iat) > now + leeway)) {
      throw invalid("issued in the future (iat)");
    }
    if (settings.issuer() != null) {
      JsonNode iss = claims.get("iss");
      if (iss == null || !iss.isTextual() || !iss.textValue().equals(settings.issuer())) {
        throw invalid("issuer not accepted");
      }
    }
    if (!settings.audience().isEmpty() && !audienceAccepted(claims.get("aud"))) throw invalid("audience not accepted");
    JsonNode tenant = claims.get(settings.tenantClaim());
    if (tenant == null || !tenant.isTextual() || !ApiKey.isTenantId(tenant.textValue())) {
      throw invalid("claim " + settings.tenantClaim() + " is not a tenant id (" + ApiKey.TENANT_ID_RULE + ")");
    }
    return new Principal(tenant.textValue(), t.kid(), models(claims.get(settings.modelsClaim())),
        limits(claims.get(settings.limitsClaim())), Principal.Kind.JWT, weight(claims.get(settings.weightClaim())),
        band(claims.get(settings.maxPriorityClaim())), resume(claims.get(RESUME_CLAIM)));
  }

  /** The claim that turns stream resumption off for a token's requests: {@code "resume": false}. */
  static final String RESUME_CLAIM = "resume";

  /** The resume claim: false only when it says so; anything but a boolean refuses the token, like a bad weight. */
  private boolean resume(JsonNode v) {
    if (v == null || v.isNull()) return true;
    if (!v.isBoolean()) throw invalid("claim " + RESUME_CLAIM + " must be true or false");
    return v.asBoolean();
  }

  /**
   * The weight claim; 0 when absent. A value that is no weight refuses the token, like a bad models or limits claim:
   * the identity provider is misconfigured, and guessing (ignoring it, clamping 5000 to 1000) would give the caller a
   * share nobody chose.
   */
  private int weight(JsonNode v) {
    if (v == null || v.isNull()) return 0;
    if (!v.isIntegralNumber() || !v.canConvertToLong() || !ApiKey.isWeight(v.longValue())) {
      throw invalid("claim " + settings.weightClaim() + " is not a weight (expected " + ApiKey.WEIGHT_RULE + ")");
    }
    return v.intValue();
  }

  /**
   * The highest-band claim; null when absent. A value that is no band refuses the token rather than being ignored:
   * ignoring it would leave the caller the tenant's band, by default interactive, which is more than a misspelled
   * {@code "bacth"} meant to grant.
   */
  private Band band(JsonNode v) {
    if (v == null || v.isNull()) return null;
    String bad = "claim " + settings.maxPriorityClaim() + " is not a priority band (expected " + ApiKey.BAND_RULE
        + ")";
    if (!v.isTextual()) throw invalid(bad);
    try {
      return Band.parse(v.textValue());
    } catch (IllegalArgumentException e) {
      throw invalid(bad);
    }
  }

  private boolean audienceAccepted(JsonNode aud) {
    if (aud == null) return false;
    if (aud.isTextual()) return settings.audience().contains(aud.textValue());
    if (!aud.isArray()) return false;
    for (JsonNode a : aud) {
      if (a.isTextual() && settings.audience().contains(a.textValue())) return true;
    }
    return false;
  }

  private Set<String> models(JsonNode v) {
    if (v == null || v.isNull()) return Set.of();
    String bad = "claim " + settings.modelsClaim() + " is not an array of model names";
    if (!v.isArray()) throw invalid(bad);
    Set<String> models = new LinkedHashSet<>();
    for (JsonNode m : v) {
      if (!m.isTextual() || m.textValue().isEmpty()) throw invalid(bad);
      models.add(m.textValue());
    }
    return models;
  }

  private Limits limits(JsonNode v) {
    if (v == null || v.isNull()) return null;
    String bad = "claim " + settings.limitsClaim()
        + " is not valid (expected {\"requestsPerMinute\":n,\"tokensPerMinute\":n,\"concurrent\":n}, 0 = unlimited)";
    if (!v.isObject()) throw invalid(bad);
    try {
      return new Limits(count(v, "requestsPerMinute", bad), count(v, "tokensPerMinute", bad),
          Math.toIntExact(count(v, "concurrent", bad)));
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw invalid(bad);
    }
  }

  private static long count(JsonNode limits, String field, String bad) {
    JsonNode v = limits.get(field);
    if (v == null || v.isNull()) return 0;
    if (!v.isIntegralNumber() || !v.canConvertToLong()) throw invalid(bad);
    return v.longValue();
  }

  /** A NumericDate (seconds, maybe fractional) in epoch milliseconds, saturated. */
  private static long millis(JsonNode numericDate) {
    double ms = numericDate.asDouble() * 1000.0;
    if (Double.isNaN(ms)) return Long.MIN_VALUE;
    return ms >= Long.MAX_VALUE ? Long.MAX_VALUE : ms <= Long.MIN_VALUE ? Long.MIN_VALUE : (long) ms;
  }

  private static JsonNode json(String base64urlSegment) {
    try {
      return Json.MAPPER.readTree(B64URL.decode(base64urlSegment));
    } catch (IllegalArgumentException | IOException e) {
      throw invalid("not a JWT");
    }
  }

  private static boolean base64url(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      boolean ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
          || c == '.';
      if (!ok) return false;
    }
    return true;
  }

  static AuthException invalid(String reason) {
    return AuthException.invalid("invalid gateway token (JWT: " + reason + ")");
  }
}
