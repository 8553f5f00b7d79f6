package dev.sluice.config;

import static dev.sluice.config.ConfigReader.show;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.config.ConfigReader.Pem;
import dev.sluice.flow.Band;
import dev.sluice.health.HealthPolicy;
import dev.sluice.routing.FailoverOrder;
import dev.sluice.routing.Policies;
import dev.sluice.resume.StreamSplice;
import dev.sluice.routing.PrefixIndex;
import dev.sluice.routing.StreamDeadlines;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.StreamSupport;

/**
 * How requests travel to the nodes: the {@code timeouts}, {@code upstream} (connection pool, attempts, {@code tls}),
 * {@code routing} and {@code health} sections.
 */
final class TrafficSection {
  private static final List<String> TIMEOUT_KEYS =
      List.of("connect", "firstToken", "idle", "total", "firstTokenFactor", "firstTokenFloor", "models");
  private static final List<String> MODEL_TIMEOUT_KEYS = List.of("idle", "total");
  private static final List<String> UPSTREAM_KEYS =
      List.of("maxConnectionsPerNode", "maxWaitQueuePerNode", "maxAttempts", "tls", "resumption");
  private static final List<String> RESUMPTION_KEYS = List.of("enabled", "maxPerStream", "offModels");
  private static final List<String> UPSTREAM_TLS_KEYS = List.of("caFile", "verifyHostname");
  /** Beyond 5 attempts a request mostly waits on failing nodes; the client's own timeout fires first. */
  private static final int MAX_ATTEMPTS_LIMIT = 5;
  private static final List<String> ROUTING_KEYS =
      List.of("policy", "failover", "ttftBudget", "gpuBases", "affinity", "flow", "explain");
  private static final List<String> FLOW_KEYS =
      List.of("enabled", "queueLength", "maxWait", "batchMaxWait", "maxConcurrent", "tenants", "defaultWeight");
  private static final List<String> TENANT_KEYS = List.of("weight", "maxPriority");
  private static final List<String> AFFINITY_KEYS = List.of("enabled", "releasePenalty", "maxSessions", "indexMemory");
  private static final List<String> HEALTH_KEYS =
      List.of("probeInterval", "probeTimeout", "failuresToDegrade", "successesToRecover", "failuresToEject");

  private final ConfigReader r;

  TrafficSection(ConfigReader r) {
    this.r = r;
  }

  Timeouts timeouts(JsonNode node) {
    if (!r.isObject(node, "timeouts")) return Timeouts.defaults();
    r.rejectUnknown(node, "timeouts", TIMEOUT_KEYS);
    Timeouts base = new Timeouts(
        r.duration(node, "timeouts", "connect", Timeouts.DEFAULT_CONNECT),
        r.duration(node, "timeouts", "firstToken", Timeouts.DEFAULT_FIRST_TOKEN),
        r.duration(node, "timeouts", "idle", Timeouts.DEFAULT_IDLE),
        r.duration(node, "timeouts", "total", Timeouts.DEFAULT_TOTAL));
    double factor = base.firstTokenFactor();
    JsonNode f = node.get("firstTokenFactor");
    if (f != null) {
      if (f.isNumber() && f.asDouble() >= 1 && Double.isFinite(f.asDouble())) {
        factor = f.asDouble();
      } else {
        r.problem("timeouts.firstTokenFactor", show(f) + " must be a number of at least 1 (the first-token deadline "
            + "is this multiple of the node's own estimate), e.g. 3");
      }
    }
    Duration floor = r.duration(node, "timeouts", "firstTokenFloor", base.firstTokenFloor());
    if (floor.compareTo(base.firstToken()) > 0) {
      r.problem("timeouts.firstTokenFloor", floor.toMillis() + "ms is above timeouts.firstToken ("
          + base.firstToken().toMillis() + "ms): the floor of the first-token deadline must not exceed its ceiling");
      floor = base.firstTokenFloor();
    }
    return new Timeouts(base.connect(), base.firstToken(), base.idle(), base.total(), factor, floor,
        modelStreams(node.get("models"), base));
  }

