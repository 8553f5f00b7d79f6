package dev.sluice.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.config.FlowSettings;
import dev.sluice.config.RoutingSettings;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Each node's concurrency cap learning from what the gateway sees of real simulated nodes, through the gateway: the
 * KV capacity on its {@code /metrics}, the requests waiting inside it, Ollama's 503 "server busy"; and a configured
 * cap staying as configured through all of them. Read as {@code /admin/nodes} and {@code /metrics} show it.
 */
class NodeCapSignalsTest {
  private static final String MODEL = "qwen3:32b";
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  /** Minutes of decode at real speed: a request that holds its slot for the whole test. */
  private static final String LONG_CHAT = "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":"
      + "\"hi\"}],\"options\":{\"num_predict\":4000}}";
  private static final String SHORT_CHAT = "{\"model\":\"" + MODEL + "\",\"stream\":false,\"messages\":[{\"role\":"
      + "\"user\",\"content\":\"hi\"}],\"options\":{\"num_predict\":5}}";

  private final List<CompletableFuture<HttpResponse<String>>> held = new ArrayList<>();

  @AfterEach
  void releaseHeldRequests() {
    held.forEach(f -> f.cancel(true));
  }

  @Test
  void aVllmNodesKvCapacityOnItsMetricsSetsItsLearnedCapAsAdminNodesAndMetricsShow() throws Exception {
    try (TestCluster c = new TestCluster().telemetry().node("a10-01", GpuProfile.A10, MODEL, 0).start()) {
      await().atMost(Duration.ofSeconds(10)).until(() -> {
        TestCluster.await(c.gateway.telemetryScraper().scrapeNow("a10-01"));
        return node(c).path("capSource").asText().contains("node telemetry");
      });

      JsonNode n = node(c);
      assertThat(n.path("capSource").asText())
          .isEqualTo("learned: KV 5696 tokens (node telemetry) ÷ 1200 per request"); // 356 blocks of 16
      assertThat(n.path("cap").asInt()).isEqualTo(5);
      assertThat(n.path("waiting").isNumber()).isTrue();
      assertThat(n.path("waiting").asInt()).isZero();
      assertThat(Http.get(c.url("/metrics")).body()).contains("sluice_node_concurrency_cap{node=\"a10-01\"} 5.0");
    }
  }

  @Test
  void aNodeReportingRequestsWaitingInsideItShrinksItsLearnedCap() throws Exception {
    SimOptions oneAtATime = SimOptions.defaults().withId("a10-01").withGpu(GpuProfile.A10).withModels(MODEL)
        .withOverrides(Map.of("maxRunning", 1.0)); // vLLM's max_num_seqs 1: a second request waits
    try (TestCluster c = new TestCluster().telemetry().node(oneAtATime).start()) {
      await().atMost(Duration.ofSeconds(10)).until(() -> {
        TestCluster.await(c.gateway.telemetryScraper().scrapeNow("a10-01"));
        return node(c).path("capSource").asText().contains("node telemetry");
      });
      int before = node(c).path("cap").asInt();

      hold(c, 2);
      await().atMost(Duration.ofSeconds(10)).until(() -> {
        TestCluster.await(c.gateway.telemetryScraper().scrapeNow("a10-01"));
        return node(c).path("waiting").asInt() >= 1;
      });

      JsonNode n = node(c);
      assertThat(n.path("cap").asInt()).isLessThan(before);
      assertThat(n.path("capSource").asText()).contains("node reported 1 waiting");
      assertThat(n.path("inFlight").asInt()).isEqualTo(2);
    }
  }

  @Test
  void anOllamaNodeAnsweringServerBusyShrinksItsLearnedCap() throws Exception {
    try (TestCluster c = new TestCluster().node(ollamaWithQueueOfOne()).start()) {
      JsonNode fresh = node(c);
      assertThat(fresh.path("cap").asInt()).isEqualTo(GpuDefaults.OLLAMA_SLOTS);
      assertThat(fresh.path("capSource").asText())
          .isEqualTo("learned: Ollama guess of 4 parallel slots (OLLAMA_NUM_PARALLEL)");
      assertThat(fresh.path("waiting").isNull()).as("Ollama reports no queue").isTrue();

      fillSlotAndQueue(c);
      HttpResponse<String> refused = Http.post(c.url("/api/chat"), SHORT_CHAT);

      assertThat(refused.statusCode()).as(refused.body()).isEqualTo(503);
      JsonNode n = node(c);
      assertThat(n.path("cap").asInt()).isEqualTo(3); // 4 × 0.7
      assertThat(n.path("capSource").asText()).endsWith("; node answered busy at 3 in flight");
    }
  }

