package dev.sluice.config;

import static dev.sluice.config.ConfigReader.cut;
import static dev.sluice.config.ConfigReader.quote;
import static dev.sluice.config.ConfigReader.relativeTo;
import static dev.sluice.config.ConfigReader.show;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.auth.AuthMode;
import dev.sluice.auth.JwtKeySpec;
import dev.sluice.auth.JwtSettings;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The {@code auth} section: the auth mode, the gateway tokens file and JWT verification ({@code auth.jwt}). */
final class AuthSection {
  private static final List<String> AUTH_KEYS = List.of("mode", "keysFile", "jwt");
  private static final List<String> JWT_KEYS = List.of("keys", "jwksUrl", "jwksRefresh", "jwksMinRefreshInterval",
      "issuer", "audience", "leeway", "claims");
  private static final List<String> JWT_KEY_KEYS = List.of("alg", "kid", "pem", "pemFile", "secret", "secretFile");
  private static final List<String> CLAIM_KEYS = List.of("tenant", "models", "limits", "weight", "maxPriority");

  private final ConfigReader r;

  AuthSection(ConfigReader r) {
    this.r = r;
  }

  AuthSettings auth(JsonNode node, String source) {
    Path keysFile = source == null ? null : relativeTo(source, ConfigLoader.DEFAULT_KEYS_FILE);
    if (node == null) return AuthSettings.defaults().withKeysFile(keysFile);
    if (!r.isObject(node, "auth")) return AuthSettings.defaults();
    r.rejectUnknown(node, "auth", AUTH_KEYS);
    AuthMode mode = AuthSettings.DEFAULT_MODE;
    String m = r.optionalString(node, "auth", "mode", "\"none\", \"tokens\", \"jwt\" or \"tokens+jwt\"");
    if (m != null) {
      try {
        mode = AuthMode.parse(m);
      } catch (IllegalArgumentException e) {
        r.problem("auth.mode", show(node.get("mode")) + " must be \"none\" (demo only), \"tokens\", \"jwt\" or "
            + "\"tokens+jwt\"");
      }
    }
    String kf = r.optionalString(node, "auth", "keysFile", "the path of the gateway tokens file");
    if (kf != null) keysFile = source == null ? Path.of(kf) : relativeTo(source, kf);
    JwtSettings jwt = null;
    JsonNode j = node.get("jwt");
    if (j != null) {
      jwt = jwt(j, source);
      if (!mode.acceptsJwt()) {
        r.warning("auth.jwt", "ignored because auth.mode is \"" + mode.configName()
            + "\"; use \"jwt\" or \"tokens+jwt\" to accept JWTs");
        jwt = null;
      }
    } else if (mode.acceptsJwt()) {
      r.problem("auth.jwt", "missing; auth.mode \"" + mode.configName() + "\" needs auth.jwt.keys or auth.jwt.jwksUrl "
          + "(Sluice refuses to start with JWT enabled and nothing to verify signatures with)");
      return AuthSettings.defaults();
    }
    try {
      return new AuthSettings(mode, keysFile, jwt);
    } catch (IllegalArgumentException e) {
      r.settingsProblem(e);
      return AuthSettings.defaults();
    }
  }

