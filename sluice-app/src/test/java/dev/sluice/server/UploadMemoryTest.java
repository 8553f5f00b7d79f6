package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.config.ServerSettings;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.sim.GpuProfile;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.RawPeer;
import dev.sluice.testkit.TestCluster;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Request bodies hold memory only as their bytes arrive, within a cap per tenant and in total, and only until the
 * body-read deadline: an announced length reserves nothing, and whatever way an upload ends its bytes are given back.
 */
class UploadMemoryTest {
  private static final long KIB = 1024;
  private static final long MIB = 1024 * KIB;
  private static final String CHAT = "/v1/chat/completions";

  private static double uploadBytes(TestCluster c) {
    Gauge g = c.metrics.registry().find(SluiceMetrics.UPLOAD_IN_PROGRESS_BYTES).gauge();
    return g == null ? Double.NaN : g.value();
  }

  private static double closed(TestCluster c, String reason) {
    Counter counter = c.metrics.registry().find(SluiceMetrics.CONNECTIONS_CLOSED).tag("reason", reason).counter();
    return counter == null ? 0 : counter.count();
  }

  private static long usedHeapAfterGc() {
    System.gc();
    System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  /** A request head announcing {@code length} body bytes, with the caller's bearer token as its tenant. */
  private static String head(String path, long length, String tenant) {
    return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + "Authorization: Bearer " + tenant + "\r\nContent-Length: " + length + "\r\n\r\n";
  }

  /** A valid chat request of exactly {@code bytes} bytes: a short prompt, padded with JSON whitespace. */
  private static String chat(int bytes) {
    String start = "{\"model\":\"qwen3:32b\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
    return start + " ".repeat(Math.max(0, bytes - start.length() - 1)) + "}";
  }

  @Test
  void anAnnouncedTenMebibyteBodyThatNeverArrivesReservesNoMemory() throws Exception {
    try (TestCluster c = new TestCluster().node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      assertThat(Http.post(c.url(CHAT), chat(1000)).statusCode()).isEqualTo(200);
      long before = usedHeapAfterGc();
      List<RawPeer> peers = new ArrayList<>();
      try {
        for (int i = 0; i < 40; i++) peers.add(new RawPeer(c.port()).send(head(CHAT, 10 * MIB, "tenant-" + i)));
        // a connection opened after the forty is answered: the gateway has read their heads
        assertThat(Http.get(c.url("/healthz")).statusCode()).isEqualTo(200);

        long grown = usedHeapAfterGc() - before;
        assertThat(grown).as("heap growth with 40 announced 10 MiB bodies (MiB: %d)", grown / MIB)
            .isLessThan(40 * MIB);
        assertThat(uploadBytes(c)).as("bytes held in unfinished uploads").isZero();

        for (RawPeer p : peers) p.send("x".repeat(1000));
        await().atMost(Duration.ofSeconds(10)).until(() -> uploadBytes(c) == 40 * 1000);
      } finally {
        peers.forEach(RawPeer::close);
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> uploadBytes(c) == 0);
      assertThat(peers).noneMatch(p -> p.received().startsWith("HTTP/1.1 2"));
    }
  }

  @Test
  void aBodySentInPiecesOfEverySizeArrivesWholeAndInOrder() throws Exception {
    StringBuilder json = new StringBuilder("{\"model\":\"qwen3:32b\",\"max_tokens\":2,\"messages\":[");
    for (int i = 0; i < 400; i++) {
      json.append(i == 0 ? "" : ",").append("{\"role\":\"").append(i % 2 == 0 ? "user" : "assistant")
          .append("\",\"content\":\"turn ").append(i).append(' ').append("x".repeat(i % 97)).append("\"}");
    }
    byte[] body = json.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    int[] pieces = {1, 7, 300, 1023, 1024, 5000, 2, 4096, 4097, 13};
    try (TestCluster c = new TestCluster().node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      JsonNode whole = Json.MAPPER.readTree(Http.postBytes(c.url(CHAT), body).body());
      try (java.net.Socket s = new java.net.Socket("127.0.0.1", c.port())) {
        s.setTcpNoDelay(true);
        s.setSoTimeout(30_000);
        var out = s.getOutputStream();
        out.write(("POST " + CHAT + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Connection: close\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        for (int at = 0, i = 0; at < body.length; i++) {
          int n = Math.min(pieces[i % pieces.length], body.length - at);
          out.write(body, at, n);
          out.flush();
          at += n;
        }
        String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(response).startsWith("HTTP/1.1 200");
        JsonNode pieced = Json.MAPPER.readTree(response.substring(response.indexOf("\r\n\r\n") + 4));
        assertThat(pieced.path("usage").path("prompt_tokens").asInt()).as("the node saw the same prompt")
            .isPositive().isEqualTo(whole.path("usage").path("prompt_tokens").asInt());
      }
      await().atMost(Duration.ofSeconds(5)).until(() -> uploadBytes(c) == 0);
    }
  }

  @Test
  void uploadsBeyondATenantsCapAre429AndBeyondTheTotal503WithRetryAfterWhileOtherTenantsUpload() throws Exception {
    ServerSettings small = new ServerSettings("127.0.0.1", 0, 64 * KIB).withUploadCaps(120 * KIB, 100 * KIB);
    try (TestCluster c = new TestCluster().server(small).node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      String body = chat((int) (60 * KIB));
      long calls = c.sim("a").stats().count(CHAT);
      try (RawPeer stalled = new RawPeer(c.port()).send(head(CHAT, body.length(), "tenant-a")
          + body.substring(0, (int) (50 * KIB)))) {
        await().atMost(Duration.ofSeconds(10)).until(() -> uploadBytes(c) == 50 * KIB);

        // the same tenant: 50 KiB held + 60 KiB > 100 KiB per tenant
        RawPeer again = new RawPeer(c.port()).send(head(CHAT, body.length(), "tenant-a") + body);
        await().atMost(Duration.ofSeconds(10)).until(again::closedByServer);
        assertError(again.received(), 429, "upload_limit_exceeded", "server.maxUploadBytesInProgressPerTenant");

        // another tenant: 50 + 60 KiB ≤ 120 KiB in total
        RawPeer other = new RawPeer(c.port()).send(head(CHAT, body.length(), "tenant-b") + body);
        await().atMost(Duration.ofSeconds(10)).until(() -> other.received().contains("\"choices\""));
        assertThat(other.received()).startsWith("HTTP/1.1 200");
        other.close();

        // a third tenant holding 50 KiB more leaves 20 KiB: a fourth tenant's 60 KiB does not fit in the total
        try (RawPeer third = new RawPeer(c.port()).send(head(CHAT, body.length(), "tenant-c")
            + body.substring(0, (int) (50 * KIB)))) {
          await().atMost(Duration.ofSeconds(10)).until(() -> uploadBytes(c) == 100 * KIB);
          RawPeer fourth = new RawPeer(c.port()).send(head(CHAT, body.length(), "tenant-d") + body);
          await().atMost(Duration.ofSeconds(10)).until(fourth::closedByServer);
          assertError(fourth.received(), 503, "upload_limit_exceeded", "server.maxUploadBytesInProgress");
        }
      }
      assertThat(c.sim("a").stats().count(CHAT)).as("only the accepted upload reached a node").isEqualTo(calls + 1);
      await().atMost(Duration.ofSeconds(10)).until(() -> uploadBytes(c) == 0);
    }
  }

  private static void assertError(String response, int status, String code, String key) throws Exception {
    assertThat(response).startsWith("HTTP/1.1 " + status + " ");
    assertThat(response.toLowerCase()).contains("\r\nretry-after: 1\r\n").contains("\r\nconnection: close\r\n");
    JsonNode error = Json.MAPPER.readTree(response.substring(response.indexOf("\r\n\r\n") + 4)).path("error");
    assertThat(error.path("code").asText()).isEqualTo(code);
    assertThat(error.path("message").asText()).contains(key);
  }

  @Test
  void aBodyThatStopsHalfwayIs408AtTheDeadlineInTheApisFormatAndNeverReachesANode() throws Exception {
    Duration deadline = Duration.ofMillis(500);
    ServerSettings s = ServerSettings.defaults().withDeadlines(Duration.ofSeconds(10), Duration.ofSeconds(60),
        deadline, 0);
    try (TestCluster c = new TestCluster().server(s).node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      String body = chat(2000);
      String ollama = "{\"model\":\"qwen3:32b\",\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
      long openAiCalls = c.sim("a").stats().count(CHAT);
      long ollamaCalls = c.sim("a").stats().count("/api/chat");
      try (RawPeer openAi = new RawPeer(c.port()).send(head(CHAT, body.length(), "t") + body.substring(0, 1000));
          RawPeer ollamaPeer = new RawPeer(c.port()).send(head("/api/chat", ollama.length(), "t")
              + ollama.substring(0, 10))) {
        await().atMost(Duration.ofSeconds(10)).until(() -> openAi.closedByServer() && ollamaPeer.closedByServer());

        assertThat(openAi.received()).startsWith("HTTP/1.1 408 ");
        JsonNode error = Json.MAPPER.readTree(after(openAi.received())).path("error");
        assertThat(error.path("code").asText()).isEqualTo("request_timeout");
        assertThat(error.path("message").asText()).contains("server.bodyReadTimeout").contains("500ms");
        assertThat(ollamaPeer.received()).startsWith("HTTP/1.1 408 ");
        assertThat(Json.MAPPER.readTree(after(ollamaPeer.received())).path("error").asText())
            .contains("server.bodyReadTimeout");
      }
      assertThat(c.sim("a").stats().count(CHAT)).isEqualTo(openAiCalls);
      assertThat(c.sim("a").stats().count("/api/chat")).isEqualTo(ollamaCalls);
      assertThat(closed(c, "body_timeout")).isEqualTo(2);
      assertThat(uploadBytes(c)).isZero();
      assertThat(c.metrics.scrape()).contains("sluice_connections_closed_total{reason=\"body_timeout\"} 2.0")
          .contains("sluice_upload_in_progress_bytes 0.0");
    }
  }

  @Test
  void theUploadAccountingReturnsToZeroWhicheverWayAnUploadEnds() throws Exception {
    ServerSettings s = new ServerSettings("127.0.0.1", 0, 64 * KIB).withUploadCaps(200 * KIB, 100 * KIB)
        .withDeadlines(Duration.ofSeconds(10), Duration.ofSeconds(60), Duration.ofMillis(700), 0);
    try (TestCluster c = new TestCluster().server(s).node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      String body = chat((int) (60 * KIB));
      // completed
      assertThat(Http.post(c.url(CHAT), body).statusCode()).isEqualTo(200);
      assertThat(uploadBytes(c)).isZero();
      // the client goes away halfway
      try (RawPeer gone = new RawPeer(c.port()).send(head(CHAT, body.length(), "a") + body.substring(0, 30_000))) {
        await().atMost(Duration.ofSeconds(10)).until(() -> uploadBytes(c) == 30_000);
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> uploadBytes(c) == 0);
      // the deadline cuts it
      try (RawPeer slow = new RawPeer(c.port()).send(head(CHAT, body.length(), "a") + body.substring(0, 30_000))) {
        await().atMost(Duration.ofSeconds(10)).until(slow::closedByServer);
        assertThat(slow.received()).startsWith("HTTP/1.1 408 ");
      }
      assertThat(uploadBytes(c)).isZero();
      // refused by the tenant cap, with the first upload still held
      try (RawPeer held = new RawPeer(c.port()).send(head(CHAT, body.length(), "a") + body.substring(0, 50_000));
          RawPeer refused = new RawPeer(c.port())) {
        await().atMost(Duration.ofSeconds(10)).until(() -> uploadBytes(c) == 50_000);
        refused.send(head(CHAT, body.length(), "a") + body);
        await().atMost(Duration.ofSeconds(10)).until(refused::closedByServer);
        assertThat(refused.received()).startsWith("HTTP/1.1 429 ");
        assertThat(uploadBytes(c)).isEqualTo(50_000);
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> uploadBytes(c) == 0);
      // over maxBodyBytes by its announced length: refused before a byte is read
      try (RawPeer big = new RawPeer(c.port()).send(head(CHAT, 65 * KIB, "a") + "x".repeat(1000))) {
        await().atMost(Duration.ofSeconds(10)).until(big::closedByServer);
        assertThat(big.received()).startsWith("HTTP/1.1 413 ");
      }
      assertThat(uploadBytes(c)).isZero();
    }
  }

  private static String after(String response) {
    return new String(response.substring(response.indexOf("\r\n\r\n") + 4).getBytes(StandardCharsets.ISO_8859_1),
        StandardCharsets.UTF_8);
  }
}
