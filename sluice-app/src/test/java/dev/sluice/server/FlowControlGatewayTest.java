package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.auth.Principal;
import dev.sluice.config.FlowSettings;
import dev.sluice.config.RoutingSettings;
import dev.sluice.degrade.DegradationSettings;
import dev.sluice.flow.Band;
import dev.sluice.observe.AccessLog;
import dev.sluice.observe.RequestRecord;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;

/**
 * Flow control end to end: real HTTP on port 0 against a simulated A10 capped at one request at a time
 * ({@code routing.flow.maxConcurrent.A10: 1}). A request that finds the node at its cap waits in the gateway, leaves the
 * queue when its client does, and is answered 429 + Retry-After in its API's format when it cannot wait.
 */
class FlowControlGatewayTest {
  private static final String MODEL = "qwen3:32b";
  private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private static final String QUEUE = "sluice_flow_queue_requests{band=\"%s\",model=\"" + MODEL + "\"} %s";

  private static String chat(int maxTokens) {
    return "{\"model\":\"" + MODEL + "\",\"max_tokens\":" + maxTokens
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about PagedAttention\"}]}";
  }

  private static FlowSettings capOne(int queueLength, Duration maxWait) {
    return new FlowSettings(true, queueLength, maxWait, Map.of("A10", 1), Map.of(), 1);
  }

  private static TestCluster cluster(FlowSettings flow, double timeScale) {
    return new TestCluster().routing(RoutingSettings.defaults().withFlow(flow))
        .node("a", GpuProfile.A10, MODEL, timeScale).start();
  }

