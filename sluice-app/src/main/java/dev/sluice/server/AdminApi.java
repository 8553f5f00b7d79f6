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

  AdminApi(NodeRegistry registry, Supplier<SluiceConfig> config, Consumer<String> probeNow, Protections protections) {
    this.registry = registry;
    this.config = config;
    this.probeNow = probeNow;
    this.protections = protections;
  }

  void handle(HttpServerRequest req, String path) {
    if (path.equals("/admin/degradation")) {
      degradation(req);
      return;
    }
    if (path.equals("/admin/cache/purge") && req.method() == HttpMethod.POST) {
      long purged = protections.cache.purge();
      Responses.json(req.response(), 200, "{\"purged\":" + purged + "}");
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
        "unknown admin endpoint: GET /admin/nodes, POST /admin/nodes/{id}/drain|undrain|probe, "
            + "GET|POST|DELETE /admin/degradation, POST /admin/cache/purge", null);
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

  private ObjectNode node(NodeEntry e, long now) {
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
