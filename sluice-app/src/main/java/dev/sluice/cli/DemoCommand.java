package dev.sluice.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.auth.KeyFile;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.RoutingSettings;
import dev.sluice.routing.Affinity;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimCluster;
import dev.sluice.sim.SimNode;
import dev.sluice.support.Json;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sluice demo}: a simulated GPU cluster (A10, A100 and H100 nodes serving qwen3:32b, an A10 serving qwen2:7b)
 * behind the gateway, on a config file it writes, so everything can be tried on a laptop.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Start 4 simulated GPU nodes and the gateway in front of them (Ctrl-C stops everything).")
public final class DemoCommand implements Callable<Integer> {
  @Option(names = {"-p", "--port"}, paramLabel = "PORT", description = "Gateway port (default: ${DEFAULT-VALUE}).")
  int port = 8080;

  @Option(names = "--host", paramLabel = "ADDR", description = "Gateway bind address (default: ${DEFAULT-VALUE}).")
  String host = "127.0.0.1";

  @Option(names = "--time-scale", paramLabel = "X",
      description = "Simulated GPUs run X times faster than real ones (default: ${DEFAULT-VALUE}).")
  double timeScale = 1.0;

  @Option(names = "--config-out", paramLabel = "FILE",
      description = "Where to write the demo's config file (default: a new temp directory). Edit it while the demo "
          + "runs: the gateway reloads it.")
  Path configOut;

  @Option(names = "--no-auth",
      description = "Run without gateway tokens (auth.mode none): anyone who can reach the port can use it.")
  boolean noAuth;

  /** The demo's tokens, made fresh at each start (null with --no-auth). */
  private String gatewayToken;
  private String adminToken;

  /** The demo cluster (a10-01, a100-01, h100-01 serving qwen3:32b; a10-02 serving qwen2:7b), at --time-scale. */
  static List<SimCluster.NodeSpec> cluster(double timeScale) {
    return SimCluster.resource(SimCluster.DEMO_RESOURCE).stream()
        .map(node -> new SimCluster.NodeSpec(node.options().withTimeScale(timeScale), node.faults()))
        .toList();
  }

  /** The gateway's {@code gpuType} label of a profile: A10_OLLAMA → A10, H100_BF16 → H100. */
  static String gpuType(GpuProfile gpu) {
    int underscore = gpu.name().indexOf('_');
    return underscore < 0 ? gpu.name() : gpu.name().substring(0, underscore);
  }

