package dev.sluice.config;

import static dev.sluice.config.ConfigReader.show;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.degrade.CacheSettings;
import dev.sluice.degrade.DegradationSettings;
import dev.sluice.limit.LimitSettings;
import dev.sluice.limit.Limits;
import dev.sluice.support.Json;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What protects the nodes and the clients under load: the {@code degradation}, {@code cache} and {@code limits}
 * sections. Model ids they name are checked against the providers afterwards by {@link ModelReferences}.
 */
final class ProtectionSection {
  private static final List<String> DEGRADATION_KEYS = List.of("enabled", "scope", "window", "minRequests",
      "thresholds", "dwell", "minEvidenceTime", "recoveryWindow", "probeShare", "fallbackOnFailure", "downgrade",
      "downgradeShare", "staticReply");
  private static final List<String> THRESHOLD_KEYS = List.of("cache", "downgrade", "static");
  private static final List<String> CACHE_KEYS = List.of("maxBytes", "maxEntryBytes", "freshTtl", "staleTtl", "models");
  private static final List<String> LIMITS_KEYS = List.of("perTenant", "tenants", "models", "overMaxTokens");
  private static final List<String> LIMIT_KEYS = List.of("requestsPerMinute", "tokensPerMinute", "concurrent");

  private final ConfigReader r;

  ProtectionSection(ConfigReader r) {
    this.r = r;
  }

  DegradationSettings degradation(JsonNode node) {
    var d = DegradationSettings.defaults();
    if (node == null || !r.isObject(node, "degradation")) return d;
    r.rejectUnknown(node, "degradation", DEGRADATION_KEYS);
    boolean enabled = r.bool(node, "degradation", "enabled", d.enabled());
    var scope = d.scope();
    String sc = r.optionalString(node, "degradation", "scope", "\"model\" or \"cluster\"");
    if (sc != null) {
      switch (sc) {
        case "model" -> scope = DegradationSettings.Scope.MODEL;
        case "cluster" -> scope = DegradationSettings.Scope.CLUSTER;
        default -> r.problem("degradation.scope", show(node.get("scope"))
            + " is not a scope (expected \"model\": each model degrades on its own error rate, or \"cluster\": "
            + "every model follows the cluster-wide rate)");
      }
    }
    Duration window = r.duration(node, "degradation", "window", d.window());
    int minRequests = r.positiveInt(node, "degradation", "minRequests", "requests", d.minRequests());
    double cacheT = d.cacheThreshold();
    double downT = d.downgradeThreshold();
    double staticT = d.staticThreshold();
    JsonNode t = node.get("thresholds");
    if (t != null && r.isObject(t, "degradation.thresholds")) {
      r.rejectUnknown(t, "degradation.thresholds", THRESHOLD_KEYS);
      cacheT = r.fraction(t, "degradation.thresholds", "cache", cacheT, false);
      downT = r.fraction(t, "degradation.thresholds", "downgrade", downT, false);
      staticT = r.fraction(t, "degradation.thresholds", "static", staticT, false);
    }
    Duration dwell = d.dwell();
    JsonNode dw = node.get("dwell");
    if (dw != null && dw.isTextual() && dw.asText().equals("0")) dwell = Duration.ZERO;
    else if (dw != null) dwell = r.duration(node, "degradation", "dwell", d.dwell());
    Duration minEvidenceTime = d.minEvidenceTime();
    JsonNode me = node.get("minEvidenceTime");
    if (me != null && me.isTextual() && me.asText().equals("0")) minEvidenceTime = Duration.ZERO;
    else if (me != null) minEvidenceTime = r.duration(node, "degradation", "minEvidenceTime", d.minEvidenceTime());
    Duration recoveryWindow = r.duration(node, "degradation", "recoveryWindow", d.recoveryWindow());
    double probeShare = r.fraction(node, "degradation", "probeShare", d.probeShare(), true);
    double downgradeShare = r.fraction(node, "degradation", "downgradeShare", d.downgradeShare(), false);
    boolean fallback = r.bool(node, "degradation", "fallbackOnFailure", d.fallbackOnFailure());
    Map<String, String> downgrade = new LinkedHashMap<>();
    JsonNode dg = node.get("downgrade");
    if (dg != null && r.isObject(dg, "degradation.downgrade")) {
      dg.properties().forEach(e -> {
        if (e.getValue().isTextual() && !e.getValue().asText().isBlank()) {
          downgrade.put(e.getKey(), e.getValue().asText());
        } else {
          r.problem("degradation.downgrade." + e.getKey(), show(e.getValue())
              + " must be the id of a smaller configured model, e.g. \"qwen2:7b\"");
        }
      });
    }
    String message = d.staticMessage();
    ObjectNode reply = d.staticReply();
    JsonNode sr = node.get("staticReply");
    if (sr != null) {
      if (sr.isTextual() && !sr.asText().isBlank()) {
        message = sr.asText();
        reply = Json.MAPPER.createObjectNode().put("status", "degraded").put("message", message);
      } else if (sr.isObject() && sr.path("message").isTextual() && !sr.path("message").asText().isBlank()) {
        message = sr.path("message").asText();
        reply = (ObjectNode) sr;
      } else {
        r.problem("degradation.staticReply", show(sr) + " must be a message string or an object with a \"message\" "
            + "string, e.g. {\"status\": \"degraded\", \"message\": \"High load, using fallback response\"}");
      }
    }
    try {
      return new DegradationSettings(enabled, scope, window, minRequests, cacheT, downT, staticT,
          dwell, minEvidenceTime, recoveryWindow, probeShare, fallback, downgrade, downgradeShare, message, reply);
    } catch (IllegalArgumentException e) {
      r.settingsProblem(e);
      return d;
    }
  }

