package dev.sluice.auth;

import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * How JWTs are verified (config {@code auth.jwt}). Nulls take the defaults below.
 *
 * @param keys inline verification keys; may be empty when {@code jwksUrl} is set
 * @param jwksUrl where to fetch a JWKS ({@code {"keys":[…]}}); null for inline keys only
 * @param jwksRefresh how often the JWKS is fetched; default {@link #DEFAULT_JWKS_REFRESH}
 * @param jwksMinRefreshInterval least time between two fetches caused by tokens with an unknown kid, so bad tokens
 *     cannot make the gateway hammer the identity provider; default {@link #DEFAULT_JWKS_MIN_REFRESH_INTERVAL}
 * @param issuer required {@code iss}; null for not checked
 * @param audience accepted {@code aud} values (a token must name one); empty for not checked
 * @param leeway clock skew tolerated on {@code exp}, {@code nbf} and {@code iat}; default {@link #DEFAULT_LEEWAY}
 * @param tenantClaim claim holding the tenant id; default {@code sub}
 * @param modelsClaim claim holding the allowed models (array of strings, absent for all); default {@code models}
 * @param limitsClaim claim holding the limits ({@code {"requestsPerMinute":…,"tokensPerMinute":…,"concurrent":…}},
 *     absent for the config's limits of the tenant); default {@code limits}
 * @param weightClaim claim holding the caller's fair-share weight (a whole number from 1 to {@link ApiKey#MAX_WEIGHT},
 *     absent for the tenant's weight in {@code routing.flow}); default {@code weight}
 * @param maxPriorityClaim claim holding the highest priority band the caller may ask for ({@code "interactive"} or
 *     {@code "batch"}, absent for the tenant's in {@code routing.flow}); default {@code maxPriority}
 */
public record JwtSettings(List<JwtKeySpec> keys, URI jwksUrl, Duration jwksRefresh, Duration jwksMinRefreshInterval,
    String issuer, List<String> audience, Duration leeway, String tenantClaim, String modelsClaim,
    String limitsClaim, String weightClaim, String maxPriorityClaim) {
  /** Identity providers rotate keys with days of overlap; 5 minutes picks up a new key well within that. */
  public static final Duration DEFAULT_JWKS_REFRESH = Duration.ofMinutes(5);
  /** A token with a new kid is accepted within this; also the most a flood of unknown kids can make us fetch. */
  public static final Duration DEFAULT_JWKS_MIN_REFRESH_INTERVAL = Duration.ofSeconds(30);
  /** Usual clock skew between an identity provider and a gateway host. */
  public static final Duration DEFAULT_LEEWAY = Duration.ofSeconds(30);
  public static final String DEFAULT_TENANT_CLAIM = "sub";
  public static final String DEFAULT_MODELS_CLAIM = "models";
  public static final String DEFAULT_LIMITS_CLAIM = "limits";
  /** The same word as a gateway key's field and {@code routing.flow.tenants.{tenant}.weight}. */
  public static final String DEFAULT_WEIGHT_CLAIM = "weight";
  /** The same word as a gateway key's field and {@code routing.flow.tenants.{tenant}.maxPriority}. */
  public static final String DEFAULT_MAX_PRIORITY_CLAIM = "maxPriority";

  public JwtSettings {
    keys = keys == null ? List.of() : List.copyOf(keys);
    audience = audience == null ? List.of() : List.copyOf(audience);
    jwksRefresh = positive("jwksRefresh", jwksRefresh, DEFAULT_JWKS_REFRESH);
    jwksMinRefreshInterval = positive("jwksMinRefreshInterval", jwksMinRefreshInterval,
        DEFAULT_JWKS_MIN_REFRESH_INTERVAL);
    leeway = leeway == null ? DEFAULT_LEEWAY : leeway;
    if (leeway.isNegative()) throw new IllegalArgumentException("auth.jwt.leeway: must not be negative");
    tenantClaim = tenantClaim == null ? DEFAULT_TENANT_CLAIM : tenantClaim;
    modelsClaim = modelsClaim == null ? DEFAULT_MODELS_CLAIM : modelsClaim;
    limitsClaim = limitsClaim == null ? DEFAULT_LIMITS_CLAIM : limitsClaim;
    weightClaim = weightClaim == null ? DEFAULT_WEIGHT_CLAIM : weightClaim;
    maxPriorityClaim = maxPriorityClaim == null ? DEFAULT_MAX_PRIORITY_CLAIM : maxPriorityClaim;
    if (jwksUrl != null && !("https".equalsIgnoreCase(jwksUrl.getScheme())
        || "http".equalsIgnoreCase(jwksUrl.getScheme())) || jwksUrl != null && jwksUrl.getHost() == null) {
      throw new IllegalArgumentException("auth.jwt.jwksUrl: \"" + jwksUrl + "\" is not an http(s) URL");
    }
  }

  /** Settings with every claim named by its default (the form before weight and band claims existed). */
  public JwtSettings(List<JwtKeySpec> keys, URI jwksUrl, Duration jwksRefresh, Duration jwksMinRefreshInterval,
      String issuer, List<String> audience, Duration leeway, String tenantClaim, String modelsClaim,
      String limitsClaim) {
    this(keys, jwksUrl, jwksRefresh, jwksMinRefreshInterval, issuer, audience, leeway, tenantClaim, modelsClaim,
        limitsClaim, null, null);
  }

  /** Settings with inline keys only and every default. */
  public static JwtSettings ofKeys(List<JwtKeySpec> keys) {
    return new JwtSettings(keys, null, null, null, null, null, null, null, null, null, null, null);
  }

  /** True when there is something to verify signatures with: inline keys or a JWKS URL. */
  public boolean hasKeySource() {
    return !keys.isEmpty() || jwksUrl != null;
  }

  private static Duration positive(String name, Duration d, Duration dflt) {
    if (d == null) return dflt;
    if (d.isNegative() || d.isZero()) throw new IllegalArgumentException("auth.jwt." + name + ": must be positive");
    return d;
  }
}
