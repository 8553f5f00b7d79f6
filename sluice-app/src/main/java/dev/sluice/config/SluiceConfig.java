package dev.sluice.config;

import dev.sluice.degrade.CacheSettings;
import dev.sluice.degrade.DegradationSettings;
import dev.sluice.health.HealthPolicy;
import dev.sluice.limit.LimitSettings;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One validated, immutable configuration snapshot, with the model → nodes map compiled once. A request reads one
 * snapshot from start to end; {@link ConfigHolder} swaps snapshots atomically.
 */
public final class SluiceConfig {
  private final ServerSettings server;
  private final Timeouts timeouts;
  private final UpstreamSettings upstream;
  private final RoutingSettings routing;
  private final HealthPolicy health;
  private final DegradationSettings degradation;
  private final CacheSettings cache;
  private final LimitSettings limits;
  private final AuthSettings auth;
  private final AdminSettings admin;
  private final SharedSettings shared;
  private final List<ProviderSpec> providers;
  private final String source;
  private final List<NodeSpec> nodes;
  private final Map<String, NodeSpec> nodesById;
  private final Map<String, ModelRoute> models;

  /** A config with default routing and health settings. */
  public SluiceConfig(
      ServerSettings server, Timeouts timeouts, UpstreamSettings upstream, List<ProviderSpec> providers, String source) {
    this(server, timeouts, upstream, RoutingSettings.defaults(), HealthPolicy.defaults(), providers, source);
  }

  /** A config with default degradation, cache and limit settings. */
  public SluiceConfig(ServerSettings server, Timeouts timeouts, UpstreamSettings upstream, RoutingSettings routing,
      HealthPolicy health, List<ProviderSpec> providers, String source) {
    this(server, timeouts, upstream, routing, health, DegradationSettings.defaults(), CacheSettings.defaults(),
        LimitSettings.defaults(), providers, source);
  }

  /** A config with the default auth (gateway tokens) and admin settings (no admin token). */
  public SluiceConfig(ServerSettings server, Timeouts timeouts, UpstreamSettings upstream, RoutingSettings routing,
      HealthPolicy health, DegradationSettings degradation, CacheSettings cache, LimitSettings limits,
      List<ProviderSpec> providers, String source) {
    this(server, timeouts, upstream, routing, health, degradation, cache, limits, AuthSettings.defaults(),
        AdminSettings.defaults(), providers, source);
  }

  /** A config whose limits and cache stay in this process ({@link SharedSettings#none()}). */
  public SluiceConfig(ServerSettings server, Timeouts timeouts, UpstreamSettings upstream, RoutingSettings routing,
      HealthPolicy health, DegradationSettings degradation, CacheSettings cache, LimitSettings limits,
      AuthSettings auth, AdminSettings admin, List<ProviderSpec> providers, String source) {
    this(server, timeouts, upstream, routing, health, degradation, cache, limits, auth, admin, SharedSettings.none(),
        providers, source);
  }

  public SluiceConfig(ServerSettings server, Timeouts timeouts, UpstreamSettings upstream, RoutingSettings routing,
      HealthPolicy health, DegradationSettings degradation, CacheSettings cache, LimitSettings limits,
      AuthSettings auth, AdminSettings admin, SharedSettings shared, List<ProviderSpec> providers, String source) {
    this.shared = Objects.requireNonNull(shared, "shared");
    this.auth = Objects.requireNonNull(auth, "auth");
    this.admin = Objects.requireNonNull(admin, "admin");
    this.degradation = Objects.requireNonNull(degradation, "degradation");
    this.cache = Objects.requireNonNull(cache, "cache");
    this.limits = Objects.requireNonNull(limits, "limits");
    this.routing = Objects.requireNonNull(routing, "routing");
    this.health = Objects.requireNonNull(health, "health");
    this.server = Objects.requireNonNull(server, "server");
    this.timeouts = Objects.requireNonNull(timeouts, "timeouts");
    this.upstream = Objects.requireNonNull(upstream, "upstream");
    this.providers = List.copyOf(providers);
    this.source = source == null ? "(built in code)" : source;
    List<NodeSpec> all = new ArrayList<>();
    Map<String, NodeSpec> byId = new LinkedHashMap<>();
    Map<String, ModelRoute> routes = new LinkedHashMap<>();
    for (ProviderSpec p : this.providers) {
      for (NodeSpec n : p.nodes()) {
        all.add(n);
        byId.put(n.id(), n);
      }
      for (ModelSpec m : p.models()) {
        ModelRoute prev = routes.get(m.id());
        if (prev == null) {
          routes.put(m.id(), new ModelRoute(m, p.name(), p.nodes()));
        } else {
          List<NodeSpec> merged = new ArrayList<>(prev.nodes());
          merged.addAll(p.nodes());
          routes.put(m.id(), new ModelRoute(prev.model(), prev.provider(), merged));
        }
      }
    }
    this.nodes = List.copyOf(all);
    this.nodesById = Collections.unmodifiableMap(byId);
    this.models = Collections.unmodifiableMap(routes);
  }

