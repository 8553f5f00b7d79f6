package dev.sluice.config;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The admin plane: {@code /admin/*}, {@code /console} and (unless made public) {@code /metrics}.
 *
 * @param tokenSha256 lower-case hex SHA-256 of the admin token; null = no admin token (the admin plane is closed,
 *     except with {@code auth.mode: none}, where it is open with a warning)
 * @param host bind address of the separate admin listener
 * @param port separate admin listener's port; {@link #SAME_LISTENER} serves the admin plane on the main listener,
 *     0 = any free port (tests)
 * @param protectMetrics whether {@code /metrics} needs the admin token too
 * @param allowNodeNetworks CIDR ranges that node URLs added through the admin API may point at although they are
 *     link-local or cloud-metadata addresses (refused otherwise)
 */
public record AdminSettings(String tokenSha256, String host, int port, boolean protectMetrics,
    List<String> allowNodeNetworks) {
  public static final int SAME_LISTENER = -1;
  /** A separate admin listener is reachable from this machine only, unless configured otherwise. */
  public static final String DEFAULT_HOST = "127.0.0.1";
  private static final AdminSettings DEFAULTS = new AdminSettings(null, DEFAULT_HOST, SAME_LISTENER, true, List.of());

  public AdminSettings {
    Objects.requireNonNull(host, "host");
    allowNodeNetworks = allowNodeNetworks == null ? List.of() : List.copyOf(allowNodeNetworks);
    if (tokenSha256 != null) {
      tokenSha256 = tokenSha256.toLowerCase(Locale.ROOT);
      if (!tokenSha256.matches("[0-9a-f]{64}")) {
        throw new IllegalArgumentException("admin.tokenSha256: not a SHA-256 in hex (64 hex digits); "
            + "`sluice keys admin-token` prints a token and its hash");
      }
    }
  }

  public static AdminSettings defaults() {
    return DEFAULTS;
  }

  /** Whether an admin token is configured. */
  public boolean hasToken() {
    return tokenSha256 != null;
  }

  /** Whether the admin plane has its own listener. */
  public boolean separateListener() {
    return port != SAME_LISTENER;
  }

  public AdminSettings withToken(String sha256Hex) {
    return new AdminSettings(sha256Hex, host, port, protectMetrics, allowNodeNetworks);
  }

  public AdminSettings withListener(String host, int port) {
    return new AdminSettings(tokenSha256, host, port, protectMetrics, allowNodeNetworks);
  }
}
