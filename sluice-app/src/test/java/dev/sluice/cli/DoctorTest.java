package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.auth.KeyFile;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.config.ConfigLoader;
import dev.sluice.health.NodeState;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.support.Json;
import dev.sluice.testkit.Cli;
import io.vertx.core.Vertx;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sluice doctor} and {@code serve --production} against real simulated nodes and a real gateway on loopback. */
class DoctorTest {
  private static final String ADMIN_TOKEN = "sluice-admin-DoctorTestAdminToken0123456789abcdef";

  @TempDir Path dir;
  private final Vertx simVertx = Vertx.vertx();
  private final List<SimNode> sims = new ArrayList<>();
  private ServeCommand.Running gateway;

  /** What to break in the demo-shaped cluster. */
  private boolean authNone;
  private boolean extraModel;
  private int qwen2ContextWindow = 32_768;
  private boolean memoryAt92;
  private String repairCommand;
  private String gatewayToken;

  @AfterEach
  void stop() throws Exception {
    if (gateway != null) gateway.stop();
    simVertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  @Test
  void passesEveryApplicableCheckOnAHealthyDemoCluster() throws Exception {
    Path config = start();
    Result r = doctor(config, 100);
    assertThat(r.exit).as(r.out).isZero();
    for (int id = 1; id <= 12; id++) {
      assertThat(status(r, id)).as("check %d in %s", id, r.out).isIn("PASS", "WARN", "SKIP");
    }
    assertThat(status(r, 9)).isEqualTo("SKIP");
    assertThat(measured(r, 9)).contains("no etcd config source");
    assertThat(status(r, 10)).isEqualTo("PASS");
    assertThat(status(r, 11)).isEqualTo("PASS");
    assertThat(measured(r, 5)).contains("0/200 errors");
    assertThat(measured(r, 12)).isEqualTo("sluice_router_up 1");
  }

  @Test
  void aNodeThatIsDownFailsReachabilityWithItsFix() throws Exception {
    Path config = start();
    sims.get(2).close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    Result r = doctor(config, 10);
    assertThat(r.exit).isEqualTo(Main.EXIT_CHECKS_FAILED);
    assertThat(status(r, 1)).isEqualTo("FAIL");
    assertThat(measured(r, 1)).contains("a10-02");
    assertThat(fix(r, 1)).contains("start the node");
    await().atMost(Duration.ofSeconds(10)).until(() -> status(doctor(config, 1), 4).equals("FAIL"));
  }

  @Test
  void aModelNoNodeListsFailsCheckTwo() throws Exception {
    extraModel = true;
    Path config = start();
    Result r = doctor(config, 10);
    assertThat(r.exit).isEqualTo(Main.EXIT_CHECKS_FAILED);
    assertThat(status(r, 2)).isEqualTo("FAIL");
    assertThat(measured(r, 2)).contains("llama3:8b on a10-02");
    assertThat(fix(r, 2)).contains("ollama pull");
  }

  @Test
  void gpuMemoryAt92PercentFailsCheckThree() throws Exception {
    memoryAt92 = true;
    Path config = start();
    await().atMost(Duration.ofSeconds(10)).until(() -> measured(doctor(config, 1), 3).contains("92"));
    Result r = doctor(config, 10);
    assertThat(r.exit).isEqualTo(Main.EXIT_CHECKS_FAILED);
    assertThat(status(r, 3)).isEqualTo("FAIL");
    assertThat(measured(r, 3)).contains("a10-02 92.0 %");
    assertThat(fix(r, 3)).contains("free GPU memory");
  }

  @Test
  void aContextWindowThatDiffersFromTheNodeFailsCheckSevenNamingBoth() throws Exception {
    qwen2ContextWindow = 65_536;
    Path config = start();
    Result r = doctor(config, 10);
    assertThat(r.exit).isEqualTo(Main.EXIT_CHECKS_FAILED);
    assertThat(status(r, 7)).isEqualTo("FAIL");
    assertThat(measured(r, 7)).contains("qwen2:7b on a10-02: contextWindow 65536 but node serves 32768");
    assertThat(fix(r, 7)).contains("contextWindow");
  }

  @Test
  void authModeNoneFailsCheckEight() throws Exception {
    authNone = true;
    Path config = start();
    Result r = doctor(config, 10);
    assertThat(r.exit).isEqualTo(Main.EXIT_CHECKS_FAILED);
    assertThat(status(r, 8)).isEqualTo("FAIL");
    assertThat(fix(r, 8)).contains("auth.mode");
  }

  @Test
  void aMissingRepairScriptFailsCheckEleven() throws Exception {
    repairCommand = dir.resolve("no-such-heal.sh") + " --node";
    Path config = start();
    Result r = doctor(config, 10);
    assertThat(r.exit).isEqualTo(Main.EXIT_CHECKS_FAILED);
    assertThat(status(r, 11)).isEqualTo("FAIL");
    assertThat(measured(r, 11)).contains("no-such-heal.sh does not exist");
    assertThat(fix(r, 11)).contains("chmod +x");
  }

  @Test
  void tableOutputHasAlignedColumnsAndASummary() throws Exception {
    authNone = true;
    Path config = start();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream old = System.out;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    int exit;
    try {
      exit = Main.commandLine().execute("doctor", "--config", config.toString(), "--gateway", gatewayUrl(),
          "--admin-token-file", write("admin.token", ADMIN_TOKEN).toString(), "--concurrency", "5");
    } finally {
      System.setOut(old);
    }
    String table = out.toString(StandardCharsets.UTF_8);
    assertThat(exit).isEqualTo(Main.EXIT_CHECKS_FAILED);
    assertThat(table).startsWith("ID  CHECK").contains("STATUS").contains("MEASURED").contains("FIX")
        .contains("8   auth enabled").contains("NOT ready for production");
  }

  @Test
  void serveProductionRefusesToStartWhenACheckFails() throws Exception {
    authNone = true;
    Path config = start();
    gateway.stop();
    gateway = null;
    long t0 = System.nanoTime();
    int exit = Main.commandLine().execute("serve", "--config", config.toString(), "--production", "--port", "0",
        "--ready-wait", "20", "--admin-token-file", write("admin.token", ADMIN_TOKEN).toString());
    assertThat(exit).isEqualTo(Main.EXIT_CHECKS_FAILED);
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(40));
  }

