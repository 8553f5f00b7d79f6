package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.Endpoint;
import dev.sluice.config.AffinitySettings;
import dev.sluice.config.RoutingSettings;
import dev.sluice.config.SluiceConfig;
import dev.sluice.health.NodeState;
import dev.sluice.limit.PromptText;
import dev.sluice.observe.RequestRecord;
import dev.sluice.routing.Affinity;
import dev.sluice.routing.PrefixChain;
import dev.sluice.routing.PrefixHashPolicy;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.sim.SimOptions;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import dev.sluice.upstream.Exchange;
import dev.sluice.upstream.ForwardedHeaders;
import dev.sluice.upstream.NodeClients;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Session and prefix affinity through the gateway: real HTTP, real simulated nodes. An agent's turns repeat its
 * previous prompt, so each turn below extends the one before it behind a 6 KB system prompt.
 */
class AffinityGatewayTest {
  private static final String MODEL = "qwen3:32b";
  private static final String SYSTEM = "You are a coding agent. ".repeat(256); // 6 KB: six whole chunks

  /** Turn {@code n} (1-based) of a conversation: the system prompt and every earlier exchange, then the new question. */
  private static ObjectNode turn(String model, int n) {
    ObjectNode body = Json.MAPPER.createObjectNode().put("model", model).put("max_tokens", 5);
    ArrayNode messages = body.putArray("messages");
    messages.addObject().put("role", "system").put("content", SYSTEM);
    for (int i = 1; i < n; i++) {
      messages.addObject().put("role", "user").put("content", "Question " + i + ": fix the failing test.");
      messages.addObject().put("role", "assistant").put("content", "Answer " + i + ": done, see the diff.");
    }
    messages.addObject().put("role", "user").put("content", "Question " + n + ": fix the failing test.");
    return body;
  }

