package dev.sluice.cli;

import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimCluster;
import dev.sluice.sim.SimFault;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code sluice sim}: runs one simulated GPU node, or a cluster of them from a file, until Ctrl-C. */
@Command(name = "sim", mixinStandardHelpOptions = true,
    description = "Run a simulated GPU node speaking the Ollama and OpenAI-compatible APIs, with GPU-like timing "
        + "DCGM and vLLM telemetry on GET /metrics, and faults (--fault, or at run time POST/DELETE /sim/faults). "
        + "--cluster FILE starts several nodes from one file. See docs/simulator.md.")
public final class SimCommand implements Callable<Integer> {
  private static final long CLOSE_TIMEOUT_SECONDS = 5;

  @Spec
  private CommandSpec spec;

  @Option(names = "--host", description = "Interface to listen on (default: ${DEFAULT-VALUE}).")
  private String host = SimOptions.DEFAULT_HOST;

  @Option(names = "--port", description = "Port to listen on, 0 for a free one (default: ${DEFAULT-VALUE}).")
  private int port = 11434;

  @Option(names = "--gpu", description = "GPU profile: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
  private GpuProfile gpu = GpuProfile.A10;

  @Option(names = "--model", paramLabel = "NAME",
      description = "Model served, repeatable (default: " + SimOptions.DEFAULT_MODEL + ").")
  private List<String> models = List.of();

  @Option(names = "--time-scale", paramLabel = "FACTOR",
      description = "Speed-up over the real GPU: 1 real speed, 10 ten times faster, 0 instant (default: "
          + "${DEFAULT-VALUE}).")
  private double timeScale = 1.0;

  @Option(names = "--seed", description = "Seed of generated text and lengths (default: ${DEFAULT-VALUE}).")
  private long seed = SimOptions.DEFAULT_SEED;

  @Option(names = "--id", description = "Node name (default: sim-<port>).")
  private String id;

  @Option(names = "--embedding-dimensions", paramLabel = "N",
      description = "Length of embedding vectors (default: ${DEFAULT-VALUE}).")
  private int embeddingDimensions = SimOptions.DEFAULT_EMBEDDING_DIMENSIONS;

  @Option(names = "--write-split-bytes", paramLabel = "N",
      description = "Write every response event in pieces of N bytes, 0 = off (default: ${DEFAULT-VALUE}).")
  private int writeSplitBytes;

  @Option(names = "--fault", paramLabel = "KIND[:NAME=VALUE,...]",
      description = "Fault on from the start, repeatable, e.g. thermal-throttle, error-rate:percent=20,status=503, "
          + "slow:factor=3, reset-after-tokens:tokens=5,count=2 (see docs/simulator.md).")
  private List<String> faults = List.of();

  @Option(names = "--set", paramLabel = "NAME=VALUE",
      description = "Override a GPU profile figure, repeatable, e.g. --set prefillTokensPerSecond=800.")
  private List<String> overrides = List.of();

  @Option(names = "--dialects", paramLabel = "NAME", split = ",",
      description = "APIs the node speaks, comma-separated, of ollama, openai, anthropic, responses (default: all); "
          + "the others' paths answer 404.")
  private Set<String> dialects = SimOptions.DIALECTS;

  @Option(names = "--tls-cert", paramLabel = "PEM",
      description = "Listen with HTTPS using this PEM certificate chain (with --tls-key; see docs/tls.md).")
  private Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "PEM", description = "PEM private key of --tls-cert.")
  private Path tlsKey;

  @Option(names = "--cluster", paramLabel = "FILE",
      description = "Start every node of a cluster file instead of one node (the single-node options are ignored).")
  private Path cluster;

  @Override
  public Integer call() throws InterruptedException {
    List<SimCluster.NodeSpec> specs;
    try {
      specs = cluster != null ? SimCluster.load(cluster) : List.of(singleNode());
    } catch (IllegalArgumentException e) {
      spec.commandLine().getErr().println("sim: " + e.getMessage());
      return 2;
    }
    Vertx vertx = Vertx.vertx();
    List<SimNode> nodes;
    try {
      nodes = SimCluster.start(vertx, specs).await();
    } catch (RuntimeException e) {
      spec.commandLine().getErr().println("sim: cannot start: " + e.getMessage()
          + " (is the port in use? use port 0 for a free one)");
      vertx.close();
      return 1;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        for (SimNode node : nodes) {
          node.close().await(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        vertx.close().await(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      } catch (Exception e) {
        // the JVM is exiting anyway; nothing left to clean up
      }
    }, "sim-shutdown"));
    for (SimNode node : nodes) {
      spec.commandLine().getOut().println(describe(node));
    }
    spec.commandLine().getOut().flush();
    new CountDownLatch(1).await(); // until Ctrl-C: the shutdown hook closes the nodes
    return 0;
  }

  /** {@code sim a10-01 (A10, qwen3:32b) listening on http://127.0.0.1:11434 [faults: thermal-throttle]}. */
  static String describe(SimNode node) {
    SimOptions bound = node.options();
    List<SimFault> on = node.nodeFaults();
    return String.format("sim %s (%s, %s) listening on %s%s", bound.id(), bound.gpu(),
        String.join(", ", bound.models()), node.baseUrl(), on.isEmpty() ? ""
            : " [faults: " + String.join(", ", on.stream().map(SimFault::describe).toList()) + "]");
  }

  private SimCluster.NodeSpec singleNode() {
    Map<String, Double> figures = new LinkedHashMap<>();
    for (String pair : overrides) {
      int eq = pair.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("--set \"" + pair + "\" is not NAME=VALUE (expected e.g. "
            + "--set prefillTokensPerSecond=800)");
      }
      String value = pair.substring(eq + 1).trim();
      try {
        figures.put(pair.substring(0, eq).trim(), Double.parseDouble(value));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--set " + pair.substring(0, eq).trim() + ": \"" + value
            + "\" is not a number");
      }
    }
    List<SimFault> parsed = new ArrayList<>();
    for (String fault : faults) {
      parsed.add(SimFault.parse(fault));
    }
    SimOptions options = new SimOptions(id, host, port, gpu,
        models.isEmpty() ? List.of(SimOptions.DEFAULT_MODEL) : models, timeScale, seed, embeddingDimensions,
        writeSplitBytes, figures, null, null, dialects);
    if (tlsCert != null || tlsKey != null) {
      if (tlsCert == null || tlsKey == null) {
        throw new IllegalArgumentException("--tls-cert and --tls-key go together (or give neither for plain HTTP)");
      }
      for (Path f : List.of(tlsCert, tlsKey)) {
        if (!Files.isReadable(f)) {
          throw new IllegalArgumentException(f + " is not a readable file (generate a test certificate: see "
              + "docs/tls.md)");
        }
      }
      options = options.withTls(tlsCert.toAbsolutePath(), tlsKey.toAbsolutePath());
    }
    return new SimCluster.NodeSpec(options, parsed);
  }
}
