package dev.sluice.auth;

import dev.sluice.flow.Band;
import dev.sluice.limit.Limits;
import dev.sluice.support.Sha256;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Set;

/**
 * New gateway keys and admin tokens. A key is {@link #PREFIX} plus 40 base62 characters (238 bits from SecureRandom);
 * its public id is the prefix plus the first 8 of them, which lets a lookup find the key without scanning and lets logs
 * name a key without revealing it.
 */
public final class KeyGenerator {
  /** Every gateway key starts with this. */
  public static final String PREFIX = "sk-sluice-";
  /** Every admin token starts with this. */
  public static final String ADMIN_PREFIX = "sluice-admin-";
  /** Random characters after the prefix. */
  static final int RANDOM_CHARS = 40;
  /** Random characters that are part of the public id. */
  static final int ID_CHARS = 8;

  private static final char[] BASE62 =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();
  private static final SecureRandom RANDOM = new SecureRandom();

  private KeyGenerator() {}

  /**
   * A new key: the secret (show it once, then forget it) and the record to store.
   *
   * @param secret the whole key, to hand to the client
   * @param key what is stored: id and hash only
   */
  public record Created(String secret, ApiKey key) {
    /** Names the key, never the secret. */
    @Override
    public String toString() {
      return "Created[secret=" + key.id() + "…, key=" + key + "]";
    }
  }

  /**
   * Creates a key for {@code tenant}.
   *
   * @param models models it may use; null or empty for every model
   * @param limits its own limits; null for the config's limits of the tenant
   * @param expiresAt when it stops working; null for never
   * @param note free text; may be null
   * @param now creation time
   */
  public static Created create(String tenant, Set<String> models, Limits limits, Instant expiresAt, String note,
      Instant now) {
    return create(tenant, models, limits, 0, null, expiresAt, note, now);
  }

  /**
   * Creates a key for {@code tenant} that carries its own fair-share weight and highest priority band.
   *
   * @param weight 1 to {@link ApiKey#MAX_WEIGHT}; 0 for the tenant's weight in {@code routing.flow}
   * @param maxBand the highest band its requests may ask for; null for the tenant's in {@code routing.flow}
   * @see #create(String, Set, Limits, Instant, String, Instant)
   */
  public static Created create(String tenant, Set<String> models, Limits limits, int weight, Band maxBand,
      Instant expiresAt, String note, Instant now) {
    Objects.requireNonNull(now, "now");
    ApiKey.requireTenantId(tenant);
    String secret = PREFIX + randomBase62(RANDOM_CHARS);
    ApiKey key = new ApiKey(idOf(secret), sha256Hex(secret), tenant, models, limits, weight, maxBand, now, expiresAt,
        null, note);
    return new Created(secret, key);
  }

  /** The public id of a presented token ({@code sk-sluice-} plus 8 characters), or null when it cannot be a key. */
  public static String idOf(String token) {
    if (token == null || token.length() < PREFIX.length() + ID_CHARS || !token.startsWith(PREFIX)) return null;
    return token.substring(0, PREFIX.length() + ID_CHARS);
  }

  /** A new admin credential: {@link #ADMIN_PREFIX} plus 40 base62 characters. */
  public static String newAdminToken() {
    return ADMIN_PREFIX + randomBase62(RANDOM_CHARS);
  }

  /** SHA-256 of the UTF-8 bytes of {@code s}, as 64 lowercase hex digits. */
  public static String sha256Hex(String s) {
    return HexFormat.of().formatHex(sha256(s));
  }

  static byte[] sha256(String s) {
    return Sha256.digest().digest(s.getBytes(StandardCharsets.UTF_8));
  }

  private static String randomBase62(int n) {
    char[] out = new char[n];
    byte[] buf = new byte[n * 2];
    int filled = 0;
    while (filled < n) {
      RANDOM.nextBytes(buf);
      for (int i = 0; i < buf.length && filled < n; i++) {
        int b = buf[i] & 0xFF;
        if (b < 248) out[filled++] = BASE62[b % 62]; // 248 = 4 × 62: rejecting the rest keeps every char equally likely
      }
    }
    return new String(out);
  }
}
