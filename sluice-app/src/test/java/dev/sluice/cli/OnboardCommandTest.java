package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.config.AdminSettings;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import io.vertx.core.Vertx;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sluice onboard}, run in-process through picocli against a real gateway on loopback and real simulated nodes:
 * through the admin API and through the config file of a gateway started as {@code sluice serve} starts it.
 */
class OnboardCommandTest {
  private static final String MODEL = "qwen3:32b";
  private static final String CHAT = "{\"model\":\"qwen3:32b\",\"max_tokens\":4,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";

  @TempDir Path dir;

  /** What one run printed, and its exit code. */
  private record Run(int code, String out, String err) {
    @Override
    public String toString() {
      return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
  }

  private static Run onboard(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    List<String> all = new ArrayList<>(List.of("onboard"));
    all.addAll(List.of(args));
    int code = Main.commandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
        .execute(all.toArray(String[]::new));
    return new Run(code, out.toString(), err.toString());
  }

  private static SimNode sim(Vertx vertx, String id, GpuProfile gpu, String... models) {
    return TestCluster.await(SimNode.start(vertx, SimOptions.defaults().withId(id).withGpu(gpu).withModels(models)
        .withTimeScale(0)));
  }

  private static String defaultId(String gpu, SimNode node) {
    return gpu.toLowerCase(java.util.Locale.ROOT) + "-127-0-0-1-" + node.port();
  }