  CacheSettings cache(JsonNode node) {
    var d = CacheSettings.defaults();
    if (node == null || !r.isObject(node, "cache")) return d;
    r.rejectUnknown(node, "cache", CACHE_KEYS);
    long maxBytes = r.positiveLong(node, "cache", "maxBytes", "bytes", d.maxBytes());
    long maxEntry = r.positiveLong(node, "cache", "maxEntryBytes", "bytes", d.maxEntryBytes());
    Duration fresh = r.duration(node, "cache", "freshTtl", d.freshTtl());
    Duration stale = r.duration(node, "cache", "staleTtl", d.staleTtl());
    Set<String> models = new LinkedHashSet<>();
    JsonNode m = node.get("models");
    if (m != null && r.isArray(m, "cache.models")) {
      for (int i = 0; i < m.size(); i++) {
        if (m.get(i).isTextual()) models.add(m.get(i).asText());
        else r.problem("cache.models[" + i + "]", show(m.get(i)) + " must be a configured model id");
      }
    }
    try {
      return new CacheSettings(maxBytes, maxEntry, fresh, stale, models);
    } catch (IllegalArgumentException e) {
      r.settingsProblem(e);
      return d;
    }
  }

  LimitSettings limits(JsonNode node) {
    var d = LimitSettings.defaults();
    if (node == null || !r.isObject(node, "limits")) return d;
    r.rejectUnknown(node, "limits", LIMITS_KEYS);
    Limits perTenant = limit(node.get("perTenant"), "limits.perTenant", d.perTenant());
    // a tenant's override inherits what it leaves out from perTenant; a model limit starts from "no limit"
    Map<String, Limits> tenants = limitMap(node.get("tenants"), "limits.tenants", perTenant);
    Map<String, Limits> models = limitMap(node.get("models"), "limits.models",
        Limits.unlimited());
    var over = d.overMaxTokens();
    String o = r.optionalString(node, "limits", "overMaxTokens", "\"reject\" or \"cap\"");
    if (o != null) {
      switch (o) {
        case "reject" -> over = LimitSettings.OverMaxTokens.REJECT;
        case "cap" -> over = LimitSettings.OverMaxTokens.CAP;
        default -> r.problem("limits.overMaxTokens", show(node.get("overMaxTokens"))
            + " must be \"reject\" (400 when max_tokens is above the model's maxTokens) or \"cap\" (lower it)");
      }
    }
    return new LimitSettings(perTenant, tenants, models, over);
  }

  private Map<String, Limits> limitMap(JsonNode node, String path, Limits base) {
    Map<String, Limits> out = new LinkedHashMap<>();
    if (node == null || !r.isObject(node, path)) return out;
    node.properties().forEach(e -> {
      Limits l = limit(e.getValue(), path + "." + e.getKey(), base);
      if (l != null) out.put(e.getKey(), l);
    });
    return out;
  }

  /** A limits object; keys left out keep {@code base}'s values. */
  private Limits limit(JsonNode node, String path, Limits base) {
    if (node == null || !r.isObject(node, path)) return base;
    r.rejectUnknown(node, path, LIMIT_KEYS);
    long rpm = nonNegativeLong(node, path, "requestsPerMinute", base.requestsPerMinute());
    long tpm = nonNegativeLong(node, path, "tokensPerMinute", base.tokensPerMinute());
    long conc = nonNegativeLong(node, path, "concurrent", base.concurrent());
    return new Limits(rpm, tpm, (int) Math.min(Integer.MAX_VALUE, conc));
  }

  private long nonNegativeLong(JsonNode parent, String path, String key, long fallback) {
    JsonNode v = parent.get(key);
    if (v == null) return fallback;
    if (v.isIntegralNumber() && v.canConvertToLong() && v.asLong() >= 0) return v.asLong();
    r.problem(path + "." + key, show(v) + " must be a whole number ≥ 0 (0 = no limit)");
    return fallback;
  }
}