  @Override
  public Integer call() throws Exception {
    Vertx simVertx = Vertx.vertx();
    List<SimNode> sims = SimCluster.start(simVertx, cluster(timeScale))
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    Path file = configOut != null ? configOut : Files.createTempDirectory("sluice-demo").resolve("sluice.json");
    if (!noAuth) {
      // a fresh gateway token and admin token, printed below; the files keep only their hashes
      Path keys = file.toAbsolutePath().resolveSibling(ConfigLoader.DEFAULT_KEYS_FILE);
      var created = KeyGenerator.create("demo", Set.of(), null, null, "made by sluice demo",
          Instant.now());
      KeyFile.write(keys, KeyFile.read(keys).with(created.key()));
      gatewayToken = created.secret();
      adminToken = KeyGenerator.newAdminToken();
    }
    Files.writeString(file, demoConfig(sims), StandardCharsets.UTF_8);
    ServeCommand.Running gw;
    try {
      gw = ServeCommand.start(ConfigLoader.loadDetailed(file), file, host, port, Runtime.getRuntime().availableProcessors());
    } catch (Exception e) {
      System.err.println("sluice demo: the gateway could not start on " + host + ":" + port + ": "
          + ServeCommand.rootMessage(e) + " (try --port 0 or another port)");
      simVertx.close();
      return 1;
    }
    printWelcome(sims, file, gw.port());
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      gw.stop();
      simVertx.close();
      stopped.countDown();
    }, "sluice-demo-shutdown"));
    stopped.await();
    return 0;
  }

  /**
   * The affinity release penalty for nodes {@code timeScale} times faster than real GPUs: the default scaled down with
   * them (3 s at scale 1, 300 ms at scale 10, 0 when instant), so a session moves off a busy node when a real cluster
   * would; never above the default.
   */
  static long releasePenaltyMillis(double timeScale) {
    return scaled(Affinity.Settings.DEFAULT_RELEASE_PENALTY_MILLIS, timeScale);
  }

  /**
   * A gateway time figure for nodes {@code timeScale} times faster than real GPUs: {@code millis} divided by the scale
   * (0 when the nodes are instant), never above {@code millis}. The demo scales the release penalty and the TTFT
   * budget (and with it how long a request may wait for a slot), so its routing, admission control and queue behave
   * as they would on real GPUs.
   */
  static long scaled(long millis, double timeScale) {
    if (timeScale <= 0) return 0;
    return Math.round(millis / Math.max(1, timeScale));
  }

  private String demoConfig(List<SimNode> sims) throws Exception {
    ObjectNode root = Json.MAPPER.createObjectNode();
    root.putObject("server").put("host", host).put("port", port);
    ObjectNode routing = root.putObject("routing");
    routing.putObject("affinity").put("releasePenalty", releasePenaltyMillis(timeScale) + "ms");
    long budget = scaled(RoutingSettings.DEFAULT_TTFT_BUDGET.toMillis(), timeScale);
    routing.put("ttftBudget", budget > 0 ? budget + "ms" : "0"); // instant nodes: no admission control
    if (noAuth) {
      root.putObject("auth").put("mode", "none");
    } else {
      root.putObject("auth").put("mode", "tokens").put("keysFile", ConfigLoader.DEFAULT_KEYS_FILE);
      root.putObject("admin").put("tokenSha256", KeyGenerator.sha256Hex(adminToken));
    }
    // the brief's downgrade: qwen3:32b requests go to qwen2:7b when the big model's error rate passes 15 %
    root.putObject("degradation").putObject("downgrade").put("qwen3:32b", "qwen2:7b");
    ObjectNode providers = root.putObject("providers");
    ObjectNode qwen3 = providers.putObject("qwen3:32b-prod").put("apiKey", "ollama").put("api", "ollama");
    ObjectNode m3 = qwen3.putArray("models").addObject().put("id", "qwen3:32b").put("name", "Production Qwen3 32B")
        .put("contextWindow", 24576).put("maxTokens", 4096);
    m3.putObject("gpuProfile").put("minVRAM", "22G").put("prefetch", true)
        .put("warmupPrompt", "Hello, I am ready to assist.");
    ObjectNode qwen2 = providers.putObject("qwen2:7b").put("apiKey", "ollama").put("api", "ollama");
    qwen2.putArray("models").addObject().put("id", "qwen2:7b").put("name", "Fallback Qwen2 7B")
        .put("contextWindow", 32768).put("maxTokens", 4096);
    ArrayNode n3 = qwen3.putArray("nodes");
    ArrayNode n2 = qwen2.putArray("nodes");
    for (SimNode sim : sims) {
      (sim.options().models().contains("qwen3:32b") ? n3 : n2).addObject()
          .put("id", sim.options().id()).put("baseUrl", sim.baseUrl()).put("gpuType", gpuType(sim.options().gpu()))
          .put("metricsUrl", sim.baseUrl() + "/metrics");
    }
    return Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
  }

  private void printWelcome(List<SimNode> sims, Path file, int gwPort) {
    String base = "http://" + ("0.0.0.0".equals(host) ? "127.0.0.1" : host) + ":" + gwPort;
    StringBuilder sb = new StringBuilder();
    sb.append("\nSluice demo is running.\n\n");
    sb.append("  gateway         ").append(base).append("   (OpenAI: ").append(base).append("/v1, Ollama: ")
        .append(base).append(")\n");
    sb.append("  console         ").append(base).append("/console   (sign in with the admin token)\n");
    sb.append("  metrics         ").append(base).append("/metrics   (admin token as Bearer)\n");
    if (gatewayToken != null) {
      sb.append("  gateway token   ").append(gatewayToken).append("   (data plane: Authorization: Bearer)\n");
      sb.append("  admin token     ").append(adminToken).append("   (/admin, /console, /metrics)\n");
      sb.append("                  both are new at every start; `sluice keys create --config ").append(file)
          .append(" --tenant t` makes more\n");
      sb.append("  for the README's examples:\n    export SLUICE_TOKEN=").append(gatewayToken)
          .append(" SLUICE_ADMIN_TOKEN=").append(adminToken).append("\n");
    } else {
      sb.append("  auth            NONE (--no-auth): anyone who can reach this port can use it\n");
    }
    sb.append("  config file     ").append(file).append("   (edit it: the gateway reloads it)\n");
    sb.append("  simulated nodes (time scale ").append(timeScale).append("x):\n");
    for (SimNode sim : sims) {
      sb.append(String.format("    %-8s %-5s %-10s %s%n", sim.options().id(), gpuType(sim.options().gpu()),
          String.join(",", sim.options().models()), sim.baseUrl()));
    }
    sb.append("\nTry:\n");
    String bearer = gatewayToken == null ? "" : " -H 'Authorization: Bearer " + gatewayToken + "'";
    sb.append("  curl -s ").append(base).append("/v1/chat/completions").append(bearer)
        .append(" -H 'Content-Type: application/json' \\\n")
        .append("    -d '{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"max_tokens\":20}'\n");
    sb.append("  curl -sN ").append(base).append("/api/chat").append(bearer).append(" \\\n")
        .append("    -d '{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],")
        .append("\"options\":{\"num_predict\":20}}'\n");
    sb.append("  OPENAI_BASE_URL=").append(base).append("/v1 OPENAI_API_KEY=")
        .append(gatewayToken == null ? "none" : gatewayToken).append("   # any OpenAI SDK\n");
    if (gatewayToken == null) {
      sb.append("  OLLAMA_HOST=").append(base).append(" ollama run qwen3:32b      # any Ollama client\n");
    }
    sb.append("\nCtrl-C stops the gateway and the simulated nodes.\n");
    System.out.println(sb);
    System.out.flush();
  }
}
