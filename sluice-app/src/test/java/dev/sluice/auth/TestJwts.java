package dev.sluice.auth;

import dev.sluice.support.Json;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.Key;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** Key pairs, PEM, JWKS entries and hand-made JWTs (java.security only) for the auth tests. */
final class TestJwts {
  static final String HS_SECRET = "0123456789abcdef0123456789abcdef-test-secret";
  private static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();

  private TestJwts() {}

  static KeyPair rsa() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(2048);
      return g.generateKeyPair();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static KeyPair ec() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static String pem(PublicKey key) {
    return "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
        .encodeToString(key.getEncoded()) + "\n-----END PUBLIC KEY-----\n";
  }

  static String privatePem(PrivateKey key) {
    return "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
        .encodeToString(key.getEncoded()) + "\n-----END PRIVATE KEY-----\n";
  }

  /** A JWKS entry for a public key. */
  static JsonObject jwk(PublicKey key, String kid) {
    JsonObject o = new JsonObject().put("kid", kid).put("use", "sig");
    if (key instanceof RSAPublicKey r) {
      return o.put("kty", "RSA").put("alg", "RS256").put("n", unsigned(r.getModulus(), 0))
          .put("e", unsigned(r.getPublicExponent(), 0));
    }
    ECPublicKey e = (ECPublicKey) key;
    return o.put("kty", "EC").put("crv", "P-256").put("x", unsigned(e.getW().getAffineX(), 32))
        .put("y", unsigned(e.getW().getAffineY(), 32));
  }

  private static String unsigned(BigInteger n, int len) {
    byte[] b = n.toByteArray();
    if (b.length > 1 && b[0] == 0) b = Arrays.copyOfRange(b, 1, b.length);
    if (b.length < len) {
      byte[] padded = new byte[len];
      System.arraycopy(b, 0, padded, len - b.length, b.length);
      b = padded;
    }
    return B64URL.encodeToString(b);
  }

  static Map<String, Object> header(String alg, String kid) {
    Map<String, Object> h = new LinkedHashMap<>();
    h.put("alg", alg);
    h.put("typ", "JWT");
    if (kid != null) h.put("kid", kid);
    return h;
  }

  /** Claims with tenant {@code sub} and exp {@code expSeconds} (epoch seconds). */
  static Map<String, Object> claims(String sub, long expSeconds) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("sub", sub);
    c.put("exp", expSeconds);
    return c;
  }

  /** A JWT signed with {@code key} by the JDK: RS256 (RSA private key), ES256 (EC private key) or HS256 (secret). */
  static String sign(Map<String, Object> header, Map<String, Object> claims, Key key) {
    String signingInput = segment(header) + "." + segment(claims);
    return signingInput + "." + B64URL.encodeToString(signature((String) header.get("alg"), key, signingInput));
  }

  static String segment(Map<String, Object> json) {
    try {
      return B64URL.encodeToString(Json.MAPPER.writeValueAsBytes(json));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] signature(String alg, Key key, String signingInput) {
    byte[] input = signingInput.getBytes(StandardCharsets.US_ASCII);
    try {
      switch (alg) {
        case "RS256" -> {
          Signature s = Signature.getInstance("SHA256withRSA");
          s.initSign((PrivateKey) key);
          s.update(input);
          return s.sign();
        }
        case "ES256" -> {
          // JWS wants R||S (64 bytes), which the JDK produces directly in P1363 format
          Signature s = Signature.getInstance("SHA256withECDSAinP1363Format");
          s.initSign((PrivateKey) key);
          s.update(input);
          return s.sign();
        }
        default -> {
          Mac mac = Mac.getInstance("HmacSHA256");
          mac.init(key);
          return mac.doFinal(input);
        }
      }
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static Key hmacKey(String secret) {
    return new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
  }

  /** The result of a future, or its failure cause thrown as is (AuthException stays an AuthException). */
  static <T> T await(Future<T> f) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) throw r;
      throw new IllegalStateException(e.getCause());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
