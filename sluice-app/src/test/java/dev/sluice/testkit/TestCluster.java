package dev.sluice.testkit;

import dev.sluice.api.ApiFlavor;
import dev.sluice.config.ConfigHolder;
import dev.sluice.config.ModelSpec;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.ProviderSpec;
import dev.sluice.config.ServerSettings;
import dev.sluice.config.SluiceConfig;
import dev.sluice.config.Timeouts;
import dev.sluice.config.RoutingSettings;
import dev.sluice.config.UpstreamSettings;
import dev.sluice.health.HealthPolicy;
import dev.sluice.health.NodeState;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.server.Gateway;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Real simulated nodes on loopback port 0 and a real gateway in front of them. Simulated nodes run in their own Vertx
 * so their event loops never share the gateway's.
 */
public final class TestCluster implements AutoCloseable {
  public final Vertx simVertx = Vertx.vertx();
  /** Made first: the gateway's Vert.x reports into it. */
  public SluiceMetrics metrics = new SluiceMetrics();
  public final Vertx gatewayVertx = metrics.newVertx();
  public final Map<String, SimNode> sims = new LinkedHashMap<>();
  public ConfigHolder configs;
  public Gateway gateway;
  private Timeouts timeouts = Timeouts.defaults();
  private UpstreamSettings upstream = UpstreamSettings.defaults();
  private RoutingSettings routing = RoutingSettings.defaults();
  /** Fast probes so a cluster is READY within a fraction of a second; tests that need other figures set their own. */
  private HealthPolicy health = fastProbes(Duration.ofMillis(100));
  private final Map<String, List<String>> modelsByNode = new LinkedHashMap<>();
  private dev.sluice.degrade.DegradationSettings degradation = dev.sluice.degrade.DegradationSettings.defaults();
  private dev.sluice.degrade.CacheSettings cache = dev.sluice.degrade.CacheSettings.defaults();
  private dev.sluice.limit.LimitSettings limits = dev.sluice.limit.LimitSettings.defaults();
  /** Tests of other features run without authentication; security tests set it. */
  private dev.sluice.config.AuthSettings auth = dev.sluice.config.AuthSettings.none();
  private dev.sluice.config.AdminSettings admin = dev.sluice.config.AdminSettings.defaults();
  private ServerSettings server = ServerSettings.defaults();
  private int eventLoops = 1;

  /** Gateway event loops (listener instances sharing the port); 1 by default. */
  public TestCluster eventLoops(int n) {
    this.eventLoops = n;
    return this;
  }
  private final Map<String, ModelSpec> modelSpecs = new LinkedHashMap<>();

  public TestCluster degradation(dev.sluice.degrade.DegradationSettings d) {
    this.degradation = d;
    return this;
  }

  /** The degradation ladder off: failures reach the client as errors (tests of the errors themselves). */
  public TestCluster withoutDegradation() {
    return degradation(dev.sluice.degrade.DegradationSettings.disabled());
  }

  /** The ladder on (levels, cache) but a failed request gets its error rather than a fallback answer. */
  public TestCluster withoutDegradationFallback() {
    var d = dev.sluice.degrade.DegradationSettings.defaults();
    return degradation(new dev.sluice.degrade.DegradationSettings(true, d.scope(), d.window(), d.minRequests(),
        d.cacheThreshold(), d.downgradeThreshold(), d.staticThreshold(), d.dwell(), d.minEvidenceTime(),
        d.recoveryWindow(), d.probeShare(), false,
        d.downgrade(), d.downgradeShare(), d.staticMessage(), d.staticReply()));
  }

  public TestCluster cache(dev.sluice.degrade.CacheSettings c) {
    this.cache = c;
    return this;
  }

  private String nodeApiKey = "ollama";
  private boolean telemetry;

  /** The API key the gateway sends to every node (default "ollama"). */
  /** Scrapes each simulated node's telemetry ({@code /metrics}: GPU utilisation, temperature, memory), as the demo. */
  public TestCluster telemetry() {
    this.telemetry = true;
    return this;
  }

