package dev.sluice.server;

import dev.sluice.config.ConfigHolder;
import dev.sluice.config.SluiceConfig;
import dev.sluice.config.TlsSettings;
import dev.sluice.console.AdminApi;
import dev.sluice.console.ConsoleFeed;
import dev.sluice.health.EjectionState;
import dev.sluice.health.HealthListener;
import dev.sluice.health.HealthPolicy;
import dev.sluice.health.NodeState;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.node.NodeEntry;
import dev.sluice.node.NodeRegistry;
import dev.sluice.node.NodeTelemetry;
import dev.sluice.observe.AccessLog;
import dev.sluice.observe.ConsoleStats;
import dev.sluice.observe.RequestObserver;
import dev.sluice.probe.Prober;
import dev.sluice.probe.TelemetryScraper;
import dev.sluice.support.Clock;
import dev.sluice.support.LogThrottle;
import dev.sluice.upstream.AddressPolicy;
import dev.sluice.upstream.NodeClients;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
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
  /**
   * HTTP/2 over plain TCP (h2c, by Upgrade or prior knowledge) is off on every listener: Sluice speaks HTTP/1.1, and
   * an Upgrade answered before authentication lets a client behind a proxy that forwards it step past the proxy.
   */
  static final boolean HTTP2_CLEAR_TEXT = false;

  /** The one source of time of the gateway process: the system clock. */
  private final Clock clock = Clock.SYSTEM;
  private final Vertx vertx;
  private final ConfigHolder configs;
  private final SluiceMetrics metrics;
  private final NodeClients nodes;
  private final NodeRegistry registry;
  /** Session pins and the prefix index: kept across config swaps like the node table. */
  private final AffinityKeeper affinity;
  /** The per-model waiting rooms: kept across config swaps like the affinity. */
  private final FlowControl flow;
  private final Prober prober;
  private final TelemetryScraper scraper;
  /** The config and its router, replaced together on every swap: what each arriving request takes. */
  private volatile ConfigSnapshot snapshot;
  private final Protections protections;
  private final AccessControl access;
  private final GatewayHandler handler;
  private final Observers observers;
  /** Deadlines and the per-client cap of all three listeners (main, admin, HTTP→HTTPS redirect). */
  private final ConnectionGuard guard;
  private volatile HttpServer adminServer;
  private final int eventLoops;
  private final List<String> deployments = new CopyOnWriteArrayList<>();
  private volatile int port = -1;
  private volatile HttpServer redirectServer;
  private final ConsoleStats consoleStats =
      new ConsoleStats(clock);
  private final ConsoleFeed console;
  private final AdminApi admin;
  private volatile int redirectPort = -1;
  /**
   * Set when a node first turns READY after start. Until then the gateway is starting: a request with no node to go
   * to gets 503 + Retry-After instead of the degradation ladder, so a load balancer sends it to a replica that is up
   * (the ladder is for failures, and a gateway that has not started yet has nothing to degrade from).
   */
  private volatile boolean servedOnce;

  /**
   * Whether no node has been READY since start. Asks the registry itself (the transition listener may run a moment
   * after a node's state changed); once a node was READY the answer stays false without looking again.
   */
  private boolean starting() {
    if (servedOnce) return false;
    if (registry.all().stream().anyMatch(e -> e.health().snapshot().state() == NodeState.READY)) {
      servedOnce = true;
      return false;
    }
    return true;
  }

  public Gateway(Vertx vertx, ConfigHolder configs, SluiceMetrics metrics, int eventLoops) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.configs = Objects.requireNonNull(configs, "configs");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.eventLoops = Math.max(1, eventLoops);
    this.nodes = new NodeClients(vertx);
    SluiceConfig initial = configs.current();
    this.affinity = new AffinityKeeper(initial, clock);
    this.flow = new FlowControl(vertx, clock, metrics, () -> snapshot);
    this.registry = new NodeRegistry(initial.health(), clock, new HealthEvents());
    this.prober = new Prober(vertx, registry, nodes, configs::current, initial.health(),
        new SplittableRandom());
    this.scraper = new TelemetryScraper(vertx, registry);
    this.protections = new Protections(vertx, initial, metrics, clock, this::servable);
    this.access = new AccessControl(vertx, initial, clock);
    AdminApi admin = new AdminApi(vertx, registry, configs, prober::probeNow, protections.ladder(), access,
        req -> access.admin(req) == AccessControl.AdminAccess.GRANTED, consoleStats);
    this.admin = admin;
    admin.affinity(() -> snapshot.router().affinity()); // null while the policy routes without affinity
    metrics.bindAffinity(affinity::current);
    this.console = admin.console();
    this.observers = new Observers(metrics);
    this.guard = new ConnectionGuard(vertx, () -> this.configs.current().server(), metrics, clock);
    observers.add(new AccessLog());
    observers.add(consoleStats);
    metrics.onFailedAttempt(consoleStats::attemptFailed);
    admin.telemetryInterval(() -> scraper.interval().toMillis());
    this.handler = new GatewayHandler(vertx, clock, () -> snapshot, nodes, registry, admin, access, metrics,
        protections, observers, this::starting, new BodyReader(guard, metrics), flow);
    console.queues(flow::view);
    apply(initial);
    configs.onSwap(this::apply);
  }

  /** Whether {@code model} has a node in rotation now (cheap: its nodes' published health snapshots). */
  private boolean servable(String model) {
    var route = configs.current().model(model);
    if (route.isEmpty()) return false;
    long now = registry.nowMillis();
    for (var n : route.get().nodes()) {
      NodeEntry e = registry.get(n.id());
      if (e != null && e.canServe(model, now)) return true;
    }
    return false;
  }

  private void apply(SluiceConfig config) {
    nodes.apply(config);
    registry.apply(config);
    affinity.apply(config);
    snapshot = new ConfigSnapshot(config, new Router(registry, nodes, config, clock, affinity.current()));
    protections.apply(config);
    if (scraper != null) scraper.applyTls(config.upstream().tls());
    if (access != null) access.apply(config);
    if (prober != null) prober.apply(config.health());
    metrics.knownModels(config.models().keySet());
    metrics.namedTenants(config.routing().flow().tenants().keySet());
    metrics.bindNodes(config.nodes().stream().map(n -> n.id()).toList(), registry::get,
        () -> configs.current().routing().gpuBases(), clock);
    if (port > 0) probeAll(config);
  }

  /** Probes every node now rather than at its first scheduled probe, so nodes reach READY without waiting. */
  private void probeAll(SluiceConfig config) {
    for (var n : config.nodes()) prober.probeNow(n.id());
  }

  /** How often the node-level progress watchdog looks at every node: a sixth of the silence it detects. */
  static final long SILENCE_CHECK_MILLIS = HealthPolicy.NODE_SILENCE_MILLIS / 6;
  private volatile long silenceTimer = -1;

  /** Node state changes: one log line with the reason, a metric, and the prober's follow-up (repair, warm-up). */
  private final class HealthEvents implements HealthListener {
    /** "Not ejected: last node" comes with every failure while a model's last node is down: once a second per node. */
    private final ConcurrentHashMap<String, LogThrottle> withheldLog =
        new ConcurrentHashMap<>();

    @Override
    public void onTransition(String nodeId, NodeState from, NodeState to,
        String reason) {
      if (to == NodeState.DEGRADED || to == NodeState.DOWN) {
        log.warn("node {} {} → {}: {}", nodeId, from, to, reason);
      } else {
        log.info("node {} {} → {}: {}", nodeId, from, to, reason);
      }
      if (to == NodeState.READY) servedOnce = true;
      else affinity.leftRotation(nodeId); // out of rotation: its sessions find another node, its cache is not trusted
      metrics.nodeTransition(nodeId, to.name());
      consoleStats.nodeTransition(nodeId, from.name(), to.name(), reason);
      if (console != null) console.nodeTransition();
      vertx.runOnContext(v -> prober.onTransition(nodeId, from, to, reason));
    }

    @Override
    public void onEjected(String nodeId, EjectionState ejection, String reason) {
      log.warn("node {} ejected until {}: {}", nodeId, Instant.ofEpochMilli(ejection.ejectedUntilMillis()),
          reason);
      affinity.leftRotation(nodeId);
      metrics.nodeEjected(nodeId);
      vertx.runOnContext(v -> prober.onEjected(nodeId));
    }

    @Override
    public void onSuspected(String nodeId, String reason) {
      log.warn("node {} suspected, no new requests until a generation probe passes: {}", nodeId, reason);
      metrics.nodeSuspected(nodeId);
      vertx.runOnContext(v -> prober.onSuspected(nodeId));
    }

    @Override
    public void onEjectionWithheld(String nodeId, String reason) {
      long quiet = withheldLog.computeIfAbsent(nodeId, id -> LogThrottle.perSecond()).tryLog();
      if (quiet >= 0) log.warn("node {}: {}{}", nodeId, reason, LogThrottle.leftOut(quiet));
    }
  }

  /**
   * Listens on host:port (port 0 = any free port), over HTTPS when {@code server.tls} is set, plus its plain-HTTP
   * redirect port when configured; completes with the bound port, or fails naming the certificate file at fault.
   */
  public Future<Integer> start(String host, int requestedPort) {
    HttpServerOptions options = new HttpServerOptions()
        .setHost(host)
        .setTcpNoDelay(true)
        .setCompressionSupported(false)
        .setHandle100ContinueAutomatically(true)
        .setMaxInitialLineLength(MAX_INITIAL_LINE_BYTES)
        .setMaxHeaderSize(configs.current().server().maxHeaderBytes())
        .setHttp2ClearTextEnabled(HTTP2_CLEAR_TEXT);
    TlsSettings tls = configs.current().server().tls();
    if (tls != null) {
      try {
        // the handshake comes before the request head: it gets the head's deadline
        options = TlsListeners.https(vertx, options, tls)
            .setSslHandshakeTimeout(configs.current().server().requestHeadTimeout().toMillis())
            .setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS);
      } catch (TlsListeners.CertificateProblem e) {
        return Future.failedFuture(e);
      }
    }
    ConnectionGuard.Clients mainClients = new ConnectionGuard.Clients();
    HttpServerOptions base = options;
    // The first instance binds (possibly port 0); the others share the port it got.
    // Vert.x shares one listening socket between servers of the same host and port; port 0 would give each server
    // its own random port, a negative port gives them one shared random port.
    int bindPort = requestedPort == 0 ? -1 : requestedPort;
    Listener first = new Listener(new HttpServerOptions(base).setPort(bindPort), mainClients);
    return vertx.deployVerticle(first)
        .compose(id -> {
          deployments.add(id);
          port = first.server.actualPort();
          if (eventLoops == 1) return Future.succeededFuture(port);
          HttpServerOptions shared = new HttpServerOptions(base).setPort(bindPort);
          return vertx.deployVerticle(() -> new Listener(shared, mainClients),
                  new DeploymentOptions().setInstances(eventLoops - 1))
              .map(more -> {
                deployments.add(more);
                return port;
              });
        })
        .compose(p -> tls == null || tls.redirectHttpPort() == null ? Future.succeededFuture(p)
            : startRedirect(host, tls.redirectHttpPort(), p).map(p))
        .compose(p -> startAdminListener().map(p))
        .onSuccess(p -> {
          log.info("Sluice listening on {}://{}:{} ({} event loops){}", tls == null ? "http" : "https", host, p,
              eventLoops, redirectPort < 0 ? "" : "; http://" + host + ":" + redirectPort + " redirects to https");
          access.start();
          prober.start();
          scraper.start();
          probeAll(configs.current());
          silenceTimer = vertx.setPeriodic(SILENCE_CHECK_MILLIS, id -> suspectSilentNodes());
        });
  }

  /** The console's GPU trends: the node's telemetry now, or unknown (NaN) when never scraped or stale. */
  private void sampleTelemetry(NodeEntry e) {
    NodeTelemetry t = e.telemetry();
    if (t.ageMillis(registry.nowMillis()) < 0 || e.telemetryStale(registry.nowMillis(), scraper.interval().toMillis())) {
      consoleStats.telemetry(e.id(), Double.NaN, Double.NaN, Double.NaN);
    } else {
      consoleStats.telemetry(e.id(), t.gpuUtilPercent(), t.gpuTempCelsius(), t.memoryUsedPercent());
    }
  }

  /**
   * The node-level progress watchdog: a node with answers decoding that has sent nothing at all for
   * {@link HealthPolicy#NODE_SILENCE_MILLIS} is suspected at once (a frozen process gets no new request to miss a
   * deadline with, since least-delay already steers around its silence). The same pass hands each node's scraped
   * cache figures to the affinity (KV size, counter resets).
   */
  private void suspectSilentNodes() {
    long now = clock.nanos();
    for (NodeEntry e : registry.all()) {
      affinity.observeTelemetry(e.id(), e.kvCacheTokens(), e.prefixCacheResets());
      sampleTelemetry(e);
      String why = e.silenceSuspicion(now);
      if (why != null) e.health().suspect(why);
    }
  }

  /** The plain-HTTP port that answers everything with 308 to HTTPS; nothing on it reaches the API or a node. */
  private Future<Void> startRedirect(String host, int requestedPort, int httpsPort) {
    HttpServerOptions plain = new HttpServerOptions().setHost(host).setPort(requestedPort)
        .setMaxInitialLineLength(MAX_INITIAL_LINE_BYTES).setMaxHeaderSize(configs.current().server().maxHeaderBytes())
        .setHttp2ClearTextEnabled(HTTP2_CLEAR_TEXT);
    HttpServer server = guard.serve(vertx.createHttpServer(plain), new ConnectionGuard.Clients(),
        req -> TlsListeners.redirect(req, httpsPort));
    return server.listen()
        .recover(e -> Future.failedFuture(new IllegalStateException("server.tls.redirectHttpPort: cannot listen on "
            + host + ":" + requestedPort + " (" + e.getMessage() + "; is the port in use, or below 1024 without the "
            + "right to bind it?)")))
        .map(s -> {
          redirectServer = s;
          redirectPort = s.actualPort();
          return null;
        });
  }

  /** The plain-HTTP redirect port, or -1 when there is none. */
  public int redirectPort() {
    return redirectPort;
  }

  public int port() {
    return port;
  }

  /** The separate admin listener's port; -1 when the admin plane is served on the main listener. */
  public int adminPort() {
    HttpServer s = adminServer;
    return s == null ? -1 : s.actualPort();
  }

  /** The admin plane's own listener when {@code admin.port} is set: one event loop is plenty. */
  private Future<Void> startAdminListener() {
    var admin = configs.current().admin();
    if (!admin.separateListener()) return Future.succeededFuture();
    HttpServerOptions options = new HttpServerOptions().setHost(admin.host()).setPort(admin.port())
        .setTcpNoDelay(true).setMaxInitialLineLength(MAX_INITIAL_LINE_BYTES)
        .setMaxHeaderSize(configs.current().server().maxHeaderBytes()).setHttp2ClearTextEnabled(HTTP2_CLEAR_TEXT);
    HttpServer s = guard.serve(vertx.createHttpServer(options), new ConnectionGuard.Clients(), handler::handleAdmin);
    return s.listen().map(bound -> {
      adminServer = bound;
      log.info("admin plane (/admin, /console, /metrics) listening on http://{}:{}", admin.host(), bound.actualPort());
      if (!isLoopback(admin.host())) {
        log.warn("admin listener bound to {}: reachable from other machines (admin.host)", admin.host());
      }
      return null;
    });
  }

  private static boolean isLoopback(String host) {
    return host.equals("127.0.0.1") || host.equals("::1") || host.equals("localhost");
  }

  /**
   * Adds an observer told about every request once it ends (routed or answered by the gateway itself, refusals
   * included), after the metrics and the access log, on the request's event loop: it must not block. Observers added
   * while requests run see those that end afterwards.
   */
  public void addRequestObserver(RequestObserver observer) {
    observers.add(Objects.requireNonNull(observer, "observer"));
  }

  /**
   * Marks the config as shared by several replicas through etcd ({@code etcdUrl}): the admin API then refuses changes
   * of tokens, nodes and routing with 409 naming the {@code sluice … --etcd} command that makes them for all replicas.
   */
  public void sharedConfig(String etcdUrl) {
    admin.sharedConfig(Objects.requireNonNull(etcdUrl, "etcdUrl"));
  }

  /**
   * Resolves the host names of nodes added through the admin API (checked once, then pinned); the system's DNS unless
   * replaced here (tests: a name that resolves to another address later).
   */
  public void nodeAddressResolver(AddressPolicy.Resolver resolver) {
    admin.addressResolver(Objects.requireNonNull(resolver, "resolver"));
  }

  /** The live node table (health, speed, load). */
  public NodeRegistry registry() {
    return registry;
  }

  /** The scraper of the nodes' telemetry (tests scrape a node now with it rather than wait for its interval). */
  public TelemetryScraper telemetryScraper() {
    return scraper;
  }

  /** Stops listening, then closes the node clients. */
  public Future<Void> close() {
    if (silenceTimer >= 0) vertx.cancelTimer(silenceTimer);
    silenceTimer = -1;
    prober.stop();
    scraper.stop();
    flow.close();
    access.close();
    List<Future<Void>> undeploys = new ArrayList<>();
    if (redirectServer != null) undeploys.add(redirectServer.close());
    redirectServer = null;
    redirectPort = -1;
    HttpServer a = adminServer;
    if (a != null) undeploys.add(a.close());
    for (String id : deployments) undeploys.add(vertx.undeploy(id));
    deployments.clear();
    return Future.join(undeploys).eventually(() -> {
      nodes.close();
      return protections.close().otherwiseEmpty();
    }).mapEmpty();
  }

  private final class Listener extends VerticleBase {
    private final HttpServerOptions options;
    private final ConnectionGuard.Clients clients;
    private HttpServer server;

    Listener(HttpServerOptions options, ConnectionGuard.Clients clients) {
      this.options = options;
      this.clients = clients;
    }

    @Override
    public Future<?> start() {
      server = guard.serve(vertx.createHttpServer(options), clients, handler::handle);
      return server.listen();
    }
  }
}
