package dev.sluice.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.auth.KeyFile;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.RoutingSettings;
import dev.sluice.health.NodeState;
import dev.sluice.loadtest.BenchResult;
import dev.sluice.observe.StdoutLineAppender;
import dev.sluice.routing.Affinity;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimCluster;
import dev.sluice.sim.SimNode;
import dev.sluice.support.Clock;
import dev.sluice.support.Json;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.PrintStream;
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
  /** The access log's file name, next to the demo's config file. */
  static final String ACCESS_LOG_FILE = "access.log";

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

  @Option(names = "--access-log-stdout",
      description = "Print the access log (one JSON line per request) on stdout instead of writing it to access.log "
          + "next to the config file.")
  boolean accessLogStdout;

  @Option(names = "--ready-wait", paramLabel = "SECONDS",
      description = "How long to wait for every simulated node to finish its warm-up before printing the banner "
          + "(default: ${DEFAULT-VALUE}).")
  int readyWaitSeconds = 120;

  /** A started demo: the simulated nodes, the gateway in front of them and the files it wrote. */
  record Running(Vertx simVertx, List<SimNode> sims, ServeCommand.Running gateway, Path config, Path accessLog) {
    int port() {
      return gateway.port();
    }

    void stop() {
      gateway.stop();
      simVertx.close();
      if (accessLog == null) return;
      try {
        StdoutLineAppender.redirectTo(null); // the access log goes back where logback.xml sends it
      } catch (IOException e) {
        // stdout always opens
      }
    }
  }

  @Override
  public Integer call() throws Exception {
    Running demo = start(System.out, System.err);
    if (demo == null) return 1;
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      demo.stop();
      stopped.countDown();
    }, "sluice-demo-shutdown"));
    stopped.await();
    return 0;
  }

  /**
   * Starts the nodes and the gateway, waits until every node has finished its warm-up (up to --ready-wait), then prints
   * the banner on {@code out}: a request sent after the banner is answered by the model it names, not by the
   * downgrade model whose small node warms up first, nor with a 503 "starting". Null when the gateway could not start
   * (the reason is on {@code err}).
   */
  Running start(PrintStream out, PrintStream err) throws Exception {
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
    Path accessLog = null;
    if (!accessLogStdout) {
      Path candidate = file.toAbsolutePath().resolveSibling(ACCESS_LOG_FILE);
      if (StdoutLineAppender.redirectTo(candidate)) accessLog = candidate;
    }
    ServeCommand.Running gw;
    try {
      gw = ServeCommand.start(ConfigLoader.loadDetailed(file), file, host, port, Runtime.getRuntime().availableProcessors());
    } catch (Exception e) {
      err.println("sluice demo: the gateway could not start on " + host + ":" + port + ": "
          + ServeCommand.rootMessage(e) + " (try --port 0 or another port)");
      simVertx.close();
      return null;
    }
    Running demo = new Running(simVertx, sims, gw, file, accessLog);
    List<String> notReady = awaitWarmUp(gw, err);
    printWelcome(out, sims, file, gw.port(), accessLog, notReady);
    return demo;
  }

  /**
   * Waits until every node is READY or --ready-wait has passed; returns the nodes still not READY with their state
   * ("a10-01 WARMING"), empty when all are.
   */
  private List<String> awaitWarmUp(ServeCommand.Running gw, PrintStream err) throws InterruptedException {
    err.println("sluice demo: waiting for the simulated nodes to finish their warm-up (a model answers only once its "
        + "nodes are warm)...");
    err.flush();
    long deadline = Clock.SYSTEM.nanos() + TimeUnit.SECONDS.toNanos(Math.max(0, readyWaitSeconds));
    List<String> notReady = notReady(gw);
    while (!notReady.isEmpty() && Clock.SYSTEM.nanos() < deadline) {
      Thread.sleep(50);
      notReady = notReady(gw);
    }
    return notReady;
  }

  private static List<String> notReady(ServeCommand.Running gw) {
    return gw.gateway().registry().all().stream()
        .filter(e -> e.health().snapshot().state() != NodeState.READY)
        .map(e -> e.id() + " " + e.health().snapshot().state())
        .toList();
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

  private void printWelcome(PrintStream out, List<SimNode> sims, Path file, int gwPort, Path accessLog,
      List<String> notReady) {
    String base = "http://" + ("0.0.0.0".equals(host) ? "127.0.0.1" : host) + ":" + gwPort;
    StringBuilder sb = new StringBuilder();
    sb.append("\nSluice demo is running").append(notReady.isEmpty() ? ": every node is warm.\n\n"
        : ", but after " + readyWaitSeconds + " s these nodes are still not READY: " + String.join(", ", notReady)
            + " (their models answer 503 or take the downgrade until they are).\n\n");
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
    sb.append("  access log      ").append(accessLog != null ? accessLog + "   (one JSON line per request; "
        + "--access-log-stdout prints it here instead)" : "stdout").append('\n');
    sb.append("  simulated nodes (time scale ").append(BenchResult.number(timeScale)).append("×: ")
        .append(timeScale == 1 ? "each with the real card's speed" : BenchResult.number(timeScale)
            + " times faster than the real cards").append("):\n");
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
    sb.append("  ./sluice bench --url ").append(base).append(" --time-scale ").append(BenchResult.number(timeScale))
        .append(" -u 10 -n 200 --report bench.html   # load; the report states the time scale\n");
    if (gatewayToken == null) {
      sb.append("  OLLAMA_HOST=").append(base).append(" ollama run qwen3:32b      # any Ollama client\n");
    }
    sb.append("\nCtrl-C stops the gateway and the simulated nodes.\n");
    out.println(sb);
    out.flush();
  }
}
