package dev.sluice.security;

import dev.sluice.support.Json;
import dev.sluice.testkit.SecretLedger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.interfaces.RSAPublicKey;
import java.util.Base64;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** Makes JWTs for tests, including malformed and hostile ones, with real RS256 and HS256 signatures. */
final class Jwts {
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

  private Jwts() {}

  static KeyPair rsa() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    return g.generateKeyPair();
  }

  static String publicPem(KeyPair kp) {
    return "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
        .encodeToString(kp.getPublic().getEncoded()) + "\n-----END PUBLIC KEY-----\n";
  }

  /** The JWK (public part) of an RSA key, for a JWKS document. */
  static Map<String, Object> jwk(KeyPair kp, String kid) {
    RSAPublicKey k = (RSAPublicKey) kp.getPublic();
    return Map.of("kty", "RSA", "kid", kid, "alg", "RS256", "use", "sig",
        "n", B64.encodeToString(unsigned(k.getModulus().toByteArray())),
        "e", B64.encodeToString(unsigned(k.getPublicExponent().toByteArray())));
  }

  private static byte[] unsigned(byte[] b) {
    return b.length > 1 && b[0] == 0 ? java.util.Arrays.copyOfRange(b, 1, b.length) : b;
  }

  static String rs256(KeyPair kp, Map<String, Object> header, Map<String, Object> claims) throws Exception {
    String input = segment(header) + "." + segment(claims);
    Signature s = Signature.getInstance("SHA256withRSA");
    s.initSign(kp.getPrivate());
    s.update(input.getBytes(StandardCharsets.US_ASCII));
    return SecretLedger.secret(input + "." + B64.encodeToString(s.sign()));
  }

  static String hs256(byte[] secret, Map<String, Object> header, Map<String, Object> claims) throws Exception {
    String input = segment(header) + "." + segment(claims);
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret, "HmacSHA256"));
    return SecretLedger.secret(input + "." + B64.encodeToString(mac.doFinal(input.getBytes(StandardCharsets.US_ASCII))));
  }

  static String unsigned(Map<String, Object> header, Map<String, Object> claims) throws Exception {
    return SecretLedger.secret(segment(header) + "." + segment(claims) + ".");
  }

  static String segment(Map<String, Object> json) throws Exception {
    return B64.encodeToString(Json.MAPPER.writeValueAsBytes(json));
  }

  static long now() {
    return System.currentTimeMillis() / 1000;
  }
}
