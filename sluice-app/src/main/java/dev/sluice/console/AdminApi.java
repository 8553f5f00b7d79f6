package dev.sluice.console;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.ApiFlavor;
import dev.sluice.api.ErrorKind;
import dev.sluice.api.NodeDialect;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigHolder;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.ProviderSpec;
import dev.sluice.config.SluiceConfig;
import dev.sluice.degrade.DegradationLevel;
import dev.sluice.degrade.SharedCache;
import dev.sluice.flow.NodeCap;
import dev.sluice.health.HealthSnapshot;
import dev.sluice.http.Responses;
import dev.sluice.node.NodeEntry;
import dev.sluice.node.NodeRegistry;
import dev.sluice.node.NodeTelemetry;
import dev.sluice.observe.ConsoleStats;
import dev.sluice.routing.Affinity;
import dev.sluice.routing.GpuWeightedPolicy;
import dev.sluice.routing.LeastDelayPolicy;
import dev.sluice.routing.NodeSpeed;
import dev.sluice.routing.NodeView;
import dev.sluice.routing.RouteRequest;
import dev.sluice.support.Json;
import dev.sluice.upstream.AddressPolicy;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import java.net.InetAddress;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The node admin API: {@code GET /admin/nodes} (state, reason, ejection, health ratio, in-flight, learned speed and
 * speed factor, the brief's gpu-weighted weight, telemetry), {@code POST /admin/nodes/{id}/drain}, {@code /undrain}
 * and {@code /probe}. Errors use the OpenAI error shape.
 */
public final class AdminApi {
  /** The request least-delay's score is shown for: the chat shape of UPSTREAMS.md (mean prompt and output). */
  static final RouteRequest TYPICAL =
      new RouteRequest("typical", 1_155, 211, 0);
  static final LeastDelayPolicy LEAST_DELAY = new LeastDelayPolicy();

  private final NodeRegistry registry;
  private final Supplier<SluiceConfig> config;
  private final Consumer<String> probeNow;
  private final Ladder ladder;
  private final Vertx vertx;
  private final ConfigHolder configs;
  private final AdminKeys tokens;
  private final ConsoleFeed console;
  /** Largest admin request body: a node or a key description is a few hundred bytes. */
  static final int MAX_ADMIN_BODY_BYTES = 64 * 1024;
  /** Tenant, provider, model and level names are short; anything longer is not one of them. */
  static final int MAX_NAME_CHARS = 256;
  /** A node as in the config file, without {@code repair}, plus where it goes. */
  static final List<String> NODE_FIELDS = List.of("id", "baseUrl", "api", "dialects", "gpuType",
      "metricsUrl", "labels", "apiKey", "provider", "model");
  static final List<String> DEGRADATION_FIELDS = List.of("level", "model");
  private static final List<String> NODE_ACTIONS = List.of("drain", "undrain", "probe");
  /** The field a config-loader problem of a node is about ({@code config: node.gpuType: …}): the error's param. */
  private static final Pattern NODE_PROBLEM_FIELD = Pattern.compile("node\\.(\\w+)");
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(AdminApi.class);
  /** Resolves the host names of nodes added at run time; the system's DNS unless a test injects one. */
  private volatile AddressPolicy.Resolver resolver = AddressPolicy.Resolver.SYSTEM;

  /**
   * @param probeNow probes a node now (after it was added or undrained)
   * @param signedIn whether a request still has the admin token or a live console session (the event stream asks
   *     again on every push)
   */
  public AdminApi(Vertx vertx, NodeRegistry registry, ConfigHolder configs,
      Consumer<String> probeNow, Ladder ladder, KeyStore keys, Predicate<HttpServerRequest> signedIn,
      ConsoleStats consoleStats) {
    this.vertx = vertx;
    this.registry = registry;
    this.configs = configs;
    this.config = configs::current;
    this.probeNow = probeNow;
    this.ladder = ladder;
    this.tokens = new AdminKeys(vertx, keys, registry.clock(), configs::current);
    this.console = new ConsoleFeed(vertx, registry, configs, ladder, consoleStats, signedIn,
        e -> node(e, registry.nowMillis()));
  }

  /** The telemetry scrape interval (ms): telemetry older than two of them, or whose last scrape failed, is stale. */
  private volatile LongSupplier telemetryIntervalMillis = () -> 15_000;

  /** Where the telemetry scrape interval is read (the gateway's scraper). */
  public void telemetryInterval(LongSupplier millis) {
    this.telemetryIntervalMillis = Objects.requireNonNull(millis, "millis");
  }

  /** The affinity the current router uses (session pins, prefix index), for the per-node counts; null until set. */
  private volatile Supplier<Affinity> affinity;

  /**
   * Where {@code /admin/nodes} reads each node's pinned sessions and prefix-index entries: the affinity requests are
   * routed with now, or null while the routing policy uses none (the fields are then left out).
   */
  public void affinity(Supplier<Affinity> current) {
    this.affinity = current;
  }

  /** Set when the config is shared by replicas through etcd: its URL, named in the CLI commands to use instead. */
  private volatile String sharedConfig;

  /**
   * Shared-config mode: changes of gateway tokens, nodes and the routing policy through this replica's admin API
   * answer 409 naming the CLI that changes them in etcd for every replica (made here, they would reach this replica
   * only and be lost at its next config swap or restart). Reads stay available.
   */
  public void sharedConfig(String etcdUrl) {
    this.sharedConfig = etcdUrl;
  }

  /** Answers 409 and returns true when {@code req} would change shared state locally. */
  private boolean refusedAsShared(HttpServerRequest req, String path) {
    String url = sharedConfig;
    String instead;
    if ((path.equals("/admin/keys") && req.method() == HttpMethod.POST)
        || (path.startsWith("/admin/keys/") && req.method() == HttpMethod.DELETE)) {
      instead = req.method() == HttpMethod.POST ? "sluice keys create --tenant T --etcd " + url
          : "sluice keys revoke ID --etcd " + url;
    } else if (path.equals("/admin/nodes") && req.method() == HttpMethod.POST) {
      instead = "sluice onboard --node-url URL --gpu-type T --model M --etcd " + url;
    } else if (path.equals("/admin/routing") && req.method() == HttpMethod.POST) {
      instead = "sluice config pull --etcd " + url + " --out sluice.json, edit routing.policy, then sluice config push "
          + "--file sluice.json --etcd " + url;
    } else {
      return false;
    }
    Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.SHARED_CONFIG, "this gateway's config is shared "
        + "through etcd (" + url + "); a change made on one replica would not reach the others: use " + instead, null);
    return true;
  }

  /** Replaces the resolver of run-time nodes' host names (tests: a name that resolves elsewhere later). */
  public void addressResolver(AddressPolicy.Resolver resolver) {
    this.resolver = Objects.requireNonNull(resolver, "resolver");
  }

  /** The console's state, event stream and routing switch. */
  public ConsoleFeed console() {
    return console;
  }

  public void handle(HttpServerRequest req, String path) {
    String len = req.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (len != null && !len.matches("\\d{1,9}") || len != null && Long.parseLong(len) > MAX_ADMIN_BODY_BYTES) {
      req.response().putHeader(HttpHeaders.CONNECTION, "close");
      Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.BODY_TOO_LARGE,
          "admin request bodies are limited to " + MAX_ADMIN_BODY_BYTES + " bytes", null);
      return;
    }
    if (sharedConfig != null && refusedAsShared(req, path)) return;
    if (console.handle(req, path)) return;
    if (path.equals("/admin/keys") || path.startsWith("/admin/keys/")) {
      tokens.handle(req, path);
      return;
    }
    if (path.equals("/admin/nodes") && req.method() == HttpMethod.POST) {
      addNode(req);
      return;
    }
    if (path.equals("/admin/degradation")) {
      degradation(req);
      return;
    }
    if (path.equals("/admin/cache/purge") && req.method() == HttpMethod.POST) {
      withoutBody(req, "POST /admin/cache/purge", () -> purge(req));
      return;
    }
    if (path.equals("/admin/nodes") && req.method() == HttpMethod.GET) {
      Responses.json(req.response(), 200, nodes().toString());
      return;
    }
    String[] parts = path.split("/");
    // ["", "admin", "nodes", id, action]
    if (parts.length == 5 && parts[2].equals("nodes") && req.method() == HttpMethod.POST) {
      nodeAction(req, parts[3], parts[4]);
      return;
    }
    Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.NOT_FOUND,
        "unknown admin endpoint: GET|POST /admin/nodes, POST /admin/nodes/{id}/drain|undrain|probe, "
            + "GET|POST|DELETE /admin/degradation, POST /admin/cache/purge, GET|POST /admin/keys, "
            + "DELETE /admin/keys/{id}, GET /admin/console/state, GET /admin/events, GET|POST /admin/routing", null);
  }

  /** Runs {@code then} once the body turned out empty or {@code {}}; answers 400 for any other body. */
  static void withoutBody(HttpServerRequest req, String action, Runnable then) {
    req.body().onSuccess(body -> {
      try {
        AdminBody.none(body.getBytes(), action);
      } catch (AdminBody.Refused r) {
        r.answer(req.response());
        return;
      }
      then.run();
    });
  }

  /** {@code POST /admin/nodes/{id}/drain|undrain|probe}. */
  private void nodeAction(HttpServerRequest req, String id, String action) {
    NodeEntry e = registry.get(id);
    if (e == null) {
      Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.NOT_FOUND, "no node with that id", "id");
      return;
    }
    if (!NODE_ACTIONS.contains(action)) {
      Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.NOT_FOUND,
          "unknown action: use drain, undrain or probe", null);
      return;
    }
    withoutBody(req, "POST /admin/nodes/{id}/" + action, () -> {
      switch (action) {
        case "drain" -> e.health().drain();
        case "undrain" -> e.health().undrain();
        default -> probeNow.accept(e.id());
      }
      Responses.json(req.response(), 200, node(e, registry.nowMillis()).toString());
    });
  }

  /** {@code POST /admin/cache/purge}: this replica's cache, the shared tier and the other replicas' local tiers. */
  private void purge(HttpServerRequest req) {
    long purged = ladder.cache().purge();
    SharedCache shared = ladder.sharedCache().get();
    if (shared == null) {
      Responses.json(req.response(), 200, "{\"purged\":" + purged + "}");
      return;
    }
    // the shared tier too, or the next lookup would fetch the purged answers back from Redis; then the other
    // replicas' local tiers, told through Redis
    shared.purge().whenComplete((p, e) -> vertx.runOnContext(v -> {
      if (e != null) {
        Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.SHARED_STORE_UNAVAILABLE, "purged " + purged
            + " answers from this replica, but the shared cache in redis could not be purged nor the other replicas "
            + "told (" + e.getMessage() + "): retry when redis is back (see sluice_shared_store_up)", null);
      } else {
        Responses.json(req.response(), 200, "{\"purged\":" + purged + ",\"purgedShared\":" + p.dropped()
            + ",\"replicasNotified\":" + p.replicasNotified() + "}");
      }
    }));
  }

  // ------------------------------------------------------------------ gateway tokens

  /**
   * {@code GET /admin/keys}: every gateway token's public id, tenant, models, limits and dates (never a hash or a
   * secret). {@code POST /admin/keys} {@code {"tenant": "acme", "models": [...], "limits": {...}, "expiresAt": "…",
   * "note": "…"}}: a new token, whose secret is in this one answer only. {@code DELETE /admin/keys/{id}}: revoked at
   * once.
   */
  // ------------------------------------------------------------------ nodes added at run time

  /**
   * {@code POST /admin/nodes} {@code {"id": "gpu-9", "baseUrl": "http://10.0.0.9:11434", "api": "ollama", "gpuType":
   * "A10", "provider": "qwen"}} (or {@code "model": "qwen3:32b"} instead of provider): validated like a node in the
   * config file, without {@code repair} (commands and webhooks run with the gateway's rights: config file or etcd
   * only). Its host names are resolved once, every address is checked against the {@link AddressPolicy}, and the node
   * connects to the checked address from then on. The node joins the provider's rotation once probed READY and stays
   * across config reloads until the gateway restarts.
   */
  private void addNode(HttpServerRequest req) {
    req.body().onSuccess(body -> {
      String usage = "send {\"id\": \"gpu-9\", \"baseUrl\": \"http://10.0.0.9:11434\", \"api\": \"ollama\", "
          + "\"gpuType\": \"A10\", \"provider\": \"<provider name>\" or \"model\": \"<model id>\"}";
      SluiceConfig c = config.get();
      ProviderSpec provider = null;
      ObjectNode nodeJson;
      try {
        AdminBody b = AdminBody.object(body.getBytes(), NODE_FIELDS,
            Map.of("repair", ConfigLoader.REPAIR_ONLY_FROM_CONFIG), usage);
        String wantedProvider = b.text("provider", false, MAX_NAME_CHARS, "the name of a configured provider");
        String wantedModel = b.text("model", false, MAX_NAME_CHARS, "the id of a configured model");
        for (ProviderSpec p : c.providers()) {
          if (p.name().equals(wantedProvider) || p.models().stream().anyMatch(m -> m.id().equals(wantedModel))) {
            provider = p;
            break;
          }
        }
        if (provider == null) {
          throw new AdminBody.Refused("provider", "name a configured provider (" + String.join(", ",
              c.providers().stream().map(p -> p.name()).toList()) + ") or model; " + usage);
        }
        nodeJson = b.copy();
      } catch (AdminBody.Refused r) {
        r.answer(req.response());
        return;
      }
      nodeJson.remove("provider");
      nodeJson.remove("model");
      NodeSpec spec;
      try {
        spec = ConfigLoader.parseNode(nodeJson, provider,
            c.nodes().stream().map(NodeSpec::id).toList());
      } catch (ConfigException e) {
        Matcher field = NODE_PROBLEM_FIELD.matcher(e.problems().get(0));
        Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.INVALID_REQUEST, String.join("; ", e.problems()),
            field.find() ? field.group(1) : null);
        return;
      }
      String providerName = provider.name();
      List<String> allowed = c.admin().allowNodeNetworks();
      AddressPolicy.Resolver dns = resolver;
      vertx.executeBlocking(() -> checkAddresses(new AddressPolicy(allowed, dns), spec), false).onComplete(ar -> {
        if (ar.failed()) {
          Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.INVALID_REQUEST, "node.baseUrl: could not be "
              + "checked (" + ar.cause().getMessage() + ")", "baseUrl");
          return;
        }
        Checked checked = ar.result();
        if (checked.problem() != null) {
          Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.INVALID_REQUEST,
              "node." + checked.field() + ": " + checked.problem(), checked.field());
          return;
        }
        NodeSpec pinned = spec.withPinnedAddresses(checked.pins());
        configs.amend(cfg -> withNode(cfg, providerName, pinned));
        NodeEntry e = registry.get(spec.id());
        if (e == null) {
          Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.INTERNAL, "the node was not added", null);
          return;
        }
        log.info("node {} added through the admin API at {}{}", spec.id(), spec.root(), checked.pins().isEmpty() ? ""
            : "; connections go to the addresses checked now: " + checked.pins());
        probeNow.accept(spec.id());
        Responses.json(req.response(), 201, node(e, registry.nowMillis()).toString());
      });
    });
  }

  /** The outcome of checking a new node's URLs: the addresses to pin by host name, or the field at fault and why. */
  private record Checked(Map<String, InetAddress> pins, String field, String problem) {}

  /** Checks the node's baseUrl and metricsUrl with {@code policy} (resolving their names: blocking). */
  private static Checked checkAddresses(AddressPolicy policy, NodeSpec spec) {
    Map<String, InetAddress> pins = new LinkedHashMap<>();
    Map<String, URI> urls = new LinkedHashMap<>();
    urls.put("baseUrl", spec.root());
    if (spec.metricsUrl() != null) urls.put("metricsUrl", spec.metricsUrl());
    for (var u : urls.entrySet()) {
      String host = u.getValue().getHost() == null ? "" : u.getValue().getHost().toLowerCase(Locale.ROOT);
      if (pins.containsKey(host)) continue; // one resolution per name: both URLs reach the same checked address
      AddressPolicy.Verdict v = policy.check(u.getValue().toString());
      if (!v.allowed()) return new Checked(Map.of(), u.getKey(), v.problem());
      if (v.named()) pins.put(v.host(), v.address());
    }
    return new Checked(pins, null, null);
  }

  /** {@code cfg} with {@code node} added to provider {@code providerName}; unchanged if that no longer applies. */
  private static SluiceConfig withNode(SluiceConfig cfg, String providerName, NodeSpec node) {
    if (cfg.node(node.id()).isPresent()) return cfg;
    List<ProviderSpec> out = new ArrayList<>();
    boolean added = false;
    for (ProviderSpec p : cfg.providers()) {
      if (p.name().equals(providerName)) {
        List<NodeSpec> nodes = new ArrayList<>(p.nodes());
        nodes.add(node);
        out.add(new ProviderSpec(p.name(), p.models(), nodes));
        added = true;
      } else {
        out.add(p);
      }
    }
    return added ? cfg.withProviders(out) : cfg;
  }

  /**
   * {@code GET}: levels, error rates, overrides, recent transitions and cache figures. {@code POST}
   * {@code {"level": "static", "model": "qwen3:32b"}}: an operator override ({@code "model"} left out = every model;
   * {@code "level": "auto"} clears it). {@code DELETE}: clears every override.
   */
  private void degradation(HttpServerRequest req) {
    if (req.method() == HttpMethod.GET) {
      Responses.json(req.response(), 200, degradationView().toString());
      return;
    }
    if (req.method() == HttpMethod.DELETE) {
      withoutBody(req, "DELETE /admin/degradation", () -> {
        ladder.degradation().override(null, null);
        Responses.json(req.response(), 200, degradationView().toString());
      });
      return;
    }
    if (req.method() != HttpMethod.POST) {
      Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.METHOD_NOT_ALLOWED,
          "/admin/degradation accepts GET, POST and DELETE", null);
      return;
    }
    req.body().onSuccess(body -> {
      String usage = "send {\"level\": \"normal|cache|downgrade|static|auto\", \"model\": \"<id>\" (optional)}";
      String sent;
      String model;
      try {
        AdminBody b = AdminBody.object(body.getBytes(), DEGRADATION_FIELDS, usage);
        sent = b.text("level", true, MAX_NAME_CHARS, "one of normal, cache, downgrade, static, auto");
        model = b.text("model", false, MAX_NAME_CHARS, "a configured model id (leave it out for every model)");
      } catch (AdminBody.Refused r) {
        r.answer(req.response());
        return;
      }
      String level = sent.toUpperCase(Locale.ROOT);
      if (model != null && config.get().model(model).isEmpty()) {
        Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.MODEL_NOT_FOUND,
            "model \"" + model + "\" is not configured (configured: "
                + String.join(", ", config.get().models().keySet()) + ")", "model");
        return;
      }
      DegradationLevel target = null;
      if (!level.equals("AUTO")) {
        try {
          target = DegradationLevel.valueOf(level);
        } catch (IllegalArgumentException e) {
          Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.INVALID_REQUEST,
              "unknown level \"" + sent + "\": " + usage, "level");
          return;
        }
      }
      ladder.degradation().override(model, target);
      Responses.json(req.response(), 200, degradationView().toString());
    });
  }

  private ObjectNode degradationView() {
    ObjectNode root = Json.MAPPER.valueToTree(ladder.degradation().snapshot());
    root.set("cache", Json.MAPPER.valueToTree(ladder.cache().stats()));
    return root;
  }

  private ObjectNode nodes() {
    long now = registry.nowMillis();
    ObjectNode root = Json.MAPPER.createObjectNode();
    root.put("policy", config.get().routing().policy()).put("failover", config.get().routing().failover());
    ArrayNode list = root.putArray("nodes");
    for (NodeEntry e : registry.all()) list.add(node(e, now));
    return root;
  }

  ObjectNode node(NodeEntry e, long now) {
    HealthSnapshot h = e.health().snapshot();
    NodeView v = e.view(now);
    NodeSpeed speed = v.speed();
    NodeCap.Reading cap = e.cap().reading();
    ObjectNode n = Json.MAPPER.createObjectNode();
    n.put("id", e.id()).put("provider", e.spec().provider()).put("gpuType", e.spec().gpuType())
        .put("api", e.spec().api().name().toLowerCase(Locale.ROOT))
        .put("baseUrl", e.spec().root().toString())
        .put("state", h.state().name()).put("since", Instant.ofEpochMilli(h.sinceMillis()).toString())
        .put("reason", h.reason()).put("eligible", h.eligible(now))
        .put("coolingDown", e.coolingUntilMillis() > now)
        .put("coolingRemainingMillis", Math.max(0, e.coolingUntilMillis() - now))
        .put("suspected", h.suspected()).put("suspicion", h.suspicion())
        .put("silentMillis", v.silentMillis())
        .put("healthRatio", h.healthRatio())
        .put("inFlight", v.inFlightRequests()).put("inFlightPrefillTokens", v.inFlightPrefillTokens())
        .put("inFlightDecodes", v.inFlightDecodes())
        .put("cap", cap.value()).put("capSource", cap.source())
        .put("weight", GpuWeightedPolicy.weight(v, config.get().routing().gpuBases()));
    Affinity a = affinity == null ? null : affinity.get();
    if (a != null) n.put("affinitySessions", a.sessions(e.id())).put("prefixIndexEntries", a.indexEntries(e.id()));
    var est = LEAST_DELAY.estimate(TYPICAL, v);
    n.putObject("score").put("estimatedTtftMillis", Math.round(est.ttftMillis()))
        .put("estimatedE2eMillis", Math.round(est.e2eMillis()));
    n.putObject("ejection").put("ejected", h.ejection().ejectedAt(now))
        .put("ejectionCount", h.ejection().ejectionCount())
        .put("consecutiveFailures", h.ejection().consecutiveFailures())
        .put("remainingMillis", h.ejection().ejectedAt(now) ? h.ejection().ejectedUntilMillis() - now : 0);
    n.putObject("speed").put("prefillTokensPerSecond", Math.round(speed.prefillTokensPerSecond()))
        .put("decodeMillisPerToken", Math.round(speed.decodeMillisPerToken() * 10) / 10.0)
        .put("speedFactor", Math.round(speed.speedFactor() * 1000) / 1000.0);
    ArrayNode dialects = n.putArray("dialects");
    e.dialects().stream().map(NodeDialect::configName).sorted().forEach(dialects::add);
    NodeTelemetry t = e.telemetry();
    n.put("kvCacheTokens", e.kvCacheTokens());
    putNumber(n, "waiting", t.requestsWaiting()); // as the node reports it (vLLM), beside our own inFlight
    putNumber(n, "prefixCacheHitRate", e.prefixCacheHitRate());
    putNumber(n, "prefixCacheHitRateTotal", e.prefixCacheHitRateTotal());
    ObjectNode tel = n.putObject("telemetry");
    tel.put("ageMillis", t.ageMillis(now));
    long interval = telemetryIntervalMillis.getAsLong();
    tel.put("intervalMillis", interval)
        .put("stale", e.telemetryStale(now, interval))
        .put("lastError", e.telemetryError());
    putNumber(tel, "gpuUtilPercent", t.gpuUtilPercent());
    putNumber(tel, "gpuTempCelsius", t.gpuTempCelsius());
    putNumber(tel, "memoryUsedPercent", t.memoryUsedPercent());
    putNumber(tel, "vramSharePercent", e.vramShare() * 100);
    putNumber(tel, "kvCacheUsedPercent", t.kvCacheUsedPercent());
    putNumber(tel, "prefixCacheQueries", t.prefixCache().queries());
    putNumber(tel, "prefixCacheHits", t.prefixCache().hits());
    tel.put("prefixCacheResets", t.prefixCache().resets());
    if (e.servedModels() != null) {
      ArrayNode served = n.putArray("servedModels");
      e.servedModels().stream().sorted().forEach(served::add);
    }
    return n;
  }

  private static void putNumber(ObjectNode n, String key, double v) {
    if (Double.isNaN(v)) n.putNull(key); else n.put(key, v);
  }
}