  /** {@code timeouts.models}: per model, the stream deadlines {@code idle} and {@code total} (each defaults to the global one). */
  private Map<String, StreamDeadlines> modelStreams(JsonNode node, Timeouts base) {
    Map<String, StreamDeadlines> out = new LinkedHashMap<>();
    if (node == null || !r.isObject(node, "timeouts.models")) return out;
    node.fields().forEachRemaining(e -> {
      String path = "timeouts.models." + e.getKey();
      if (!r.isObject(e.getValue(), path)) return;
      r.rejectUnknown(e.getValue(), path, MODEL_TIMEOUT_KEYS);
      Duration idle = r.duration(e.getValue(), path, "idle", base.idle());
      Duration total = r.duration(e.getValue(), path, "total", base.total());
      if (total.compareTo(idle) < 0) {
        r.problem(path + ".total", total.toMillis() + "ms is below its idle deadline (" + idle.toMillis()
            + "ms): a request's total deadline must be at least its idle deadline");
        return;
      }
      out.put(e.getKey(), new StreamDeadlines(idle, total));
    });
    return out;
  }

  UpstreamSettings upstream(JsonNode node) {
    if (!r.isObject(node, "upstream")) return UpstreamSettings.defaults();
    r.rejectUnknown(node, "upstream", UPSTREAM_KEYS);
    int connections = r.positiveInt(node, "upstream", "maxConnectionsPerNode", "connections",
        UpstreamSettings.DEFAULT_MAX_CONNECTIONS_PER_NODE);
    int queue = r.positiveInt(node, "upstream", "maxWaitQueuePerNode", "requests",
        UpstreamSettings.DEFAULT_MAX_WAIT_QUEUE_PER_NODE);
    int attempts = UpstreamSettings.DEFAULT_MAX_ATTEMPTS;
    JsonNode a = node.get("maxAttempts");
    if (a != null) {
      if (a.isIntegralNumber() && a.canConvertToInt() && a.asInt() >= 1 && a.asInt() <= MAX_ATTEMPTS_LIMIT) {
        attempts = a.asInt();
      } else {
        r.problem("upstream.maxAttempts",
            show(a) + " must be an integer 1.." + MAX_ATTEMPTS_LIMIT + " (1 = no retry)");
      }
    }
    return new UpstreamSettings(connections, queue, attempts, upstreamTls(node.get("tls")),
        resumption(node.get("resumption")));
  }

  /** {@code upstream.resumption}: on by default, at most 2 continuations per stream, models it is off for. */
  private ResumptionSettings resumption(JsonNode node) {
    if (node == null || !r.isObject(node, "upstream.resumption")) return ResumptionSettings.defaults();
    r.rejectUnknown(node, "upstream.resumption", RESUMPTION_KEYS);
    boolean enabled = r.bool(node, "upstream.resumption", "enabled", true);
    int max = StreamSplice.MAX_RESUMPTIONS;
    JsonNode m = node.get("maxPerStream");
    if (m != null) {
      if (m.isIntegralNumber() && m.asInt() >= 0 && m.asInt() <= StreamSplice.MAX_RESUMPTIONS) {
        max = m.asInt();
      } else {
        r.problem("upstream.resumption.maxPerStream", show(m) + " must be an integer 0.." + StreamSplice.MAX_RESUMPTIONS
            + " (continuations of one stream; 0 = never)");
      }
    }
    Set<String> off = new LinkedHashSet<>();
    JsonNode models = node.get("offModels");
    if (models != null) {
      if (models.isArray() && StreamSupport.stream(models.spliterator(), false)
          .allMatch(JsonNode::isTextual)) {
        models.forEach(v -> off.add(v.asText()));
      } else {
        r.problem("upstream.resumption.offModels", show(models) + " must be a list of model ids, e.g. [\"qwen3:32b\"]");
      }
    }
    return new ResumptionSettings(enabled, max, off);
  }

  /** {@code upstream.tls}: an optional CA bundle for https nodes and the host-name check. */
  private UpstreamTls upstreamTls(JsonNode node) {
    if (node == null || !r.isObject(node, "upstream.tls")) return UpstreamTls.defaults();
    r.rejectUnknown(node, "upstream.tls", UPSTREAM_TLS_KEYS);
    Path ca = node.has("caFile") ? r.pemFile(node, "upstream.tls", "caFile", Pem.CERTIFICATE) : null;
    boolean verify = r.bool(node, "upstream.tls", "verifyHostname", true);
    return new UpstreamTls(ca, verify);
  }