  @Test
  void aGatewayThatIsDownIsSaidInPlainWordsWithTheFixToStartItNotToGiveAToken() throws Exception {
    Path config = start();
    String url = gatewayUrl();
    gateway.stop();
    gateway = null;
    String[] r = Cli.run("doctor", "--config", config.toString(), "--gateway", url, "--json",
        "--admin-token-file", write("admin.token", ADMIN_TOKEN).toString());
    assertThat(r[2]).isEqualTo(Integer.toString(Main.EXIT_CHECKS_FAILED));
    JsonNode report = Json.MAPPER.readTree(r[0]);
    assertThat(report.path("gateway").asText()).contains(url).contains("not answering (connection refused");
    for (int id : new int[] {3, 4, 5, 12}) {
      JsonNode c = checkIn(report, id);
      assertThat(c.path("status").asText()).as("check %d", id).isEqualTo("FAIL");
      assertThat(c.path("measured").asText()).as("check %d", id).contains("connection refused")
          .doesNotContain("ClosedChannelException");
      assertThat(c.path("fix").asText()).as("check %d", id).contains("start the gateway").doesNotContain("token");
    }
    assertThat(checkIn(report, 6).path("status").asText()).isEqualTo("SKIP");
  }

  @Test
  void theReportNamesTheGatewayItMeasuredAndTheNodesItServes() throws Exception {
    authNone = true;
    Path config = start();
    String[] r = Cli.run("doctor", "--config", config.toString(), "--gateway", gatewayUrl(), "--concurrency", "2",
        "--admin-token-file", write("admin.token", ADMIN_TOKEN).toString());
    assertThat(r[0]).contains("measured: the gateway at " + gatewayUrl() + ", serving the config's 3 nodes");
    assertThat(r[1]).contains("checking the gateway at " + gatewayUrl());
  }

