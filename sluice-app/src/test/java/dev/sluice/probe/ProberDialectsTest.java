package dev.sluice.probe;

import static dev.sluice.probe.ProbeFixture.MODEL;
import static dev.sluice.probe.ProbeFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.api.ApiFlavor;
import dev.sluice.api.NodeDialect;
import dev.sluice.config.NodeSpec;
import dev.sluice.health.NodeState;
import dev.sluice.sim.SimOptions;
import dev.sluice.testkit.LogCapture;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** The prober finds which dialects a node serves beyond its configured ones: Ollama's version, vLLM's routes. */
class ProberDialectsTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private static ProbeFixture fixture(ApiFlavor api, SimOptions sim, UnaryOperator<NodeSpec> shape) {
    return new ProbeFixture(api, sim, null, null, RepairRunner.Settings.defaults(), shape);
  }

  /** How many lines logged since line {@code from} (of {@link LogCapture}: the whole JVM's) contain {@code text}. */
  private static long logged(int from, String text) {
    var lines = LogCapture.lines();
    return lines.subList(Math.min(from, lines.size()), lines.size()).stream().filter(l -> l.contains(text)).count();
  }

  @Test
  void anOllamaFrom014IsFoundToServeMessagesAndResponsesAndIsAskedAgainEveryDiscoveryPeriod() {
    try (ProbeFixture f = fixture(ApiFlavor.OLLAMA, SimOptions.defaults(), UnaryOperator.identity())) {
      int from = LogCapture.lines().size();
      await(f.prober.start());
      await().atMost(WAIT).until(() -> f.node().speaks(NodeDialect.ANTHROPIC));

      assertThat(f.node().dialects()).containsExactlyInAnyOrder(NodeDialect.values());
      assertThat(f.node().spec().dialects()).as("the config's set is unchanged")
          .containsExactlyInAnyOrder(NodeDialect.OLLAMA, NodeDialect.OPENAI);
      assertThat(logged(from, "node a10-01 serves anthropic, responses (discovered: Ollama 0.14.2)")).isOne();
      // 12 probes of 50 ms apart: asked again about every 600 ms, logged only when the set changes
      await().atMost(WAIT).until(() -> f.sim.stats().count("/api/version") >= 3);
      assertThat(logged(from, "node a10-01 serves")).isOne();
      assertThat(f.sim.stats().count("/openapi.json")).as("an Ollama node has no route list").isZero();
    }
  }

  @Test
  void anOllamaBefore014ServesWhatItsApiImplies() {
    try (ProbeFixture f = fixture(ApiFlavor.OLLAMA, SimOptions.defaults().withDialects("ollama", "openai"),
        UnaryOperator.identity())) {
      await(f.prober.start());
      await().atMost(WAIT).until(() -> f.state() == NodeState.READY && f.sim.stats().count("/api/version") >= 1);

      assertThat(f.node().dialects()).containsExactlyInAnyOrder(NodeDialect.OLLAMA, NodeDialect.OPENAI);
      assertThat(f.node().speaks(NodeDialect.ANTHROPIC)).isFalse();
    }
  }

  @Test
  void aVllmNodeIsFoundToServeTheDialectsOfItsRouteList() {
    try (ProbeFixture f = fixture(ApiFlavor.OPENAI, SimOptions.defaults().withDialects("openai", "responses"),
        UnaryOperator.identity())) {
      int from = LogCapture.lines().size();
      await(f.prober.start());
      await().atMost(WAIT).until(() -> f.node().speaks(NodeDialect.RESPONSES));

      assertThat(f.node().dialects()).containsExactlyInAnyOrder(NodeDialect.OPENAI, NodeDialect.RESPONSES);
      assertThat(f.sim.stats().count("/openapi.json")).isPositive();
      assertThat(logged(from, "node a10-01 serves responses (discovered: routes in /openapi.json)")).isOne();
    }
  }

  @Test
  void aNodeWhoseConfigListsItsDialectsIsNeverAsked() {
    try (ProbeFixture f = fixture(ApiFlavor.OLLAMA, SimOptions.defaults(),
        n -> n.withDialects(Set.of(NodeDialect.OLLAMA, NodeDialect.OPENAI), true))) {
      await(f.prober.start());
      await().atMost(WAIT).until(() -> f.state() == NodeState.READY);
      await().during(Duration.ofMillis(800)).atMost(Duration.ofSeconds(3))
          .until(() -> f.sim.stats().count("/api/version") == 0 && f.sim.stats().count("/openapi.json") == 0);

      assertThat(f.node().speaks(NodeDialect.ANTHROPIC)).as("the operator's word wins").isFalse();
    }
  }

  /** A scripted node: each path answers the status and body set for it (404 for the rest), counting the calls. */
  private static final class ScriptedNode implements AutoCloseable {
    final Vertx vertx = Vertx.vertx();
    final Map<String, String[]> answers = new ConcurrentHashMap<>();
    final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    final HttpServer server;

    ScriptedNode() {
      server = await(vertx.createHttpServer().requestHandler(req -> {
        calls.computeIfAbsent(req.path(), p -> new AtomicInteger()).incrementAndGet();
        String[] a = answers.getOrDefault(req.path(), new String[] {"404", "404 page not found"});
        req.response().setStatusCode(Integer.parseInt(a[0])).end(a[1]);
      }).listen(0, "127.0.0.1"));
    }

    void answer(String path, int status, String body) {
      answers.put(path, new String[] {Integer.toString(status), body});
    }

    int calls(String path) {
      AtomicInteger n = calls.get(path);
      return n == null ? 0 : n.get();
    }

    URI root() {
      return URI.create("http://127.0.0.1:" + server.actualPort());
    }

    @Override
    public void close() {
      await(vertx.close());
    }
  }

  private static NodeSpec at(NodeSpec n, URI root) {
    return new NodeSpec(n.id(), root, URI.create(root + "/v1"), n.api(), n.gpuType(), null, n.labels(), n.apiKey(),
        n.provider());
  }

  @Test
  void aTransientFailureKeepsWhatWasFoundAndA404MeansNone() {
    try (ScriptedNode node = new ScriptedNode();
        ProbeFixture f = fixture(ApiFlavor.OLLAMA, SimOptions.defaults(), n -> at(n, node.root()))) {
      node.answer("/api/tags", 200, "{\"models\":[{\"name\":\"" + MODEL + "\"}]}");
      node.answer("/api/version", 200, "{\"version\":\"0.14.0-rc1\"}");
      int from = LogCapture.lines().size();
      await(f.prober.start());
      await().atMost(WAIT).until(() -> f.node().speaks(NodeDialect.ANTHROPIC));

      node.answer("/api/version", 503, "{\"error\":\"busy\"}");
      int before = node.calls("/api/version");
      await().atMost(WAIT).until(() -> node.calls("/api/version") >= before + 2);
      assertThat(f.node().speaks(NodeDialect.ANTHROPIC)).as("kept through a 503").isTrue();
      node.answer("/api/version", 200, "{}");
      int unreadable = node.calls("/api/version");
      await().atMost(WAIT).until(() -> node.calls("/api/version") >= unreadable + 2);
      assertThat(f.node().speaks(NodeDialect.RESPONSES)).as("kept through an answer without a version").isTrue();

      node.answer("/api/version", 404, "404 page not found");
      await().atMost(WAIT).until(() -> !f.node().speaks(NodeDialect.ANTHROPIC));
      assertThat(f.node().dialects()).containsExactlyInAnyOrder(NodeDialect.OLLAMA, NodeDialect.OPENAI);
      assertThat(logged(from, "node a10-01 no longer serves anthropic, responses (discovered: /api/version: HTTP 404)"))
          .isOne();
      assertThat(logged(from, "node a10-01 serves anthropic, responses (discovered: Ollama 0.14.0-rc1)")).isOne();
    }
  }

  @Test
  void aRouteListLargerThan4MiBIsNotReadToItsEnd() {
    try (ScriptedNode node = new ScriptedNode();
        ProbeFixture f = fixture(ApiFlavor.OPENAI, SimOptions.defaults(), n -> at(n, node.root()))) {
      node.answer("/health", 200, "");
      node.answer("/v1/models", 200, "{\"data\":[{\"id\":\"" + MODEL + "\"}]}");
      String big = "{\"paths\":{\"/v1/messages\":{\"post\":{}}},\"padding\":\""
          + "x".repeat(DialectDiscovery.MAX_OPENAPI_BYTES) + "\"}";
      node.answer("/openapi.json", 200, big);
      node.answer("/api/version", 200, "{\"version\":\"0.14.2\"}");
      await(f.prober.start());
      await().atMost(WAIT).until(() -> node.calls("/openapi.json") >= 2);

      assertThat(f.node().speaks(NodeDialect.ANTHROPIC)).isFalse();
      assertThat(node.calls("/api/version")).as("only after a 404").isZero();
    }
  }

  @Test
  void anOllamaConfiguredByItsV1UrlIsAskedItsVersionWhenItHasNoRouteList() {
    try (ScriptedNode node = new ScriptedNode();
        ProbeFixture f = fixture(ApiFlavor.OPENAI, SimOptions.defaults(), n -> at(n, node.root()))) {
      node.answer("/health", 200, "");
      node.answer("/v1/models", 200, "{\"data\":[{\"id\":\"" + MODEL + "\"}]}");
      node.answer("/api/version", 200, "{\"version\":\"0.14.2\"}");
      await(f.prober.start());
      await().atMost(WAIT).until(() -> f.node().speaks(NodeDialect.RESPONSES));

      assertThat(node.calls("/openapi.json")).isPositive();
      assertThat(f.node().dialects()).containsExactlyInAnyOrder(NodeDialect.OPENAI, NodeDialect.ANTHROPIC,
          NodeDialect.RESPONSES);
    }
  }
}
