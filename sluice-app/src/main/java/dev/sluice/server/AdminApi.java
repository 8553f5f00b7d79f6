package dev.sluice.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.ApiFlavor;
import dev.sluice.api.ErrorKind;
import dev.sluice.config.SluiceConfig;
import dev.sluice.health.HealthSnapshot;
import dev.sluice.node.NodeEntry;
import dev.sluice.node.NodeRegistry;
import dev.sluice.node.NodeTelemetry;
import dev.sluice.routing.GpuWeightedPolicy;
import dev.sluice.routing.NodeSpeed;
import dev.sluice.routing.NodeView;
import dev.sluice.support.Json;
import dev.sluice.upstream.AddressPolicy;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The node admin API: {@code GET /admin/nodes} (state, reason, ejection, health ratio, in-flight, learned speed and
 * speed factor, the brief's gpu-weighted weight, telemetry), {@code POST /admin/nodes/{id}/drain}, {@code /undrain}
 * and {@code /probe}. Errors use the OpenAI error shape.
 */
final class AdminApi {
  /** The request least-delay's score is shown for: the chat shape of UPSTREAMS.md (mean prompt and output). */
  private static final dev.sluice.routing.RouteRequest TYPICAL =
      new dev.sluice.routing.RouteRequest("typical", 1_155, 211, 0);
  private static final dev.sluice.routing.LeastDelayPolicy LEAST_DELAY = new dev.sluice.routing.LeastDelayPolicy();

  private final NodeRegistry registry;
  private final Supplier<SluiceConfig> config;
  private final Consumer<String> probeNow;
  private final Protections protections;
  private final io.vertx.core.Vertx vertx;
  private final dev.sluice.config.ConfigHolder configs;
  private final AccessControl access;
  private final ConsoleFeed console;
  /** Largest admin request body: a node or a key description is a few hundred bytes. */
  static final int MAX_ADMIN_BODY_BYTES = 64 * 1024;

  AdminApi(io.vertx.core.Vertx vertx, NodeRegistry registry, dev.sluice.config.ConfigHolder configs,
      Consumer<String> probeNow, Protections protections, AccessControl access,
      dev.sluice.observe.ConsoleStats consoleStats) {
    this.vertx = vertx;
    this.registry = registry;
    this.configs = configs;
    this.config = configs::current;
    this.probeNow = probeNow;
    this.protections = protections;
    this.access = access;
    this.console = new ConsoleFeed(vertx, registry, configs, protections, consoleStats, access,
        e -> node(e, registry.nowMillis()));
  }

  /** Set when the config is shared by replicas through etcd: its URL, named in the CLI commands to use instead. */
  private volatile String sharedConfig;

  /**
   * Shared-config mode: changes of gateway tokens, nodes and the routing policy through this replica's admin API
   * answer 409 naming the CLI that changes them in etcd for every replica (made here, they would reach this replica
   * only and be lost at its next config swap or restart). Reads stay available.
   */
  void sharedConfig(String etcdUrl) {
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

  /** The console's state, event stream and routing switch. */
  ConsoleFeed console() {
    return console;
  }

  void handle(HttpServerRequest req, String path) {
    String len = req.getHeader(io.vertx.core.http.HttpHeaders.CONTENT_LENGTH);
    if (len != null && !len.matches("\\d{1,9}") || len != null && Long.parseLong(len) > MAX_ADMIN_BODY_BYTES) {
      req.response().putHeader(io.vertx.core.http.HttpHeaders.CONNECTION, "close");
      Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.BODY_TOO_LARGE,
          "admin request bodies are limited to " + MAX_ADMIN_BODY_BYTES + " bytes", null);
      return;
    }
    if (sharedConfig != null && refusedAsShared(req, path)) return;
    if (console.handle(req, path)) return;
    if (path.equals("/admin/keys") || path.startsWith("/admin/keys/")) {
      keys(req, path);
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
      long purged = protections.cache.purge();
      dev.sluice.degrade.SharedCache shared = protections.sharedCache();
      if (shared == null) {
        Responses.json(req.response(), 200, "{\"purged\":" + purged + "}");
        return;
      }
      // the shared tier too, or the next lookup would fetch the purged answers back from Redis; then the other
      // replicas' local tiers, told through Redis
      shared.purge().whenComplete((p, e) -> vertx.runOnContext(v -> {
        if (e != null) {
          Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.SHARED_STORE_UNAVAILABLE, "purged " + purged + " answers "
              + "from this replica, but the shared cache in redis could not be purged nor the other replicas told ("
              + e.getMessage() + "): retry when redis is back (see sluice_shared_store_up)", null);
        } else {
          Responses.json(req.response(), 200, "{\"purged\":" + purged + ",\"purgedShared\":" + p.dropped()
              + ",\"replicasNotified\":" + p.replicasNotified() + "}");
        }
      }));
      return;
    }
    if (path.equals("/admin/nodes") && req.method() == HttpMethod.GET) {
      Responses.json(req.response(), 200, nodes().toString());
      return;
    }
    String[] parts = path.split("/");
    // ["", "admin", "nodes", id, action]
    if (parts.length == 5 && parts[2].equals("nodes") && req.method() == HttpMethod.POST) {
      NodeEntry e = registry.get(parts[3]);
      if (e == null) {
        Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.NOT_FOUND, "no node with that id", "id");
        return;
      }
      switch (parts[4]) {
        case "drain" -> e.health().drain();
        case "undrain" -> e.health().undrain();
        case "probe" -> probeNow.accept(e.id());
        default -> {
          Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.NOT_FOUND,
              "unknown action: use drain, undrain or probe", null);
          return;
        }
      }
      Responses.json(req.response(), 200, node(e, registry.nowMillis()).toString());
      return;
    }
    Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.NOT_FOUND,
        "unknown admin endpoint: GET|POST /admin/nodes, POST /admin/nodes/{id}/drain|undrain|probe, "
            + "GET|POST|DELETE /admin/degradation, POST /admin/cache/purge, GET|POST /admin/keys, "
            + "DELETE /admin/keys/{id}, GET /admin/console/state, GET /admin/events, GET|POST /admin/routing", null);
  }

  // ------------------------------------------------------------------ gateway tokens

  /**
   * {@code GET /admin/keys}: every gateway token's public id, tenant, models, limits and dates (never a hash or a
   * secret). {@code POST /admin/keys} {@code {"tenant": "acme", "models": [...], "limits": {...}, "expiresAt": "…",
   * "note": "…"}}: a new token, whose secret is in this one answer only. {@code DELETE /admin/keys/{id}}: revoked at
   * once.
   */
  private void keys(HttpServerRequest req, String path) {
    if (path.equals("/admin/keys") && req.method() == HttpMethod.GET) {
      ObjectNode root = Json.MAPPER.createObjectNode();
      ArrayNode list = root.putArray("keys");
      long now = registry.nowMillis();
      for (dev.sluice.auth.ApiKey k : access.keys()) list.add(dev.sluice.auth.KeyFile.publicView(k, now));
      Responses.json(req.response(), 200, root.toString());
      return;
    }
    if (path.equals("/admin/keys") && req.method() == HttpMethod.POST) {
      req.body().onSuccess(body -> createKey(req, body));
      return;
    }
    String id = path.substring("/admin/keys/".length());
    if (path.startsWith("/admin/keys/") && req.method() == HttpMethod.DELETE && !id.isEmpty()) {
      vertx.executeBlocking(() -> access.revokeKey(id)).onComplete(ar -> {
        if (ar.failed()) {
          Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.INTERNAL,
              "could not save the keys file: " + ar.cause().getMessage(), null);
        } else if (ar.result() == null) {
          Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.NOT_FOUND,
              "no gateway token with that id (GET /admin/keys lists them)", "id");
        } else {
          Responses.json(req.response(), 200, dev.sluice.auth.KeyFile.publicView(ar.result(), registry.nowMillis()).toString());
        }
      });
      return;
    }
    Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.METHOD_NOT_ALLOWED,
        "gateway tokens: GET /admin/keys, POST /admin/keys, DELETE /admin/keys/{id}", null);
  }

  private void createKey(HttpServerRequest req, io.vertx.core.buffer.Buffer body) {
    String usage = "send {\"tenant\": \"acme\", \"models\": [\"qwen3:32b\"] (optional, default all), \"limits\": "
        + "{\"requestsPerMinute\": 60, \"tokensPerMinute\": 0, \"concurrent\": 0} (optional), \"expiresAt\": "
        + "\"2027-01-01T00:00:00Z\" (optional), \"note\": \"…\" (optional)}";
    com.fasterxml.jackson.databind.JsonNode json;
    try {
      json = Json.MAPPER.readTree(body.getBytes());
    } catch (java.io.IOException e) {
      json = null;
    }
    if (json == null || !json.isObject() || !json.path("tenant").isTextual()) {
      Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.INVALID_REQUEST, usage, "tenant");
      return;
    }
    java.util.Set<String> models = new java.util.LinkedHashSet<>();
    for (com.fasterxml.jackson.databind.JsonNode m : json.path("models")) {
      if (!m.isTextual() || config.get().model(m.asText()).isEmpty()) {
        Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.INVALID_REQUEST, "models: " + m
            + " is not a configured model (configured: " + String.join(", ", config.get().models().keySet()) + ")",
            "models");
        return;
      }
      models.add(m.asText());
    }
    dev.sluice.limit.Limits limits = null;
    java.time.Instant expires = null;
    try {
      com.fasterxml.jackson.databind.JsonNode l = json.get("limits");
      if (l != null && !l.isNull()) {
        limits = new dev.sluice.limit.Limits(l.path("requestsPerMinute").asLong(0), l.path("tokensPerMinute").asLong(0),
            l.path("concurrent").asInt(0));
      }
      if (json.path("expiresAt").isTextual()) expires = java.time.Instant.parse(json.path("expiresAt").asText());
    } catch (IllegalArgumentException | java.time.format.DateTimeParseException e) {
      Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.INVALID_REQUEST, e.getMessage() + "; " + usage, null);
      return;
    }
    String tenant = json.path("tenant").asText();
    String note = json.path("note").isTextual() ? json.path("note").asText() : null;
    dev.sluice.limit.Limits lim = limits;
    java.time.Instant exp = expires;
    vertx.executeBlocking(() -> access.createKey(tenant, models, lim, exp, note)).onComplete(ar -> {
      if (ar.failed()) {
        boolean bad = ar.cause() instanceof IllegalArgumentException;
        Responses.error(req.response(), ApiFlavor.OPENAI, bad ? ErrorKind.INVALID_REQUEST : ErrorKind.INTERNAL,
            bad ? ar.cause().getMessage() : "could not save the keys file: " + ar.cause().getMessage(), null);
        return;
      }
      ObjectNode out = dev.sluice.auth.KeyFile.publicView(ar.result().key(), registry.nowMillis());
      out.put("key", ar.result().secret());
      out.put("warning", "this is the only time the key is shown; Sluice keeps only its hash");
      Responses.json(req.response(), 201, out.toString());
    });
  }


  // ------------------------------------------------------------------ nodes added at run time

  /**
   * {@code POST /admin/nodes} {@code {"id": "gpu-9", "baseUrl": "http://10.0.0.9:11434", "api": "ollama", "gpuType":
   * "A10", "provider": "qwen"}} (or {@code "model": "qwen3:32b"} instead of provider): validated like a node in the
   * config file, and its address must not be link-local or a cloud metadata service unless allowed by
   * {@code admin.allowNodeNetworks}. The node joins the provider's rotation once probed READY and stays across config
   * reloads until the gateway restarts.
   */
  private void addNode(HttpServerRequest req) {
    req.body().onSuccess(body -> {
      com.fasterxml.jackson.databind.JsonNode json;
      try {
        json = Json.MAPPER.readTree(body.getBytes());
      } catch (java.io.IOException e) {
        json = null;
      }
      String usage = "send {\"id\": \"gpu-9\", \"baseUrl\": \"http://10.0.0.9:11434\", \"api\": \"ollama\", "
          + "\"gpuType\": \"A10\", \"provider\": \"<provider name>\" or \"model\": \"<model id>\"}";
      if (json == null || !json.isObject()) {
        Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.INVALID_REQUEST, usage, null);
        return;
      }
      SluiceConfig c = config.get();
      String wantedProvider = json.path("provider").asText(null);
      String wantedModel = json.path("model").asText(null);
      dev.sluice.config.ProviderSpec provider = null;
      for (dev.sluice.config.ProviderSpec p : c.providers()) {
        if (p.name().equals(wantedProvider) || p.models().stream().anyMatch(m -> m.id().equals(wantedModel))) {
          provider = p;
          break;
        }
      }
      if (provider == null) {
        Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.INVALID_REQUEST, "name a configured provider ("
            + String.join(", ", c.providers().stream().map(p -> p.name()).toList()) + ") or model; " + usage,
            "provider");
        return;
      }
      ObjectNode nodeJson = ((ObjectNode) json).deepCopy();
      nodeJson.remove("provider");
      nodeJson.remove("model");
      dev.sluice.config.NodeSpec spec;
      try {
        spec = dev.sluice.config.ConfigLoader.parseNode(nodeJson, provider,
            c.nodes().stream().map(dev.sluice.config.NodeSpec::id).toList());
      } catch (dev.sluice.config.ConfigException e) {
        Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.INVALID_REQUEST, String.join("; ", e.problems()),
            null);
        return;
      }
      String providerName = provider.name();
      java.util.List<String> allowed = c.admin().allowNodeNetworks();
      vertx.executeBlocking(() -> {
        String why = AddressPolicy.problem(spec.root().toString(), allowed, AddressPolicy.Resolver.SYSTEM);
        if (why == null && spec.metricsUrl() != null) {
          why = AddressPolicy.problem(spec.metricsUrl().toString(), allowed, AddressPolicy.Resolver.SYSTEM);
        }
        return why;
      }, false).onComplete(ar -> {
        String why = ar.succeeded() ? ar.result() : "could not be checked (" + ar.cause().getMessage() + ")";
        if (why != null) {
          Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.INVALID_REQUEST, "node.baseUrl: " + why,
              "baseUrl");
          return;
        }
        configs.amend(cfg -> withNode(cfg, providerName, spec));
        NodeEntry e = registry.get(spec.id());
        if (e == null) {
          Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.INTERNAL, "the node was not added", null);
          return;
        }
        probeNow.accept(spec.id());
        Responses.json(req.response(), 201, node(e, registry.nowMillis()).toString());
      });
    });
  }

  /** {@code cfg} with {@code node} added to provider {@code providerName}; unchanged if that no longer applies. */
  private static SluiceConfig withNode(SluiceConfig cfg, String providerName, dev.sluice.config.NodeSpec node) {
    if (cfg.node(node.id()).isPresent()) return cfg;
    java.util.List<dev.sluice.config.ProviderSpec> out = new java.util.ArrayList<>();
    boolean added = false;
    for (dev.sluice.config.ProviderSpec p : cfg.providers()) {
      if (p.name().equals(providerName)) {
        java.util.List<dev.sluice.config.NodeSpec> nodes = new java.util.ArrayList<>(p.nodes());
        nodes.add(node);
        out.add(new dev.sluice.config.ProviderSpec(p.name(), p.models(), nodes));
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
      protections.degradation.override(null, null);
      Responses.json(req.response(), 200, degradationView().toString());
      return;
    }
    if (req.method() != HttpMethod.POST) {
      Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.METHOD_NOT_ALLOWED,
          "/admin/degradation accepts GET, POST and DELETE", null);
      return;
    }
    req.body().onSuccess(body -> {
      com.fasterxml.jackson.databind.JsonNode json;
      try {
        json = Json.MAPPER.readTree(body.getBytes());
      } catch (java.io.IOException e) {
        json = null;
      }
      String usage = "send {\"level\": \"normal|cache|downgrade|static|auto\", \"model\": \"<id>\" (optional)}";
      if (json == null || !json.path("level").isTextual()) {
        Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.INVALID_REQUEST, usage, "level");
        return;
      }
      String level = json.path("level").asText().toUpperCase(java.util.Locale.ROOT);
      String model = json.path("model").isTextual() ? json.path("model").asText() : null;
      if (model != null && config.get().model(model).isEmpty()) {
        Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.MODEL_NOT_FOUND,
            "model \"" + model + "\" is not configured (configured: "
                + String.join(", ", config.get().models().keySet()) + ")", "model");
        return;
      }
      dev.sluice.degrade.DegradationLevel target = null;
      if (!level.equals("AUTO")) {
        try {
          target = dev.sluice.degrade.DegradationLevel.valueOf(level);
        } catch (IllegalArgumentException e) {
          Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.INVALID_REQUEST,
              "unknown level \"" + json.path("level").asText() + "\": " + usage, "level");
          return;
        }
      }
      protections.degradation.override(model, target);
      Responses.json(req.response(), 200, degradationView().toString());
    });
  }

  private ObjectNode degradationView() {
    ObjectNode root = Json.MAPPER.valueToTree(protections.degradation.snapshot());
    root.set("cache", Json.MAPPER.valueToTree(protections.cache.stats()));
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
    ObjectNode n = Json.MAPPER.createObjectNode();
    n.put("id", e.id()).put("provider", e.spec().provider()).put("gpuType", e.spec().gpuType())
        .put("api", e.spec().api().name().toLowerCase(java.util.Locale.ROOT))
        .put("baseUrl", e.spec().root().toString())
        .put("state", h.state().name()).put("since", java.time.Instant.ofEpochMilli(h.sinceMillis()).toString())
        .put("reason", h.reason()).put("eligible", h.eligible(now))
        .put("coolingDown", e.coolingUntilMillis() > now)
        .put("healthRatio", h.healthRatio())
        .put("inFlight", v.inFlightRequests()).put("inFlightPrefillTokens", v.inFlightPrefillTokens())
        .put("inFlightDecodes", v.inFlightDecodes())
        .put("weight", GpuWeightedPolicy.weight(v, config.get().routing().gpuBases()));
    var est = LEAST_DELAY.estimate(TYPICAL, v);
    n.putObject("score").put("estimatedTtftMillis", Math.round(est.ttftMillis()))
        .put("estimatedE2eMillis", Math.round(est.e2eMillis()));
    n.putObject("ejection").put("ejected", h.ejection().ejectedAt(now))
        .put("ejectionCount", h.ejection().ejectionCount())
        .put("consecutiveFailures", h.ejection().consecutiveFailures());
    n.putObject("speed").put("prefillTokensPerSecond", Math.round(speed.prefillTokensPerSecond()))
        .put("decodeMillisPerToken", Math.round(speed.decodeMillisPerToken() * 10) / 10.0)
        .put("speedFactor", Math.round(speed.speedFactor() * 1000) / 1000.0);
    NodeTelemetry t = e.telemetry();
    ObjectNode tel = n.putObject("telemetry");
    tel.put("ageMillis", t.ageMillis(now));
    putNumber(tel, "gpuUtilPercent", t.gpuUtilPercent());
    putNumber(tel, "gpuTempCelsius", t.gpuTempCelsius());
    putNumber(tel, "memoryUsedPercent", t.memoryUsedPercent());
    putNumber(tel, "vramSharePercent", e.vramShare() * 100);
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