  @Test
  void aConfigNamingOtherNodesThanTheGatewayOnThePortIsRefusedBeforeAnyCheck() throws Exception {
    Path config = start();
    // another fleet's config, pointed at this gateway's port by mistake
    String other = Files.readString(config).replace("\"a10-01\"", "\"b-a10-01\"").replace("\"a100-01\"", "\"b-a100-01\"");
    Path otherConfig = write("other.json", other);
    String[] r = Cli.run("doctor", "--config", otherConfig.toString(), "--gateway", gatewayUrl(),
        "--admin-token-file", write("admin.token", ADMIN_TOKEN).toString());
    assertThat(r[2]).isEqualTo(Integer.toString(Main.EXIT_BAD_CONFIG));
    assertThat(r[1]).contains("refusing to check: the gateway at " + gatewayUrl()
        + " serves nodes a10-01, a10-02, a100-01, not the ones the config names: b-a10-01 (not served there), "
        + "b-a100-01 (not served there)").contains("--gateway");
    assertThat(r[0]).doesNotContain("CHECK");

    // the same ids at other addresses (examples/cluster.json names the demo's ids on 10.0.0.x) are other nodes too
    ObjectNode moved = (ObjectNode) Json.MAPPER.readTree(Files.readString(config));
    ((ObjectNode) moved.path("providers").path("qwen2:7b").path("nodes").get(0)).put("baseUrl", "http://10.0.0.12:11434");
    String[] elsewhere = Cli.run("doctor", "--config", write("moved.json", moved.toString()).toString(),
        "--gateway", gatewayUrl(), "--admin-token-file", write("admin.token", ADMIN_TOKEN).toString());
    assertThat(elsewhere[2]).isEqualTo(Integer.toString(Main.EXIT_BAD_CONFIG));
    assertThat(elsewhere[1]).contains("a10-02 (config http://10.0.0.12:11434, gateway http://127.0.0.1:");

    // without the admin token the node count tells: three served, four named
    ObjectNode four = (ObjectNode) Json.MAPPER.readTree(Files.readString(config));
    ((ArrayNode) four.path("providers").path("qwen2:7b").path("nodes")).addObject().put("id", "a10-03")
        .put("baseUrl", "http://127.0.0.1:1");
    String[] counted = Cli.run("doctor", "--config", write("four.json", four.toString()).toString(), "--gateway", gatewayUrl());
    assertThat(counted[2]).isEqualTo(Integer.toString(Main.EXIT_BAD_CONFIG));
    assertThat(counted[1]).contains("serves 3 nodes but the config names 4");
  }

  private static JsonNode checkIn(JsonNode report, int id) {
    for (JsonNode c : report.path("checks")) if (c.path("id").asInt() == id) return c;
    throw new AssertionError("no check " + id + " in " + report);
  }

  // ---- the cluster ----

  private record Result(int exit, String out, JsonNode json) {}

