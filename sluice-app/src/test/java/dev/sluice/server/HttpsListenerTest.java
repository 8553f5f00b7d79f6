package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.TlsSettings;
import dev.sluice.sim.GpuProfile;
import dev.sluice.testkit.TestCerts;
import dev.sluice.testkit.TestCluster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gateway's own HTTPS listener and its plain-HTTP redirect port, over real loopback with an openssl test CA. */
class HttpsListenerTest {
  private static final String CHAT =
      "{\"model\":\"qwen3:32b\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
  private static final String CHAT_SSE = "{\"model\":\"qwen3:32b\",\"stream\":true,\"max_tokens\":5,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

  @TempDir
  static Path dir;
  static TestCerts certs;
  static TestCerts.Pair localhost;

  @BeforeAll
  static void makeCertificates() {
    assertThat(TestCerts.opensslAvailable()).as("the openssl CLI (./test.sh installs it)").isTrue();
    certs = TestCerts.create(dir);
    localhost = certs.localhost();
  }

  private static TestCluster httpsGateway(Integer redirectPort) {
    return new TestCluster().tls(new TlsSettings(localhost.cert(), localhost.key(), redirectPort))
        .node("n1", GpuProfile.A10, "qwen3:32b", 0);
  }

  private static HttpResponse<String> post(HttpClient client, String url, String json) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpClient trustingClient() {
    return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(certs.clientContext())
        .connectTimeout(Duration.ofSeconds(5)).build();
  }

  @Test
  void servesChatCompletionsOverHttpsToAClientThatTrustsTheCa() throws Exception {
    try (TestCluster c = httpsGateway(null).start()) {
      assertThat(c.url("/v1/chat/completions")).startsWith("https://127.0.0.1:");
      HttpClient client = trustingClient();

      HttpResponse<String> plain = post(client, c.url("/v1/chat/completions"), CHAT);
      assertThat(plain.statusCode()).isEqualTo(200);
      assertThat(plain.body()).contains("\"chat.completion\"");

      HttpResponse<String> stream = post(client, c.url("/v1/chat/completions"), CHAT_SSE);
      assertThat(stream.statusCode()).isEqualTo(200);
      assertThat(stream.headers().firstValue("content-type")).hasValueSatisfying(v -> v.startsWith("text/event-stream"));
      assertThat(stream.body()).contains("chat.completion.chunk").endsWith("data: [DONE]\n\n");

      // by host name too: the certificate names localhost as well as 127.0.0.1
      HttpResponse<String> byName = post(client, "https://localhost:" + c.port() + "/v1/chat/completions", CHAT);
      assertThat(byName.statusCode()).isEqualTo(200);
      assertThat(c.gateway.redirectPort()).isEqualTo(-1);
    }
  }

  @Test
  void aClientThatDoesNotTrustTheCaCannotConnect() {
    try (TestCluster c = httpsGateway(null).start()) {
      HttpClient jvmTrust = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      assertThatThrownBy(() -> post(jvmTrust, c.url("/v1/chat/completions"), CHAT))
          .isInstanceOf(javax.net.ssl.SSLHandshakeException.class);
    }
  }

  @Test
  void aPlainHttpRequestToTheHttpsPortGetsNoAnswerFromTheApi() throws Exception {
    try (TestCluster c = httpsGateway(null).start()) {
      long before = c.sim("n1").stats().count("/v1/chat/completions");
      String answer = rawExchange(c.port(), "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
          + "Content-Type: application/json\r\nContent-Length: " + CHAT.length() + "\r\n\r\n" + CHAT);
      assertThat(answer).doesNotContain("HTTP/1.1 200").doesNotContain("chat.completion");
      assertThat(c.sim("n1").stats().count("/v1/chat/completions")).isEqualTo(before);
    }
  }

  @Test
  void theRedirectPortAnswers308ToTheSameHostPathAndQueryOverHttpsAndNeverCallsANode() throws Exception {
    try (TestCluster c = httpsGateway(0).start()) {
      int redirect = c.gateway.redirectPort();
      assertThat(redirect).isPositive().isNotEqualTo(c.port());
      long before = c.sim("n1").stats().count("/v1/chat/completions");

      String answer = rawExchange(redirect, "POST /v1/chat/completions?a=1&b=x%20y HTTP/1.1\r\n"
          + "Host: gateway.example:" + redirect + "\r\nContent-Type: application/json\r\nContent-Length: "
          + CHAT.length() + "\r\n\r\n" + CHAT);
      assertThat(answer).startsWith("HTTP/1.1 308 ")
          .contains("location: https://gateway.example:" + c.port() + "/v1/chat/completions?a=1&b=x%20y\r\n")
          .containsIgnoringCase("connection: close");

      String get = rawExchange(redirect, "GET /v1/models HTTP/1.1\r\nHost: [::1]\r\n\r\n");
      assertThat(get).startsWith("HTTP/1.1 308 ").contains("location: https://[::1]:" + c.port() + "/v1/models\r\n");

      String noHost = rawExchange(redirect, "GET /v1/models HTTP/1.0\r\n\r\n");
      assertThat(noHost).startsWith("HTTP/1.0 400 ").doesNotContainIgnoringCase("location:");

      assertThat(c.sim("n1").stats().count("/v1/chat/completions")).isEqualTo(before);
    }
  }