  public ServerSettings server() { return server; }

  public Timeouts timeouts() { return timeouts; }

  public UpstreamSettings upstream() { return upstream; }

  public RoutingSettings routing() { return routing; }

  /** Probe and ejection settings. */
  public HealthPolicy health() { return health; }

  /** The degradation ladder: error-rate levels, downgrade map, static reply. */
  public DegradationSettings degradation() { return degradation; }

  /** The response cache. */
  public CacheSettings cache() { return cache; }

  /** Rate limits and the max_tokens rule. */
  public LimitSettings limits() { return limits; }

  /** This config with other degradation settings. */
  public SluiceConfig withDegradation(DegradationSettings d) {
    return new SluiceConfig(server, timeouts, upstream, routing, health, d, cache, limits, auth, admin, shared, providers, source);
  }

  /** This config with other cache settings. */
  public SluiceConfig withCache(CacheSettings c) {
    return new SluiceConfig(server, timeouts, upstream, routing, health, degradation, c, limits, auth, admin, shared, providers, source);
  }

  /** This config with other limits. */
  public SluiceConfig withLimits(LimitSettings l) {
    return new SluiceConfig(server, timeouts, upstream, routing, health, degradation, cache, l, auth, admin, shared, providers, source);
  }

  /** Who may call the data plane. */
  public AuthSettings auth() { return auth; }

  /** The admin plane: token, listener, what it protects. */
  public AdminSettings admin() { return admin; }

  /** This config with other auth settings. */
  public SluiceConfig withAuth(AuthSettings a) {
    return new SluiceConfig(server, timeouts, upstream, routing, health, degradation, cache, limits, a, admin,
        shared, providers, source);
  }

  /** This config with other admin settings. */
  public SluiceConfig withAdmin(AdminSettings a) {
    return new SluiceConfig(server, timeouts, upstream, routing, health, degradation, cache, limits, auth, a,
        shared, providers, source);
  }

  /** This config with other providers (nodes added or removed at run time). */
  public SluiceConfig withProviders(List<ProviderSpec> p) {
    return new SluiceConfig(server, timeouts, upstream, routing, health, degradation, cache, limits, auth, admin, shared, p,
        source);
  }

  /** This config with other routing settings (a policy switched from the console). */
  public SluiceConfig withRouting(RoutingSettings r) {
    return new SluiceConfig(server, timeouts, upstream, r, health, degradation, cache, limits, auth, admin, shared,
        providers, source);
  }

  /** This config with other server settings. */
  public SluiceConfig withServer(ServerSettings s) {
    return new SluiceConfig(s, timeouts, upstream, routing, health, degradation, cache, limits, auth, admin, shared,
        providers, source);
  }

  /** What replicas share through Redis (rate-limit buckets, cached answers); {@link SharedSettings#none()} = nothing. */
  public SharedSettings shared() { return shared; }

  /** This config with other shared-state settings. */
  public SluiceConfig withShared(SharedSettings s) {
    return new SluiceConfig(server, timeouts, upstream, routing, health, degradation, cache, limits, auth, admin, s,
        providers, source);
  }

  /** Providers in file order. */
  public List<ProviderSpec> providers() { return providers; }

  /** Where this snapshot came from (a file path), for logs. */
  public String source() { return source; }

  /** Every node of every provider, in file order. Node ids are unique (validated). */
  public List<NodeSpec> nodes() { return nodes; }

  public Optional<NodeSpec> node(String id) { return Optional.ofNullable(nodesById.get(id)); }

  /** Model id → the model and the nodes that serve it (a model listed by several providers is served by all). */
  public Map<String, ModelRoute> models() { return models; }

  public Optional<ModelRoute> model(String id) { return Optional.ofNullable(models.get(id)); }

  /** A model and the nodes that may serve it. */
  public record ModelRoute(ModelSpec model, String provider, List<NodeSpec> nodes) {
    public ModelRoute {
      nodes = List.copyOf(nodes);
    }
  }
}
