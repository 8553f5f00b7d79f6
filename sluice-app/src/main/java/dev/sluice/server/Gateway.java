package dev.sluice.server;

import dev.sluice.config.ConfigHolder;
import dev.sluice.config.SluiceConfig;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.upstream.NodeClients;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway process's server side: one HTTP listener served by one event loop per core, the per-node clients, and
 * the wiring that keeps them in step with config swaps.
 */
public final class Gateway {
  private static final Logger log = LoggerFactory.getLogger(Gateway.class);
  /** Request line limit; longer → 414. Our paths are short, so 8 KiB only leaves room for query strings. */
  static final int MAX_INITIAL_LINE_BYTES = 8192;
  /** Header block limit; larger → 431. */
  static final int MAX_HEADER_BYTES = 16384;

  private final Vertx vertx;
  private final ConfigHolder configs;
  private final SluiceMetrics metrics;
  private final NodeClients nodes;
  private final GatewayHandler handler;
  private final int eventLoops;
  private final List<String> deployments = new CopyOnWriteArrayList<>();
  private volatile int port = -1;

  public Gateway(Vertx vertx, ConfigHolder configs, SluiceMetrics metrics, int eventLoops) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.configs = Objects.requireNonNull(configs, "configs");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.eventLoops = Math.max(1, eventLoops);
    this.nodes = new NodeClients(vertx);
    this.handler = new GatewayHandler(vertx, configs, nodes, metrics);
    apply(configs.current());
    configs.onSwap(this::apply);
  }

  private void apply(SluiceConfig config) {
    nodes.apply(config);
    metrics.knownModels(config.models().keySet());
  }

  /** Listens on host:port (port 0 = any free port); completes with the bound port. */
  public Future<Integer> start(String host, int requestedPort) {
    HttpServerOptions options = new HttpServerOptions()
        .setHost(host)
        .setTcpNoDelay(true)
        .setCompressionSupported(false)
        .setHandle100ContinueAutomatically(true)
        .setMaxInitialLineLength(MAX_INITIAL_LINE_BYTES)
        .setMaxHeaderSize(MAX_HEADER_BYTES);
    // The first instance binds (possibly port 0); the others share the port it got.
    Listener first = new Listener(new HttpServerOptions(options).setPort(requestedPort));
    return vertx.deployVerticle(first)
        .compose(id -> {
          deployments.add(id);
          port = first.server.actualPort();
          if (eventLoops == 1) return Future.succeededFuture(port);
          HttpServerOptions shared = new HttpServerOptions(options).setPort(port);
          return vertx.deployVerticle(() -> new Listener(shared), new DeploymentOptions().setInstances(eventLoops - 1))
              .map(more -> {
                deployments.add(more);
                return port;
              });
        })
        .onSuccess(p -> log.info("Sluice listening on http://{}:{} ({} event loops)", host, p, eventLoops));
  }

  public int port() {
    return port;
  }

  /** Stops listening, then closes the node clients. */
  public Future<Void> close() {
    List<Future<Void>> undeploys = new ArrayList<>();
    for (String id : deployments) undeploys.add(vertx.undeploy(id));
    deployments.clear();
    return Future.join(undeploys).eventually(() -> {
      nodes.close();
      return Future.succeededFuture();
    }).mapEmpty();
  }

  private final class Listener extends VerticleBase {
    private final HttpServerOptions options;
    private HttpServer server;

    Listener(HttpServerOptions options) {
      this.options = options;
    }

    @Override
    public Future<?> start() {
      server = vertx.createHttpServer(options).requestHandler(handler::handle);
      return server.listen();
    }
  }
}
