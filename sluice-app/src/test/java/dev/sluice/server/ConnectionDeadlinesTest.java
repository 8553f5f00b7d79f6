package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.config.AdminSettings;
import dev.sluice.config.ServerSettings;
import dev.sluice.config.TlsSettings;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.RawPeer;
import dev.sluice.testkit.TestCerts;
import dev.sluice.testkit.TestCluster;
import io.micrometer.core.instrument.Counter;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway closes connections that send no complete request head in time (slowloris), that sit idle between
 * requests, and that exceed the per-client cap, on every listener; a request in progress (a long stream, a slow first
 * token) is never cut. Short configured deadlines keep the test fast.
 */
class ConnectionDeadlinesTest {
  private static final Duration HEAD = Duration.ofMillis(500);
  private static final Duration KEEP_ALIVE = Duration.ofMillis(500);
  private static final Duration BODY = Duration.ofMillis(500);
  private static final String HEALTH = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

  @TempDir
  Path dir;

  private static TestCluster gateway(Duration head, Duration keepAlive, int perClient) {
    return new TestCluster()
        .server(ServerSettings.defaults().withDeadlines(head, keepAlive, BODY, perClient))
        .node("a", GpuProfile.A10, "qwen3:32b", 0);
  }

  private static double closed(TestCluster c, String reason) {
    Counter counter = c.metrics.registry().find(SluiceMetrics.CONNECTIONS_CLOSED).tag("reason", reason).counter();
    return counter == null ? 0 : counter.count();
  }

  private static int count(String text, String what) {
    Matcher m = Pattern.compile(Pattern.quote(what)).matcher(text);
    int n = 0;
    while (m.find()) n++;
    return n;
  }

  @Test
  void connectionsSendingTheirHeadSlowlyAreClosedAtTheHeadDeadline() throws Exception {
    try (TestCluster c = gateway(HEAD, KEEP_ALIVE, 0).start()) {
      List<RawPeer> peers = new ArrayList<>();
      try {
        for (int i = 0; i < 200; i++) {
          peers.add(new RawPeer(c.port()).send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
        }
        int[] line = {0};
        // one more header line every 100 ms on each connection still open: never a complete head
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> {
          line[0]++;
          for (RawPeer p : peers) p.send("X-Slow-" + line[0] + ": a\r\n");
          return peers.stream().allMatch(RawPeer::closedByServer);
        });
        assertThat(peers).allSatisfy(p -> assertThat(p.received()).as("nothing answered").isEmpty());
      } finally {
        peers.forEach(RawPeer::close);
      }
      assertThat(closed(c, "head_timeout")).isGreaterThanOrEqualTo(200);
      assertThat(Http.get(c.url("/healthz")).statusCode()).as("a client that sends its head is served").isEqualTo(200);
    }
  }

  @Test
  void aConnectionThatSendsNothingIsIdleUntilTheKeepAliveTimeoutWhileOneThatStartsItsHeadHasTheHeadDeadline()
      throws Exception {
    Duration keepAlive = Duration.ofSeconds(3);
    try (TestCluster c = gateway(HEAD, keepAlive, 0).start(); RawPeer silent = new RawPeer(c.port());
        RawPeer started = new RawPeer(c.port()).send("GET /healthz HTTP/1.1\r\n")) {
      long opened = System.nanoTime();
      await().atMost(Duration.ofSeconds(10)).until(started::closedByServer);
      assertThat(silent.closedByServer()).as("a pool's connection opened before it is needed is not a slow head")
          .isFalse();
      await().atMost(Duration.ofSeconds(20)).until(silent::closedByServer);
      assertThat(Duration.ofNanos(System.nanoTime() - opened)).isGreaterThanOrEqualTo(keepAlive);
      assertThat(closed(c, "head_timeout")).isEqualTo(1);
      assertThat(closed(c, "keep_alive_timeout")).isEqualTo(1);
    }
  }

