package dev.sluice.upstream;

import dev.sluice.config.NodeSpec;
import dev.sluice.config.SluiceConfig;
import dev.sluice.config.Timeouts;
import dev.sluice.config.UpstreamTls;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.net.PemTrustOptions;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place that builds HTTP clients for nodes: per node one bounded client for traffic and one small one for the
 * prober, kept across config reloads while the node's address and bounds are unchanged; a removed node's clients are
 * shut down gracefully so its streams drain.
 */
public final class NodeClients {
  private static final Logger log = LoggerFactory.getLogger(NodeClients.class);
  /** Pooled connections idle longer than this are closed (Ollama keeps idle connections 5 min; stay below). */
  static final int KEEP_ALIVE_SECONDS = 60;
  /**
   * Connections of a node's probe client: the prober has at most a shallow probe, a model list and a warm-up or
   * generation probe in flight per node at once, so 4 never makes one wait, and costs the node 4 sockets at most.
   */
  static final int PROBE_CONNECTIONS_PER_NODE = 4;
  /** Probe requests waiting for one of those connections (more means probes pile up: fail fast, the probe fails). */
  static final int PROBE_WAIT_QUEUE_PER_NODE = 16;
  /**
   * How long a request may wait for one of a node's pooled connections to come free (on top of the TCP connect): a
   * node's answers end every few hundred ms under load, so 2 s finds a connection if the node is draining at all;
   * past it the client is better served by a quick 503 upstream_busy and its retry.
   */
  static final Duration POOL_WAIT = Duration.ofSeconds(2);

  private final Vertx vertx;
  private volatile Map<String, NodeClient> byId = Map.of();
  private volatile SluiceConfig applied;

  public NodeClients(Vertx vertx) {
    this.vertx = vertx;
  }

  /** Makes the clients match a new config snapshot. Call on every swap, from any thread. */
  public synchronized void apply(SluiceConfig config) {
    warnIfHostNamesUnchecked(config);
    Map<String, NodeClient> next = new HashMap<>();
    for (NodeSpec n : config.nodes()) {
      NodeClient old = byId.get(n.id());
      if (old != null && old.spec().equals(n) && applied != null && sameBounds(applied, config)) {
        next.put(n.id(), old);
      } else {
        next.put(n.id(), new NodeClient(n,
            vertx.httpClientBuilder()
                .with(clientOptions(n, config))
                .with(new PoolOptions()
                    .setHttp1MaxSize(config.upstream().maxConnectionsPerNode())
                    .setMaxWaitQueueSize(config.upstream().maxWaitQueuePerNode()))
                .build(),
            vertx.httpClientBuilder()
                .with(clientOptions(n, config).setName("node-" + n.id() + "-probe"))
                .with(new PoolOptions()
                    .setHttp1MaxSize(PROBE_CONNECTIONS_PER_NODE)
                    .setMaxWaitQueueSize(PROBE_WAIT_QUEUE_PER_NODE))
                .build()));
      }
    }
    Map<String, NodeClient> previous = byId;
    byId = Map.copyOf(next);
    applied = config;
    long graceMs = config.timeouts().total().toMillis();
    for (NodeClient old : previous.values()) {
      if (next.get(old.spec().id()) != old) {
        log.info("node {}: client replaced or removed; requests in flight drain for up to {} ms",
            old.spec().id(), graceMs);
        old.shutdown(graceMs);
      }
    }
  }

  /**
   * The connect timeout to put on a request to a node ({@link io.vertx.core.http.RequestOptions#setConnectTimeout}):
   * {@code timeouts.connect} plus {@link #POOL_WAIT}. Vert.x bounds "getting a connection" (waiting for a pooled
   * connection and the TCP connect it may need) by the request's connect timeout and fails it with the same
   * {@code TimeoutException} "... exceeded when getting a connection ..." whether the pool was full or the TCP connect
   * hung. With the request's bound longer than the TCP connect timeout (the client's, {@code timeouts.connect}), a hung
   * connect fails first with Netty's {@code ConnectTimeoutException} (a node failure), and the pool's timeout means
   * that the request waited for a free connection (busy; if it then also began a connect that hangs, the node was
   * busy first): {@link FailureClassifier} tells them apart.
   */
  public static long acquireTimeoutMillis(Timeouts timeouts) {
    return timeouts.connect().toMillis() + POOL_WAIT.toMillis();
  }

  private static boolean sameBounds(SluiceConfig a, SluiceConfig b) {
    return a.upstream().equals(b.upstream()) && a.timeouts().connect().equals(b.timeouts().connect());
  }

  /** Once when the setting turns off (start or reload), and only if some node is reached over https. */
  private void warnIfHostNamesUnchecked(SluiceConfig config) {
    boolean off = !config.upstream().tls().verifyHostname();
    boolean wasOff = applied != null && !applied.upstream().tls().verifyHostname();
    if (!off || wasOff) return;
    long https = config.nodes().stream().filter(NodeClients::https).count();
    if (https > 0) {
      log.warn("upstream.tls.verifyHostname is false: {} https node(s) are accepted with a certificate for any host "
          + "name, so anyone holding a certificate from a trusted CA can pose as them; turn it on outside tests",
          https);
    }
  }

  private static boolean https(NodeSpec n) {
    return "https".equalsIgnoreCase(n.root().getScheme());
  }

  static HttpClientOptions clientOptions(NodeSpec n, SluiceConfig config) {
    boolean tls = https(n);
    int port = NodeClient.port(n.root());
    HttpClientOptions options = new HttpClientOptions()
        .setDefaultHost(n.root().getHost())
        .setDefaultPort(port)
        .setSsl(tls)
        .setKeepAlive(true)
        .setKeepAliveTimeout(KEEP_ALIVE_SECONDS)
        .setTcpNoDelay(true)
        .setPipelining(false)
        .setDecompressionSupported(false)
        .setConnectTimeout((int) config.timeouts().connect().toMillis())
        .setName("node-" + n.id());
    if (!tls) return options;
    UpstreamTls settings = config.upstream().tls();
    // SNI so a node behind a TLS proxy with several names presents the right certificate; HTTP/1.1 only (no ALPN).
    options.setVerifyHost(settings.verifyHostname()).setForceSni(true);
    if (settings.caFile() != null) {
      options.setTrustOptions(new PemTrustOptions().addCertPath(settings.caFile().toString()));
    }
    return options;
  }

  public NodeClient get(String nodeId) {
    return byId.get(nodeId);
  }

  /** Closes every client (shutdown of the gateway). */
  public synchronized void close() {
    for (NodeClient c : byId.values()) c.close();
    byId = Map.of();
  }
}