  private static JsonNode adminNodes(String gateway, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gateway + "/admin/nodes")).GET();
    if (token != null) b.header("Authorization", "Bearer " + token);
    HttpResponse<String> r = Http.send(b.build());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return Json.MAPPER.readTree(r.body()).path("nodes");
  }

  private static JsonNode adminNode(String gateway, String id) throws Exception {
    for (JsonNode n : adminNodes(gateway, null)) {
      if (n.path("id").asText().equals(id)) return n;
    }
    return null;
  }

  private static int closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void onboardsASimulatedNodeThroughTheAdminApiUntilTheRouterShowsItReadyAndServesTheModel() throws Exception {
    try (TestCluster c = new TestCluster().node("a", GpuProfile.A10, MODEL, 0).start()) {
      SimNode fresh = sim(c.simVertx, "fresh", GpuProfile.H100, MODEL, "qwen2:7b");
      try {
        String id = defaultId("H100", fresh);
        Run r = onboard("--node-url", fresh.baseUrl(), "--gpu-type", "H100", "--model", MODEL,
            "--gateway", c.url(""), "--timeout", "60s");

        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out())
            .contains("onboarding node " + id + " (H100, " + MODEL + ") at " + fresh.baseUrl())
            .contains("[1/5] reach " + fresh.baseUrl() + " … ok (GET /api/tags: Ollama API, ")
            .contains("[2/5] model " + MODEL + " … ok (listed among 2 models by the node)")
            .contains("[3/5] register " + id + " in the admin API of " + c.url("") + " … ok (provider " + MODEL)
            .contains("[4/5] warm-up")
            .contains("→ READY")
            .contains("[5/5] ready … ok (the router shows " + id + " READY after ");
        assertThat(r.err()).isEmpty();

        JsonNode node = adminNode(c.url(""), id);
        assertThat(node).as("GET /admin/nodes lists the node").isNotNull();
        assertThat(node.path("state").asText()).isEqualTo("READY");
        assertThat(node.path("gpuType").asText()).isEqualTo("H100");
        assertThat(node.path("api").asText()).isEqualTo("ollama");
        assertThat(node.path("provider").asText()).isEqualTo(MODEL);

        assertThat(Http.post(c.url("/admin/nodes/a/drain"), "").statusCode()).isEqualTo(200);
        HttpResponse<String> chat = Http.post(c.url("/v1/chat/completions"), CHAT);
        assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
        assertThat(chat.headers().firstValue("x-sluice-node")).hasValue(id);

        Run again = onboard("--node-url", fresh.baseUrl() + "/", "--gpu-type", "H100", "--model", MODEL,
            "--id", "other-name", "--gateway", c.url(""));
        assertThat(again.code()).as(again.toString()).isEqualTo(1);
        assertThat(again.out()).contains("[3/5] register other-name").contains("FAILED");
        assertThat(again.err()).contains("is already registered in the gateway at " + c.url("") + " as node " + id);
      } finally {
        TestCluster.await(fresh.close());
      }
    }
  }

  @Test
  void withAConfigFileAddsTheNodeToTheModelsProviderAndTheReloadedGatewayShowsItReady() throws Exception {
    Vertx simVertx = Vertx.vertx();
    ServeCommand.Running running = null;
    try {
      SimNode first = sim(simVertx, "first", GpuProfile.A10, MODEL, "qwen2:7b");
      SimNode fresh = sim(simVertx, "fresh", GpuProfile.A100, MODEL);
      int port = closedPort();
      Path file = dir.resolve("sluice.json");
      Files.writeString(file, """
          {
            "server": {"host": "127.0.0.1", "port": %d},
            "auth": {"mode": "none"},
            "health": {"probeInterval": "200ms", "probeTimeout": "1s"},
            "routing": {"policy": "least-request"},
            "providers": {
              "qwen": {"api": "ollama", "baseUrl": "%s", "models": [{"id": "qwen3:32b", "contextWindow": 24576}]},
              "small": {"api": "ollama", "models": [{"id": "qwen2:7b"}],
                        "nodes": [{"id": "small-1", "baseUrl": "%s", "gpuType": "A10", "labels": {"rack": "r1"}}]}
            }
          }
          """.formatted(port, first.baseUrl(), first.baseUrl()));
      running = ServeCommand.start(ConfigLoader.loadDetailed(file), file, null, null, 1);
      String gateway = "http://127.0.0.1:" + running.port();
      String id = defaultId("A100", fresh);

      Run r = onboard("--node-url", fresh.baseUrl(), "--gpu-type", "a100", "--model", MODEL,
          "--config", file.toString(), "--timeout", "60s");

      assertThat(r.code()).as(r.toString()).isZero();
      assertThat(r.out()).contains("[3/5] register " + id + " in " + file + " … ok (provider qwen; saved in " + file)
          .contains("following it on GET " + gateway + "/admin/nodes")
          .contains("[5/5] ready … ok (the router shows " + id + " READY");
      assertThat(adminNode(gateway, id).path("state").asText()).isEqualTo("READY");

      SluiceConfig saved = ConfigLoader.load(file);
      assertThat(saved.providers()).extracting(p -> p.name()).containsExactly("qwen", "small");
      assertThat(saved.providers().get(0).nodes()).extracting(n -> n.id()).containsExactly("qwen", id);
      assertThat(saved.node(id).orElseThrow().gpuType()).isEqualTo("A100");
      assertThat(saved.node("qwen").orElseThrow().root()).isEqualTo(URI.create(first.baseUrl()));
      assertThat(saved.node("small-1").orElseThrow().labels()).containsEntry("rack", "r1");
      assertThat(saved.routing().policy()).isEqualTo("least-request");
      assertThat(saved.health().probeInterval()).hasMillis(200);
      JsonNode json = Json.MAPPER.readTree(Files.readString(file));
      assertThat(json.path("auth").path("mode").asText()).isEqualTo("none");
      assertThat(json.path("providers").path("qwen").path("models").get(0).path("contextWindow").asInt())
          .isEqualTo(24576);
      assertThat(json.path("providers").path("qwen").has("baseUrl"))
          .as("the provider's own node moved into its nodes list").isFalse();
      try (var listing = Files.list(dir)) {
        assertThat(listing.map(p -> p.getFileName().toString())).containsExactly("sluice.json");
      }
    } finally {
      if (running != null) running.stop();
      TestCluster.await(simVertx.close());
    }
  }

  @Test
  void anUnreachableNodeFailsAtTheFirstStepNamingTheUrlAndWhatToCheckAndNothingIsRegistered() throws Exception {
    try (TestCluster c = new TestCluster().node("a", GpuProfile.A10, MODEL, 0).start()) {
      String url = "http://127.0.0.1:" + closedPort();
      Run r = onboard("--node-url", url, "--gpu-type", "A10", "--model", MODEL, "--gateway", c.url(""));

      assertThat(r.code()).as(r.toString()).isEqualTo(1);
      assertThat(r.out()).contains("[1/5] reach " + url + " … FAILED").doesNotContain("[2/5]");
      assertThat(r.err()).startsWith("sluice onboard: cannot reach " + url + "/api/tags: connection refused; check "
          + "that the node runs and listens on that address and port").doesNotContain("\tat ");
      assertThat(adminNodes(c.url(""), null)).hasSize(1);
    }
  }

  @Test
  void aNodeThatDoesNotServeTheModelFailsListingTheModelsItServes() throws Exception {
    try (TestCluster c = new TestCluster().node("a", GpuProfile.A10, MODEL, 0).start()) {
      SimNode other = sim(c.simVertx, "other", GpuProfile.A10, "llama3:8b", "qwen2:7b");
      try {
        Run r = onboard("--node-url", other.baseUrl(), "--gpu-type", "A10", "--model", MODEL, "--gateway", c.url(""));

        assertThat(r.code()).as(r.toString()).isEqualTo(1);
        assertThat(r.out()).contains("[1/5] reach " + other.baseUrl() + " … ok")
            .contains("[2/5] model " + MODEL + " … FAILED").doesNotContain("[3/5]");
        assertThat(r.err()).contains(other.baseUrl() + " does not serve " + MODEL + "; it lists llama3:8b, qwen2:7b")
            .contains("ollama pull " + MODEL);
        assertThat(adminNodes(c.url(""), null)).hasSize(1);
      } finally {
        TestCluster.await(other.close());
      }
    }
  }

  @Test
  void aWrongOrMissingAdminTokenIsRefusedWithTheFixAndNothingIsRegistered() throws Exception {
    String token = "sluice-admin-right";
    try (TestCluster c = new TestCluster().admin(AdminSettings.defaults().withToken(KeyGenerator.sha256Hex(token)))
        .node("a", GpuProfile.A10, MODEL, 0).start()) {
      SimNode fresh = sim(c.simVertx, "fresh", GpuProfile.A10, MODEL);
      try {
        Path wrong = Files.writeString(dir.resolve("admin-token"), "sluice-admin-wrong\n");
        Run r = onboard("--node-url", fresh.baseUrl(), "--gpu-type", "A10", "--model", MODEL,
            "--gateway", c.url(""), "--admin-token-file", wrong.toString());

        assertThat(r.code()).as(r.toString()).isEqualTo(1);
        assertThat(r.out()).contains("[2/5] model " + MODEL + " … ok").contains("[3/5] register")
            .contains("FAILED").doesNotContain("[4/5]");
        assertThat(r.err()).contains("the gateway at " + c.url("") + " refused the admin token (401")
            .contains("admin.tokenSha256").doesNotContain("sluice-admin-wrong");
        assertThat(adminNodes(c.url(""), token)).hasSize(1);

        assumeTrue(System.getenv("SLUICE_ADMIN_TOKEN") == null, "SLUICE_ADMIN_TOKEN is set in this environment");
        Run missing = onboard("--node-url", fresh.baseUrl(), "--gpu-type", "A10", "--model", MODEL,
            "--gateway", c.url(""));
        assertThat(missing.code()).as(missing.toString()).isEqualTo(1);
        assertThat(missing.err()).contains("wants the admin token").contains("SLUICE_ADMIN_TOKEN")
            .contains("--admin-token-file");
        assertThat(adminNodes(c.url(""), token)).hasSize(1);
      } finally {
        TestCluster.await(fresh.close());
      }
    }
  }

  @Test
  void aNodeThatNeverTurnsReadyWithinTheTimeoutFailsNamingItsStateAndReason() throws Exception {
    try (TestCluster c = new TestCluster().node("a", GpuProfile.A10, MODEL, 0).start()) {
      SimNode broken = sim(c.simVertx, "broken", GpuProfile.A10, MODEL);
      broken.injectFault(SimFault.errorRate(100, 500)); // lists its models, fails every generation
      try {
        Run r = onboard("--node-url", broken.baseUrl(), "--gpu-type", "A10", "--model", MODEL, "--id", "broken-1",
            "--gateway", c.url(""), "--timeout", "3s");

        assertThat(r.code()).as(r.toString()).isEqualTo(1);
        assertThat(r.out()).contains("[3/5] register broken-1").contains("→ DEGRADED")
            .contains("[5/5] ready … FAILED");
        assertThat(r.err()).contains("node broken-1 is DEGRADED, not READY, after ")
            .contains("(--timeout 3.0 s): generation probe failed")
            .contains("check the node's log").contains("It stays registered");
      } finally {
        TestCluster.await(broken.close());
      }
    }
  }

  @Test
  void usageAndConfigMistakesExitWithCode2BeforeContactingAnything() throws Exception {
    Run noTarget = onboard("--node-url", "http://127.0.0.1:1", "--gpu-type", "A10", "--model", MODEL);
    assertThat(noTarget.code()).isEqualTo(Main.EXIT_BAD_CONFIG);
    assertThat(noTarget.err()).contains("--gateway URL").contains("--config FILE");

    Run notUrl = onboard("--node-url", "10.0.0.9:11434", "--gpu-type", "A10", "--model", MODEL,
        "--gateway", "http://127.0.0.1:1");
    assertThat(notUrl.code()).isEqualTo(Main.EXIT_BAD_CONFIG);
    assertThat(notUrl.err()).contains("--node-url 10.0.0.9:11434: not a URL");

    Run badId = onboard("--node-url", "http://127.0.0.1:1", "--gpu-type", "A10", "--model", MODEL, "--id", "a b",
        "--gateway", "http://127.0.0.1:1");
    assertThat(badId.code()).isEqualTo(Main.EXIT_BAD_CONFIG);
    assertThat(badId.err()).contains("node.id").doesNotContain("\tat ");

    Path file = Files.writeString(dir.resolve("sluice.json"), "{\"providers\": {\"small\": {\"baseUrl\": "
        + "\"http://127.0.0.1:1\", \"models\": [{\"id\": \"qwen2:7b\"}]}}}");
    Run unknownModel = onboard("--node-url", "http://127.0.0.1:1", "--gpu-type", "A10", "--model", MODEL,
        "--config", file.toString());
    assertThat(unknownModel.code()).isEqualTo(Main.EXIT_BAD_CONFIG);
    assertThat(unknownModel.err()).contains("model " + MODEL + " is not configured in " + file
        + " (configured: qwen2:7b)");
    assertThat(unknownModel.out()).doesNotContain("[1/5]");
  }
}
