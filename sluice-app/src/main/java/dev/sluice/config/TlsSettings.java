package dev.sluice.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * The gateway's own HTTPS listener: a PEM certificate chain and its PEM private key, and an optional plain-HTTP port
 * that only redirects to HTTPS. See docs/tls.md for generating a test certificate.
 *
 * @param certFile PEM certificate chain, server certificate first (absolute: the loader resolves relative paths)
 * @param keyFile PEM private key of the certificate (PKCS#8, or PKCS#1 RSA / SEC1 EC)
 * @param redirectHttpPort plain-HTTP port answering every request with 308 to HTTPS; null = no such listener, 0 = any
 *     free port (tests)
 * @param hstsMaxAge {@code Strict-Transport-Security} max-age on every HTTPS answer; zero = no such header
 */
public record TlsSettings(Path certFile, Path keyFile, Integer redirectHttpPort, Duration hstsMaxAge) {
  /**
   * One year: browsers then keep to HTTPS across long absences (the value HSTS preload lists ask for); a gateway that
   * serves HTTPS itself has no reason to be reached over plain HTTP again.
   */
  public static final Duration DEFAULT_HSTS_MAX_AGE = Duration.ofDays(365);

  public TlsSettings {
    Objects.requireNonNull(certFile, "certFile");
    Objects.requireNonNull(keyFile, "keyFile");
    if (redirectHttpPort != null && (redirectHttpPort < 0 || redirectHttpPort > 65_535)) {
      throw new IllegalArgumentException("server.tls.redirectHttpPort: " + redirectHttpPort
          + " must be a TCP port 1..65535");
    }
    if (hstsMaxAge == null) hstsMaxAge = DEFAULT_HSTS_MAX_AGE;
    if (hstsMaxAge.isNegative()) {
      throw new IllegalArgumentException("server.tls.hstsMaxAge: " + hstsMaxAge + " must not be negative");
    }
  }

  /** With the default HSTS max-age. */
  public TlsSettings(Path certFile, Path keyFile, Integer redirectHttpPort) {
    this(certFile, keyFile, redirectHttpPort, DEFAULT_HSTS_MAX_AGE);
  }

  /** HTTPS only, no redirect listener. */
  public TlsSettings(Path certFile, Path keyFile) {
    this(certFile, keyFile, null);
  }
}
