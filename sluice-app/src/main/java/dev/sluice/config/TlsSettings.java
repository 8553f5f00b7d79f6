package dev.sluice.config;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The gateway's own HTTPS listener: a PEM certificate chain and its PEM private key, and an optional plain-HTTP port
 * that only redirects to HTTPS. See docs/tls.md for generating a test certificate.
 *
 * @param certFile PEM certificate chain, server certificate first (absolute: the loader resolves relative paths)
 * @param keyFile PEM private key of the certificate (PKCS#8, or PKCS#1 RSA / SEC1 EC)
 * @param redirectHttpPort plain-HTTP port answering every request with 308 to HTTPS; null = no such listener, 0 = any
 *     free port (tests)
 */
public record TlsSettings(Path certFile, Path keyFile, Integer redirectHttpPort) {
  public TlsSettings {
    Objects.requireNonNull(certFile, "certFile");
    Objects.requireNonNull(keyFile, "keyFile");
    if (redirectHttpPort != null && (redirectHttpPort < 0 || redirectHttpPort > 65_535)) {
      throw new IllegalArgumentException("server.tls.redirectHttpPort: " + redirectHttpPort
          + " must be a TCP port 1..65535");
    }
  }

  /** HTTPS only, no redirect listener. */
  public TlsSettings(Path certFile, Path keyFile) {
    this(certFile, keyFile, null);
  }
}
