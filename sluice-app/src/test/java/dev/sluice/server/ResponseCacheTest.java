package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.degrade.CacheSettings;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.LogCapture;
import dev.sluice.testkit.TestCluster;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The response cache through the real server: what is stored, what is served, to whom, and in which shape. */
class ResponseCacheTest {
  private static final String P = "{\"model\":\"qwen3:32b\",\"max_tokens\":6,\"messages\":[{\"role\":\"user\","
      + "\"content\":\"What is PagedAttention?\"}]}";

  static HttpResponse<String> post(TestCluster c, String path, String body, String apiKey) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(c.url(path))).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
    if (apiKey != null) b.header("Authorization", "Bearer " + apiKey);
    return Http.send(b.build());
  }

  private static long nodeCalls(TestCluster c) {
    return c.sim("a").stats().count("/v1/chat/completions");
  }

  private static String content(String chatJson) throws Exception {
    return Json.MAPPER.readTree(chatJson).at("/choices/0/message/content").asText();
  }

  private static void overrideCacheLevel(TestCluster c) {
    assertThat(Http.post(c.url("/admin/degradation"), "{\"level\":\"cache\"}").statusCode()).isEqualTo(200);
  }

  @Test
  void atTheCacheLevelAnIdenticalRequestGetsTheLatestSuccessWithoutReachingANode() throws Exception {
    try (TestCluster c = new TestCluster().node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      HttpResponse<String> first = post(c, "/v1/chat/completions", P, null);
      assertThat(first.statusCode()).isEqualTo(200);
      assertThat(first.headers().firstValue("x-sluice-cache")).isEmpty();
      overrideCacheLevel(c);

      // Same request with other key order and volatile fields: same answer, from the cache.
      String same = "{\"messages\":[{\"role\":\"user\",\"content\":\"What is PagedAttention?\"}],\"user\":\"u-7\","
          + "\"max_tokens\":6,\"model\":\"qwen3:32b\",\"stream\":false}";
      HttpResponse<String> hit = post(c, "/v1/chat/completions", same, null);
      assertThat(hit.statusCode()).isEqualTo(200);
      assertThat(hit.headers().firstValue("x-sluice-cache")).hasValue("hit");
      assertThat(content(hit.body())).isEqualTo(content(first.body()));
      assertThat(Json.MAPPER.readTree(hit.body()).path("model").asText()).isEqualTo("qwen3:32b");
      assertThat(nodeCalls(c)).isEqualTo(1);
      assertThat(Http.get(c.url("/metrics")).body()).contains("sluice_cache_lookups_total{result=\"hit\"} 1.0")
          .contains("outcome=\"cached\"");
      // the access log and the console's model card say what the lookup found
      String id = hit.headers().firstValue("x-request-id").orElseThrow();
      await().atMost(Duration.ofSeconds(5)).until(() -> LogCapture.lines().stream()
          .anyMatch(l -> l.contains("\"requestId\":\"" + id + "\"") && l.contains("\"cache\":\"hit\"")));
      for (JsonNode m : Json.MAPPER.readTree(Http.get(c.url("/admin/console/state")).body()).path("models")) {
        if (m.path("model").asText().equals("qwen3:32b")) assertThat(m.path("cache").path("hit").asLong()).isEqualTo(1);
      }
    }
  }

  @Test
  void aStreamingRequestGetsTheCachedAnswerReplayedAsAProperStream() throws Exception {
    try (TestCluster c = new TestCluster().node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      String answer = content(post(c, "/v1/chat/completions", P, null).body());
      overrideCacheLevel(c);
      HttpResponse<String> r = post(c, "/v1/chat/completions",
          P.replace("\"max_tokens\":6", "\"max_tokens\":6,\"stream\":true"), null);
      assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
      assertThat(r.headers().firstValue("x-sluice-cache")).hasValue("hit");
      assertThat(r.body()).endsWith("data: [DONE]\n\n");
      StringBuilder text = new StringBuilder();
      for (String event : r.body().split("\n\n")) {
        if (!event.startsWith("data: {")) continue;
        JsonNode chunk = Json.MAPPER.readTree(event.substring(6));
        assertThat(chunk.path("object").asText()).isEqualTo("chat.completion.chunk");
        text.append(chunk.at("/choices/0/delta/content").asText(""));
      }
      assertThat(text.toString()).isEqualTo(answer);
      assertThat(nodeCalls(c)).isEqualTo(1);
    }
  }

  @Test
  void anAnswerOlderThanTheFreshTtlIsServedAsStaleOnlyWhileDegraded() throws Exception {
    CacheSettings d = CacheSettings.defaults();
    CacheSettings oneMilli = new CacheSettings(d.maxBytes(), d.maxEntryBytes(), Duration.ofMillis(1), d.staleTtl(),
        Set.of("qwen3:32b"));
    try (TestCluster c = new TestCluster().cache(oneMilli).node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      post(c, "/v1/chat/completions", P, null);
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(2)).until(() -> {
        // NORMAL with caching on for the model: only fresh answers count, so a 1 ms TTL means the node answers again
        HttpResponse<String> r = post(c, "/v1/chat/completions", P, null);
        return r.headers().firstValue("x-sluice-cache").isEmpty();
      });
      overrideCacheLevel(c);
      HttpResponse<String> stale = post(c, "/v1/chat/completions", P, null);
      assertThat(stale.headers().firstValue("x-sluice-cache")).hasValue("stale");
      assertThat(stale.headers().firstValue("age")).isPresent();
    }
  }

  @Test
  void errorsAndTruncatedStreamsAreNeverCached() throws Exception {
    try (TestCluster c = new TestCluster().withoutDegradationFallback()
        .node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      c.sim("a").injectFault(SimFault.status(500, "{\"error\":\"boom\"}", 1));
      assertThat(post(c, "/v1/chat/completions", P, null).statusCode()).isEqualTo(502);
      // another prompt: a stream has the same cache key as its non-streaming twin
      String streaming = P.replace("\"max_tokens\":6", "\"max_tokens\":6,\"stream\":true")
          .replace("PagedAttention", "continuous batching");
      c.sim("a").injectFault(SimFault.resetAfterTokens(2, 1));
      assertThat(post(c, "/v1/chat/completions", streaming, null).body()).contains("stream_interrupted");

      overrideCacheLevel(c);
      long before = nodeCalls(c);
      HttpResponse<String> plain = post(c, "/v1/chat/completions", P, null);
      HttpResponse<String> stream = post(c, "/v1/chat/completions", streaming, null);
      assertThat(plain.headers().firstValue("x-sluice-cache")).isEmpty();
      assertThat(stream.headers().firstValue("x-sluice-cache")).isEmpty();
      assertThat(nodeCalls(c)).isEqualTo(before + 2);
    }
  }

  @Test
  void theSecondTenantNeverGetsTheFirstTenantsCachedAnswer() {
    try (TestCluster c = new TestCluster().node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      post(c, "/v1/chat/completions", P, "sk-tenant-one");
      overrideCacheLevel(c);
      HttpResponse<String> other = post(c, "/v1/chat/completions", P, "sk-tenant-two");
      assertThat(other.headers().firstValue("x-sluice-cache")).isEmpty();
      assertThat(nodeCalls(c)).isEqualTo(2);
      HttpResponse<String> same = post(c, "/v1/chat/completions", P, "sk-tenant-one");
      assertThat(same.headers().firstValue("x-sluice-cache")).hasValue("hit");
      assertThat(nodeCalls(c)).isEqualTo(2);
    }
  }

  @Test
  void anOllamaClientGetsTheCachedAnswerInItsOwnShape() throws Exception {
    try (TestCluster c = new TestCluster().node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      String req = "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}],"
          + "\"options\":{\"num_predict\":5}}";
      HttpResponse<String> first = post(c, "/api/chat", req, null); // streams NDJSON by default
      overrideCacheLevel(c);
      HttpResponse<String> hit = post(c, "/api/chat", req.replace("{\"model\"", "{\"stream\":false,\"model\""), null);
      assertThat(hit.headers().firstValue("x-sluice-cache")).hasValue("hit");
      JsonNode body = Json.MAPPER.readTree(hit.body());
      assertThat(body.path("done").asBoolean()).isTrue();
      StringBuilder streamed = new StringBuilder();
      for (String line : first.body().split("\n")) {
        streamed.append(Json.MAPPER.readTree(line).at("/message/content").asText(""));
      }
      assertThat(body.at("/message/content").asText()).isEqualTo(streamed.toString());
    }
  }

  @Test
  void purgingTheCacheForgetsEveryAnswer() {
    try (TestCluster c = new TestCluster().node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      post(c, "/v1/chat/completions", P, null);
      // the answer is stored when the node's response ends, which can come a moment after the client has it all
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
          .until(() -> Http.get(c.url("/metrics")).body().contains("sluice_cache_entries 1.0"));
      HttpResponse<String> purge = Http.post(c.url("/admin/cache/purge"), "");
      assertThat(purge.body()).isEqualTo("{\"purged\":1}");
      overrideCacheLevel(c);
      assertThat(post(c, "/v1/chat/completions", P, null).headers().firstValue("x-sluice-cache")).isEmpty();
    }
  }
}