  @Test
  void idleKeepAliveConnectionsAreClosedAtTheKeepAliveTimeoutWhileBusyOnesStayOpen() throws Exception {
    try (TestCluster c = gateway(Duration.ofMinutes(1), KEEP_ALIVE, 0).start()) {
      List<RawPeer> idle = new ArrayList<>();
      try (RawPeer busy = new RawPeer(c.port())) {
        for (int i = 0; i < 100; i++) idle.add(new RawPeer(c.port()).send(HEALTH));
        // the busy connection asks every 100 ms, for more than four keep-alive timeouts
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> {
          busy.send(HEALTH);
          return count(busy.received(), "HTTP/1.1 200") >= 25 && idle.stream().allMatch(RawPeer::closedByServer);
        });
        assertThat(busy.closedByServer()).as("a connection in use is not idle").isFalse();
        assertThat(idle).allSatisfy(p -> assertThat(count(p.received(), "HTTP/1.1 200 ")).isEqualTo(1));
      } finally {
        idle.forEach(RawPeer::close);
      }
      assertThat(closed(c, "keep_alive_timeout")).isGreaterThanOrEqualTo(100);
    }
  }

  @Test
  void aStreamAndASlowFirstTokenOutlastBothTimeoutsIntact() throws Exception {
    Duration tight = Duration.ofMillis(300);
    try (TestCluster c = new TestCluster()
        .server(ServerSettings.defaults().withDeadlines(tight, tight, tight, 0))
        .node("a", GpuProfile.A10, "qwen3:32b", 1).start()) {
      c.sim("a").injectFault(SimFault.slow(12)); // ~0.6 s per token: silences longer than both timeouts

      long start = System.nanoTime();
      HttpResponse<String> answer = Http.post(c.url("/v1/chat/completions"),
          "{\"model\":\"qwen3:32b\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
      Duration waited = Duration.ofNanos(System.nanoTime() - start);
      assertThat(answer.statusCode()).isEqualTo(200);
      assertThat(answer.body()).contains("\"completion_tokens\":3");
      assertThat(waited).as("no byte for longer than both timeouts").isGreaterThan(tight.multipliedBy(2));

      start = System.nanoTime();
      HttpResponse<String> stream = Http.post(c.url("/v1/chat/completions"), "{\"model\":\"qwen3:32b\","
          + "\"stream\":true,\"max_tokens\":4,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
      waited = Duration.ofNanos(System.nanoTime() - start);
      assertThat(stream.statusCode()).isEqualTo(200);
      assertThat(stream.body()).endsWith("data: [DONE]\n\n");
      assertThat(count(stream.body(), "\"delta\":{\"content\"")).isEqualTo(4);
      assertThat(waited).isGreaterThan(tight.multipliedBy(4));
      assertThat(closed(c, "head_timeout") + closed(c, "keep_alive_timeout") + closed(c, "body_timeout")).isZero();
    }
  }

  @Test
  void connectionsBeyondThePerClientCapAreClosedAtOnceAndAClosedOneFreesItsPlace() throws Exception {
    try (TestCluster c = gateway(Duration.ofMinutes(1), Duration.ofMinutes(1), 3).start()) {
      List<RawPeer> peers = new ArrayList<>();
      try {
        for (int i = 0; i < 5; i++) peers.add(new RawPeer(c.port()));
        await().atMost(Duration.ofSeconds(10)).until(() -> peers.get(3).closedByServer() && peers.get(4).closedByServer());
        for (RawPeer p : peers.subList(0, 3)) p.send(HEALTH);
        await().atMost(Duration.ofSeconds(10))
            .until(() -> peers.subList(0, 3).stream().allMatch(p -> p.received().startsWith("HTTP/1.1 200")));
        assertThat(peers.subList(0, 3)).noneMatch(RawPeer::closedByServer);
        assertThat(closed(c, "per_client_cap")).isEqualTo(2);

        peers.get(0).close();
        await().atMost(Duration.ofSeconds(10)).until(() -> served(c.port()));
      } finally {
        peers.forEach(RawPeer::close);
      }
    }
  }

  @Test
  void theAdminListenerTheRedirectListenerAndHttpsHaveTheSameDeadlines() throws Exception {
    TestCerts.Pair pair = TestCerts.create(dir).localhost();
    try (TestCluster c = new TestCluster()
        .server(ServerSettings.defaults().withDeadlines(HEAD, KEEP_ALIVE, BODY, 0))
        .tls(new TlsSettings(pair.cert(), pair.key(), 0))
        .admin(AdminSettings.defaults().withListener("127.0.0.1", 0))
        .node("a", GpuProfile.A10, "qwen3:32b", 0).start();
        RawPeer redirectSilent = new RawPeer(c.gateway.redirectPort());
        RawPeer adminSilent = new RawPeer(c.gateway.adminPort());
        RawPeer adminIdle = new RawPeer(c.gateway.adminPort()).send(HEALTH);
        RawPeer redirectIdle = new RawPeer(c.gateway.redirectPort()).send(HEALTH)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> redirectSilent.closedByServer() && adminSilent.closedByServer()
          && adminIdle.closedByServer() && redirectIdle.closedByServer());
      assertThat(adminIdle.received()).startsWith("HTTP/1.1 200");
      assertThat(redirectIdle.received()).startsWith("HTTP/1.1 308");
      assertThat(closed(c, "keep_alive_timeout")).as("two silent, two idle after a request").isGreaterThanOrEqualTo(4);
    }
  }

  @Test
  void anHttpsConnectionThatSendsNothingAfterItsHandshakeIsClosedAtTheHeadDeadline() throws Exception {
    TestCerts certs = TestCerts.create(dir);
    TestCerts.Pair pair = certs.localhost();
    try (TestCluster c = new TestCluster()
        .server(ServerSettings.defaults().withDeadlines(HEAD, KEEP_ALIVE, BODY, 0))
        .tls(new TlsSettings(pair.cert(), pair.key(), null))
        .node("a", GpuProfile.A10, "qwen3:32b", 0).start();
        SSLSocket tls = (SSLSocket) certs.clientContext().getSocketFactory().createSocket("127.0.0.1", c.port())) {
      tls.startHandshake();
      tls.setSoTimeout(10_000);
      assertThat(tls.getInputStream().read()).as("closed by the gateway, nothing sent").isEqualTo(-1);
      assertThat(closed(c, "head_timeout")).isEqualTo(1);
    }
  }

  /** One request on a new connection; true when it was answered (false when the connection was closed at once). */
  private static boolean served(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(5_000);
      s.getOutputStream().write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1).startsWith("HTTP/1.1 200");
    } catch (IOException e) {
      return false;
    }
  }
}
