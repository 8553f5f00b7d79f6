package dev.sluice.metrics;

import static java.util.concurrent.TimeUnit.NANOSECONDS;

import dev.sluice.degrade.DegradationController;
import dev.sluice.degrade.DegradationLevel;
import dev.sluice.degrade.ResponseCache;
import dev.sluice.health.NodeState;
import dev.sluice.node.NodeEntry;
import dev.sluice.observe.RequestRecord;
import dev.sluice.routing.Affinity;
import dev.sluice.routing.GpuWeightedPolicy;
import dev.sluice.support.Clock;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.Label;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import java.time.Duration;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;
import java.util.function.DoubleSupplier;
import java.util.function.Function;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * Every metric name Sluice exports, in one class. Labels are bounded: a model label only ever takes a configured model
 * id (anything else collapses to {@value #UNKNOWN}), a node label only a configured node id.
 */
public final class SluiceMetrics {
  public static final String ROUTER_UP = "sluice_router_up";
  public static final String REQUESTS = "sluice_requests"; // exported as sluice_requests_total
  public static final String REQUEST_DURATION = "sluice_request_duration"; // _seconds histogram
  public static final String UPSTREAM_ATTEMPTS = "sluice_upstream_attempts"; // _total
  public static final String CONFIG_RELOADS = "sluice_config_reloads"; // _total
  public static final String NODE_STATE = "sluice_node_state"; // 1 for the node's current state
  public static final String NODE_IN_FLIGHT = "sluice_node_in_flight_requests";
  public static final String NODE_SPEED_FACTOR = "sluice_node_speed_factor";
  public static final String NODE_WEIGHT = "sluice_node_weight"; // the brief's gpu-weighted weight
  public static final String NODE_HEALTH_RATIO = "sluice_node_health_ratio";
  public static final String NODE_EJECTED = "sluice_node_ejected";
  public static final String NODE_TRANSITIONS = "sluice_node_state_changes"; // _total
  public static final String NODE_EJECTIONS = "sluice_node_ejections"; // _total
  public static final String NODE_SUSPICIONS = "sluice_node_suspicions"; // _total
  public static final String DOWNGRADE_CAPPED = "sluice_downgrade_capped"; // _total
  public static final String DEGRADATION_LEVEL = "sluice_degradation_level"; // 0 normal .. 3 static
  public static final String DEGRADATION_ERROR_RATIO = "sluice_degradation_error_ratio";
  public static final String DEGRADATION_TRANSITIONS = "sluice_degradation_transitions"; // _total
  public static final String CACHE_LOOKUPS = "sluice_cache_lookups"; // _total by result
  public static final String CACHE_ENTRIES = "sluice_cache_entries";
  public static final String CACHE_BYTES = "sluice_cache_size_bytes";
  public static final String RATE_LIMITED = "sluice_rate_limited_requests"; // _total by scope and kind
  public static final String CONTEXT_GUARD = "sluice_context_guard_requests"; // _total by result
  /** Requests refused for their credential, by reason. */
  public static final String AUTH_FAILURES = "sluice_auth_failures"; // _total by reason
  /** Requests refused unverified (429) while their client address waits after failed credentials; _total by plane. */
  public static final String CREDENTIALS_THROTTLED = "sluice_credential_throttled_requests";
  public static final String TTFT = "sluice_time_to_first_token"; // _seconds histogram by model
  public static final String INTER_TOKEN = "sluice_inter_token_latency"; // _seconds histogram by model
  public static final String OVERHEAD = "sluice_gateway_overhead"; // _seconds histogram by endpoint
  public static final String TOKENS = "sluice_tokens"; // _total by model and direction
  public static final String RETRIES = "sluice_retries"; // _total by model: attempts beyond the first
  /** Streams broken after their first byte, by model and what became of them (docs/stream-resumption.md). */
  public static final String STREAM_RESUMPTIONS = "sluice_stream_resumptions"; // _total by model and result
  public static final String NODE_GPU_UTIL = "sluice_node_gpu_utilization_percent";
  public static final String NODE_GPU_TEMP = "sluice_node_gpu_temperature_celsius";
  public static final String NODE_GPU_MEMORY = "sluice_node_gpu_memory_used_percent";
  public static final String NODE_PREFIX_CACHE_HIT_RATIO = "sluice_node_prefix_cache_hit_ratio";
  // flow control, per node: the concurrency cap (configured or learned; its source is on /admin/nodes)
  public static final String NODE_CONCURRENCY_CAP = "sluice_node_concurrency_cap";
  public static final String UNKNOWN = "unknown";
  /** The node label of a request no node answered (cached, static, refused, failed on every node). */
  public static final String NO_NODE = "none";
  /** The scope label value of cluster-wide degradation figures (model ids are the others). */
  public static final String CLUSTER = "cluster";

  /** Latency buckets from 5 ms (a cached or refused request) to 10 min (a long generation). */
  private static final Duration[] DURATION_BUCKETS = {
    Duration.ofMillis(5), Duration.ofMillis(25), Duration.ofMillis(100), Duration.ofMillis(250),
    Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5),
    Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(120),
    Duration.ofSeconds(300), Duration.ofSeconds(600)
  };

  /** Time to first token: from 10 ms (a warm small model) to 60 s (a long prompt on a busy node). */
  private static final Duration[] TTFT_BUCKETS = {
    Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100),
    Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500),
    Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(60)
  };
  /** Mean gap between streamed chunks: 1 ms (a fast GPU) to 2 s (a stalling one). */
  private static final Duration[] INTER_TOKEN_BUCKETS = {
    Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(20), Duration.ofMillis(35),
    Duration.ofMillis(50), Duration.ofMillis(75), Duration.ofMillis(100), Duration.ofMillis(200),
    Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(2)
  };
  /** Time spent in Sluice itself: 100 µs to 1 s. */
  private static final Duration[] OVERHEAD_BUCKETS = {
    Duration.ofNanos(100_000), Duration.ofNanos(250_000), Duration.ofNanos(500_000), Duration.ofMillis(1),
    Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
    Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofSeconds(1)
  };
  private static final AtomicInteger INSTANCES =
      new AtomicInteger();

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final ConcurrentHashMap<String, Counter> requestCounters = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Timer> durationTimers = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Counter> attemptCounters = new ConcurrentHashMap<>();
  private volatile Set<String> knownModels = Set.of();

  public SluiceMetrics() {
    Gauge.builder(ROUTER_UP, () -> 1).description("1 while the Sluice router is serving").register(registry);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
  }

  /** The category (client type) under which the Vert.x Redis client reports its per-command meters. */
  private static final String REDIS_CLIENT_METRICS = "redis";

  /**
   * A Vert.x instance whose pools (worker pools, HTTP client connection pools per node) report into this registry
   * (the {@code vertx_pool_*} meters), labelled by pool type and name only. Vert.x's per-request HTTP and per-read TCP
   * meters are off: Sluice's own request metrics count the same requests, and those meters cost ~4 µs of CPU per
   * request (−13 % throughput at saturation, measured with sluice-bench/overhead.sh). No event bus, datagram or
   * verticle meters. No per-command Redis meters ({@code vertx_redis_*}) either: with remote and namespace labels off
   * they cannot tell two Redis clients apart, so the second one (the purge subscriber, or the next link on a reload)
   * was refused with a "Gauge already registered" WARN; Sluice counts its shared-store lookups and fallbacks itself,
   * and the Redis pools still report in {@code vertx_pool_*}.
   */
  public Vertx newVertx() {
    var options = new MicrometerMetricsOptions()
        .setEnabled(true)
        // Vert.x keeps one registry per name for the JVM: each SluiceMetrics (tests start many) needs its own
        .setRegistryName("sluice-" + INSTANCES.incrementAndGet())
        // pool names are the nodes' host:port (from the config); nothing a client sends becomes a label
        .setLabels(EnumSet.of(Label.HTTP_CODE, Label.POOL_TYPE,
            Label.POOL_NAME))
        .setDisabledMetricsCategories(Set.of(MetricsDomain.EVENT_BUS.toCategory(),
            MetricsDomain.DATAGRAM_SOCKET.toCategory(),
            MetricsDomain.VERTICLES.toCategory(),
            MetricsDomain.HTTP_SERVER.toCategory(),
            MetricsDomain.HTTP_CLIENT.toCategory(),
            MetricsDomain.NET_SERVER.toCategory(),
            MetricsDomain.NET_CLIENT.toCategory(),
            REDIS_CLIENT_METRICS));
    return Vertx.builder()
        .with(new VertxOptions().setMetricsOptions(options))
        .withMetrics(new MicrometerMetricsFactory(registry))
        .build();
  }

  /**
   * The suppliers behind the config reload counters: a FunctionCounter holds its state object weakly, and a method
   * reference ({@code watcher::reloads}) has no other owner, so without this the counters read 0 after a collection.
   */
  private final List<Supplier<Number>> configReloadSources = new CopyOnWriteArrayList<>();

  /** Registers the counters of config reloads applied and rejected (read from the config source's own counts). */
  public void bindConfigReloads(Supplier<Number> accepted, Supplier<Number> rejected) {
    configReloadSources.add(accepted);
    configReloadSources.add(rejected);
    FunctionCounter.builder(CONFIG_RELOADS, accepted, s -> s.get().doubleValue())
        .tag("result", "accepted").description("Config reloads applied").register(registry);
    FunctionCounter.builder(CONFIG_RELOADS, rejected, s -> s.get().doubleValue())
        .tag("result", "rejected").description("Config reloads rejected (old config kept)").register(registry);
  }

  /** The model ids that may appear as label values (from the current config). */
  public void knownModels(Set<String> models) {
    knownModels = Set.copyOf(models);
    bindModelDegradation();
  }

  private volatile Function<String, DegradationLevel> levelOf;
  private volatile Supplier<DegradationController.Snapshot> degradationSnapshot;
  private final Set<String> degradationGauges = ConcurrentHashMap.newKeySet();
  private final ConcurrentHashMap<String, Counter> smallCounters = new ConcurrentHashMap<>();

  /** The counter {@code name} with one label (a small, fixed set of values), registered on first use. */
  private Counter counter(String name, String description, String label, String value) {
    return smallCounters.computeIfAbsent(name + '|' + value, k -> Counter.builder(name).description(description)
        .tag(label, value).register(registry));
  }

  /** The counter {@code name} with two labels (small, fixed sets of values), registered on first use. */
  private Counter counter(String name, String description, String label1, String value1, String label2,
      String value2) {
    return smallCounters.computeIfAbsent(name + '|' + value1 + '|' + value2, k -> Counter.builder(name)
        .description(description).tags(label1, value1, label2, value2).register(registry));
  }

  /**
   * Registers the degradation and cache gauges: level per configured model and for the cluster (0 normal, 1 cache,
   * 2 downgrade, 3 static), the error ratio each level is decided on, cache lookups by result, entries and bytes.
   */
  public void bindProtections(Function<String, DegradationLevel> levelOf,
      Supplier<DegradationLevel> clusterLevel,
      Supplier<DegradationController.Snapshot> snapshot,
      Supplier<ResponseCache.Stats> cacheStats) {
    this.levelOf = levelOf;
    this.degradationSnapshot = snapshot;
    Gauge.builder(DEGRADATION_LEVEL, () -> clusterLevel.get().ordinal())
        .description("Degradation level: 0 normal, 1 cache, 2 downgrade, 3 static").tag("scope", CLUSTER)
        .register(registry);
    Gauge.builder(DEGRADATION_ERROR_RATIO, () -> errorRatio(CLUSTER))
        .description("Node-caused failure ratio over the degradation window").tag("scope", CLUSTER)
        .register(registry);
    for (String result : new String[] {"hit", "stale", "miss"}) {
      FunctionCounter.builder(CACHE_LOOKUPS, cacheStats, st -> {
            var x = st.get();
            return switch (result) {
              case "hit" -> x.hits();
              case "stale" -> x.staleHits();
              default -> x.misses();
            };
          })
          .description("Response cache lookups by result").tag("result", result).register(registry);
    }
    Gauge.builder(CACHE_ENTRIES, () -> cacheStats.get().entries()).description("Cached answers").register(registry);
    Gauge.builder(CACHE_BYTES, () -> cacheStats.get().weightBytes()).description("Bytes held by the response cache")
        .baseUnit("bytes").register(registry);
    bindModelDegradation();
  }

  private void bindModelDegradation() {
    var levels = levelOf;
    if (levels == null) return;
    for (String model : knownModels) {
      if (!degradationGauges.add(model)) continue;
      Gauge.builder(DEGRADATION_LEVEL, () -> knownModels.contains(model) ? levels.apply(model).ordinal() : Double.NaN)
          .description("Degradation level: 0 normal, 1 cache, 2 downgrade, 3 static").tag("scope", model)
          .register(registry);
      Gauge.builder(DEGRADATION_ERROR_RATIO, () -> errorRatio(model))
          .description("Node-caused failure ratio over the degradation window").tag("scope", model)
          .register(registry);
    }
  }

  private double errorRatio(String scope) {
    var snap = degradationSnapshot;
    if (snap == null) return Double.NaN;
    var s = snap.get();
    if (CLUSTER.equals(scope)) return s.cluster().errorRate();
    for (var m : s.models()) {
      if (m.scope().equals(scope)) return m.errorRate();
    }
    return 0;
  }

  /** A degradation level change of a model or of the cluster ({@code scope}). */
  public void degradationTransition(String scope, String toLevel) {
    String s = CLUSTER.equals(scope) ? CLUSTER : modelLabel(scope);
    counter(DEGRADATION_TRANSITIONS, "Degradation level changes by scope and new level", "scope", s, "to", toLevel)
        .increment();
  }

  /** A request refused by a rate limit; scope tenant|model, kind requests|tokens|concurrent (bounded values). */
  public void rateLimited(String scope, String kind) {
    counter(RATE_LIMITED, "Requests refused by a rate limit, by scope and kind", "scope", scope, "kind", kind)
        .increment();
  }

  /**
   * A request refused for its credential: missing, invalid, forbidden (data plane) or admin_* (admin plane); the
   * values are a fixed set, never the credential.
   */
  public void authFailure(String reason) {
    counter(AUTH_FAILURES, "Requests refused for a missing, invalid or insufficient credential, by reason", "reason",
        reason).increment();
  }

  /** A request refused with 429 because its address waits after failed credentials; plane data|admin. */
  public void credentialThrottled(String plane) {
    counter(CREDENTIALS_THROTTLED, "Requests refused without looking at their credential because their client "
        + "address sent too many wrong ones, by plane", "plane", plane).increment();
  }

  /** A context-window guard decision other than "fits": rejected, overflow, capped. */
  public void contextGuard(String result) {
    counter(CONTEXT_GUARD, "Context-window guard decisions: rejected, routed to the overflow model, max_tokens "
        + "capped", "result", result).increment();
  }

  /** The label value for a client-supplied model name. */
  public String modelLabel(String model) {
    return model != null && knownModels.contains(model) ? model : UNKNOWN;
  }

  /**
   * One finished request (metrics read the record before any other observer). Labels: {@code model} is the model
   * requested (configured id or {@value #UNKNOWN}), {@code node} the node that answered (configured id or
   * {@value #NO_NODE}). TTFT is observed for 2xx answers, tokens when a node answered, retries when there were any.
   */
  public void request(RequestRecord r) {
    String endpoint = r.endpoint() == null ? "other" : r.endpoint();
    String model = modelLabel(r.modelRequested());
    RequestMeters m = requestMeters.computeIfAbsent(endpoint, e -> new ConcurrentHashMap<>())
        .computeIfAbsent(model, k -> new RequestMeters(endpoint, model));
    String node = r.node() != null && nodeGauges.contains(r.node()) ? r.node() : NO_NODE;
    m.counter(node, r.status(), r.outcome()).increment();
    m.duration.record(r.durationNanos(), NANOSECONDS);
    if (r.ttftNanos() >= 0 && r.status() / 100 == 2) m.ttft().record(r.ttftNanos(), NANOSECONDS);
    if (r.overheadNanos() >= 0) m.overhead().record(r.overheadNanos(), NANOSECONDS);
    if (r.node() != null) {
      if (r.promptTokens() > 0) m.tokens(0).increment(r.promptTokens());
      if (r.completionTokens() > 0) m.tokens(1).increment(r.completionTokens());
    }
    if (r.attempts() > 1) {
      counter(RETRIES, "Upstream attempts beyond the first, by model requested", "model", model)
          .increment(r.attempts() - 1);
    }
  }

  /** Outcome label values, in the order of {@link RequestMeters}' counter slots. */
  private static final List<String> OUTCOMES =
      List.of("ok", "cached", "downgraded", "static", "client_error", "failed", "cancelled");

  /** endpoint → model → its meters: found with two map lookups per request, no string building. */
  private final ConcurrentHashMap<String, ConcurrentHashMap<String, RequestMeters>> requestMeters =
      new ConcurrentHashMap<>();

  /** The meters of one endpoint and model (registered on first use, shared by every request of that pair). */
  private final class RequestMeters {
    private final String endpoint;
    private final String model;
    private final Timer duration;
    private volatile Timer ttft;
    private volatile Timer overhead;
    private final Counter[] tokens = new Counter[2];
    /** node → counters by status class (1xx..5xx) × outcome. */
    private final ConcurrentHashMap<String, Counter[]> byNode = new ConcurrentHashMap<>();

    RequestMeters(String endpoint, String model) {
      this.endpoint = endpoint;
      this.model = model;
      this.duration = durationTimers.computeIfAbsent(endpoint + '|' + model, k -> Timer.builder(REQUEST_DURATION)
          .description("End-to-end request duration, from the first request byte to the last response byte")
          .tags("endpoint", endpoint, "model", model)
          .serviceLevelObjectives(DURATION_BUCKETS)
          .register(registry));
    }

    Counter counter(String node, int status, String outcome) {
      int statusIndex = Math.min(4, Math.max(0, status / 100 - 1));
      int outcomeIndex = OUTCOMES.indexOf(outcome);
      if (outcomeIndex < 0) return register(node, statusIndex, outcome); // not one of ours: counted, not cached
      Counter[] slots = byNode.computeIfAbsent(node, n -> new Counter[5 * OUTCOMES.size()]);
      int i = statusIndex * OUTCOMES.size() + outcomeIndex;
      Counter c = slots[i];
      if (c == null) {
        c = register(node, statusIndex, outcome);
        slots[i] = c; // a benign race: every thread stores the same registered counter
      }
      return c;
    }

    private Counter register(String node, int statusIndex, String outcome) {
      String statusClass = (statusIndex + 1) + "xx";
      return requestCounters.computeIfAbsent(endpoint + '|' + model + '|' + node + '|' + statusClass + '|' + outcome,
          k -> Counter.builder(REQUESTS)
              .description("Requests by endpoint, model requested, node that answered, status class and outcome")
              .tags("endpoint", endpoint, "model", model, "node", node, "status", statusClass, "outcome", outcome)
              .register(registry));
    }

    Timer ttft() {
      Timer t = ttft;
      if (t == null) {
        ttft = t = histogram(TTFT, "model", model, TTFT_BUCKETS,
            "Time from the request's arrival to the first byte of its answer sent to the client");
      }
      return t;
    }

    Timer overhead() {
      Timer t = overhead;
      if (t == null) {
        overhead = t = histogram(OVERHEAD, "endpoint", endpoint, OVERHEAD_BUCKETS,
            "Time spent in Sluice: the request's duration minus the time spent waiting on nodes");
      }
      return t;
    }

    /** 0 = prompt, 1 = completion. */
    Counter tokens(int direction) {
      Counter c = tokens[direction];
      if (c == null) {
        c = SluiceMetrics.this.tokens(model, direction == 0 ? "prompt" : "completion");
        tokens[direction] = c;
      }
      return c;
    }
  }

  /** The mean gap between the chunks of one streamed answer (one observation per request with two chunks or more). */
  public void interTokenLatency(String model, long meanGapNanos) {
    histogram(INTER_TOKEN, "model", modelLabel(model), INTER_TOKEN_BUCKETS,
        "Mean gap between streamed chunks of one answer (one observation per streamed request)")
        .record(meanGapNanos, NANOSECONDS);
  }

  private Counter tokens(String model, String direction) {
    return counter(TOKENS, "Tokens processed by nodes (their usage report, else Sluice's estimate of the prompt), by "
        + "model requested and direction", "model", model, "direction", direction);
  }

  private Timer histogram(String name, String label, String value, Duration[] buckets, String description) {
    return durationTimers.computeIfAbsent(name + '|' + value, k -> Timer.builder(name).description(description)
        .tag(label, value).serviceLevelObjectives(buckets).register(registry));
  }

  /**
   * A stream broke after its first byte, or a continuation of it ended: {@code result} ok (a continued stream reached
   * its end), failed (a continuation failed before or after its first event), refused (a rule forbade continuing:
   * tool-call bytes, reasoning, the token limit, the maximum reached), no_node (no other node of the model to continue
   * on), off (resumption off for the model or the caller).
   */
  public void streamResumption(String model, String result) {
    counter(STREAM_RESUMPTIONS, "Streams broken after their first byte, by model and what became of them: ok "
        + "(continued on another node to its end), failed (a continuation failed), refused (a rule forbade it), no_node, "
        + "off", "model", modelLabel(model), "result", result).increment();
  }

  /** One attempt on a node: result is ok or a failure kind in lower case. */
  public void attempt(String node, String result) {
    attemptCounters.computeIfAbsent(node + '|' + result, k -> Counter.builder(UPSTREAM_ATTEMPTS)
        .description("Upstream attempts by node and result")
        .tags("node", node, "result", result)
        .register(registry)).increment();
    BiConsumer<String, String> l = failedAttempts;
    if (l != null && !"ok".equals(result)) l.accept(node, result);
  }

  /** Told of every failed attempt (node, failure kind in lower case) besides the counter; null: nobody. */
  private volatile BiConsumer<String, String> failedAttempts;

  /** Where failed attempts go besides the counter (the console's per-node error counts); ok attempts are not told. */
  public void onFailedAttempt(BiConsumer<String, String> listener) {
    this.failedAttempts = listener;
  }

  private final Set<String> nodeGauges = ConcurrentHashMap.newKeySet();

  /**
   * Registers the per-node gauges of nodes not seen before (labels are configured node ids only). A gauge reads the
   * node's live entry through {@code lookup}, so it follows config reloads; a removed node reads NaN.
   */
  public void bindNodes(Collection<String> nodeIds,
      Function<String, NodeEntry> lookup,
      Supplier<Map<String, Integer>> gpuBases,
      Clock clock) {
    for (String id : nodeIds) {
      if (!nodeGauges.add(id)) continue;
      for (NodeState st : NodeState.values()) {
        Gauge.builder(NODE_STATE, () -> {
          var e = lookup.apply(id);
          return e == null ? Double.NaN : e.health().state() == st ? 1 : 0;
        }).description("1 for the node's current state").tags("node", id, "state", st.name()).register(registry);
      }
      Gauge.builder(NODE_IN_FLIGHT, () -> nodeValue(lookup, id, e -> e.inFlight()))
          .description("Requests in flight to the node (router-local)").tag("node", id).register(registry);
      Gauge.builder(NODE_SPEED_FACTOR, () -> nodeValue(lookup, id, e -> e.speed().current().speedFactor()))
          .description("Observed speed / expected speed of the node").tag("node", id).register(registry);
      Gauge.builder(NODE_HEALTH_RATIO, () -> nodeValue(lookup, id, e -> e.health().healthRatio()))
          .description("Share of recent health probes passed").tag("node", id).register(registry);
      Gauge.builder(NODE_EJECTED, () -> nodeValue(lookup, id,
              e -> e.health().snapshot().ejection().ejectedAt(clock.millis()) ? 1 : 0))
          .description("1 while passive outlier detection ejects the node").tag("node", id).register(registry);
      Gauge.builder(NODE_GPU_UTIL, () -> nodeValue(lookup, id, e -> e.telemetry().gpuUtilPercent()))
          .description("The node's GPU utilisation as last scraped (DCGM_FI_DEV_GPU_UTIL); NaN without telemetry")
          .tag("node", id).register(registry);
      Gauge.builder(NODE_GPU_TEMP, () -> nodeValue(lookup, id, e -> e.telemetry().gpuTempCelsius()))
          .description("The node's GPU temperature as last scraped (DCGM_FI_DEV_GPU_TEMP); NaN without telemetry")
          .tag("node", id).register(registry);
      Gauge.builder(NODE_GPU_MEMORY, () -> nodeValue(lookup, id, e -> e.telemetry().memoryUsedPercent()))
          .description("The node's GPU memory in use, percent, as last scraped; NaN without telemetry")
          .tag("node", id).register(registry);
      Gauge.builder(NODE_PREFIX_CACHE_HIT_RATIO, () -> nodeValue(lookup, id, NodeEntry::prefixCacheHitRate))
          .description("The node's prefix-cache hit rate (cached / queried prompt tokens, vLLM's counters) between its "
              + "last two scrapes; NaN without them or without a query in the interval")
          .tag("node", id).register(registry);
      Gauge.builder(NODE_WEIGHT, () -> nodeValue(lookup, id,
              e -> GpuWeightedPolicy.weight(e.view(clock.millis()), gpuBases.get())))
          .description("The brief's gpu-weighted weight of the node").tag("node", id).register(registry);
      Gauge.builder(NODE_CONCURRENCY_CAP, () -> nodeValue(lookup, id, e -> e.cap().value()))
          .description("Requests the node may run at once (flow control), configured or learned")
          .tag("node", id).register(registry);
    }
  }

  private static double nodeValue(Function<String, NodeEntry> lookup, String id,
      ToDoubleFunction<NodeEntry> f) {
    var e = lookup.apply(id);
    return e == null ? Double.NaN : f.applyAsDouble(e);
  }

  /** A node changed state. */
  public void nodeTransition(String node, String to) {
    Counter.builder(NODE_TRANSITIONS).description("Node state changes by node and new state")
        .tags("node", node, "to", to).register(registry).increment();
  }

  /** Passive outlier detection ejected a node. */
  public void nodeEjected(String node) {
    Counter.builder(NODE_EJECTIONS).description("Passive ejections by node").tag("node", node).register(registry)
        .increment();
  }

  /** A downgraded request found its smaller model's share for downgraded traffic taken (it went on down the ladder). */
  public void downgradeCapped(String targetModel) {
    Counter.builder(DOWNGRADE_CAPPED).description("Downgraded requests refused by the smaller model's cap, by that "
        + "model").tag("model", targetModel).register(registry).increment();
  }

  /** A node was suspected by live traffic (first-token deadline passed, or silent while streaming). */
  public void nodeSuspected(String node) {
    Counter.builder(NODE_SUSPICIONS).description("Nodes taken out of rotation by live traffic until a generation "
        + "probe passes, by node").tag("node", node).register(registry).increment();
  }

  /** Prometheus text exposition. */
  public String scrape() {
    return registry.scrape();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  // ------------------------------------------------------------------ shared state for replicas (issue 8, part 3)

  /** 1 while the shared store (Redis) answers, 0 while limits and cache fall back to each replica; by store. */
  public static final String SHARED_STORE_UP = "sluice_shared_store_up";
  /** Calls that went to local state instead of the shared store (down, slow, or an error); by use. */
  public static final String SHARED_STORE_FALLBACKS = "sluice_shared_store_fallbacks"; // _total by use
  /** Lookups in the shared cache tier after a local miss, by result (hit, miss). */
  public static final String SHARED_CACHE_LOOKUPS = "sluice_shared_cache_lookups"; // _total by result

  /**
   * Binds {@link #SHARED_STORE_UP} for {@code store} (e.g. "redis") to {@code up}: 1, 0, or NaN while nothing is
   * shared. Bound once; the supplier follows config reloads itself.
   */
  public void bindSharedStore(String store, DoubleSupplier up) {
    Gauge.builder(SHARED_STORE_UP, up::getAsDouble)
        .description("1 while the shared store answers; 0 while rate limits and cache are per replica")
        .tag("store", store).register(registry);
  }

  /** A call for {@code use} ("limits" or "cache") went to local state instead of the shared store. */
  public void sharedStoreFallback(String use) {
    counter(SHARED_STORE_FALLBACKS, "Calls answered from local state because the shared store was down, slow or "
        + "failing, by use", "use", use).increment();
  }

  /** A lookup in the shared cache tier: "hit" or "miss". */
  public void sharedCacheLookup(String result) {
    counter(SHARED_CACHE_LOOKUPS, "Lookups in the shared cache tier after a local miss, by result", "result", result)
        .increment();
  }

  // ------------------------------------------------------------------ config source (etcd, issue "config centre")

  /** 1 while the shared config source (etcd) answers, 0 while the gateway serves its last-known-good config. */
  public static final String CONFIG_SOURCE_UP = "sluice_config_source_up";
  /** The etcd revision of the config in force. */
  public static final String CONFIG_REVISION = "sluice_config_revision";

  /** Registers the config source's gauges; {@code source} is its kind ("etcd"). */
  public void bindConfigSource(String source, BooleanSupplier up,
      LongSupplier revision) {
    Gauge.builder(CONFIG_SOURCE_UP, () -> up.getAsBoolean() ? 1 : 0)
        .description("1 while the config source answers, 0 while the last-known-good config is served")
        .tag("source", source).register(registry);
    Gauge.builder(CONFIG_REVISION, () -> revision.getAsLong())
        .description("The config source's revision of the config in force (etcd mod_revision)")
        .tag("source", source).register(registry);
  }

  // ------------------------------------------------------------------ connections and unfinished uploads

  /** Connections the gateway closed on a deadline or a cap, by reason (see {@link #connectionClosed}). */
  public static final String CONNECTIONS_CLOSED = "sluice_connections_closed"; // _total by reason
  /** Bytes held in request bodies still arriving, all tenants (bounded by server.maxUploadBytesInProgress). */
  public static final String UPLOAD_IN_PROGRESS_BYTES = "sluice_upload_in_progress_bytes";

  /**
   * A connection closed by the gateway: {@code head_timeout}, {@code keep_alive_timeout}, {@code body_timeout} or
   * {@code per_client_cap} (a fixed set of values).
   */
  public void connectionClosed(String reason) {
    counter(CONNECTIONS_CLOSED, "Connections closed by the gateway on a deadline or a cap, by reason", "reason",
        reason).increment();
  }

  /** Registers {@link #UPLOAD_IN_PROGRESS_BYTES}, read from {@code heldBytes}. */
  public void bindUploadBytes(LongSupplier heldBytes) {
    Gauge.builder(UPLOAD_IN_PROGRESS_BYTES, heldBytes::getAsLong)
        .description("Bytes held in request bodies still arriving, all tenants").baseUnit("bytes").register(registry);
  }

  // ------------------------------------------------------------------ session and prefix affinity (issue 20)

  /** Answers routed with affinity, by model routed to and result (hit, miss, moved); _total. */
  public static final String AFFINITY_REQUESTS = "sluice_affinity_requests";
  /** Sessions pinned to a node. */
  public static final String AFFINITY_SESSIONS = "sluice_affinity_sessions";
  /** Chunk hashes in the prefix index, over every node. */
  public static final String AFFINITY_INDEX_ENTRIES = "sluice_affinity_index_entries";
  /** Approximate heap bytes of the session pins and the prefix index. */
  public static final String AFFINITY_MEMORY_BYTES = "sluice_affinity_memory_bytes";

  /**
   * An answer routed with affinity reached the client from a node: {@code result} hit (where its prompt was warm),
   * miss (warm nowhere) or moved (sent away from where it was warm).
   */
  public void affinityRequest(String model, String result) {
    counter(AFFINITY_REQUESTS, "Answers routed with session and prefix affinity, by model and result: hit (the node "
        + "where the prompt was warm), miss (warm nowhere), moved (sent away from the warm node)", "model",
        modelLabel(model), "result", result).increment();
  }

  /** Registers the affinity gauges, read from the affinity in force ({@code current} follows its rebuilds). */
  public void bindAffinity(Supplier<Affinity> current) {
    Gauge.builder(AFFINITY_SESSIONS, () -> current.get().sessions())
        .description("Sessions pinned to a node by affinity").register(registry);
    Gauge.builder(AFFINITY_INDEX_ENTRIES, () -> current.get().indexEntries())
        .description("Prompt-prefix chunk hashes the router remembers over every node").register(registry);
    Gauge.builder(AFFINITY_MEMORY_BYTES, () -> current.get().memoryBytes())
        .description("Approximate heap bytes of the session pins and the prefix index").baseUnit("bytes")
        .register(registry);
  }

  // ------------------------------------------------------------------ flow control (routing.flow)

  /** Requests waiting in the gateway's queue, by model and band. */
  public static final String FLOW_QUEUE_LENGTH = "sluice_flow_queue_requests";
  /** Time a request waited in the queue before it was dispatched, refused or cancelled; _seconds by model and band. */
  public static final String FLOW_WAIT = "sluice_flow_wait";
  /** Requests the queue dispatched to a node, by model and band; _total. */
  public static final String FLOW_DISPATCHED = "sluice_flow_dispatched_requests";
  /**
   * Requests that left the queue without a node, by model, band and reason ({@link #FLOW_REASONS}: queue_full,
   * wait_too_long, timeout, cancelled); _total.
   */
  public static final String FLOW_NOT_DISPATCHED = "sluice_flow_not_dispatched_requests";
  /** Estimated GPU time of the requests the queue dispatched, by tenant (bounded: {@link #tenantLabel}); _total. */
  public static final String FLOW_TENANT_GPU = "sluice_flow_dispatched_gpu_seconds";
  /** The reason label values of {@link #FLOW_NOT_DISPATCHED}. */
  public static final List<String> FLOW_REASONS = List.of("queue_full", "wait_too_long", "timeout", "cancelled");
  /**
   * Tenant label values at most: tenants named in {@code routing.flow.tenants} always keep their name, the first
   * others seen keep theirs up to this many, later ones count as {@value #OTHER_TENANT} (JWT tenants are unbounded).
   */
  public static final int MAX_TENANT_LABELS = 32;
  public static final String OTHER_TENANT = "other";
  /** Waits from 1 ms (a slot freed at once) to 60 s (a long maxWait). */
  private static final Duration[] FLOW_WAIT_BUCKETS = {
    Duration.ofMillis(1), Duration.ofMillis(10), Duration.ofMillis(50), Duration.ofMillis(100),
    Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(2),
    Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(60)
  };
  private final Set<String> flowGauges = ConcurrentHashMap.newKeySet();
  private final Set<String> tenantLabels = ConcurrentHashMap.newKeySet();
  private volatile Set<String> namedTenants = Set.of();

  /** Tenants that always keep their own label ({@code routing.flow.tenants}), replaced on every config swap. */
  public void namedTenants(Set<String> tenants) {
    namedTenants = Set.copyOf(tenants);
  }

  /** The label value of {@code tenant}: its name when configured or among the first {@link #MAX_TENANT_LABELS}. */
  public String tenantLabel(String tenant) {
    if (tenant == null) return UNKNOWN;
    if (namedTenants.contains(tenant) || tenantLabels.contains(tenant)) return tenant;
    if (tenantLabels.size() < MAX_TENANT_LABELS && tenantLabels.add(tenant)) return tenant;
    return OTHER_TENANT;
  }

  /** Registers the queue-length gauge of {@code model} and {@code band} once; {@code waiting} reads it. */
  public void bindFlowQueue(String model, String band, IntSupplier waiting) {
    String m = modelLabel(model);
    if (!flowGauges.add(m + '|' + band)) return;
    Gauge.builder(FLOW_QUEUE_LENGTH, waiting::getAsInt)
        .description("Requests waiting in the gateway for a node below its concurrency cap, by model and band")
        .tags("model", m, "band", band).register(registry);
  }

  /** A request of {@code model} and {@code band} was dispatched from the queue after waiting {@code waitedNanos}. */
  public void flowDispatched(String model, String band, String tenant, long waitedNanos, double gpuMillis) {
    String m = modelLabel(model);
    counter(FLOW_DISPATCHED, "Requests the gateway's queue dispatched to a node, by model and band", "model", m,
        "band", band).increment();
    flowWait(m, band).record(waitedNanos, NANOSECONDS);
    counter(FLOW_TENANT_GPU, "Estimated GPU seconds of the requests the queue dispatched, by tenant (fair share)",
        "tenant", tenantLabel(tenant)).increment(Math.max(0, gpuMillis) / 1000);
  }

  /**
   * A request of {@code model} and {@code band} left the queue, or was refused a place, without a node: {@code
   * reason} one of {@link #FLOW_REASONS}; {@code waitedNanos} how long it waited (0 when refused a place).
   */
  public void flowNotDispatched(String model, String band, String reason, long waitedNanos) {
    String m = modelLabel(model);
    String r = FLOW_REASONS.contains(reason) ? reason : UNKNOWN;
    smallCounters.computeIfAbsent(FLOW_NOT_DISPATCHED + '|' + m + '|' + band + '|' + r, k ->
        Counter.builder(FLOW_NOT_DISPATCHED).description("Requests that left the gateway's queue without a node, "
            + "by model, band and reason (queue_full, wait_too_long, timeout, cancelled)")
            .tags("model", m, "band", band, "reason", r).register(registry)).increment();
    if (waitedNanos > 0) flowWait(m, band).record(waitedNanos, NANOSECONDS);
  }

  private Timer flowWait(String model, String band) {
    return durationTimers.computeIfAbsent(FLOW_WAIT + '|' + model + '|' + band, k -> Timer.builder(FLOW_WAIT)
        .description("Time requests waited in the gateway's queue, by model and band")
        .tags("model", model, "band", band).serviceLevelObjectives(FLOW_WAIT_BUCKETS).register(registry));
  }
}
