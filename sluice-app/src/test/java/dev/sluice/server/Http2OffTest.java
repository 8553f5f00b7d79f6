package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.auth.AuthMode;
import dev.sluice.auth.KeyFile;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.config.AdminSettings;
import dev.sluice.config.AuthSettings;
import dev.sluice.sim.GpuProfile;
import dev.sluice.testkit.RawPeer;
import dev.sluice.testkit.TestCluster;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway speaks HTTP/1.1 only: an {@code Upgrade: h2c} request gets an ordinary HTTP/1.1 answer (401 before
 * authentication, never 101 Switching Protocols), and the HTTP/2 prior-knowledge preface gets no HTTP/2 frames, on the
 * main listener and on the admin listener.
 */
class Http2OffTest {
  private static final String H2C_UPGRADE = "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
      + "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n";
  /** The client connection preface of RFC 9113 §3.4 followed by an empty SETTINGS frame. */
  private static final byte[] PREFACE = preface();

  @TempDir
  static Path dir;
  static TestCluster cluster;

  @BeforeAll
  static void start() throws Exception {
    Path keys = dir.resolve("keys.json");
    KeyFile.write(keys, KeyFile.read(keys).with(KeyGenerator.create("acme", Set.of(), null, null, null, Instant.now())
        .key()));
    cluster = new TestCluster().auth(new AuthSettings(AuthMode.TOKENS, keys, null))
        .admin(AdminSettings.defaults().withToken(KeyGenerator.sha256Hex("sluice-admin-h2c-test-token"))
            .withListener("127.0.0.1", 0))
        .node("a", GpuProfile.A10, "qwen3:32b", 0).start();
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static byte[] preface() {
    byte[] magic = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    byte[] settings = {0, 0, 0, 4, 0, 0, 0, 0, 0};
    byte[] all = new byte[magic.length + settings.length];
    System.arraycopy(magic, 0, all, 0, magic.length);
    System.arraycopy(settings, 0, all, magic.length, settings.length);
    return all;
  }

  @Test
  void anH2cUpgradeGetsAnHttp11AnswerAndNotSwitchingProtocols() throws Exception {
    assertUpgradeRefused(cluster.port(), "/v1/models", "HTTP/1.1 401 ");
    assertUpgradeRefused(cluster.gateway.adminPort(), "/admin/nodes", "HTTP/1.1 401 ");
  }

  private static void assertUpgradeRefused(int port, String path, String expected) throws Exception {
    try (RawPeer peer = new RawPeer(port)) {
      peer.send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + H2C_UPGRADE + "\r\n");
      await().atMost(Duration.ofSeconds(10)).until(() -> peer.received().contains("\r\n\r\n"));
      assertThat(peer.received()).as("port %d", port).startsWith(expected).doesNotContain("101 Switching Protocols");
    }
  }

  @Test
  void theHttp2PrefaceIsNotAnsweredWithHttp2Frames() throws Exception {
    for (int port : new int[] {cluster.port(), cluster.gateway.adminPort()}) {
      try (RawPeer peer = new RawPeer(port)) {
        peer.send(PREFACE);
        // an HTTP/2 server answers the preface at once with its SETTINGS frame; an HTTP/1.1 one with an error or not
        await().atMost(Duration.ofSeconds(10)).until(() -> !peer.received().isEmpty() || peer.closedByServer());
        String answer = peer.received();
        assertThat(answer).as("port %d: %s", port, answer).satisfiesAnyOf(
            a -> assertThat(a).isEmpty(),
            a -> assertThat(a).startsWith("HTTP/")); // the HTTP/1.1 codec's text answer, not a binary SETTINGS frame
      }
    }
  }
}