  @Test
  void anOllamaNodeWhoseRequestsQueueBehindItsOneSlotShrinksItsLearnedCapOnLateFirstTokens() throws Exception {
    SimOptions oneSlot = SimOptions.defaults().withId("ollama-01").withGpu(GpuProfile.A10_OLLAMA).withModels(MODEL);
    try (TestCluster c = new TestCluster().node(oneSlot).start()) {
      hold(c, GpuDefaults.OLLAMA_SLOTS); // the cap's worth: one decodes, three wait inside Ollama for minutes

      await().atMost(Duration.ofSeconds(20)).until(() -> node(c).path("cap").asInt() < GpuDefaults.OLLAMA_SLOTS);

      assertThat(node(c).path("capSource").asText()).containsPattern("; first token \\d+ ms vs \\d+ ms estimated$");
    }
  }

  @Test
  void aConfiguredCapIgnoresTheNodesKvCapacityItsWaitingRequestsAndItsBusyAnswers() throws Exception {
    FlowSettings capped = new FlowSettings(true, FlowSettings.DEFAULT_QUEUE_LENGTH, null, Map.of("A10_OLLAMA", 3),
        Map.of(), 1);
    // the simulator's Ollama profile serves vLLM's families too: its KV and the request queued behind its one slot
    try (TestCluster c = new TestCluster().telemetry().routing(RoutingSettings.defaults().withFlow(capped))
        .node(ollamaWithQueueOfOne()).start()) {
      fillSlotAndQueue(c);
      await().atMost(Duration.ofSeconds(10)).until(() -> {
        TestCluster.await(c.gateway.telemetryScraper().scrapeNow("ollama-01"));
        return node(c).path("waiting").asInt() >= 1;
      });
      HttpResponse<String> refused = Http.post(c.url("/api/chat"), SHORT_CHAT);

      assertThat(refused.statusCode()).as(refused.body()).isEqualTo(503);
      JsonNode n = node(c);
      assertThat(n.path("kvCacheTokens").asLong()).as("the KV figure was seen").isPositive();
      assertThat(n.path("cap").asInt()).isEqualTo(3);
      assertThat(n.path("capSource").asText()).isEqualTo("routing.flow.maxConcurrent.A10_OLLAMA");
      assertThat(Http.get(c.url("/metrics")).body()).contains("sluice_node_concurrency_cap{node=\"ollama-01\"} 3.0");
    }
  }

  @Test
  void aNodeWhoseAnswersStreamSlowerThanAPersonReadsShrinksItsLearnedCapThoughNothingWaitsInsideIt() throws Exception {
    SimOptions slow = SimOptions.defaults().withId("a10-01").withGpu(GpuProfile.A10).withModels(MODEL)
        .withOverrides(Map.of("decodeMillisPerToken", 300.0)); // 3.3 tokens/s
    try (TestCluster c = new TestCluster().node(slow).start()) {
      int before = node(c).path("cap").asInt();

      HttpResponse<String> answered = Http.post(c.url("/v1/chat/completions"), "{\"model\":\"" + MODEL + "\","
          + "\"stream\":true,\"max_tokens\":12,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

      assertThat(answered.statusCode()).as(answered.body()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(5)).until(() -> node(c).path("cap").asInt() < before);
      assertThat(node(c).path("capSource").asText()).containsPattern("; decoding at \\d+ ms per token$");
    }
  }

  /** An Ollama node with one slot (the profile's OLLAMA_NUM_PARALLEL) and room for one waiting request. */
  private static SimOptions ollamaWithQueueOfOne() {
    return SimOptions.defaults().withId("ollama-01").withGpu(GpuProfile.A10_OLLAMA).withModels(MODEL)
        .withOverrides(Map.of("queueLimit", 1.0));
  }

  /** One long request in the Ollama node's slot, one in its queue: the next one is refused. */
  private void fillSlotAndQueue(TestCluster c) {
    hold(c, 2);
    SimNode sim = c.sim("ollama-01");
    await().atMost(Duration.ofSeconds(10)).until(() -> sim.stats().active() == 2);
  }

  /** Sends {@code count} long streamed requests through the gateway and leaves them running. */
  private void hold(TestCluster c, int count) {
    for (int i = 0; i < count; i++) {
      held.add(HTTP.sendAsync(HttpRequest.newBuilder(URI.create(c.url("/api/chat")))
          .POST(HttpRequest.BodyPublishers.ofString(LONG_CHAT)).build(), HttpResponse.BodyHandlers.ofString()));
    }
    await().atMost(Duration.ofSeconds(10))
        .until(() -> c.gateway.registry().all().iterator().next().inFlight() == count);
  }

  private static JsonNode node(TestCluster c) throws Exception {
    return Json.MAPPER.readTree(Http.get(c.url("/admin/nodes")).body()).path("nodes").get(0);
  }
}