  private Duration telemetryInterval;

  /** As {@link #telemetry()}, scraped every {@code interval} rather than the gateway's default 15 s. */
  public TestCluster telemetry(Duration interval) {
    this.telemetryInterval = interval;
    return telemetry();
  }

  public TestCluster nodeApiKey(String key) {
    this.nodeApiKey = key;
    return this;
  }

  /** Authentication of the data plane (default: none). */
  public TestCluster auth(dev.sluice.config.AuthSettings a) {
    this.auth = a;
    return this;
  }

  /** The admin plane's token and listener (default: no token, same listener). */
  public TestCluster admin(dev.sluice.config.AdminSettings a) {
    this.admin = a;
    return this;
  }

  public TestCluster limits(dev.sluice.limit.LimitSettings l) {
    this.limits = l;
    return this;
  }

  private dev.sluice.upstream.AddressPolicy.Resolver nodeAddressResolver;

  /** Resolves the host names of nodes added through the admin API (default: the system's DNS). */
  public TestCluster nodeAddressResolver(dev.sluice.upstream.AddressPolicy.Resolver r) {
    this.nodeAddressResolver = r;
    return this;
  }

  public TestCluster server(ServerSettings s) {
    this.server = s;
    return this;
  }

  /** Overrides the spec of a model (default: contextWindow 24576, maxTokens 4096, as the brief's provider block). */
  public TestCluster model(ModelSpec spec) {
    modelSpecs.put(spec.id(), spec);
    return this;
  }

  /** The gateway listens with HTTPS (and its redirect port when {@code tls} has one); see {@link TestCerts}. */
  public TestCluster tls(dev.sluice.config.TlsSettings tls) {
    this.server = server.withTls(tls);
    return this;
  }

  /** How the gateway checks https nodes' certificates (nodes listen with TLS via {@link SimOptions#withTls}). */
  public TestCluster upstreamTls(dev.sluice.config.UpstreamTls tls) {
    this.upstream = upstream.withTls(tls);
    return this;
  }

  public TestCluster timeouts(Timeouts t) {
    this.timeouts = t;
    return this;
  }

  public TestCluster upstream(UpstreamSettings u) {
    this.upstream = u;
    return this;
  }

  public TestCluster routing(RoutingSettings r) {
    this.routing = r;
    return this;
  }

  public TestCluster health(HealthPolicy h) {
    this.health = h;
    return this;
  }

  /** The default health policy with another probe interval and a 1 s probe timeout. */
  public static HealthPolicy fastProbes(Duration interval) {
    HealthPolicy d = HealthPolicy.defaults();
    // 1 s whatever the interval: a probe of a healthy node timing out on a busy CI machine (GC, 2 shared CPUs) would
    // take it out of rotation and change what the test sees; a probe in flight is never doubled by the next one
    Duration timeout = Duration.ofSeconds(1);
    return new HealthPolicy(interval, timeout, d.probeJitter(), d.failuresToDegrade(), d.failuresToDown(),
        d.successesToRecover(), d.healthWindowProbes(), d.failuresToEject(), d.ejectionBase(), d.ejectionMax(),
        d.ejectionMemory());
  }

  /** Adds a simulated node serving {@code model}. {@code timeScale} 0 answers instantly. */
  public TestCluster node(String id, GpuProfile gpu, String model, double timeScale) {
    return node(SimOptions.defaults().withId(id).withGpu(gpu).withModels(model).withTimeScale(timeScale));
  }

  public TestCluster node(SimOptions options) {
    sims.put(options.id(), await(SimNode.start(simVertx, options)));
    modelsByNode.put(options.id(), options.models());
    return this;
  }

  private final Map<String, SimProcess> processes = new LinkedHashMap<>();
  private final Map<String, java.util.Set<dev.sluice.api.NodeDialect>> declaredDialects = new LinkedHashMap<>();

