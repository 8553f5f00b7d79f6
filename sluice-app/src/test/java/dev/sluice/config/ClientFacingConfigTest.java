package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.auth.FailureBackoff;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code server.trustedProxies}, {@code server.failedCredentials} and {@code server.tls.hstsMaxAge}: defaults and checks. */
class ClientFacingConfigTest {
  private static final String PROVIDERS =
      "\"providers\": {\"local\": {\"baseUrl\": \"http://127.0.0.1:11434/v1\", \"models\": [{\"id\": \"qwen3:32b\"}]}}";

  @TempDir
  Path dir;

  private SluiceConfig load(String server) throws Exception {
    Files.writeString(dir.resolve("cert.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    Files.writeString(dir.resolve("key.pem"), "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n");
    Path file = dir.resolve("sluice.json");
    Files.writeString(file, "{\"server\": " + server + ", " + PROVIDERS + "}");
    return ConfigLoader.load(file);
  }

  private List<String> problems(String server) {
    try {
      load(server);
    } catch (ConfigException e) {
      return e.problems();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    throw new AssertionError("expected a ConfigException for " + server);
  }

  @Test
  void withoutTheKeysNoProxyIsTrustedTheBackoffHasItsDefaultsAndHstsLastsAYear() throws Exception {
    SluiceConfig c = load("{\"tls\": {\"certFile\": \"cert.pem\", \"keyFile\": \"key.pem\"}}");
    assertThat(c.server().trustedProxies()).isEmpty();
    assertThat(c.server().failedCredentials()).isEqualTo(FailureBackoff.Settings.defaults());
    assertThat(c.server().tls().hstsMaxAge()).isEqualTo(Duration.ofDays(365));
    assertThat(ServerSettings.defaults().failedCredentials()).isEqualTo(FailureBackoff.Settings.defaults());
  }

  @Test
  void theKeysAreRead() throws Exception {
    SluiceConfig c = load("{\"trustedProxies\": [\"10.0.0.0/8\", \"::1\", \"192.168.1.5\"], "
        + "\"failedCredentials\": {\"failures\": 20, \"window\": \"5m\", \"maxBackoff\": \"1h\"}, "
        + "\"tls\": {\"certFile\": \"cert.pem\", \"keyFile\": \"key.pem\", \"hstsMaxAge\": \"24h\"}}");
    assertThat(c.server().trustedProxies()).containsExactly("10.0.0.0/8", "::1", "192.168.1.5");
    assertThat(c.server().failedCredentials())
        .isEqualTo(new FailureBackoff.Settings(20, Duration.ofMinutes(5), Duration.ofHours(1)));
    assertThat(c.server().tls().hstsMaxAge()).isEqualTo(Duration.ofHours(24));
    assertThat(load("{\"failedCredentials\": {\"failures\": 0}}").server().failedCredentials().enabled()).isFalse();
    assertThat(load("{\"tls\": {\"certFile\": \"cert.pem\", \"keyFile\": \"key.pem\", \"hstsMaxAge\": \"0\"}}")
        .server().tls().hstsMaxAge()).isZero();
  }

  @Test
  void wrongValuesAreNamedWithTheirFix() {
    assertThat(problems("{\"trustedProxies\": [\"nginx.internal\", \"10.0.0.0/33\", 7]}")).containsExactly(
        "config: server.trustedProxies[0]: \"nginx.internal\" is not an IP address or CIDR range like \"10.0.0.5\" or "
            + "\"10.0.0.0/8\" (the addresses your reverse proxies connect from)",
        "config: server.trustedProxies[1]: \"10.0.0.0/33\" is not an IP address or CIDR range like \"10.0.0.5\" or "
            + "\"10.0.0.0/8\" (the addresses your reverse proxies connect from)",
        "config: server.trustedProxies[2]: 7 is not an IP address or CIDR range like \"10.0.0.5\" or "
            + "\"10.0.0.0/8\" (the addresses your reverse proxies connect from)");
    assertThat(problems("{\"failedCredentials\": {\"failures\": -1, \"maxBackoff\": \"1s\", \"windw\": \"1m\"}}"))
        .anySatisfy(p -> assertThat(p).startsWith("config: server.failedCredentials.failures: -1 must be an integer "
            + "0..1000 (failures per window; 0 = never throttle)"))
        .anySatisfy(p -> assertThat(p).startsWith("config: server.failedCredentials.maxBackoff: \"1s\" must be at "
            + "least \"10s\""))
        .anySatisfy(p -> assertThat(p).contains("windw"));
    assertThat(problems("{\"tls\": {\"certFile\": \"cert.pem\", \"keyFile\": \"key.pem\", \"hstsMaxAge\": \"365d\"}}"))
        .containsExactly("config: server.tls.hstsMaxAge: \"365d\" must be a duration in seconds, minutes or hours like "
            + "\"8760h\" (365 days, the default), or \"0\" to send no Strict-Transport-Security header");
  }
}