  RoutingSettings routing(JsonNode node) {
    if (node == null || !r.isObject(node, "routing")) return RoutingSettings.defaults();
    r.rejectUnknown(node, "routing", ROUTING_KEYS);
    String policy = r.optionalString(node, "routing", "policy", "a policy name");
    if (policy != null && !Policies.NAMES.contains(policy)) {
      r.problem("routing.policy", show(node.get("policy")) + " is not a routing policy (expected one of "
          + String.join(", ", Policies.NAMES) + ")");
    }
    String failover = r.optionalString(node, "routing", "failover", "a failover order");
    if (failover != null) {
      try {
        FailoverOrder.fromConfig(failover);
      } catch (IllegalArgumentException e) {
        r.problem("routing.failover", show(node.get("failover"))
            + " is not a failover order (expected same-gpu-class-first, same-gpu-class or any)");
      }
    }
    Duration budget = RoutingSettings.DEFAULT_TTFT_BUDGET;
    JsonNode b = node.get("ttftBudget");
    if (b != null && b.isTextual() && b.asText().equals("0")) {
      budget = Duration.ZERO;
    } else if (b != null) {
      budget = r.duration(node, "routing", "ttftBudget", RoutingSettings.DEFAULT_TTFT_BUDGET);
    }
    Map<String, Integer> bases = new LinkedHashMap<>(RoutingSettings.DEFAULT_GPU_BASES);
    JsonNode g = node.get("gpuBases");
    if (g != null && r.isObject(g, "routing.gpuBases")) {
      g.fields().forEachRemaining(e -> {
        if (e.getValue().isIntegralNumber() && e.getValue().asInt() > 0) {
          bases.put(e.getKey().toUpperCase(Locale.ROOT), e.getValue().asInt());
        } else {
          r.problem("routing.gpuBases." + e.getKey(), show(e.getValue()) + " must be a positive integer base score");
        }
      });
    }
    return new RoutingSettings(policy == null ? RoutingSettings.DEFAULT_POLICY : policy,
        failover == null ? RoutingSettings.DEFAULT_FAILOVER : failover, budget, bases, affinity(node.get("affinity")),
        flow(node.get("flow")), r.bool(node, "routing", "explain", false));
  }

  /** {@code routing.flow}: per-node caps by GPU type, the per-model queue, tenants' weights and bands. */
  private FlowSettings flow(JsonNode node) {
    FlowSettings d = FlowSettings.defaults();
    if (node == null || !r.isObject(node, "routing.flow")) return d;
    r.rejectUnknown(node, "routing.flow", FLOW_KEYS);
    boolean enabled = r.bool(node, "routing.flow", "enabled", d.enabled());
    int length = d.queueLength();
    JsonNode q = node.get("queueLength");
    if (q != null) {
      if (q.isIntegralNumber() && q.canConvertToInt() && q.asInt() >= 0) {
        length = q.asInt();
      } else {
        r.problem("routing.flow.queueLength", show(q) + " must be a whole number of requests ≥ 0 (0: refuse at once "
            + "when every node is at its cap), e.g. 512");
      }
    }
    Duration wait = r.durationOrNull(node, "routing.flow", "maxWait");
    Map<String, Integer> caps = new LinkedHashMap<>();
    JsonNode c = node.get("maxConcurrent");
    if (c != null && r.isObject(c, "routing.flow.maxConcurrent")) {
      c.fields().forEachRemaining(e -> {
        if (e.getValue().isIntegralNumber() && e.getValue().canConvertToInt() && e.getValue().asInt() > 0) {
          caps.put(e.getKey().toUpperCase(Locale.ROOT), e.getValue().asInt());
        } else {
          r.problem("routing.flow.maxConcurrent." + e.getKey(), show(e.getValue())
              + " must be a positive whole number of requests a node of this GPU type runs at once, e.g. 4");
        }
      });
    }
    int defaultWeight = r.positiveInt(node, "routing.flow", "defaultWeight", "a weight, e.g. 1", d.defaultWeight());
    Map<String, FlowSettings.TenantShare> tenants = new LinkedHashMap<>();
    JsonNode t = node.get("tenants");
    if (t != null && r.isObject(t, "routing.flow.tenants")) {
      t.fields().forEachRemaining(e -> {
        String path = "routing.flow.tenants." + e.getKey();
        if (!r.isObject(e.getValue(), path)) return;
        r.rejectUnknown(e.getValue(), path, TENANT_KEYS);
        int weight = r.positiveInt(e.getValue(), path, "weight", "a weight, e.g. 2", defaultWeight);
        Band band = Band.INTERACTIVE;
        String p = r.optionalString(e.getValue(), path, "maxPriority", "interactive or batch");
        if (p != null) {
          try {
            band = Band.parse(p);
          } catch (IllegalArgumentException ex) {
            r.problem(path + ".maxPriority", show(e.getValue().get("maxPriority"))
                + " is not a priority band (expected interactive or batch)");
          }
        }
        tenants.put(e.getKey(), new FlowSettings.TenantShare(weight, band));
      });
    }
    Duration batchWait = r.duration(node, "routing.flow", "batchMaxWait", FlowSettings.DEFAULT_BATCH_MAX_WAIT);
    return new FlowSettings(enabled, length, wait, caps, tenants, defaultWeight, batchWait);
  }

