package dev.sluice.server;

import io.vertx.core.http.HttpServerRequest;
import java.nio.charset.StandardCharsets;

/**
 * Who a request belongs to, for rate limits and the response cache key. Until gateway tokens map keys to named
 * tenants, a tenant is the caller's API key: {@code key-} and the first 8 hex digits of the key's SHA-256 (the key
 * itself is never kept, logged or used as a label); requests without a key share the tenant {@value #ANONYMOUS}.
 */
final class Tenants {
  static final String ANONYMOUS = "anonymous";
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private Tenants() {}

  static String of(HttpServerRequest req) {
    String key = null;
    String auth = req.getHeader("Authorization");
    if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) key = auth.substring(7).trim();
    if (key == null || key.isEmpty()) key = req.getHeader("x-api-key");
    if (key == null || key.isBlank()) return ANONYMOUS;
    return "key-" + shortHash(key.trim());
  }

  static String shortHash(String secret) {
    byte[] d = dev.sluice.support.Sha256.digest().digest(secret.getBytes(StandardCharsets.UTF_8));
    char[] out = new char[8];
    for (int i = 0; i < 4; i++) {
      out[2 * i] = HEX[(d[i] >> 4) & 0xf];
      out[2 * i + 1] = HEX[d[i] & 0xf];
    }
    return new String(out);
  }
}
