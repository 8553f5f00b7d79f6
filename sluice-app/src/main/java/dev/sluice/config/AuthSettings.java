package dev.sluice.config;

import dev.sluice.auth.AuthMode;
import dev.sluice.auth.JwtSettings;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Who may call the data plane.
 *
 * @param mode none (demo only), tokens (gateway API keys), jwt, or tokens+jwt
 * @param keysFile where gateway tokens' hashes live (written by {@code sluice keys} and the admin API, re-read within a
 *     second of a change); null = no keys file (keys created through the admin API then live in memory only)
 * @param jwt JWT verification settings; null unless the mode accepts JWTs
 */
public record AuthSettings(AuthMode mode, Path keysFile, JwtSettings jwt) {
  /** Secure by default: a config without an {@code auth} section needs gateway tokens. */
  public static final AuthMode DEFAULT_MODE = AuthMode.TOKENS;
  private static final AuthSettings DEFAULTS = new AuthSettings(DEFAULT_MODE, null, null);
  private static final AuthSettings NONE = new AuthSettings(AuthMode.NONE, null, null);

  public AuthSettings {
    Objects.requireNonNull(mode, "mode");
    if (mode.acceptsJwt() && (jwt == null || !jwt.hasKeySource())) {
      throw new IllegalArgumentException("auth.jwt: no keys configured (set auth.jwt.keys or auth.jwt.jwksUrl); "
          + "refusing to start with JWT enabled and nothing to verify signatures with");
    }
  }

  /** Gateway tokens, no keys file. */
  public static AuthSettings defaults() {
    return DEFAULTS;
  }

  /** No authentication (the demo and tests). */
  public static AuthSettings none() {
    return NONE;
  }

  /** This with another keys file. */
  public AuthSettings withKeysFile(Path file) {
    return new AuthSettings(mode, file, jwt);
  }
}
