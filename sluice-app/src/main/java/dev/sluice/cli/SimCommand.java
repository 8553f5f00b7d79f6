package dev.sluice.cli;

import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code sluice sim}: runs one simulated GPU node until Ctrl-C. */
@Command(name = "sim", mixinStandardHelpOptions = true,
    description = "Run a simulated GPU node speaking the Ollama and OpenAI-compatible APIs, with GPU-like timing "
        + "and faults injectable through POST /sim/faults (simulator-only endpoints: /sim/faults, /sim/stats).")
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

  @Override
  public Integer call() throws InterruptedException {
    SimOptions options;
    try {
      options = new SimOptions(id, host, port, gpu,
          models.isEmpty() ? List.of(SimOptions.DEFAULT_MODEL) : models, timeScale, seed, embeddingDimensions,
          writeSplitBytes, java.util.Map.of());
    } catch (IllegalArgumentException e) {
      spec.commandLine().getErr().println("sim: " + e.getMessage());
      return 2;
    }
    Vertx vertx = Vertx.vertx();
    SimNode node;
    try {
      node = SimNode.start(vertx, options).await();
    } catch (RuntimeException e) {
      spec.commandLine().getErr().println("sim: cannot listen on " + host + ":" + port + ": " + e.getMessage());
      vertx.close();
      return 1;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.close().await(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        vertx.close().await(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      } catch (Exception e) {
        // the JVM is exiting anyway; nothing left to clean up
      }
    }, "sim-shutdown"));
    SimOptions bound = node.options();
    spec.commandLine().getOut().printf("sim %s (%s, %s) listening on %s%n", bound.id(), bound.gpu(),
        String.join(", ", bound.models()), node.baseUrl());
    spec.commandLine().getOut().flush();
    new CountDownLatch(1).await(); // until Ctrl-C: the shutdown hook closes the node
    return 0;
  }
}
