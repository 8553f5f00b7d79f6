package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.config.UpstreamTls;
import dev.sluice.health.NodeState;
import dev.sluice.sim.SimOptions;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCerts;
import dev.sluice.testkit.TestCluster;
import dev.sluice.upstream.ForwardedHeaders;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gateway reaching simulated nodes that listen with HTTPS, trusting a test CA or not. */
class UpstreamTlsTest {
  private static final String CHAT =
      "{\"model\":\"qwen3:32b\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
  private static final String CHAT_SSE = "{\"model\":\"qwen3:32b\",\"stream\":true,\"max_tokens\":5,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

  @TempDir
  static Path dir;
  static TestCerts certs;
  static TestCerts.Pair localhost;
  static TestCerts.Pair otherName;

  @BeforeAll
  static void makeCertificates() {
    assertThat(TestCerts.opensslAvailable()).as("the openssl CLI (./test.sh installs it)").isTrue();
    certs = TestCerts.create(dir);
    localhost = certs.localhost();
    otherName = certs.server("other.example", "DNS:other.example");
  }

  private static SimOptions httpsNode(TestCerts.Pair pair) {
    return SimOptions.defaults().withId("n1").withModels("qwen3:32b").withTimeScale(0).withTls(pair.cert(), pair.key());
  }

  @Test
  void aNodeOverHttpsAnswersWhenItsCaIsTrusted() {
    try (TestCluster c = new TestCluster().upstreamTls(new UpstreamTls(certs.caCert, true))
        .node(httpsNode(localhost)).start()) {
      assertThat(c.sim("n1").baseUrl()).startsWith("https://127.0.0.1:");
      HttpResponse<String> plain = Http.post(c.url("/v1/chat/completions"), CHAT);
      assertThat(plain.statusCode()).isEqualTo(200);
      assertThat(plain.headers().firstValue(ForwardedHeaders.NODE_HEADER)).hasValue("n1");
      HttpResponse<String> stream = Http.post(c.url("/v1/chat/completions"), CHAT_SSE);
      assertThat(stream.statusCode()).isEqualTo(200);
      assertThat(stream.body()).endsWith("data: [DONE]\n\n");
    }
  }

  @Test
  void theNodesGpuTelemetryIsScrapedOverHttpsWithTheSameCa() {
    try (TestCluster c = new TestCluster().upstreamTls(new UpstreamTls(certs.caCert, true)).telemetry()
        .node(httpsNode(localhost)).start()) {
      assertThat(c.config().node("n1").orElseThrow().metricsUrl().toString()).startsWith("https://");
      await().atMost(Duration.ofSeconds(20)).until(() ->
          !Double.isNaN(c.gateway.registry().get("n1").telemetry().memoryUsedPercent()));
    }
  }

  @Test
  void withoutTheCaTheNodeNeverBecomesReadyAndItsStateNamesTheCaFileSetting() throws Exception {
    try (TestCluster c = new TestCluster().withoutDegradation().node(httpsNode(localhost)).startWithoutWaiting()) {
      await().atMost(Duration.ofSeconds(20)).until(() -> c.gateway.registry().get("n1").health().snapshot().reason()
          .contains("TLS handshake failed: the node's certificate is not trusted (set upstream.tls.caFile"));
      assertThat(c.gateway.registry().get("n1").health().state()).isNotEqualTo(NodeState.READY);
      // the gateway's usual answer while a model has no usable node
      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), CHAT);
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.body()).contains("no_healthy_node").doesNotContain(dir.toString()).doesNotContain("BEGIN");
      assertThat(Http.get(c.url("/metrics")).body()).doesNotContain(dir.toString()).doesNotContain("BEGIN");
      assertThat(c.sim("n1").stats().count("/v1/chat/completions")).isZero();
    }
  }

  @Test
  void aHandshakeFailureOnTheRequestPathCountsAsAConnectFailure() throws Exception {
    try (TestCluster c = new TestCluster().withoutDegradation().health(TestCluster.fastProbes(Duration.ofSeconds(1)))
        .upstreamTls(new UpstreamTls(certs.caCert, true)).node(httpsNode(localhost)).start()) {
      c.upstreamTls(UpstreamTls.defaults()); // the JVM's trust store: the test CA is not in it
      c.configs.swap(c.config());
      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), CHAT);
      assertUpstreamUnavailable(r, "the node's certificate is not trusted (set upstream.tls.caFile");
      assertThat(r.body()).doesNotContain(dir.toString()).doesNotContain("BEGIN");
      String metrics = Http.get(c.url("/metrics")).body();
      assertThat(metrics).contains("sluice_upstream_attempts_total{node=\"n1\",result=\"connect\"}")
          .doesNotContain(dir.toString()).doesNotContain("BEGIN");
    }
  }

  @Test
  void aCertificateForAnotherHostNameIsRefusedWhileHostNamesAreVerified() throws Exception {
    try (TestCluster c = new TestCluster().withoutDegradation().health(TestCluster.fastProbes(Duration.ofSeconds(1)))
        .upstreamTls(new UpstreamTls(certs.caCert, false)).node(httpsNode(otherName)).start()) {
      c.upstreamTls(new UpstreamTls(certs.caCert, true));
      c.configs.swap(c.config());
      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), CHAT);
      assertUpstreamUnavailable(r, "the node's certificate does not name the host of its baseUrl");
    }
  }

  @Test
  void aCertificateForAnotherHostNameIsAcceptedWhenHostNameVerificationIsOff() {
    try (TestCluster c = new TestCluster().upstreamTls(new UpstreamTls(certs.caCert, false))
        .node(httpsNode(otherName)).start()) {
      assertThat(Http.post(c.url("/v1/chat/completions"), CHAT).statusCode()).isEqualTo(200);
    }
  }

  private static void assertUpstreamUnavailable(HttpResponse<String> r, String reason) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(502);
    JsonNode err = Json.MAPPER.readTree(r.body()).path("error");
    assertThat(err.path("code").asText()).isEqualTo("upstream_unavailable");
    assertThat(err.path("message").asText()).contains("n1: TLS handshake failed: " + reason);
  }
}