  private JwtSettings jwt(JsonNode node, String source) {
    if (!r.isObject(node, "auth.jwt")) return null;
    r.rejectUnknown(node, "auth.jwt", JWT_KEYS);
    List<JwtKeySpec> keys = new ArrayList<>();
    JsonNode ks = node.get("keys");
    if (ks != null && r.isArray(ks, "auth.jwt.keys")) {
      for (int i = 0; i < ks.size(); i++) {
        JwtKeySpec k = jwtKey(ks.get(i), "auth.jwt.keys[" + i + "]", source);
        if (k != null) keys.add(k);
      }
    }
    URI jwks = null;
    String u = r.optionalString(node, "auth.jwt", "jwksUrl", "the URL of a JSON Web Key Set");
    if (u != null) {
      try {
        jwks = URI.create(u);
        if (!("https".equals(jwks.getScheme()) || "http".equals(jwks.getScheme())) || jwks.getHost() == null) {
          throw new IllegalArgumentException();
        }
      } catch (IllegalArgumentException e) {
        r.problem("auth.jwt.jwksUrl", quote(cut(u)) + " is not a URL (expected https://host/path/jwks.json)");
        jwks = null;
      }
    }
    if (keys.isEmpty() && jwks == null && ks == null && u == null) {
      r.problem("auth.jwt", "has no keys; set auth.jwt.keys or auth.jwt.jwksUrl (Sluice refuses to start with JWT "
          + "enabled and nothing to verify signatures with)");
    }
    List<String> audience = new ArrayList<>();
    JsonNode a = node.get("audience");
    if (a != null) {
      if (a.isTextual()) audience.add(a.asText());
      else if (r.isArray(a, "auth.jwt.audience")) {
        for (int i = 0; i < a.size(); i++) {
          if (a.get(i).isTextual()) audience.add(a.get(i).asText());
          else r.problem("auth.jwt.audience[" + i + "]", show(a.get(i)) + " must be a string");
        }
      }
    }
    String tenantClaim = null;
    String modelsClaim = null;
    String limitsClaim = null;
    String weightClaim = null;
    String maxPriorityClaim = null;
    JsonNode c = node.get("claims");
    if (c != null && r.isObject(c, "auth.jwt.claims")) {
      r.rejectUnknown(c, "auth.jwt.claims", CLAIM_KEYS);
      tenantClaim = r.optionalString(c, "auth.jwt.claims", "tenant", "the claim naming the tenant, e.g. \"sub\"");
      modelsClaim = r.optionalString(c, "auth.jwt.claims", "models", "the claim listing allowed models");
      limitsClaim = r.optionalString(c, "auth.jwt.claims", "limits", "the claim holding the tenant's limits");
      weightClaim = r.optionalString(c, "auth.jwt.claims", "weight",
          "the claim holding the caller's fair-share weight, e.g. \"weight\"");
      maxPriorityClaim = r.optionalString(c, "auth.jwt.claims", "maxPriority",
          "the claim holding the highest priority band the caller may ask for, e.g. \"maxPriority\"");
    }
    try {
      return new JwtSettings(keys, jwks,
          r.durationOrNull(node, "auth.jwt", "jwksRefresh"),
          r.durationOrNull(node, "auth.jwt", "jwksMinRefreshInterval"),
          r.optionalString(node, "auth.jwt", "issuer", "the expected iss claim"), audience,
          r.durationOrNull(node, "auth.jwt", "leeway"), tenantClaim, modelsClaim, limitsClaim, weightClaim,
          maxPriorityClaim);
    } catch (IllegalArgumentException e) {
      r.settingsProblem(e);
      return null;
    }
  }

  /** One JWT verification key; the secret's value is never shown in a message. */
  private JwtKeySpec jwtKey(JsonNode node, String path, String source) {
    if (!r.isObject(node, path)) return null;
    r.rejectUnknown(node, path, JWT_KEY_KEYS);
    String alg = r.optionalString(node, path, "alg", "\"RS256\", \"ES256\" or \"HS256\"");
    if (alg == null || !List.of("RS256", "ES256", "HS256").contains(alg)) {
      r.problem(path + ".alg", (alg == null ? "missing" : quote(cut(alg)) + " is not accepted")
          + "; use \"RS256\", \"ES256\" or \"HS256\"");
      return null;
    }
    String kid = r.optionalString(node, path, "kid", "the key id tokens name in their header");
    String pem = fileOrInline(node, path, "pem", "pemFile", source);
    String secret = fileOrInline(node, path, "secret", "secretFile", source);
    boolean hs = alg.equals("HS256");
    if (hs && secret == null) {
      r.problem(path, "HS256 needs \"secret\" or \"secretFile\" (at least 32 bytes)");
      return null;
    }
    if (!hs && pem == null) {
      r.problem(path, alg + " needs the public key as \"pem\" or \"pemFile\" (-----BEGIN PUBLIC KEY-----)");
      return null;
    }
    try {
      return new JwtKeySpec(alg, kid, hs ? null : pem, hs ? secret : null);
    } catch (IllegalArgumentException e) {
      r.problem(path, e.getMessage());
      return null;
    }
  }

  /** The text of {@code inlineKey}, or of the file named by {@code fileKey}; null when neither is set. */
  private String fileOrInline(JsonNode node, String path, String inlineKey, String fileKey, String source) {
    JsonNode inline = node.get(inlineKey);
    String file = r.optionalString(node, path, fileKey, "a file path");
    if (inline != null && file != null) {
      r.problem(path, "set either \"" + inlineKey + "\" or \"" + fileKey + "\", not both");
      return null;
    }
    if (inline != null) {
      if (inline.isTextual() && !inline.asText().isBlank()) return inline.asText();
      r.problem(path + "." + inlineKey, "must be a non-empty string");
      return null;
    }
    if (file == null) return null;
    Path p = source == null ? Path.of(file) : relativeTo(source, file);
    try {
      return Files.readString(p, StandardCharsets.UTF_8).trim();
    } catch (IOException | RuntimeException e) {
      r.problem(path + "." + fileKey, quote(cut(p.toString())) + " cannot be read (" + e.getClass().getSimpleName()
          + "); check the path and its permissions");
      return null;
    }
  }
}