  private Result doctor(Path config, int concurrency) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream old = System.out;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    int exit;
    try {
      List<String> args = new ArrayList<>(List.of("doctor", "--config", config.toString(), "--gateway", gatewayUrl(),
          "--json", "--concurrency", Integer.toString(concurrency), "--model-store", Files.createDirectories(
              dir.resolve("models")).toString(), "--admin-token-file", write("admin.token", ADMIN_TOKEN).toString()));
      if (gatewayToken != null) args.addAll(List.of("--token-file", write("gw.token", gatewayToken).toString()));
      exit = Main.commandLine().execute(args.toArray(String[]::new));
    } finally {
      System.setOut(old);
    }
    String text = out.toString(StandardCharsets.UTF_8);
    return new Result(exit, text, Json.MAPPER.readTree(text));
  }

  private static JsonNode check(Result r, int id) {
    for (JsonNode c : r.json().path("checks")) if (c.path("id").asInt() == id) return c;
    throw new AssertionError("no check " + id + " in " + r.out());
  }

  private static String status(Result r, int id) {
    return check(r, id).path("status").asText();
  }

  private static String measured(Result r, int id) {
    return check(r, id).path("measured").asText();
  }

  private static String fix(Result r, int id) {
    return check(r, id).path("fix").asText();
  }

  private String gatewayUrl() {
    return "http://127.0.0.1:" + gateway.port();
  }

  private Path write(String name, String content) throws Exception {
    return Files.writeString(dir.resolve(name), content);
  }

  /** The demo's shape (two qwen3:32b nodes, A10 and A100; one qwen2:7b A10), with context lengths that match. */
  private Path start() throws Exception {
    sims.add(sim("a10-01", GpuProfile.A10, "qwen3:32b", 24_576));
    sims.add(sim("a100-01", GpuProfile.A100, "qwen3:32b", 24_576));
    sims.add(sim("a10-02", GpuProfile.A10, "qwen2:7b", 32_768));
    String dcgm = memoryAt92 ? dcgmStub() : null;
    Path script = write("heal.sh", "#!/bin/sh\nexit 0\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    String repair = repairCommand != null ? repairCommand : script + " --node";

    ObjectNode root = Json.MAPPER.createObjectNode();
    root.putObject("server").put("host", "127.0.0.1").put("port", 0);
    root.putObject("health").put("probeInterval", "200ms");
    if (authNone) {
      root.putObject("auth").put("mode", "none");
    } else {
      Path keys = dir.resolve(ConfigLoader.DEFAULT_KEYS_FILE);
      var created = KeyGenerator.create("doctor", Set.of(), null, null, "doctor test", Instant.now());
      KeyFile.write(keys, KeyFile.read(keys).with(created.key()));
      gatewayToken = created.secret();
      root.putObject("auth").put("mode", "tokens").put("keysFile", ConfigLoader.DEFAULT_KEYS_FILE);
    }
    root.putObject("admin").put("tokenSha256", KeyGenerator.sha256Hex(ADMIN_TOKEN));
    ObjectNode providers = root.putObject("providers");
    ObjectNode qwen3 = providers.putObject("qwen3:32b-prod").put("api", "ollama");
    qwen3.putArray("models").addObject().put("id", "qwen3:32b").put("contextWindow", 24_576).put("maxTokens", 4096);
    ObjectNode qwen2 = providers.putObject("qwen2:7b").put("api", "ollama");
    ArrayNode m2 = qwen2.putArray("models");
    m2.addObject().put("id", "qwen2:7b").put("contextWindow", qwen2ContextWindow).put("maxTokens", 4096);
    if (extraModel) m2.addObject().put("id", "llama3:8b").put("contextWindow", 8192).put("maxTokens", 1024);
    for (SimNode sim : sims) {
      boolean big = sim.options().models().contains("qwen3:32b");
      ObjectNode n = (big ? qwen3 : qwen2).withArray("nodes").addObject().put("id", sim.options().id())
          .put("baseUrl", sim.baseUrl()).put("gpuType", DemoCommand.gpuType(sim.options().gpu()))
          .put("metricsUrl", !big && dcgm != null ? dcgm : sim.baseUrl() + "/metrics");
      n.putObject("repair").put("command", repair);
    }
    Path file = write("sluice.json", Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    gateway = ServeCommand.start(ConfigLoader.loadDetailed(file), file, "127.0.0.1", 0, 1);
    await().atMost(Duration.ofSeconds(10)).until(() -> gateway.gateway().registry().all().stream()
        .allMatch(e -> e.health().snapshot().state() == NodeState.READY));
    return file;
  }

  private SimNode sim(String id, GpuProfile gpu, String model, int context) throws Exception {
    SimOptions o = SimOptions.defaults().withId(id).withGpu(gpu).withModels(model).withTimeScale(50)
        .withOverrides(Map.of("kvCapacityTokens", (double) context));
    return SimNode.start(simVertx, o).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  /** A DCGM exporter reporting 92 % framebuffer use (21,186 of 23,028 MiB). */
  private String dcgmStub() throws Exception {
    String body = "# TYPE DCGM_FI_DEV_FB_USED gauge\nDCGM_FI_DEV_FB_USED{gpu=\"0\"} 21186\n"
        + "# TYPE DCGM_FI_DEV_FB_FREE gauge\nDCGM_FI_DEV_FB_FREE{gpu=\"0\"} 1842\n"
        + "# TYPE DCGM_FI_DEV_GPU_UTIL gauge\nDCGM_FI_DEV_GPU_UTIL{gpu=\"0\"} 10\n";
    int port = simVertx.createHttpServer().requestHandler(req -> req.response().end(body)).listen(0, "127.0.0.1")
        .toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS).actualPort();
    return "http://127.0.0.1:" + port + "/metrics";
  }
}
