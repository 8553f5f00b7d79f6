package dev.sluice.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A throw-away test CA and certificates it signed, made with the {@code openssl} CLI (the same commands as
 * docs/tls.md). Everything lives in the directory given to {@link #create}, usually a JUnit {@code @TempDir}.
 */
public final class TestCerts {
  private final Path dir;
  public final Path caCert;
  private final Path caKey;

  private TestCerts(Path dir) {
    this.dir = dir;
    this.caCert = dir.resolve("ca.pem");
    this.caKey = dir.resolve("ca.key");
  }

  /** A PEM certificate chain and its key. */
  public record Pair(Path cert, Path key) {}

  /** Makes a test CA (RSA 2048, valid 2 days) in {@code dir}. */
  public static TestCerts create(Path dir) {
    TestCerts certs = new TestCerts(dir);
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Sluice Test CA",
        "-keyout", certs.caKey.toString(), "-out", certs.caCert.toString());
    return certs;
  }

  /** A server certificate for {@code localhost} and {@code 127.0.0.1}, signed by the test CA. */
  public Pair localhost() {
    return server("localhost", "DNS:localhost,IP:127.0.0.1");
  }

  /**
   * A server certificate named {@code name} whose subjectAltName is {@code san} (e.g. {@code DNS:other.example}),
   * signed by the test CA.
   */
  public Pair server(String name, String san) {
    Path key = dir.resolve(name + ".key");
    Path csr = dir.resolve(name + ".csr");
    Path cert = dir.resolve(name + ".pem");
    Path ext = dir.resolve(name + ".ext");
    write(ext, "subjectAltName=" + san + "\nextendedKeyUsage=serverAuth\n");
    openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name, "-keyout", key.toString(), "-out",
        csr.toString());
    openssl(dir, "x509", "-req", "-in", csr.toString(), "-CA", caCert.toString(), "-CAkey", caKey.toString(),
        "-CAcreateserial", "-days", "2", "-extfile", ext.toString(), "-out", cert.toString());
    return new Pair(cert, key);
  }

  /** A certificate signed by nobody we trust (its own self-signed CA), for {@code localhost} and 127.0.0.1. */
  public static Pair untrusted(Path dir) {
    return create(dir).localhost();
  }

  /** A JDK client context that trusts only the test CA. */
  public SSLContext clientContext() {
    try (InputStream in = Files.newInputStream(caCert)) {
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      List<Certificate> cas = new ArrayList<>(CertificateFactory.getInstance("X.509").generateCertificates(in));
      for (int i = 0; i < cas.size(); i++) trust.setCertificateEntry("ca" + i, cas.get(i));
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (Exception e) {
      throw new IllegalStateException("cannot build an SSLContext from " + caCert, e);
    }
  }

  /** Whether the {@code openssl} CLI is on the PATH (test.sh installs it). */
  public static boolean opensslAvailable() {
    try {
      Process p = new ProcessBuilder("openssl", "version").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static void write(Path file, String text) {
    try {
      Files.writeString(file, text, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void openssl(Path dir, String... args) {
    List<String> command = new ArrayList<>();
    command.add("openssl");
    command.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", command) + " failed: " + out
            + " (is openssl installed? ./test.sh installs it)");
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot run openssl (install it: apt-get install openssl; ./test.sh does)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
