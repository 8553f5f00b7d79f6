package dev.sluice.auth;

import dev.sluice.flow.Band;
import dev.sluice.limit.Limits;
import java.time.Instant;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A gateway key as stored: its public id and the SHA-256 of the secret, never the secret itself. Validation messages
 * start with the field name ({@code tenant: …}) so {@link KeyFile} can prefix where it was read.
 *
 * @param id public id, {@link KeyGenerator#PREFIX} plus 8 characters ({@code sk-sluice-AbCd1234}); unique
 * @param sha256Hex SHA-256 of the whole secret, 64 lowercase hex digits
 * @param tenant tenant id ({@link #isTenantId})
 * @param models models the key may use; empty means every model
 * @param limits the key's own limits; null means the config's limits for the tenant
 * @param weight the key's weight in fair share, 1 to {@link #MAX_WEIGHT}; 0 when it carries none (then
 *     {@code routing.flow.tenants.{tenant}.weight}, else {@code routing.flow.defaultWeight})
 * @param maxBand the highest priority band the key's requests may ask for; null when it carries none (then
 *     {@code routing.flow.tenants.{tenant}.maxPriority}, else interactive)
 * @param createdAt when the key was created
 * @param expiresAt after this instant the key is refused; null for never
 * @param revokedAt when the key was revoked; null while it is not
 * @param note free text for operators; may be null
 * @param resumeStreams false when the key's streams must never be continued on another node ({@code "resume": false}
 *     in the key file: strict provenance); true by default
 */
public record ApiKey(String id, String sha256Hex, String tenant, Set<String> models, Limits limits, int weight,
    Band maxBand, Instant createdAt, Instant expiresAt, Instant revokedAt, String note, boolean resumeStreams) {
  private static final Pattern TENANT_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}");
  private static final Pattern ID = Pattern.compile(Pattern.quote(KeyGenerator.PREFIX) + "[A-Za-z0-9]{8}");
  private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");

  /** What a tenant id may contain, for error messages. */
  static final String TENANT_ID_RULE = "letters, digits, . _ : @ -; starting with a letter or digit; at most 64";

  /**
   * Highest weight a key or token may carry. Weights are relative (a tenant not configured weighs
   * {@code routing.flow.defaultWeight}, 1 by default): 1000 already lets one caller dispatch 1000× another's GPU time
   * per round-robin turn, more than any useful share, and the bound keeps a typo (1000000) from making one caller's
   * turn last until everyone else's requests time out.
   */
  public static final int MAX_WEIGHT = 1000;

  /** What a weight may be, for error messages. */
  public static final String WEIGHT_RULE = "a whole number from 1 to " + MAX_WEIGHT;

  /** What a highest band may be, for error messages. */
  public static final String BAND_RULE = "interactive or batch";

  public ApiKey {
    if (id == null || !ID.matcher(id).matches()) {
      throw new IllegalArgumentException("id: " + quote(id) + " is not a key id (expected " + KeyGenerator.PREFIX
          + " and 8 letters or digits)");
    }
    if (sha256Hex == null || !SHA256_HEX.matcher(sha256Hex).matches()) {
      throw new IllegalArgumentException("sha256: not a SHA-256 digest (expected 64 lowercase hex digits)");
    }
    requireTenantId(tenant);
    models = models == null ? Set.of() : Set.copyOf(models);
    if (weight != 0 && !isWeight(weight)) {
      throw new IllegalArgumentException("weight: " + weight + " is not a weight (expected " + WEIGHT_RULE
          + "; leave it out for the tenant's weight in routing.flow)");
    }
    Objects.requireNonNull(createdAt, "createdAt");
  }

  /** A key whose streams may be continued (the default). */
  public ApiKey(String id, String sha256Hex, String tenant, Set<String> models, Limits limits, int weight,
      Band maxBand, Instant createdAt, Instant expiresAt, Instant revokedAt, String note) {
    this(id, sha256Hex, tenant, models, limits, weight, maxBand, createdAt, expiresAt, revokedAt, note, true);
  }

  /** A key without a weight or band of its own. */
  public ApiKey(String id, String sha256Hex, String tenant, Set<String> models, Limits limits, Instant createdAt,
      Instant expiresAt, Instant revokedAt, String note) {
    this(id, sha256Hex, tenant, models, limits, 0, null, createdAt, expiresAt, revokedAt, note);
  }

  /** True when {@code w} is a weight a key or token may carry: 1 to {@link #MAX_WEIGHT}. */
  public static boolean isWeight(long w) {
    return w >= 1 && w <= MAX_WEIGHT;
  }

  /** True when {@code s} is a valid tenant id: {@code [A-Za-z0-9][A-Za-z0-9._:@-]{0,63}}. */
  public static boolean isTenantId(String s) {
    return s != null && TENANT_ID.matcher(s).matches();
  }

  static void requireTenantId(String tenant) {
    if (!isTenantId(tenant)) {
      throw new IllegalArgumentException("tenant: " + quote(tenant) + " is not a tenant id (" + TENANT_ID_RULE + ")");
    }
  }

  /** True when the key is neither revoked nor expired at {@code nowMillis} (epoch milliseconds). */
  public boolean active(long nowMillis) {
    return revokedAt == null && !expiredAt(nowMillis);
  }

  boolean expiredAt(long nowMillis) {
    return expiresAt != null && nowMillis >= expiresAt.toEpochMilli();
  }

  /** This key revoked at {@code at}; a key already revoked keeps its first revocation time. */
  public ApiKey revoked(Instant at) {
    Objects.requireNonNull(at, "at");
    if (revokedAt != null) return this;
    return new ApiKey(id, sha256Hex, tenant, models, limits, weight, maxBand, createdAt, expiresAt, at, note,
        resumeStreams);
  }

  /** Everything but the hash. */
  @Override
  public String toString() {
    return "ApiKey[id=" + id + ", tenant=" + tenant + ", models=" + models + ", limits=" + limits + ", weight=" + weight
        + ", maxBand=" + maxBand + ", createdAt=" + createdAt + ", expiresAt=" + expiresAt + ", revokedAt=" + revokedAt
        + ", note=" + note + (resumeStreams ? "" : ", resume=false") + "]";
  }

  private static String quote(String s) {
    return s == null ? "null" : "\"" + s + "\"";
  }
}
