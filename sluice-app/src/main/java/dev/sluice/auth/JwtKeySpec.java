package dev.sluice.auth;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.Set;

/**
 * One configured JWT verification key (config {@code auth.jwt.keys[]}). A key is only ever used with its own alg, so a
 * token cannot make the gateway verify an HS256 MAC with an RSA public key.
 *
 * @param alg RS256, ES256 or HS256
 * @param kid key id matched against the token's {@code kid}; null for a key that any kid (or none) may use
 * @param pem for RS256 and ES256: the public key, {@code -----BEGIN PUBLIC KEY-----} (SubjectPublicKeyInfo); null for
 *     HS256
 * @param secret for HS256: the shared secret, at least {@link #MIN_HS256_SECRET_BYTES} bytes of UTF-8; null otherwise
 */
public record JwtKeySpec(String alg, String kid, String pem, String secret) {
  /** The algorithms Sluice verifies. */
  public static final Set<String> ALGS = Set.of("RS256", "ES256", "HS256");
  /** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits). */
  public static final int MIN_HS256_SECRET_BYTES = 32;

  public JwtKeySpec {
    if (alg == null || !ALGS.contains(alg)) {
      throw new IllegalArgumentException("alg: " + (alg == null ? "null" : "\"" + alg + "\"")
          + " is not supported (expected RS256, ES256 or HS256)");
    }
    if (kid != null && (kid.isEmpty() || kid.length() > 128)) {
      throw new IllegalArgumentException("kid: expected 1 to 128 characters, or no kid");
    }
    if (alg.equals("HS256")) {
      if (pem != null) throw new IllegalArgumentException("pem: HS256 uses secret, not pem");
      if (secret == null || secret.getBytes(StandardCharsets.UTF_8).length < MIN_HS256_SECRET_BYTES) {
        throw new IllegalArgumentException("secret: an HS256 secret must be at least " + MIN_HS256_SECRET_BYTES
            + " bytes (generate one with `openssl rand -base64 48`)");
      }
    } else {
      if (secret != null) throw new IllegalArgumentException("secret: " + alg + " uses pem (a public key), not secret");
      checkPublicKey(alg, pem);
    }
  }

  /** Leaves the secret out. */
  @Override
  public String toString() {
    return "JwtKeySpec[alg=" + alg + ", kid=" + kid + (pem != null ? ", pem" : "") + (secret != null ? ", secret" : "")
        + "]";
  }

  private static void checkPublicKey(String alg, String pem) {
    if (pem == null || !pem.strip().startsWith("-----BEGIN PUBLIC KEY-----")
        || !pem.strip().endsWith("-----END PUBLIC KEY-----")) {
      throw new IllegalArgumentException("pem: expected a public key in PEM form (-----BEGIN PUBLIC KEY----- …"
          + " -----END PUBLIC KEY-----; `openssl pkey -pubout` prints one)");
    }
    String body = pem.strip().replace("-----BEGIN PUBLIC KEY-----", "").replace("-----END PUBLIC KEY-----", "")
        .replaceAll("\\s", "");
    PublicKey key;
    try {
      byte[] der = Base64.getDecoder().decode(body);
      key = KeyFactory.getInstance(alg.equals("RS256") ? "RSA" : "EC").generatePublic(new X509EncodedKeySpec(der));
    } catch (IllegalArgumentException | GeneralSecurityException e) {
      throw new IllegalArgumentException("pem: not " + (alg.equals("RS256") ? "an RSA" : "an EC")
          + " public key (alg " + alg + " needs one)");
    }
    if (key instanceof ECPublicKey ec && ec.getParams().getCurve().getField().getFieldSize() != 256) {
      throw new IllegalArgumentException("pem: ES256 needs a P-256 key; this EC key has "
          + ec.getParams().getCurve().getField().getFieldSize() + " bits");
    }
  }
}
