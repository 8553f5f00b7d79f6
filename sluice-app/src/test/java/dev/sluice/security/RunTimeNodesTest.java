package dev.sluice.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.sluice.api.ApiFlavor;
import dev.sluice.auth.AuthMode;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.config.AdminSettings;
import dev.sluice.config.AuthSettings;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.ProviderSpec;
import dev.sluice.config.RepairAction;
import dev.sluice.config.SluiceConfig;
import dev.sluice.config.UpstreamTls;
import dev.sluice.health.NodeState;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.support.Json;
import dev.sluice.testkit.TestCerts;
import dev.sluice.testkit.TestCluster;
import dev.sluice.upstream.AddressPolicy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nodes added through the running gateway's admin API: they cannot carry a repair command or webhook (which would run
 * with the gateway's rights), cannot point at a metadata address hidden in an IPv6 form, and keep talking to the
 * address that was checked when they were added, whatever their name resolves to later (DNS rebinding).
 */
class RunTimeNodesTest {
  static final String ADMIN_TOKEN = GatewayTokensTest.ADMIN_TOKEN;
  /** A name no real DNS answers: only the injected resolver knows it. */
  static final String REBINDING_NAME = "gpu.rebind.test";
  @TempDir Path dir;

  private TestCluster cluster() {
    return new TestCluster().auth(new AuthSettings(AuthMode.TOKENS, dir.resolve("keys.json"), null))
        .admin(AdminSettings.defaults().withToken(KeyGenerator.sha256Hex(ADMIN_TOKEN)))
        .node("a", GpuProfile.A10, "qwen3:32b", 0);
  }

  /** A gateway token for the chat requests. */
  private String token() throws Exception {
    return GatewayTokensTest.key(dir.resolve("keys.json"), "acme", Set.of(), null, null).secret();
  }

  private static HttpResponse<String> addNode(TestCluster c, String json) {
    return Calls.post(c.url("/admin/nodes"), json, Calls.bearer(ADMIN_TOKEN));
  }

  private static JsonNode error(HttpResponse<String> r) throws Exception {
    return Json.MAPPER.readTree(r.body()).path("error");
  }

