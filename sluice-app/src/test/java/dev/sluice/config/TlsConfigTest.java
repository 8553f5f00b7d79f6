package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code server.tls} and {@code upstream.tls}: paths resolved next to the config file, files checked at load. */
class TlsConfigTest {
  private static final String PROVIDERS =
      "\"providers\": {\"local\": {\"baseUrl\": \"https://127.0.0.1:8443/v1\", \"models\": [{\"id\": \"qwen3:32b\"}]}}";
  /** Not a real key: a recognisable marker that must never appear in a message. */
  private static final String KEY_TEXT = "-----BEGIN PRIVATE KEY-----\nSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n";

  @TempDir
  Path dir;

  @BeforeEach
  void files() throws Exception {
    Files.writeString(dir.resolve("cert.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    Files.writeString(dir.resolve("key.pem"), KEY_TEXT);
    Files.writeString(dir.resolve("ca.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  }

  private SluiceConfig load(String json) throws Exception {
    Path file = dir.resolve("sluice.json");
    Files.writeString(file, json);
    return ConfigLoader.load(file);
  }

  private List<String> problems(String json) {
    try {
      load(json);
    } catch (ConfigException e) {
      return e.problems();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    throw new AssertionError("expected a ConfigException for " + json);
  }

  @Test
  void relativePathsAreResolvedAgainstTheConfigFilesDirectory() throws Exception {
    SluiceConfig c = load("{\"server\": {\"port\": 8443, \"tls\": {\"certFile\": \"cert.pem\", \"keyFile\": \"key.pem\", "
        + "\"redirectHttpPort\": 8080}}, \"upstream\": {\"tls\": {\"caFile\": \"ca.pem\"}}, " + PROVIDERS + "}");
    assertThat(c.server().tls()).isEqualTo(new TlsSettings(dir.resolve("cert.pem").toAbsolutePath(),
        dir.resolve("key.pem").toAbsolutePath(), 8080));
    assertThat(c.upstream().tls()).isEqualTo(new UpstreamTls(dir.resolve("ca.pem").toAbsolutePath(), true));
  }

  @Test
  void withoutTlsBlocksTheGatewayIsPlainHttpAndTrustsTheJvmStore() throws Exception {
    SluiceConfig c = load("{" + PROVIDERS + "}");
    assertThat(c.server().tls()).isNull();
    assertThat(c.upstream().tls()).isEqualTo(UpstreamTls.defaults());
    assertThat(c.upstream()).isEqualTo(UpstreamSettings.defaults());
  }

  @Test
  void aMissingKeyFileIsNamedWithThePathAndWhereToGenerateOne() {
    Path missing = dir.resolve("nope/key.pem").toAbsolutePath();
    assertThat(problems("{\"server\": {\"tls\": {\"certFile\": \"cert.pem\", \"keyFile\": \"nope/key.pem\"}}, "
        + PROVIDERS + "}")).containsExactly("config: server.tls.keyFile: " + missing
        + " does not exist (generate a test certificate: see docs/tls.md)");
  }

  @Test
  void aCertificateWithoutAKeyIsRefused() {
    assertThat(problems("{\"server\": {\"tls\": {\"certFile\": \"cert.pem\"}}, " + PROVIDERS + "}"))
        .singleElement().asString().startsWith("config: server.tls.keyFile: missing; give the PEM private key")
        .contains("to go with certFile").contains("docs/tls.md");
    assertThat(problems("{\"server\": {\"tls\": {\"keyFile\": \"key.pem\"}}, " + PROVIDERS + "}"))
        .singleElement().asString().startsWith("config: server.tls.certFile: missing;");
  }

  @Test
  void filesOfTheWrongKindAreRefusedWithoutEchoingTheirContents() {
    List<String> swapped = problems("{\"server\": {\"tls\": {\"certFile\": \"key.pem\", \"keyFile\": \"cert.pem\"}}, "
        + PROVIDERS + "}");
    assertThat(swapped).hasSize(2);
    assertThat(swapped.get(0)).startsWith("config: server.tls.certFile: " + dir.resolve("key.pem")
        + " holds no PEM certificate");
    assertThat(swapped.get(1)).startsWith("config: server.tls.keyFile: " + dir.resolve("cert.pem")
        + " holds no PEM private key");
    assertThat(String.join("\n", swapped)).doesNotContain("SECRETKEYMATERIAL").doesNotContain("MIIB");
  }

  @Test
  void badTlsValuesNameTheirKeys() {
    assertThat(problems("{\"server\": {\"tls\": {\"certFile\": \"cert.pem\", \"keyFile\": \"key.pem\", "
        + "\"redirectHttpPort\": 70000, \"ciphers\": []}}, \"upstream\": {\"tls\": {\"caFile\": \"missing.pem\", "
        + "\"verifyHostname\": \"no\"}}, " + PROVIDERS + "}"))
        .containsExactlyInAnyOrder(
            "config: server.tls.ciphers: unknown key (known: certFile, keyFile, redirectHttpPort, hstsMaxAge)",
            "config: server.tls.redirectHttpPort: 70000 must be a TCP port 1..65535 (usually 80; 0 = any free port, "
                + "for tests)",
            "config: upstream.tls.caFile: " + dir.resolve("missing.pem")
                + " does not exist (generate a test certificate: see docs/tls.md)",
            "config: upstream.tls.verifyHostname: \"no\" must be true or false");
  }

  @Test
  void theRedirectPortCannotBeTheHttpsPort() {
    assertThat(problems("{\"server\": {\"port\": 8443, \"tls\": {\"certFile\": \"cert.pem\", \"keyFile\": \"key.pem\", "
        + "\"redirectHttpPort\": 8443}}, " + PROVIDERS + "}"))
        .singleElement().asString().startsWith("config: server.tls.redirectHttpPort: 8443 is server.port");
  }

  @Test
  void anEncryptedKeyIsRefusedWithTheFix() throws Exception {
    Files.writeString(dir.resolve("enc.pem"), "-----BEGIN ENCRYPTED PRIVATE KEY-----\nX\n-----END ENCRYPTED PRIVATE KEY-----\n");
    assertThatThrownBy(() -> load("{\"server\": {\"tls\": {\"certFile\": \"cert.pem\", \"keyFile\": \"enc.pem\"}}, "
        + PROVIDERS + "}")).isInstanceOf(ConfigException.class).hasMessageContaining("is an encrypted key")
        .hasMessageContaining("openssl pkey");
  }

  @Test
  void existingConstructorsStillMeanNoTls() {
    assertThat(new ServerSettings("127.0.0.1", 0, 1024).tls()).isNull();
    assertThat(new UpstreamSettings(1, 1, 1).tls()).isEqualTo(UpstreamTls.defaults());
  }
}