  /** The config lists node {@code id}'s dialects (as {@code "dialects"}): no discovery for it. */
  public TestCluster dialects(String id, dev.sluice.api.NodeDialect... dialects) {
    declaredDialects.put(id, java.util.Set.of(dialects));
    return this;
  }

  private NodeSpec declared(NodeSpec n) {
    var d = declaredDialects.get(n.id());
    return d == null ? n : n.withDialects(d, true);
  }

  /**
   * Adds a simulated node running in its own JVM (for signals such as SIGSTOP). The test owns it: close it after the
   * cluster (try-with-resources, declared before the cluster).
   */
  public TestCluster node(SimProcess process) {
    processes.put(process.id(), process);
    modelsByNode.put(process.id(), process.options().models());
    return this;
  }

  /** Starts the gateway on port 0 with one provider per model over the nodes added so far (all Ollama-API nodes). */
  public TestCluster start() {
    startWithoutWaiting();
    awaitReady();
    return this;
  }

  /** Starts the gateway without waiting for the nodes to be READY (tests of start-up and warm-up). */
  public TestCluster startWithoutWaiting() {
    configs = new ConfigHolder(config());
    gateway = new Gateway(gatewayVertx, configs, metrics, eventLoops);
    if (nodeAddressResolver != null) gateway.nodeAddressResolver(nodeAddressResolver);
    if (telemetryInterval != null) gateway.telemetryScraper().interval(telemetryInterval);
    await(gateway.start("127.0.0.1", 0));
    return this;
  }

  /** Waits until every node is READY (first probe, warm-up and generation probe passed). */
  public void awaitReady() {
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() ->
        gateway.registry().all().stream().allMatch(e -> e.health().state() == NodeState.READY));
  }

  /** The config for the nodes added so far. */
  public SluiceConfig config() {
    Map<String, List<NodeSpec>> nodesByModel = new LinkedHashMap<>();
    sims.forEach((id, sim) -> {
      for (String m : modelsByNode.get(id)) {
        URI root = URI.create(sim.baseUrl());
        nodesByModel.computeIfAbsent(m, k -> new ArrayList<>()).add(declared(new NodeSpec(id, root,
            URI.create(sim.baseUrl() + "/v1"), ApiFlavor.OLLAMA, sim.options().gpu().name(),
            telemetry ? URI.create(sim.baseUrl() + "/metrics") : null, Map.of(), nodeApiKey,
            m)));
      }
    });
    processes.forEach((id, p) -> {
      for (String m : modelsByNode.get(id)) {
        nodesByModel.computeIfAbsent(m, k -> new ArrayList<>()).add(new NodeSpec(id, URI.create(p.baseUrl()),
            URI.create(p.baseUrl() + "/v1"), ApiFlavor.OLLAMA, p.options().gpu().name(),
            telemetry ? URI.create(p.baseUrl() + "/metrics") : null, Map.of(), nodeApiKey, m));
      }
    });
    List<ProviderSpec> providers = new ArrayList<>();
    nodesByModel.forEach((m, nodes) -> providers.add(
        new ProviderSpec(m, List.of(modelSpecs.getOrDefault(m, new ModelSpec(m, m, 24576, 4096, null))), nodes)));
    return new SluiceConfig(server, timeouts, upstream, routing, health, degradation, cache, limits, auth, admin,
        providers, "test");
  }

  public SimNode sim(String id) {
    return sims.get(id);
  }

  public int port() {
    return gateway.port();
  }

  /** The gateway's URL for {@code path}: {@code https://} when {@link #tls} is set. */
  public String url(String path) {
    return (server.tls() == null ? "http" : "https") + "://127.0.0.1:" + port() + path;
  }

  public static Timeouts timeouts(Duration firstToken, Duration idle, Duration total) {
    return new Timeouts(Timeouts.DEFAULT_CONNECT, firstToken, idle, total);
  }

  public static <T> T await(Future<T> f) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    if (gateway != null) await(gateway.close());
    for (SimNode s : sims.values()) await(s.close());
    await(gatewayVertx.close());
    await(simVertx.close());
  }
}