  /** A loopback port nothing listens on: connections are refused, so a node there turns DEGRADED. */
  private static int closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Test
  void aRepairCommandOrWebhookSentThroughTheAdminApiIsRefusedAndNeverRuns() throws Exception {
    Path pwned = dir.resolve("pwned");
    Path controlRan = dir.resolve("control-repair-ran");
    AtomicInteger webhookCalls = new AtomicInteger();
    HttpServer webhook = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    webhook.createContext("/", ex -> {
      webhookCalls.incrementAndGet();
      ex.sendResponseHeaders(204, -1);
      ex.close();
    });
    webhook.start();
    int closed = closedPort();
    try (TestCluster c = cluster().start()) {
      String hookUrl = "http://127.0.0.1:" + webhook.getAddress().getPort() + "/hook";
      HttpResponse<String> command = addNode(c, "{\"id\":\"evil-cmd\",\"baseUrl\":\"http://127.0.0.1:" + closed
          + "\",\"model\":\"qwen3:32b\",\"repair\":{\"command\":\"touch " + pwned + "\"}}");
      HttpResponse<String> hook = addNode(c, "{\"id\":\"evil-hook\",\"baseUrl\":\"http://127.0.0.1:" + closed
          + "\",\"model\":\"qwen3:32b\",\"repair\":{\"webhook\":\"" + hookUrl + "\"}}");
      for (HttpResponse<String> r : List.of(command, hook)) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(error(r).path("param").asText()).isEqualTo("repair");
        assertThat(error(r).path("message").asText()).contains("run with the gateway's rights")
            .contains("config file or etcd").contains("docs/security.md");
      }
      assertThat(c.gateway.registry().get("evil-cmd")).isNull();
      assertThat(c.gateway.registry().get("evil-hook")).isNull();

      // the same repair from the operator's config runs when its node turns DEGRADED: by the time it has run, the
      // refused ones would have run too
      SluiceConfig base = c.config();
      List<ProviderSpec> providers = new ArrayList<>();
      for (ProviderSpec p : base.providers()) {
        List<NodeSpec> nodes = new ArrayList<>(p.nodes());
        nodes.add(new NodeSpec("control", URI.create("http://127.0.0.1:" + closed),
            URI.create("http://127.0.0.1:" + closed + "/v1"), ApiFlavor.OLLAMA, "A10", null, Map.of(), null, p.name(),
            new RepairAction("touch " + controlRan, null)));
        providers.add(new ProviderSpec(p.name(), p.models(), nodes));
      }
      c.configs.swap(base.withProviders(providers));
      await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(controlRan));
      assertThat(c.gateway.registry().get("control").health().state()).isNotEqualTo(NodeState.READY);
      await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
          .until(() -> !Files.exists(pwned) && webhookCalls.get() == 0);
      assertThat(c.gateway.registry().get("evil-cmd")).isNull();
    } finally {
      webhook.stop(0);
    }
  }

  @Test
  void theParserOfRunTimeNodesRefusesARepairActionToo() {
    var json = Json.MAPPER.createObjectNode().put("id", "n").put("baseUrl", "http://10.0.0.9:11434");
    json.putObject("repair").put("command", "touch /tmp/x");
    assertThatThrownBy(() -> ConfigLoader.parseNode(json, new ProviderSpec("p", List.of(), List.of()), List.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("node.repair: repair commands and webhooks run with the gateway's rights");
  }

  @Test
  void nodeUrlsHidingAMetadataAddressInAnIpv6FormOrANumericSpellingAreRefused() throws Exception {
    try (TestCluster c = cluster().start()) {
      for (String url : List.of("http://[::169.254.169.254]:80", "http://[64:ff9b::a9fe:a9fe]:80",
          "http://[::ffff:0:169.254.169.254]", "http://[2002:a9fe:a9fe::1]", "http://[64:ff9b:1::a9fe:a9fe]",
          "http://2852039166/", "http://169.254.43518/")) {
        HttpResponse<String> r = addNode(c, "{\"id\":\"evil\",\"baseUrl\":\"" + url + "\",\"model\":\"qwen3:32b\"}");
        assertThat(r.statusCode()).as(url + " " + r.body()).isEqualTo(400);
        assertThat(error(r).path("message").asText()).as(url).containsAnyOf("169.254.169.254", "four decimal numbers",
            "no valid host");
      }
      HttpResponse<String> metrics = addNode(c, "{\"id\":\"evil\",\"baseUrl\":\"" + c.sim("a").baseUrl()
          + "\",\"metricsUrl\":\"http://[::169.254.169.254]/latest/meta-data/\",\"model\":\"qwen3:32b\"}");
      assertThat(metrics.statusCode()).isEqualTo(400);
      assertThat(error(metrics).path("param").asText()).isEqualTo("metricsUrl");
      assertThat(error(metrics).path("message").asText()).startsWith("node.metricsUrl:").contains("169.254.169.254");
      assertThat(c.gateway.registry().get("evil")).isNull();
    }
  }

  @Test
  void aNodeAddedAtRunTimeKeepsTalkingToTheAddressCheckedWhenItWasAddedAfterItsNameResolvesToMetadata()
      throws Exception {
    AtomicInteger lookups = new AtomicInteger();
    AddressPolicy.Resolver rebinding = host -> {
      if (!host.equals(REBINDING_NAME)) throw new UnknownHostException(host);
      String now = lookups.getAndIncrement() == 0 ? "127.0.0.1" : "169.254.169.254";
      return new InetAddress[] {InetAddress.getByName(now)};
    };
    String token = token();
    try (TestCluster c = cluster().nodeAddressResolver(rebinding).start()) {
      SimNode extra = TestCluster.await(SimNode.start(c.simVertx,
          SimOptions.defaults().withId("extra").withModels("qwen3:32b").withTimeScale(0)));
      int port = URI.create(extra.baseUrl()).getPort();
      String url = "http://" + REBINDING_NAME + ":" + port;
      HttpResponse<String> r = addNode(c, "{\"id\":\"extra\",\"baseUrl\":\"" + url + "\",\"api\":\"ollama\","
          + "\"gpuType\":\"A10\",\"metricsUrl\":\"" + url + "/metrics\",\"model\":\"qwen3:32b\"}");
      assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
      assertThat(lookups).as("resolved once, when added").hasValue(1);
      assertThat(c.gateway.registry().get("extra").spec().pinnedAddresses())
          .containsOnlyKeys(REBINDING_NAME);

      // probes, warm-up and the generation probe reach the checked address: the node turns READY
      await().atMost(Duration.ofSeconds(20)).until(() ->
          c.gateway.registry().get("extra").health().state() == NodeState.READY);
      // the data path too (node a drained, so extra answers)
      assertThat(Calls.post(c.url("/admin/nodes/a/drain"), "", Calls.bearer(ADMIN_TOKEN)).statusCode())
          .isEqualTo(200);
      HttpResponse<String> chat = Calls.post(c.url("/v1/chat/completions"), GatewayTokensTest.CHAT,
          Calls.bearer(token));
      assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
      assertThat(chat.headers().firstValue("x-sluice-node")).hasValue("extra");
      assertThat(extra.lastGenerationHeaders().get("host")).as("the Host header keeps the name")
          .isEqualTo(REBINDING_NAME + ":" + port);
      // and the /api/ps aggregation
      long ps = extra.stats().count("/api/ps");
      assertThat(Calls.get(c.url("/api/ps"), Calls.bearer(token)).statusCode()).isEqualTo(200);
      assertThat(extra.stats().count("/api/ps")).isGreaterThan(ps);
      assertThat(lookups).as("never resolved again").hasValue(1);
      TestCluster.await(extra.close());
    }
  }

  @Test
  void anHttpsNodeAddedAtRunTimeIsReachedAtTheCheckedAddressWithItsNameInSniAndTheCertificateCheck()
      throws Exception {
    assertThat(TestCerts.opensslAvailable()).as("the openssl CLI (./test.sh installs it)").isTrue();
    TestCerts certs = TestCerts.create(dir);
    TestCerts.Pair named = certs.server(REBINDING_NAME, "DNS:" + REBINDING_NAME); // no IP in the certificate
    AddressPolicy.Resolver dns = host -> {
      if (!host.equals(REBINDING_NAME)) throw new UnknownHostException(host);
      return new InetAddress[] {InetAddress.getByName("127.0.0.1")};
    };
    String token = token();
    try (TestCluster c = cluster().upstreamTls(new UpstreamTls(certs.caCert, true)).nodeAddressResolver(dns).start()) {
      SimNode tls = TestCluster.await(SimNode.start(c.simVertx, SimOptions.defaults().withId("tls")
          .withModels("qwen3:32b").withTimeScale(0).withTls(named.cert(), named.key())));
      int port = URI.create(tls.baseUrl()).getPort();
      HttpResponse<String> r = addNode(c, "{\"id\":\"tls\",\"baseUrl\":\"https://" + REBINDING_NAME + ":" + port
          + "\",\"api\":\"ollama\",\"gpuType\":\"A10\",\"model\":\"qwen3:32b\"}");
      assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
      await().atMost(Duration.ofSeconds(20)).until(() ->
          c.gateway.registry().get("tls").health().state() == NodeState.READY);
      Calls.post(c.url("/admin/nodes/a/drain"), "{}", Calls.bearer(ADMIN_TOKEN));
      HttpResponse<String> chat = Calls.post(c.url("/v1/chat/completions"), GatewayTokensTest.CHAT,
          Calls.bearer(token));
      assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
      assertThat(chat.headers().firstValue("x-sluice-node")).hasValue("tls");
      TestCluster.await(tls.close());
    }
  }
}