  private static HttpResponse<String> send(TestCluster c, ObjectNode body, String session) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(c.url("/v1/chat/completions")))
        .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
    if (session != null) b.header("x-session-id", session);
    HttpResponse<String> r = Http.send(b.build());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return r;
  }

  private static String affinity(HttpResponse<String> r) {
    return r.headers().firstValue(RoutedRequest.AFFINITY_HEADER).orElse(null);
  }

  private static String node(HttpResponse<String> r) {
    return r.headers().firstValue(ForwardedHeaders.NODE_HEADER).orElseThrow();
  }

  private static JsonNode adminNode(TestCluster c, String id) throws Exception {
    for (JsonNode n : Json.MAPPER.readTree(Http.get(c.url("/admin/nodes")).body()).get("nodes")) {
      if (n.get("id").asText().equals(id)) return n;
    }
    throw new AssertionError("no node " + id);
  }

  private static RoutingSettings policy(String name, boolean affinity) {
    RoutingSettings d = RoutingSettings.defaults().withPolicy(name);
    return d.withAffinity(d.affinity().withEnabled(affinity));
  }

  private static TestCluster threeNodes() {
    return new TestCluster().node("a", GpuProfile.H100, MODEL, 0).node("b", GpuProfile.H100, MODEL, 0)
        .node("c", GpuProfile.H100, MODEL, 0);
  }

  @Test
  void aSessionsTurnsStayOnOneNodeAndSayHitAfterTheFirst() throws Exception {
    try (TestCluster c = threeNodes().start()) {
      List<RequestRecord> records = new CopyOnWriteArrayList<>();
      c.gateway.addRequestObserver(records::add);
      HttpResponse<String> first = send(c, turn(MODEL, 1), "agent-1");
      assertThat(affinity(first)).isEqualTo("miss; cached=0.00");
      String home = node(first);
      for (int n = 2; n <= 4; n++) {
        ObjectNode body = turn(MODEL, n);
        if (n == 3) body.put("stream", true); // streamed answers say it too
        HttpResponse<String> r = send(c, body, "agent-1");
        assertThat(node(r)).as("turn %d", n).isEqualTo(home);
        assertThat(affinity(r)).as("turn %d", n).matches("hit; cached=0\\.(8|9)\\d");
      }
      assertThat(adminNode(c, home).get("affinitySessions").asInt()).isEqualTo(1);
      assertThat(adminNode(c, home).get("prefixIndexEntries").asInt()).isGreaterThanOrEqualTo(6);
      String metrics = Http.get(c.url("/metrics")).body();
      assertThat(metrics).contains("sluice_affinity_requests_total{model=\"qwen3:32b\",result=\"hit\"} 3.0")
          .contains("sluice_affinity_requests_total{model=\"qwen3:32b\",result=\"miss\"} 1.0")
          .contains("sluice_affinity_sessions 1.0").contains("sluice_affinity_index_entries")
          .contains("sluice_affinity_memory_bytes");
      List<RequestRecord> routed = records.stream().filter(r -> r.node() != null).toList(); // not the admin reads
      assertThat(routed).extracting(RequestRecord::affinity).containsExactly("miss", "hit", "hit", "hit");
      assertThat(routed.get(0).cachedTokensEstimate()).isZero();
      assertThat(routed.get(3).cachedTokensEstimate()).isPositive();
    }
  }

  @Test
  void aRequestWithoutASessionIdIsKeptWhereItsPrefixIsCached() {
    try (TestCluster c = threeNodes().start()) {
      String home = node(send(c, turn(MODEL, 1), null));
      HttpResponse<String> next = send(c, turn(MODEL, 2), null);
      assertThat(node(next)).isEqualTo(home);
      assertThat(affinity(next)).startsWith("hit; ");
    }
  }

  @Test
  void exploringAnIdleNodeSpendsARequestThatIsWarmNowhereNotAWarmSessionsTurn() {
    try (TestCluster c = threeNodes().start()) {
      String home = node(send(c, turn(MODEL, 1), "agent-explore"));
      // the two other nodes have answered nothing for longer than the exploration period: the next request that is
      // warm nowhere goes to one of them (so its learned speed stays current); the session's own turns do not
      await().pollDelay(Duration.ofMillis(Router.EXPLORE_AFTER_NANOS / 1_000_000 + 300)).atMost(Duration.ofSeconds(10))
          .until(() -> true);
      for (int n = 2; n <= 3; n++) {
        HttpResponse<String> r = send(c, turn(MODEL, n), "agent-explore");
        assertThat(node(r)).as("turn %d", n).isEqualTo(home);
        assertThat(affinity(r)).startsWith("hit; ");
      }
      ObjectNode cold = Json.MAPPER.createObjectNode().put("model", MODEL).put("max_tokens", 5);
      cold.putArray("messages").addObject().put("role", "user").put("content", "A short question of its own.");
      assertThat(node(send(c, cold, null))).isNotEqualTo(home);
    }
  }

  @Test
  void theSameSessionIdUnderTwoModelsSharesNoPinAndNoPrefix() {
    try (TestCluster c = new TestCluster()
        .node(SimOptions.defaults().withId("a").withGpu(GpuProfile.H100).withModels(MODEL, "qwen2:7b").withTimeScale(0))
        .node(SimOptions.defaults().withId("b").withGpu(GpuProfile.H100).withModels(MODEL, "qwen2:7b").withTimeScale(0))
        .start()) {
      send(c, turn(MODEL, 1), "shared-id");
      assertThat(affinity(send(c, turn(MODEL, 2), "shared-id"))).startsWith("hit; ");
      HttpResponse<String> other = send(c, turn("qwen2:7b", 2), "shared-id");
      assertThat(affinity(other)).as("the other model's first turn knows nothing").isEqualTo("miss; cached=0.00");
    }
  }

  @Test
  void aNodeThatTurnsDegradedLosesItsPinsAndTheSessionGoesOnElsewhere() throws Exception {
    try (TestCluster c = new TestCluster().node("a", GpuProfile.H100, MODEL, 0).node("b", GpuProfile.H100, MODEL, 0)
        .start()) {
      String home = node(send(c, turn(MODEL, 1), "agent-2"));
      assertThat(affinity(send(c, turn(MODEL, 2), "agent-2"))).startsWith("hit; ");
      assertThat(adminNode(c, home).get("affinitySessions").asInt()).isEqualTo(1);

      c.sim(home).injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS));
      await().atMost(Duration.ofSeconds(10))
          .until(() -> c.gateway.registry().get(home).health().state() == NodeState.DEGRADED);
      assertThat(adminNode(c, home).get("affinitySessions").asInt()).isZero();
      assertThat(adminNode(c, home).get("prefixIndexEntries").asInt()).isZero();

      HttpResponse<String> moved = send(c, turn(MODEL, 3), "agent-2");
      assertThat(node(moved)).isNotEqualTo(home);
      assertThat(affinity(moved)).matches("(miss|moved); cached=0\\.00");
      assertThat(affinity(send(c, turn(MODEL, 4), "agent-2"))).as("pinned to its new node").startsWith("hit; ");
    }
  }

  @Test
  void withAffinityOffAnswersCarryNoAffinityHeaderAndNothingIsRemembered() throws Exception {
    try (TestCluster c = threeNodes().routing(policy("least-delay", false)).start()) {
      for (int n = 1; n <= 3; n++) {
        assertThat(affinity(send(c, turn(MODEL, n), "agent-3"))).isNull();
      }
      for (String id : List.of("a", "b", "c")) {
        assertThat(adminNode(c, id).has("affinitySessions")).as("no affinity: the console shows –").isFalse();
        assertThat(adminNode(c, id).has("prefixIndexEntries")).isFalse();
      }
      assertThat(Http.get(c.url("/metrics")).body()).doesNotContain("sluice_affinity_requests_total{")
          .contains("sluice_affinity_sessions 0.0").contains("sluice_affinity_index_entries 0.0");
    }
  }

  @Test
  void prefixHashKeepsASessionOnItsHashedNodeAndSaysSoEvenWithAffinityOff() {
    try (TestCluster c = threeNodes().routing(policy(PrefixHashPolicy.NAME, false)).start()) {
      HttpResponse<String> first = send(c, turn(MODEL, 1), "agent-4");
      assertThat(affinity(first)).isEqualTo("miss; cached=0.00");
      for (int n = 2; n <= 4; n++) {
        HttpResponse<String> r = send(c, turn(MODEL, n), "agent-4");
        assertThat(node(r)).isEqualTo(node(first));
        assertThat(affinity(r)).startsWith("hit; ");
      }
    }
  }

  @Test
  void aConfigReloadKeepsTheSessionsPinsUnlessItChangesTheAffinitySettings() {
    try (TestCluster c = threeNodes().start()) {
      String home = node(send(c, turn(MODEL, 1), "agent-6"));
      c.configs.swap(c.routing(RoutingSettings.defaults().withPolicy("least-delay-no-admission")).config());
      HttpResponse<String> after = send(c, turn(MODEL, 2), "agent-6");
      assertThat(node(after)).isEqualTo(home);
      assertThat(affinity(after)).startsWith("hit; ");

      RoutingSettings d = RoutingSettings.defaults();
      c.configs.swap(c.routing(d.withAffinity(new AffinitySettings(true, Duration.ofMillis(500),
          d.affinity().maxSessions(), d.affinity().indexMemoryBytes()))).config());
      assertThat(affinity(send(c, turn(MODEL, 3), "agent-6"))).as("new settings start afresh").startsWith("miss; ");
    }
  }

  /**
   * The first-token deadline of the warm node is derived from its cache-aware estimate: a 40,000-token prompt it
   * mostly holds gets the floor, where a cold node's deadline covers prefilling all of it.
   */
  @Test
  void theFirstTokenDeadlineOfTheWarmNodeComesFromItsUncachedPrompt() {
    try (TestCluster c = new TestCluster().node("a", GpuProfile.H100, MODEL, 0).node("b", GpuProfile.H100, MODEL, 0)
        .start()) {
      SluiceConfig config = c.configs.current();
      NodeClients clients = new NodeClients(c.gatewayVertx);
      try {
        clients.apply(config);
        Affinity affinity = new Affinity(config.routing().affinity().settings(2));
        Router router = new Router(c.gateway.registry(), clients, config, c.gateway.registry().clock(), affinity);
        String text = "def f(x):\n    return x\n".repeat(8_000); // ~190 KB: an agent's context
        PrefixChain chain = PrefixChain.of(MODEL, text);
        int prompt = 40_000;
        affinity.sent(affinity.warmth(0, chain, prompt, List.of("a", "b")), chain, "a");

        Router.Plan plan = (Router.Plan) router.route(MODEL, Endpoint.OPENAI_CHAT, config.model(MODEL).orElseThrow()
            .nodes(), prompt, 100, true, false, "agent-7", chain);
        assertThat(plan.warmth().cachedTokens("a")).isGreaterThan(prompt * 9 / 10);
        Exchange.Target warm = plan.targets().get(0);
        Exchange.Target cold = plan.targets().get(1);
        assertThat(warm.entry().id()).isEqualTo("a");
        assertThat(warm.cachedTokens()).isEqualTo(plan.warmth().cachedTokens("a"));
        assertThat(cold.cachedTokens()).isZero();
        assertThat(warm.expectedTtftMillis()).isLessThan(cold.expectedTtftMillis() / 5);
        assertThat(warm.firstTokenDeadlineMillis()).isLessThan(cold.firstTokenDeadlineMillis());
      } finally {
        clients.close();
      }
    }
  }

  /**
   * The warm node's backlog is the uncached rest of the prompt: a turn held before its first token counts a few dozen
   * tokens in the node's in-flight prefill, not the whole conversation (as it does with affinity off, and did before
   * affinity).
   */
  @Test
  void theWarmNodesBacklogCountsOnlyTheUncachedPartOfThePrompt() throws Exception {
    long full = PromptText.of(turn(MODEL, 2)).estimatedTokens();
    assertThat(heldTurnBacklog(true)).isPositive().isLessThan(full / 4);
    assertThat(heldTurnBacklog(false)).isGreaterThanOrEqualTo(full * 9 / 10);
  }

  /** The node's in-flight prefill tokens (as /admin/nodes shows them) while turn 2 waits for its first token. */
  private static long heldTurnBacklog(boolean affinity) throws Exception {
    try (TestCluster c = new TestCluster().routing(policy("least-delay", affinity))
        .timeouts(TestCluster.timeouts(Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(3)))
        .node("a", GpuProfile.H100, MODEL, 0).start()) {
      send(c, turn(MODEL, 1), "agent-5");
      c.sim("a").injectFault(SimFault.hangBeforeFirstByte(1));
      CompletableFuture<Void> held = CompletableFuture.runAsync(() -> Http.send(HttpRequest.newBuilder(
              URI.create(c.url("/v1/chat/completions"))).timeout(Duration.ofSeconds(30))
          .header("Content-Type", "application/json").header("x-session-id", "agent-5")
          .POST(HttpRequest.BodyPublishers.ofString(turn(MODEL, 2).toString())).build()));
      await().atMost(Duration.ofSeconds(5)).until(() -> c.gateway.registry().get("a").inFlight() == 1);
      long backlog = adminNode(c, "a").get("inFlightPrefillTokens").asLong();
      held.get(); // ends at the total timeout
      return backlog;
    }
  }
}
