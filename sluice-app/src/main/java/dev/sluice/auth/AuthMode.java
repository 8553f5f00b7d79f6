package dev.sluice.auth;

import java.util.Locale;

/** Which credentials the data plane accepts (config {@code auth.mode}). */
public enum AuthMode {
  /** No authentication: every request is {@link Principal#anonymous()}. */
  NONE("none"),
  /** Gateway keys ({@code sk-sluice-…}) only. */
  TOKENS("tokens"),
  /** JWTs only. */
  JWT("jwt"),
  /** Gateway keys and JWTs. */
  TOKENS_AND_JWT("tokens+jwt");

  private final String configName;

  AuthMode(String configName) {
    this.configName = configName;
  }

  /** The mode for its config name ({@code none}, {@code tokens}, {@code jwt}, {@code tokens+jwt}; case-insensitive). */
  public static AuthMode parse(String s) {
    if (s != null) {
      String wanted = s.trim().toLowerCase(Locale.ROOT);
      for (AuthMode m : values()) {
        if (m.configName.equals(wanted)) return m;
      }
    }
    throw new IllegalArgumentException("auth.mode: " + (s == null ? "null" : "\"" + s + "\"")
        + " is not a mode (expected one of none, tokens, jwt, tokens+jwt)");
  }

  /** The name used in the config file. */
  public String configName() {
    return configName;
  }

  /** True when gateway keys are accepted. */
  public boolean acceptsKeys() {
    return this == TOKENS || this == TOKENS_AND_JWT;
  }

  /** True when JWTs are accepted (a {@link JwtVerifier} is needed). */
  public boolean acceptsJwt() {
    return this == JWT || this == TOKENS_AND_JWT;
  }
}