  private static CompletableFuture<HttpResponse<String>> send(TestCluster c, String path, String body, String key,
      String priority) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(c.url(path))).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
    if (key != null) b.header("Authorization", "Bearer " + key);
    if (priority != null) b.header("x-sluice-priority", priority);
    return CLIENT.sendAsync(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> post(TestCluster c, String path, String body) {
    return send(c, path, body, null, null).join();
  }

  /** A chat sent over a raw socket, so the test can leave (close the connection) while it waits or runs. */
  private static Socket raw(TestCluster c, String body) throws Exception {
    Socket s = new Socket("127.0.0.1", c.port());
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    OutputStream out = s.getOutputStream();
    out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + "Content-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    out.write(bytes);
    out.flush();
    return s;
  }

  /** Takes the node's only slot with a chat it holds before its first byte; close the socket to free the slot. */
  private static Socket holdTheSlot(TestCluster c) throws Exception {
    c.sim("a").injectFault(SimFault.hangBeforeFirstByte(1));
    Socket s = raw(c, chat(5));
    await().atMost(Duration.ofSeconds(5)).until(() -> c.sim("a").stats().active() == 1);
    return s;
  }

  private static String metrics(TestCluster c) {
    return Http.get(c.url("/metrics")).body();
  }

  private static void awaitWaiting(TestCluster c, String band, int n) {
    await().atMost(Duration.ofSeconds(5)).until(() -> metrics(c).contains(String.format(QUEUE, band, n + ".0")));
  }

  private static long nodeChats(TestCluster c) {
    return c.sim("a").stats().count("/v1/chat/completions");
  }

  /** The chats' records (not the test's own /metrics reads), in the order they ended. */
  private static List<RequestRecord> chats(ConcurrentLinkedQueue<RequestRecord> records) {
    return records.stream().filter(r -> MODEL.equals(r.modelRequested())).toList();
  }

  private static JsonNode accessLog(RequestRecord r) throws Exception {
    return Json.MAPPER.readTree(AccessLog.line(r));
  }

  @Test
  void aRequestThatFindsTheNodeAtItsCapWaitsAndIsAnsweredAfterTheOneAhead() throws Exception {
    try (TestCluster c = cluster(capOne(16, Duration.ofSeconds(20)), 1)) {
      ConcurrentLinkedQueue<RequestRecord> records = new ConcurrentLinkedQueue<>();
      c.gateway.addRequestObserver(records::add);
      CompletableFuture<HttpResponse<String>> first = send(c, "/v1/chat/completions", chat(40), null, null);
      await().atMost(Duration.ofSeconds(5)).until(() -> c.sim("a").stats().active() == 1);
      CompletableFuture<HttpResponse<String>> second = send(c, "/v1/chat/completions", chat(5), null, null);
      awaitWaiting(c, "interactive", 1);
      assertThat(c.sim("a").stats().active()).as("the node runs one request, the other waits").isEqualTo(1);

      assertThat(first.join().statusCode()).isEqualTo(200);
      HttpResponse<String> answered = second.join();
      assertThat(answered.statusCode()).isEqualTo(200);
      assertThat(answered.headers().firstValue("x-sluice-priority")).hasValue("interactive");
      await().atMost(Duration.ofSeconds(5)).until(() -> chats(records).size() == 2);
      List<RequestRecord> done = chats(records);
      assertThat(accessLog(done.get(0)).path("queuedMs").asDouble()).as("the first did not wait").isZero();
      assertThat(accessLog(done.get(1)).path("queuedMs").asDouble()).as("the second waited").isPositive();
      assertThat(accessLog(done.get(1)).path("band").asText()).isEqualTo("interactive");
      assertThat(metrics(c)).contains("sluice_flow_dispatched_requests_total{band=\"interactive\",model=\"" + MODEL
          + "\"} 1.0").contains(String.format(QUEUE, "interactive", "0.0"));
      JsonNode queues = Json.MAPPER.readTree(Http.get(c.url("/admin/console/state")).body()).path("queues");
      assertThat(queues.path("enabled").asBoolean()).isTrue();
      JsonNode row = queues.path("bands").get(0);
      assertThat(row.path("model").asText()).isEqualTo(MODEL);
      assertThat(row.path("band").asText()).isEqualTo("interactive");
      assertThat(row.path("waiting").asInt()).isZero();
      assertThat(row.path("dispatched").asLong()).isEqualTo(1);
      assertThat(row.path("waitP99Millis").asLong()).as("the console's queue panel shows the wait").isPositive();
      assertThat(queues.path("tenantShares").path(MODEL).size()).isEqualTo(1);
    }
  }

  @Test
  void aClientThatLeavesWhileWaitingLeavesTheQueueAtOnceAndTheNodeNeverSeesIt() throws Exception {
    try (TestCluster c = cluster(capOne(16, Duration.ofSeconds(20)), 0)) {
      ConcurrentLinkedQueue<RequestRecord> records = new ConcurrentLinkedQueue<>();
      c.gateway.addRequestObserver(records::add);
      try (Socket holder = holdTheSlot(c)) {
        Socket waiting = raw(c, chat(5));
        awaitWaiting(c, "interactive", 1);
        waiting.close();
        awaitWaiting(c, "interactive", 0);
        await().atMost(Duration.ofSeconds(5)).until(() -> metrics(c).contains("sluice_flow_not_dispatched_requests_total"
            + "{band=\"interactive\",model=\"" + MODEL + "\",reason=\"cancelled\"} 1.0"));
        await().atMost(Duration.ofSeconds(5)).until(() -> records.stream().anyMatch(r -> "cancelled".equals(r.outcome())));
        assertThat(nodeChats(c)).as("the node saw only the request holding its slot").isEqualTo(1);
      }
    }
  }

  @Test
  void aFullQueueIsAnswered429WithRetryAfterInEachApisOwnFormat() throws Exception {
    try (TestCluster c = cluster(capOne(0, Duration.ofSeconds(20)), 0); Socket holder = holdTheSlot(c)) {
      HttpResponse<String> openAi = post(c, "/v1/chat/completions", chat(5));
      assertThat(openAi.statusCode()).isEqualTo(429);
      assertThat(openAi.headers().firstValue("retry-after")).isPresent();
      JsonNode err = Json.MAPPER.readTree(openAi.body()).path("error");
      assertThat(err.path("type").asText()).isEqualTo("rate_limit_error");
      assertThat(err.path("message").asText()).contains("concurrency cap").contains("routing.flow.queueLength")
          .contains("a 1/1");

      HttpResponse<String> anthropic = post(c, "/v1/messages", "{\"model\":\"" + MODEL + "\",\"max_tokens\":5,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
      assertThat(anthropic.statusCode()).isEqualTo(429);
      assertThat(anthropic.headers().firstValue("retry-after")).isPresent();
      JsonNode a = Json.MAPPER.readTree(anthropic.body());
      assertThat(a.path("type").asText()).isEqualTo("error");
      assertThat(a.path("error").path("type").asText()).isEqualTo("rate_limit_error");
      assertThat(a.path("error").path("message").asText()).contains("routing.flow.queueLength");

      HttpResponse<String> ollama = post(c, "/api/chat", "{\"model\":\"" + MODEL + "\",\"stream\":false,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
      assertThat(ollama.statusCode()).isEqualTo(429);
      assertThat(ollama.headers().firstValue("retry-after")).isPresent();
      assertThat(Json.MAPPER.readTree(ollama.body()).path("error").asText()).contains("routing.flow.queueLength");

      assertThat(nodeChats(c)).as("no refused request reached the node").isEqualTo(1);
      assertThat(metrics(c)).contains("sluice_flow_not_dispatched_requests_total{band=\"interactive\",model=\""
          + MODEL + "\",reason=\"queue_full\"} 3.0");
    }
  }

  @Test
  void aRequestStillWaitingWhenItsMaxWaitPassesIsAnswered429() throws Exception {
    try (TestCluster c = cluster(capOne(16, Duration.ofMillis(300)), 0); Socket holder = holdTheSlot(c)) {
      long start = System.nanoTime();
      HttpResponse<String> r = post(c, "/v1/chat/completions", chat(5));
      assertThat((System.nanoTime() - start) / 1_000_000).as("waited its maxWait").isGreaterThanOrEqualTo(250);
      assertThat(r.statusCode()).isEqualTo(429);
      assertThat(r.headers().firstValue("retry-after")).isPresent();
      assertThat(Json.MAPPER.readTree(r.body()).path("error").path("message").asText())
          .contains("routing.flow.maxWait (300 ms)");
      assertThat(metrics(c)).contains("sluice_flow_not_dispatched_requests_total{band=\"interactive\",model=\""
          + MODEL + "\",reason=\"timeout\"} 1.0");
      assertThat(nodeChats(c)).isEqualTo(1);
    }
  }

  @Test
  void aBatchRequestWaitsBehindAnInteractiveOneThatArrivedLater() throws Exception {
    try (TestCluster c = cluster(capOne(16, Duration.ofSeconds(20)), 0)) {
      ConcurrentLinkedQueue<RequestRecord> records = new ConcurrentLinkedQueue<>();
      c.gateway.addRequestObserver(records::add);
      CompletableFuture<HttpResponse<String>> batch;
      CompletableFuture<HttpResponse<String>> interactive;
      try (Socket holder = holdTheSlot(c)) {
        batch = send(c, "/v1/chat/completions", chat(5), null, "batch");
        awaitWaiting(c, "batch", 1);
        interactive = send(c, "/v1/chat/completions", chat(5), null, "interactive");
        awaitWaiting(c, "interactive", 1);
      } // the slot frees
      HttpResponse<String> b = batch.join();
      HttpResponse<String> i = interactive.join();
      assertThat(b.statusCode()).isEqualTo(200);
      assertThat(i.statusCode()).isEqualTo(200);
      assertThat(b.headers().firstValue("x-sluice-priority")).hasValue("batch");
      String batchId = b.headers().firstValue("x-request-id").orElseThrow();
      String interactiveId = i.headers().firstValue("x-request-id").orElseThrow();
      await().atMost(Duration.ofSeconds(5)).until(() -> chats(records).stream().filter(r -> r.status() == 200).count() == 2);
      List<String> order = chats(records).stream().filter(r -> r.status() == 200).map(RequestRecord::requestId).toList();
      assertThat(order).containsExactly(interactiveId, batchId);
    }
  }

  @Test
  void aSecondTenantsRequestIsDispatchedWithinTheFirstTurnOfATenantThatSentABurst() throws Exception {
    try (TestCluster c = cluster(capOne(64, Duration.ofSeconds(20)), 0)) {
      ConcurrentLinkedQueue<RequestRecord> records = new ConcurrentLinkedQueue<>();
      c.gateway.addRequestObserver(records::add);
      List<CompletableFuture<HttpResponse<String>>> burst = new ArrayList<>();
      CompletableFuture<HttpResponse<String>> other;
      int n = 6;
      try (Socket holder = holdTheSlot(c)) {
        for (int i = 0; i < n; i++) { // each costs more GPU time than one turn's quantum: one per turn
          burst.add(send(c, "/v1/chat/completions", chat(200), "sk-tenant-a", null));
          awaitWaiting(c, "interactive", i + 1);
        }
        other = send(c, "/v1/chat/completions", chat(200), "sk-tenant-b", null);
        awaitWaiting(c, "interactive", n + 1);
      }
      burst.forEach(f -> assertThat(f.join().statusCode()).isEqualTo(200));
      String otherId = other.join().headers().firstValue("x-request-id").orElseThrow();
      await().atMost(Duration.ofSeconds(5)).until(() -> chats(records).stream().filter(r -> r.status() == 200).count() == n + 1);
      List<String> order = chats(records).stream().filter(r -> r.status() == 200).map(RequestRecord::requestId).toList();
      assertThat(order.indexOf(otherId)).as("tenant B's place among %s dispatches", n + 1).isLessThanOrEqualTo(1);
      assertThat(metrics(c)).contains("sluice_flow_dispatched_gpu_seconds_total{tenant=\"key-");
    }
  }

  @Test
  void aStreamOfQueueRefusalsLeavesTheDegradationLevelNormal() throws Exception {
    try (TestCluster c = cluster(capOne(0, Duration.ofSeconds(20)), 0); Socket holder = holdTheSlot(c)) {
      for (int i = 0; i < 30; i++) {
        HttpResponse<String> r = post(c, "/v1/chat/completions", chat(5));
        assertThat(r.statusCode()).isEqualTo(429);
        assertThat(r.headers().firstValue(RoutedRequest.DEGRADED_HEADER)).isEmpty();
      }
      assertThat(Json.MAPPER.readTree(Http.get(c.url("/admin/degradation")).body()).path("models").toString())
          .contains("\"level\":\"NORMAL\"").doesNotContain("CACHE").doesNotContain("DOWNGRADE")
          .doesNotContain("STATIC");
    }
  }

  @Test
  void withFlowControlOffARequestGoesToTheNodeAtItsCapAsBefore() throws Exception {
    try (TestCluster c = cluster(capOne(16, Duration.ofSeconds(20)).withEnabled(false), 0);
        Socket holder = holdTheSlot(c)) {
      HttpResponse<String> r = post(c, "/v1/chat/completions", chat(5));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(nodeChats(c)).isEqualTo(2);
      assertThat(metrics(c)).doesNotContain("sluice_flow_dispatched_requests_total{");
    }
  }

  @Test
  void aPriorityHeaderThatNamesNoBandIsAnswered400NamingTheAcceptedValues() throws Exception {
    try (TestCluster c = cluster(capOne(16, Duration.ofSeconds(20)), 0)) {
      HttpResponse<String> r = send(c, "/v1/chat/completions", chat(5), null, "urgent").join();
      assertThat(r.statusCode()).isEqualTo(400);
      assertThat(Json.MAPPER.readTree(r.body()).path("error").path("message").asText())
          .contains("x-sluice-priority").contains("\"urgent\"").contains("interactive or batch");
      assertThat(nodeChats(c)).isZero();
    }
  }

  @Test
  void aCallerAskingAboveItsHighestBandGetsItsHighestBand() throws Exception {
    String tenant = Principal.anonymous().tenant();
    FlowSettings batchOnly = new FlowSettings(true, 16, Duration.ofSeconds(20), Map.of("A10", 1),
        Map.of(tenant, new FlowSettings.TenantShare(1, Band.BATCH)), 1);
    try (TestCluster c = cluster(batchOnly, 0)) {
      HttpResponse<String> r = send(c, "/v1/chat/completions", chat(5), null, "interactive").join();
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-sluice-priority")).hasValue("batch");
    }
  }

  @Test
  void aDowngradeAttemptThatFindsTheSmallerModelAtItsCapDoesNotWaitButFallsToTheStaticReply() throws Exception {
    try (TestCluster c = new TestCluster().routing(RoutingSettings.defaults().withFlow(capOne(16,
            Duration.ofSeconds(20)))).degradation(DegradationSettings.defaults().withDwell(Duration.ofSeconds(20))
            .withDowngrade(Map.of(MODEL, "qwen2:7b")))
        .node("a", GpuProfile.A100, MODEL, 0).node("small", GpuProfile.A10, "qwen2:7b", 0).start()) {
      c.sim("small").injectFault(SimFault.hangBeforeFirstByte(1));
      CompletableFuture<HttpResponse<String>> holder = send(c, "/v1/chat/completions",
          chat(5).replace(MODEL, "qwen2:7b"), null, null);
      await().atMost(Duration.ofSeconds(5)).until(() -> c.sim("small").stats().active() == 1);
      Http.post(c.url("/admin/degradation"), "{\"level\":\"downgrade\",\"model\":\"" + MODEL + "\"}");

      HttpResponse<String> r = post(c, "/v1/chat/completions", chat(5));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-sluice-degraded")).hasValue("static");
      assertThat(r.headers().firstValue("x-model-downgraded")).isEmpty();
      assertThat(metrics(c)).doesNotContain("sluice_flow_queue_requests{band=\"interactive\",model=\"qwen2:7b\"} 1.0");
      assertThat(c.sim("small").stats().count("/v1/chat/completions")).as("only the held request").isEqualTo(1);
      holder.cancel(true);
    }
  }

  /** The gateway's own count of requests in flight on {@code node} ({@code /admin/nodes}). */
  private static int inFlight(TestCluster c, String node) throws Exception {
    for (JsonNode n : Json.MAPPER.readTree(Http.get(c.url("/admin/nodes")).body()).path("nodes")) {
      if (n.path("id").asText().equals(node)) return n.path("inFlight").asInt();
    }
    return -1;
  }

  @Test
  void aLongPromptWaitsForTheFullFastNodeRatherThanTakeASlowIdleOneBeyondTheBudget() throws Exception {
    FlowSettings h100CapOne = new FlowSettings(true, 16, Duration.ofSeconds(20), Map.of("H100", 1), Map.of(), 1);
    try (TestCluster c = new TestCluster().routing(RoutingSettings.defaults().withFlow(h100CapOne))
        .node("h", GpuProfile.H100, MODEL, 1).node("a", GpuProfile.A10, MODEL, 1).start()) {
      // least-delay's pick for a short chat: the idle H100; 2,000 tokens at real speed hold its one slot for ~30 s
      Socket held = raw(c, chat(2_000));
      await().atMost(Duration.ofSeconds(5)).until(() -> inFlight(c, "h") == 1);
      long aBefore = c.sim("a").stats().count("/v1/chat/completions");
      // ~3,000 prompt tokens: ~4 s of prefill on an A10 (past the 2 s budget), ~0.25 s on the H100
      String longPrompt = "{\"model\":\"" + MODEL + "\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\","
          + "\"content\":\"" + "summarise the incident timeline of the storage cluster. ".repeat(220) + "\"}]}";

      CompletableFuture<HttpResponse<String>> waiting = send(c, "/v1/chat/completions", longPrompt, null, null);
      awaitWaiting(c, "interactive", 1);
      assertThat(c.sim("a").stats().count("/v1/chat/completions")).as("the idle A10 was not given it")
          .isEqualTo(aBefore);
      held.close(); // the client leaves: the H100's slot frees

      HttpResponse<String> answered = waiting.join();
      assertThat(answered.statusCode()).as(answered.body()).isEqualTo(200);
      assertThat(answered.headers().firstValue("x-sluice-node")).hasValue("h");
    }
  }

  @Test
  void aRequestThatWaitedUntilNoNodeCanStartItWithinItsBudgetIsAnswered429RatherThanStartedLateOnASlowIdleNode()
      throws Exception {
    FlowSettings h100CapOne = new FlowSettings(true, 16, Duration.ofSeconds(20), Map.of("H100", 1), Map.of(), 1);
    try (TestCluster c = new TestCluster().routing(RoutingSettings.defaults().withFlow(h100CapOne))
        .node("h", GpuProfile.H100, MODEL, 1).node("a", GpuProfile.A10, MODEL, 1).start()) {
      // the H100's one slot, streaming for ~30 s (read as it comes, so the node is not silent)
      String stream = "{\"model\":\"" + MODEL + "\",\"stream\":true,\"max_tokens\":2000,\"messages\":[{\"role\":"
          + "\"user\",\"content\":\"Tell me about PagedAttention\"}]}";
      CompletableFuture<HttpResponse<String>> held = send(c, "/v1/chat/completions", stream, null, null);
      await().atMost(Duration.ofSeconds(5)).until(() -> inFlight(c, "h") == 1);
      long aBefore = c.sim("a").stats().count("/v1/chat/completions");
      // ~3,000 prompt tokens: ~0.25 s of prefill on the H100, ~4 s on the idle A10; the 2 s budget runs out waiting
      String longPrompt = "{\"model\":\"" + MODEL + "\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\","
          + "\"content\":\"" + "summarise the incident timeline of the storage cluster. ".repeat(220) + "\"}]}";

      HttpResponse<String> refused = send(c, "/v1/chat/completions", longPrompt, null, null).join();

      assertThat(refused.statusCode()).as(refused.body()).isEqualTo(429);
      assertThat(refused.headers().firstValue("Retry-After")).isPresent();
      assertThat(refused.body()).contains("no node can start it within the");
      assertThat(c.sim("a").stats().count("/v1/chat/completions")).as("the idle A10 was not given it late")
          .isEqualTo(aBefore);
      held.cancel(true);
    }
  }
}
