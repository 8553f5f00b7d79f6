package dev.sluice.console;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.observe.RequestRecord;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** The console's JSON state, event stream and routing switch through the real server (no auth configured). */
class ConsoleApiTest {
  static final String CHAT = "{\"model\":\"qwen3:32b\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\","
      + "\"content\":\"hi\"}]}";

  private static TestCluster cluster() {
    return new TestCluster().node("a10-01", GpuProfile.A10, "qwen3:32b", 0)
        .node("h100-01", GpuProfile.H100, "qwen3:32b", 0).start();
  }

  @Test
  void eachNodeHasItsShareErrorsLatencyTrendsTheRoutingPolicysViewAndItsTelemetrysStaleness() throws Exception {
    try (TestCluster c = cluster()) {
      List<RequestRecord> seen = new CopyOnWriteArrayList<>();
      c.gateway.addRequestObserver(seen::add);
      for (int i = 0; i < 6; i++) assertThat(Http.post(c.url("/v1/chat/completions"), CHAT).statusCode()).isEqualTo(200);
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> seen.size() == 6);

      JsonNode s = Json.MAPPER.readTree(Http.get(c.url("/admin/console/state")).body());
      long answered = 0;
      double share = 0;
      int chosen = 0;
      for (JsonNode n : s.path("nodes")) {
        JsonNode traffic = n.path("traffic");
        if (traffic.isNull()) continue; // never answered: no traffic yet
        answered += traffic.path("requests").path("m15").asLong();
        share += traffic.path("share").path("m5").asDouble();
        assertThat(traffic.path("errors").path("m15").asLong()).isZero();
        assertThat(n.path("trends").path("ttftP50Millis")).hasSize(15);
        assertThat(n.path("trends").path("gpuUtilPercent")).hasSize(30);
        if (!n.path("e2e").isNull()) {
          assertThat(n.path("e2e").path("p95Millis").asDouble())
              .isGreaterThanOrEqualTo(n.path("e2e").path("p50Millis").asDouble());
        }
      }
      assertThat(answered).isEqualTo(6);
      assertThat(share).as("the two nodes' shares of their provider's answers").isBetween(0.99, 1.01);
      for (JsonNode n : s.path("nodes")) {
        assertThat(n.path("route").path("text").asText()).isNotBlank();
        if (n.path("route").path("chosen").asBoolean()) chosen++;
        // no metricsUrl: telemetry is unknown (-1), never "stale"
        assertThat(n.path("telemetry").path("ageMillis").asLong()).isEqualTo(-1);
        assertThat(n.path("telemetry").path("stale").asBoolean()).isFalse();
        assertThat(n.path("ejection").path("remainingMillis").asLong()).isZero();
        assertThat(n.path("coolingRemainingMillis").asLong()).isZero();
      }
      assertThat(chosen).as("least-delay's pick for a typical request now").isEqualTo(1);
      JsonNode model = s.path("models").get(0);
      assertThat(model.path("kind").asText()).isEqualTo("model");
      assertThat(model.path("p99Millis").asDouble()).isGreaterThanOrEqualTo(model.path("p50Millis").asDouble());
      assertThat(model.path("cache").has("miss")).isTrue();
    }
  }

  @Test
  void theStateHasNodesWithTtftModelsPerMinuteDegradationAndPolicies() throws Exception {
    try (TestCluster c = cluster()) {
      List<RequestRecord> seen = new CopyOnWriteArrayList<>();
      c.gateway.addRequestObserver(seen::add);
      for (int i = 0; i < 5; i++) assertThat(Http.post(c.url("/v1/chat/completions"), CHAT).statusCode()).isEqualTo(200);
      // a request is recorded when it ends, which can be just after its client has the answer
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> seen.size() == 5);
      assertThat(seen).hasSize(5).allSatisfy(r -> {
        assertThat(r.outcome()).isEqualTo("ok");
        assertThat(r.node()).isIn("a10-01", "h100-01");
        assertThat(r.ttftNanos()).isBetween(0L, r.durationNanos());
        assertThat(r.modelRequested()).isEqualTo("qwen3:32b");
      });

      JsonNode s = Json.MAPPER.readTree(Http.get(c.url("/admin/console/state")).body());
      assertThat(s.path("nodes")).hasSize(2);
      assertThat(s.path("nodes").findValuesAsText("state")).containsOnly("READY");
      long answered = 0;
      for (JsonNode n : s.path("nodes")) {
        assertThat(n.has("ttft")).isTrue();
        if (!n.path("ttft").isNull()) {
          answered += n.path("ttft").path("count").asLong();
          assertThat(n.path("ttft").path("p95Millis").asDouble()).isGreaterThanOrEqualTo(
              n.path("ttft").path("p50Millis").asDouble());
        }
        assertThat(n.path("telemetry").has("gpuUtilPercent")).isTrue();
      }
      assertThat(answered).isEqualTo(5);
      JsonNode model = s.path("models").get(0);
      assertThat(model.path("model").asText()).isEqualTo("qwen3:32b");
      assertThat(model.path("points")).hasSize(15);
      assertThat(model.path("total").asLong()).isEqualTo(5);
      assertThat(model.path("points").get(14).path("outcomes").path("ok").asLong()).isEqualTo(5);
      assertThat(model.path("latency").get(0).has("leMillis")).isTrue();
      assertThat(s.path("degradation").path("cluster").path("level").asText()).isEqualTo("NORMAL");
      assertThat(s.path("degradation").has("recent")).isTrue();
      assertThat(s.path("routing").path("policies").toString()).contains("gpu-weighted", "least-delay");
      assertThat(s.path("cache").has("hits")).isTrue();
      assertThat(s.path("changes").findValuesAsText("to")).contains("READY");
    }
  }

  @Test
  void theNodeListNamesTheDialectsEachNodeServesAndANodeAddedAtRunTimeServesTheOnesItLists() throws Exception {
    try (TestCluster c = cluster()) {
      for (JsonNode n : Json.MAPPER.readTree(Http.get(c.url("/admin/nodes")).body()).path("nodes")) {
        List<String> dialects = new ArrayList<>();
        n.path("dialects").forEach(d -> dialects.add(d.asText()));
        assertThat(dialects).as("an Ollama node").contains("ollama", "openai").isSorted();
      }
      SimNode extra = TestCluster.await(SimNode.start(c.simVertx,
          SimOptions.defaults().withId("extra").withModels("qwen3:32b").withTimeScale(0)));

      HttpResponse<String> added = Http.post(c.url("/admin/nodes"), "{\"id\":\"extra\",\"baseUrl\":\""
          + extra.baseUrl() + "\",\"api\":\"openai\",\"dialects\":[\"responses\",\"openai\"],\"model\":\"qwen3:32b\"}");
      HttpResponse<String> refused = Http.post(c.url("/admin/nodes"), "{\"id\":\"other\",\"baseUrl\":\""
          + extra.baseUrl() + "\",\"dialects\":[\"anthropic\"],\"model\":\"qwen3:32b\"}");

      assertThat(added.statusCode()).as(added.body()).isEqualTo(201);
      assertThat(Json.MAPPER.readTree(added.body()).path("dialects").toString())
          .isEqualTo("[\"openai\",\"responses\"]");
      assertThat(refused.statusCode()).as(refused.body()).isEqualTo(400);
      JsonNode error = Json.MAPPER.readTree(refused.body()).path("error");
      assertThat(error.path("param").asText()).isEqualTo("dialects");
      assertThat(error.path("message").asText()).contains("node.dialects: [\"anthropic\"] names neither \"openai\" "
          + "nor \"ollama\"");
    }
  }

  @Test
  void theNodeListShowsAVllmNodesKvCacheAndTheShareOfARepeatedPromptItFoundCachedOverTheLastScrapeInterval()
      throws Exception {
    // the simulator's prefix cache runs in simulated time: the node is 50× a real A10, not instant
    try (TestCluster c = new TestCluster().telemetry().node("a10-01", GpuProfile.A10, "qwen3:32b", 50).start()) {
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> node(c).path("kvCacheTokens").asLong() > 0);
      JsonNode first = node(c);
      assertThat(first.path("prefixCacheHitRate").isNull()).as("one scrape: no interval yet").isTrue();
      assertThat(first.path("prefixCacheHitRateTotal").isNull()).isTrue();
      assertThat(first.path("affinitySessions").asInt()).isZero();

      String system = letters(4_000 * 4); // 4,000 tokens the node keeps in its prefix cache
      String chat = "{\"model\":\"qwen3:32b\",\"max_tokens\":1,\"messages\":[{\"role\":\"system\",\"content\":\""
          + system + "\"},{\"role\":\"user\",\"content\":\"What is in the file?\"}]}";
      // the gateway scrapes every 15 s on its own: a repeat between two scrapes of the test's always hits
      Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
        assertThat(Http.post(c.url("/v1/chat/completions"), chat).statusCode()).isEqualTo(200);
        TestCluster.await(c.gateway.telemetryScraper().scrapeNow("a10-01"));
        return node(c).path("prefixCacheHitRate").asDouble(0) > 0.9;
      });
      JsonNode n = node(c);
      assertThat(n.path("prefixCacheHitRate").asDouble()).isBetween(0.9, 1.0);
      assertThat(n.path("prefixCacheHitRateTotal").asDouble()).isBetween(0.4, n.path("prefixCacheHitRate").asDouble());
      assertThat(n.path("kvCacheTokens").asLong()).isEqualTo(first.path("kvCacheTokens").asLong());
      assertThat(n.path("telemetry").path("ageMillis").asLong()).isBetween(0L, 10_000L);
      assertThat(n.path("telemetry").path("prefixCacheHits").asDouble()).isGreaterThanOrEqualTo(4_000);
      assertThat(n.path("telemetry").path("prefixCacheResets").asInt()).isZero();
      assertThat(Http.get(c.url("/metrics")).body()).containsPattern(
          "sluice_node_prefix_cache_hit_ratio\\{node=\"a10-01\"} 0\\.9\\d*|sluice_node_prefix_cache_hit_ratio\\{node="
              + "\"a10-01\"} 1\\.0");
    }
  }

  private static JsonNode node(TestCluster c) throws Exception {
    return Json.MAPPER.readTree(Http.get(c.url("/admin/nodes")).body()).path("nodes").get(0);
  }

  private static String letters(int count) {
    SplittableRandom random = new SplittableRandom(18);
    StringBuilder text = new StringBuilder(count);
    for (int i = 0; i < count; i++) text.append((char) ('a' + random.nextInt(26)));
    return text.toString();
  }

  @Test
  void theRoutingPolicyIsSwitchedOnlyToAKnownPolicy() throws Exception {
    try (TestCluster c = cluster()) {
      HttpResponse<String> bad = Http.post(c.url("/admin/routing"), "{\"policy\":\"fastest\"}");
      assertThat(bad.statusCode()).isEqualTo(400);
      assertThat(bad.body()).contains("\\\"fastest\\\" is not a routing policy").contains("gpu-weighted")
          .contains("round-robin");
      assertThat(c.configs.current().routing().policy()).isEqualTo("least-delay");

      HttpResponse<String> ok = Http.post(c.url("/admin/routing"), "{\"policy\":\"gpu-weighted\"}");
      assertThat(ok.statusCode()).isEqualTo(200);
      assertThat(Json.MAPPER.readTree(ok.body()).path("policy").asText()).isEqualTo("gpu-weighted");
      assertThat(c.configs.current().routing().policy()).isEqualTo("gpu-weighted");
      c.configs.swap(c.config()); // a config reload keeps the switch
      assertThat(c.configs.current().routing().policy()).isEqualTo("gpu-weighted");
      assertThat(Http.post(c.url("/v1/chat/completions"), CHAT).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void affinityIsSwitchedOffAndOnAtRunTimeAndTheSwitchOutlivesAReload() throws Exception {
    try (TestCluster c = cluster()) {
      assertThat(Json.MAPPER.readTree(Http.get(c.url("/admin/routing")).body()).path("affinity").asBoolean()).isTrue();
      HttpResponse<String> bad = Http.post(c.url("/admin/routing"), "{\"affinity\":\"no\"}");
      assertThat(bad.statusCode()).isEqualTo(400);
      assertThat(bad.body()).contains("affinity").contains("true or false");

      HttpResponse<String> off = Http.post(c.url("/admin/routing"), "{\"affinity\":false}");
      assertThat(off.statusCode()).as(off.body()).isEqualTo(200);
      assertThat(Json.MAPPER.readTree(off.body()).path("affinity").asBoolean()).isFalse();
      assertThat(c.configs.current().routing().policy()).isEqualTo("least-delay");
      assertThat(c.configs.current().routing().affinity().enabled()).isFalse();
      c.configs.swap(c.config());
      assertThat(c.configs.current().routing().affinity().enabled()).isFalse();

      Http.post(c.url("/admin/routing"), "{\"policy\":\"least-delay\",\"affinity\":true}");
      assertThat(c.configs.current().routing().affinity().enabled()).isTrue();
    }
  }

  @Test
  void theEventStreamPushesTheStateEverySecondAndOnANodeStateChange() throws Exception {
    try (TestCluster c = cluster()) {
      HttpClient client = HttpClient.newHttpClient();
      HttpResponse<InputStream> r = client.send(HttpRequest.newBuilder(URI.create(c.url("/admin/events")))
          .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofInputStream());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v)
          .startsWith("text/event-stream"));
      try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
        JsonNode first = nextState(in);
        assertThat(first.path("nodes")).hasSize(2);
        long started = System.nanoTime();
        nextState(in);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofMillis(2500));
        assertThat(Http.post(c.url("/admin/nodes/h100-01/drain"), "{}").statusCode()).isEqualTo(200);
        JsonNode drained = null;
        for (int i = 0; i < 5 && drained == null; i++) {
          JsonNode s = nextState(in);
          for (JsonNode n : s.path("nodes")) {
            if (n.path("id").asText().equals("h100-01") && n.path("state").asText().equals("DRAINING")) drained = s;
          }
        }
        assertThat(drained).as("a state with h100-01 DRAINING").isNotNull();
        assertThat(drained.path("changes").findValuesAsText("to")).contains("DRAINING");
      }
    }
  }

  private static JsonNode nextState(BufferedReader in) throws Exception {
    String line;
    boolean state = false;
    while ((line = in.readLine()) != null) {
      if (line.equals("event: state")) state = true;
      else if (state && line.startsWith("data: ")) return Json.MAPPER.readTree(line.substring(6));
    }
    throw new AssertionError("event stream ended");
  }
}
