package dev.sluice.server;

import dev.sluice.config.TlsSettings;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.net.PemKeyCertOptions;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.Locale;
import java.util.regex.Pattern;
import javax.net.ssl.X509KeyManager;

/**
 * The HTTPS side of the gateway's listener: server options from {@code server.tls} (certificate and key loaded and
 * checked before listening, so a bad file fails start with its name), the {@code Strict-Transport-Security} header of
 * its answers, and the plain-HTTP listener that only redirects (and never sends that header: browsers ignore it over
 * plain HTTP, RFC 6797 §8.1).
 */
final class TlsListeners {
  static final String HSTS_HEADER = "Strict-Transport-Security";
  /** A host name or IPv4 address, or a bracketed IPv6 literal: what may appear before the port in a Host header. */
  private static final Pattern HOST = Pattern.compile("[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\\[[0-9A-Fa-f:.]{2,45}\\]");
  private static final Pattern PORT_SUFFIX = Pattern.compile(":\\d{1,5}");
  private static final int HTTPS_DEFAULT_PORT = 443;

  private TlsListeners() {}

  /** The certificate or key cannot be used; the message names the file and the fix. */
  static final class CertificateProblem extends Exception {
    CertificateProblem(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * {@code options} made HTTPS with the PEM files of {@code tls}: read now, parsed now, and the key checked against the
   * certificate, so that no file problem surfaces as a failed handshake later.
   */
  static HttpServerOptions https(Vertx vertx, HttpServerOptions options, TlsSettings tls) throws CertificateProblem {
    PemKeyCertOptions pem = new PemKeyCertOptions()
        .setCertValue(read(tls.certFile(), "server.tls.certFile"))
        .setKeyValue(read(tls.keyFile(), "server.tls.keyFile"));
    X509KeyManager keys;
    String alias;
    try {
      alias = pem.loadKeyStore(vertx).aliases().nextElement();
      keys = (X509KeyManager) pem.getKeyManagerFactory(vertx).getKeyManagers()[0];
    } catch (Exception e) {
      // Vert.x names the PEM block it missed; its messages never hold the key's text.
      throw new CertificateProblem("server.tls: cannot load certFile " + tls.certFile() + " with keyFile "
          + tls.keyFile() + ": " + e.getMessage() + " (expected a PEM certificate chain and its unencrypted PEM private "
          + "key; see docs/tls.md)");
    }
    checkKeyMatchesCertificate(keys.getPrivateKey(alias), keys.getCertificateChain(alias), tls);
    return options.setSsl(true).setKeyCertOptions(pem).setUseAlpn(false);
  }

  /**
   * The {@code Strict-Transport-Security} value for answers over HTTPS with {@code tls}: {@code max-age=<seconds>};
   * null when {@code server.tls.hstsMaxAge} is 0 (or under a second). No {@code includeSubDomains}: the gateway
   * cannot know what else runs under its domain.
   */
  static String hsts(TlsSettings tls) {
    if (tls == null) return null;
    long seconds = tls.hstsMaxAge().toSeconds();
    return seconds <= 0 ? null : "max-age=" + seconds;
  }

  private static Buffer read(Path file, String key) throws CertificateProblem {
    try {
      return Buffer.buffer(Files.readAllBytes(file));
    } catch (IOException e) {
      throw new CertificateProblem(key + ": " + file + " cannot be read (" + e.getClass().getSimpleName()
          + "; check that it exists and is readable by the gateway's user)");
    }
  }

  /** Signs a challenge with the key and verifies it with the certificate: a mismatch is the commonest mix-up. */
  private static void checkKeyMatchesCertificate(PrivateKey privateKey, X509Certificate[] chain, TlsSettings tls)
      throws CertificateProblem {
    if (privateKey == null || chain == null || chain.length == 0) return;
    try {
      PublicKey publicKey = chain[0].getPublicKey();
      String algorithm = switch (privateKey.getAlgorithm()) {
        case "RSA" -> "SHA256withRSA";
        case "EC" -> "SHA256withECDSA";
        case "Ed25519", "EdDSA" -> "Ed25519";
        default -> null;
      };
      if (algorithm == null) return;
      byte[] challenge = "sluice key check".getBytes(StandardCharsets.US_ASCII);
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(privateKey);
      signer.update(challenge);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(publicKey);
      verifier.update(challenge);
      if (!verifier.verify(signature)) throw new GeneralSecurityException("mismatch");
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new CertificateProblem("server.tls.keyFile: " + tls.keyFile() + " is not the private key of the first "
          + "certificate in certFile " + tls.certFile() + " (give the key the certificate was issued for)");
    }
  }

  /**
   * Answers a plain-HTTP request with 308 to the same host, path and query over HTTPS, or 400 when the Host header is
   * missing or not a host; never reads the body and closes the connection after.
   */
  static void redirect(HttpServerRequest request, int httpsPort) {
    HttpServerResponse resp = request.response().putHeader(HttpHeaders.CONNECTION, "close");
    String location = location(request.getHeader(HttpHeaders.HOST), httpsPort, request.uri());
    if (location == null) {
      resp.setStatusCode(400).putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
          .end("400 Bad Request: missing or invalid Host header (this port only redirects to HTTPS)\n");
      return;
    }
    resp.setStatusCode(308).putHeader(HttpHeaders.LOCATION, location).end();
  }

  /**
   * {@code https://<host of the Host header>:<httpsPort><path and query>}, the port left out when 443; null when the
   * Host header is missing or malformed.
   */
  static String location(String hostHeader, int httpsPort, String requestTarget) {
    if (hostHeader == null) return null;
    String h = hostHeader.trim();
    int portAt = h.startsWith("[") ? h.indexOf(']') + 1 : h.indexOf(':');
    if (portAt == 0) return null; // "[" without "]"
    String name = portAt < 0 ? h : h.substring(0, portAt);
    String portPart = portAt < 0 ? "" : h.substring(portAt);
    if (!HOST.matcher(name).matches() || !(portPart.isEmpty() || PORT_SUFFIX.matcher(portPart).matches())) {
      return null;
    }
    String port = httpsPort == HTTPS_DEFAULT_PORT ? "" : ":" + httpsPort;
    return "https://" + name.toLowerCase(Locale.ROOT) + port + pathAndQuery(requestTarget);
  }

  /** The origin-form of a request target ({@code /path?query}); absolute-form is cut to its path and query. */
  private static String pathAndQuery(String target) {
    if (target == null || target.isEmpty() || target.equals("*")) return "/";
    if (target.startsWith("/")) return target;
    try {
      URI uri = new URI(target);
      String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
      return uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
    } catch (URISyntaxException e) {
      return "/";
    }
  }
}