  /** {@code routing.affinity}: session and prefix affinity of least-delay. */
  private AffinitySettings affinity(JsonNode node) {
    AffinitySettings d = AffinitySettings.defaults();
    if (node == null || !r.isObject(node, "routing.affinity")) return d;
    r.rejectUnknown(node, "routing.affinity", AFFINITY_KEYS);
    boolean enabled = r.bool(node, "routing.affinity", "enabled", d.enabled());
    Duration penalty = d.releasePenalty();
    JsonNode p = node.get("releasePenalty");
    if (p != null && (p.isTextual() && p.asText().trim().matches("0+(ms|s|m|h)?") || p.isNumber() && p.asDouble() == 0)) {
      penalty = Duration.ZERO; // the session moves as soon as another node is estimated faster
    } else if (p != null) {
      penalty = r.duration(node, "routing.affinity", "releasePenalty", d.releasePenalty());
    }
    int sessions = r.positiveInt(node, "routing.affinity", "maxSessions", "sessions, e.g. 100000", d.maxSessions());
    long memory = r.byteSize(node, "routing.affinity", "indexMemory", d.indexMemoryBytes());
    if (memory < PrefixIndex.BYTES_PER_ENTRY) {
      r.problem("routing.affinity.indexMemory", memory + " bytes cannot hold one prefix (" + PrefixIndex.BYTES_PER_ENTRY
          + " bytes each): give at least \"1MB\", or leave it out for the default \"16MB\"");
      memory = d.indexMemoryBytes();
    }
    return new AffinitySettings(enabled, penalty, sessions, memory);
  }

  HealthPolicy health(JsonNode node) {
    HealthPolicy d = HealthPolicy.defaults();
    if (node == null || !r.isObject(node, "health")) return d;
    r.rejectUnknown(node, "health", HEALTH_KEYS);
    Duration interval = r.duration(node, "health", "probeInterval", d.probeInterval());
    Duration timeout = r.duration(node, "health", "probeTimeout", d.probeTimeout());
    int degrade = r.positiveInt(node, "health", "failuresToDegrade", "probes", d.failuresToDegrade());
    int recover = r.positiveInt(node, "health", "successesToRecover", "probes", d.successesToRecover());
    int eject = r.positiveInt(node, "health", "failuresToEject", "failures", d.failuresToEject());
    try {
      return new HealthPolicy(interval, timeout, d.probeJitter(), degrade,
          Math.max(d.failuresToDown(), degrade), recover, d.healthWindowProbes(), eject, d.ejectionBase(),
          d.ejectionMax(), d.ejectionMemory());
    } catch (IllegalArgumentException e) {
      r.problem("health", e.getMessage());
      return d;
    }
  }
}