  @Test
  void everyHttpsAnswerCarriesStrictTransportSecurityAndTheRedirectPortNever() throws Exception {
    try (TestCluster c = httpsGateway(0).start()) {
      HttpClient client = trustingClient();
      String oneYear = "max-age=31536000";
      HttpResponse<String> ok = post(client, c.url("/v1/chat/completions"), CHAT);
      assertThat(ok.statusCode()).isEqualTo(200);
      assertThat(ok.headers().firstValue("strict-transport-security")).hasValue(oneYear);
      HttpResponse<String> stream = post(client, c.url("/v1/chat/completions"), CHAT_SSE);
      assertThat(stream.headers().firstValue("strict-transport-security")).hasValue(oneYear);
      HttpResponse<String> refused = post(client, c.url("/v1/chat/completions"), CHAT.replace("qwen3:32b", "nope"));
      assertThat(refused.statusCode()).isEqualTo(404);
      assertThat(refused.headers().firstValue("strict-transport-security")).hasValue(oneYear);
      HttpResponse<String> health = client.send(HttpRequest.newBuilder(URI.create(c.url("/healthz"))).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(health.headers().firstValue("strict-transport-security")).hasValue(oneYear);

      String redirect = rawExchange(c.gateway.redirectPort(), "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      assertThat(redirect).startsWith("HTTP/1.1 308 ").doesNotContainIgnoringCase("strict-transport-security");
    }
  }

  @Test
  void hstsMaxAgeIsConfigurableAndZeroSendsNoHeader() throws Exception {
    try (TestCluster c = new TestCluster()
        .tls(new TlsSettings(localhost.cert(), localhost.key(), null, Duration.ofHours(1)))
        .node("n1", GpuProfile.A10, "qwen3:32b", 0).start()) {
      assertThat(post(trustingClient(), c.url("/v1/chat/completions"), CHAT).headers()
          .firstValue("strict-transport-security")).hasValue("max-age=3600");
    }
    try (TestCluster c = new TestCluster().tls(new TlsSettings(localhost.cert(), localhost.key(), null, Duration.ZERO))
        .node("n1", GpuProfile.A10, "qwen3:32b", 0).start()) {
      assertThat(post(trustingClient(), c.url("/v1/chat/completions"), CHAT).headers()
          .firstValue("strict-transport-security")).isEmpty();
    }
  }

  @Test
  void redirectLocationsKeepPathAndQueryAndDropTheHostsPort() {
    assertThat(TlsListeners.location("Example.COM:8080", 8443, "/v1/chat/completions?x=1"))
        .isEqualTo("https://example.com:8443/v1/chat/completions?x=1");
    assertThat(TlsListeners.location("example.com", 443, "/")).isEqualTo("https://example.com/");
    assertThat(TlsListeners.location("10.0.0.5:80", 443, "http://10.0.0.5/api/tags?q"))
        .isEqualTo("https://10.0.0.5/api/tags?q");
    assertThat(TlsListeners.location("[fe80::1]:80", 8443, "*")).isEqualTo("https://[fe80::1]:8443/");
    assertThat(TlsListeners.location(null, 443, "/")).isNull();
    assertThat(TlsListeners.location("", 443, "/")).isNull();
    assertThat(TlsListeners.location("evil.com/x", 443, "/")).isNull();
    assertThat(TlsListeners.location("a@b", 443, "/")).isNull();
    assertThat(TlsListeners.location("host:port", 443, "/")).isNull();
    assertThat(TlsListeners.location("[::1", 443, "/")).isNull();
  }

  @Test
  void aKeyThatIsNotTheCertificatesFailsStartNamingTheKeyFile(@TempDir Path other) throws Exception {
    TestCerts.Pair stranger = TestCerts.untrusted(other);
    TestCluster c = new TestCluster().tls(new TlsSettings(localhost.cert(), stranger.key()))
        .node("n1", GpuProfile.A10, "qwen3:32b", 0);
    try (c) {
      assertThatThrownBy(c::startWithoutWaiting).rootCause()
          .hasMessageContaining("server.tls.keyFile: " + stranger.key())
          .hasMessageContaining("is not the private key");
      c.gateway = null;
    }
  }

  @Test
  void aCertificateFileWithoutPemFailsStartNamingTheFile(@TempDir Path other) throws Exception {
    Path bogus = other.resolve("cert.pem");
    Files.writeString(bogus, "not a certificate\n");
    TestCluster c = new TestCluster().tls(new TlsSettings(bogus, localhost.key()))
        .node("n1", GpuProfile.A10, "qwen3:32b", 0);
    try (c) {
      assertThatThrownBy(c::startWithoutWaiting).rootCause()
          .hasMessageContaining("server.tls: cannot load certFile " + bogus)
          .hasMessageNotContaining("PRIVATE KEY-----\n");
      c.gateway = null;
    }
  }

  /** Writes {@code request} on a fresh socket and reads until the peer closes (or 5 s pass). */
  private static String rawExchange(int port, String request) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(5_000);
      s.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
      s.getOutputStream().flush();
      ByteArrayOutputStream seen = new ByteArrayOutputStream();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[4096];
      try {
        for (int n; (n = in.read(buf)) >= 0; ) seen.write(buf, 0, n);
      } catch (SocketTimeoutException | java.net.SocketException e) {
        // no more bytes: what arrived is the answer
      }
      return seen.toString(StandardCharsets.ISO_8859_1);
    }
  }
}
