package dev.sluice.probe;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.ApiFlavor;
import dev.sluice.api.NodeDialect;
import dev.sluice.config.ModelSpec;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.SluiceConfig;
import dev.sluice.health.HealthPolicy;
import dev.sluice.health.HealthSnapshot;
import dev.sluice.health.NodeHealth;
import dev.sluice.health.NodeState;
import dev.sluice.health.ProbeSchedule;
import dev.sluice.node.NodeEntry;
import dev.sluice.node.NodeRegistry;
import dev.sluice.support.Json;
import dev.sluice.upstream.NodeClient;
import dev.sluice.upstream.NodeClients;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Active health checking of every node (the I/O around {@link NodeHealth}):
 *
 * <ul>
 *   <li><b>Shallow probe</b> per node on its own jittered {@link ProbeSchedule}: Ollama nodes {@code GET
 *       {root}/api/tags} (the brief), OpenAI/vLLM nodes {@code GET {root}/health}, within the policy's probe timeout;
 *       2xx → {@link NodeHealth#probeSucceeded()}, anything else → {@link NodeHealth#probeFailed(String)}.
 *   <li><b>Model discovery</b>: the {@code /api/tags} body (Ollama) or {@code GET {openAiBase}/models} on the first
 *       and every {@link Settings#discoveryEvery()}-th probe (OpenAI) sets {@link NodeEntry#servedModels(Set)}; a
 *       configured model the node does not list is logged once.
 *   <li><b>Dialect discovery</b>, for nodes whose config does not list their dialects, on the first passing probe
 *       and every {@link Settings#discoveryEvery()}-th one after: an Ollama node's {@code GET {root}/api/version}
 *       (≥ {@value DialectDiscovery#OLLAMA_DIALECTS_SINCE}: Anthropic Messages and OpenAI Responses), an OpenAI
 *       node's route list {@code GET {root}/openapi.json} (vLLM; when it answers 404, {@code /api/version} in case
 *       the node is an Ollama behind its {@code /v1}) set {@link NodeEntry#discoveredDialects(Set)}. A 404 means none;
 *       a timeout, 5xx or refused connection keeps what was found before.
 *   <li><b>Warm-up</b> when a node enters WARMING (first probe passed, back from DOWN, or after a repair): per
 *       configured model with a {@link ModelSpec.GpuProfile}, the prefetch load (Ollama only) and the warm-up prompt,
 *       between {@link NodeHealth#warmupStarted()} and {@link NodeHealth#warmupFinished(boolean)}; then the generation
 *       probe.
 *   <li><b>Generation probe</b> (a real streamed generation of {@link HealthPolicy#GENERATION_PROBE_TOKENS}
 *       tokens, complete to its final event within the generation timeout: the only way back to READY): after warm-up, in DEGRADED once
 *       {@code successesToRecover} shallow probes in a row passed (again every that many probes while it fails), and
 *       right after a passive ejection ({@link #onEjected(String)}).
 *   <li>All of it on the node's probe client ({@link NodeClient#probeHttp()}), never queued behind traffic.
 *   <li><b>Repair</b>: a node turning DEGRADED is handed to the {@link RepairRunner}; after its repair the warm-up
 *       path runs.
 * </ul>
 *
 * <p>The gateway builds its {@link NodeRegistry} with a {@link dev.sluice.health.HealthListener} that forwards
 * {@code onTransition} and {@code onEjected} to this prober. All of the prober's own state lives on one Vert.x
 * context; listener calls (made under the node's lock) are handed to it.
 */
public final class Prober {
  private static final Logger log = LoggerFactory.getLogger(Prober.class);

  /**
   * Prefetch and warm-up prompt load the model from disk (or network storage) on a cold node: up to two minutes for a
   * 70B-class model, past which the node is not going to be useful soon.
   */
  public static final Duration DEFAULT_WARMUP_TIMEOUT = Duration.ofMinutes(2);
  /**
   * OpenAI nodes list their models on the first probe and every 12th, and nodes tell their dialects as often: once a
   * minute at the 5 s default.
   */
  public static final int DEFAULT_DISCOVERY_EVERY = 12;
  /** Output tokens of the warm-up prompt: enough to exercise decode, cheap on any GPU. */
  public static final int WARMUP_MAX_TOKENS = 8;
  /** Ollama keeps a prefetched model loaded this long without traffic (its default, 5 min, unloads too eagerly). */
  public static final String PREFETCH_KEEP_ALIVE = "30m";
  /** The prompt of the generation probe. */
  static final String PROBE_PROMPT = "ping";

  /**
   * Timings of the prober beyond the {@link HealthPolicy}.
   *
   * @param generationTimeout a generation probe without a complete answer within this failed
   * @param warmupTimeout each warm-up request (prefetch, warm-up prompt) within this
   * @param discoveryEvery OpenAI nodes: {@code GET /models} on the first and every n-th probe; every node whose config
   *     does not list its dialects: dialect discovery on the first passing probe and every n-th one after
   */
  public record Settings(Duration generationTimeout, Duration warmupTimeout, int discoveryEvery) {
    public Settings {
      Objects.requireNonNull(generationTimeout, "generationTimeout");
      Objects.requireNonNull(warmupTimeout, "warmupTimeout");
      if (discoveryEvery < 1) throw new IllegalArgumentException("discoveryEvery must be at least 1");
    }

    public static Settings defaults() {
      return new Settings(HealthPolicy.GENERATION_PROBE_TIMEOUT, DEFAULT_WARMUP_TIMEOUT, DEFAULT_DISCOVERY_EVERY);
    }
  }

  private final Vertx vertx;
  private final Context context;
  private final NodeRegistry registry;
  private final NodeClients clients;
  private final Supplier<SluiceConfig> config;
  // Owned by the context; replaced by apply() when a config reload changes the health settings.
  private HealthPolicy policy;
  private ProbeSchedule schedule;
  private final RandomGenerator random;
  private final Settings settings;
  private final RepairRunner repairs;

  // Owned by the context.
  private final Map<String, Track> tracks = new HashMap<>();
  private boolean running;
  private long reconcileTimer = -1;

  public Prober(Vertx vertx, NodeRegistry registry, NodeClients clients, Supplier<SluiceConfig> config,
      HealthPolicy policy, RandomGenerator random) {
    this(vertx, registry, clients, config, policy, random, Settings.defaults(), RepairRunner.Settings.defaults());
  }

  public Prober(Vertx vertx, NodeRegistry registry, NodeClients clients, Supplier<SluiceConfig> config,
      HealthPolicy policy, RandomGenerator random, Settings settings, RepairRunner.Settings repairSettings) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.context = vertx.getOrCreateContext();
    this.registry = Objects.requireNonNull(registry, "registry");
    this.clients = Objects.requireNonNull(clients, "clients");
    this.config = Objects.requireNonNull(config, "config");
    this.policy = Objects.requireNonNull(policy, "policy");
    this.random = Objects.requireNonNull(random, "random");
    this.schedule = new ProbeSchedule(policy, random);
    this.settings = Objects.requireNonNull(settings, "settings");
    this.repairs = new RepairRunner(vertx, registry.clock(), repairSettings, this::afterRepair);
  }

  /** The repair runner (its backoff state, for the admin API and tests). */
  public RepairRunner repairs() {
    return repairs;
  }

  /** Starts probing every node of the registry (and nodes added by later config swaps). */
  public Future<Void> start() {
    return onContext(() -> {
      if (running) return;
      running = true;
      reconcile();
      reconcileTimer = vertx.setPeriodic(policy.probeInterval().toMillis(), id -> reconcile());
      log.info("prober started: {} node(s), probe every {} ms (±{} %), timeout {} ms", tracks.size(),
          policy.probeInterval().toMillis(), Math.round(policy.probeJitter() * 100), policy.probeTimeout().toMillis());
    });
  }

  /**
   * New health settings from a config reload: probe interval, timeout and thresholds apply at once (every node's next
   * probe is rescheduled on the new interval), not only after the old interval has run out.
   */
  public Future<Void> apply(HealthPolicy next) {
    Objects.requireNonNull(next, "next");
    return onContext(() -> {
      if (next.equals(policy)) return;
      policy = next;
      schedule = new ProbeSchedule(next, random);
      if (!running) return;
      if (reconcileTimer >= 0) vertx.cancelTimer(reconcileTimer);
      reconcileTimer = vertx.setPeriodic(next.probeInterval().toMillis(), id -> reconcile());
      long now = registry.nowMillis();
      for (Track t : tracks.values()) {
        if (t.timer >= 0) vertx.cancelTimer(t.timer);
        t.timer = -1;
        schedule(t, Math.max(0, schedule.firstProbeAt(now) - now));
      }
      log.info("prober: health settings reloaded: probe every {} ms, timeout {} ms", next.probeInterval().toMillis(),
          next.probeTimeout().toMillis());
    });
  }

  /** Stops all timers; probes in flight finish but change nothing afterwards. */
  public Future<Void> stop() {
    return onContext(() -> {
      running = false;
      if (reconcileTimer >= 0) vertx.cancelTimer(reconcileTimer);
      reconcileTimer = -1;
      for (Track t : tracks.values()) t.cancel();
      tracks.clear();
    });
  }

  /** Probes a node now (outside its schedule); completes with whether the shallow probe passed. */
  public Future<Boolean> probeNow(String nodeId) {
    Promise<Boolean> p = Promise.promise();
    context.runOnContext(v -> {
      Track t = tracks.computeIfAbsent(nodeId, Track::new);
      probe(t).onComplete(p);
    });
    return p.future();
  }

  /** Runs a generation probe now; completes with whether it passed (false also when none could run). */
  public Future<Boolean> generationProbeNow(String nodeId) {
    Promise<Boolean> p = Promise.promise();
    context.runOnContext(v -> generationProbe(tracks.computeIfAbsent(nodeId, Track::new), "on request").onComplete(p));
    return p.future();
  }

  /**
   * Forward {@link dev.sluice.health.HealthListener#onTransition} here: entering WARMING starts the warm-up, entering
   * DEGRADED the repair, READY ends the repair episode. Safe to call under the node's lock (it only enqueues).
   */
  public void onTransition(String nodeId, NodeState from, NodeState to, String reason) {
    context.runOnContext(v -> handleTransition(nodeId, from, to, reason));
  }

  /**
   * Forward {@link dev.sluice.health.HealthListener#onEjected} here: passive outlier detection ejected the node, so a
   * generation probe checks whether its engine still works (a hung engine keeps passing shallow probes).
   */
  public void onEjected(String nodeId) {
    context.runOnContext(v -> {
      Track t = tracks.computeIfAbsent(nodeId, Track::new);
      generationProbe(t, "after ejection");
    });
  }

  /**
   * Forward {@link dev.sluice.health.HealthListener#onSuspected} here: live traffic says the node stopped answering, so a
   * generation probe decides at once: its pass puts the node back in rotation, its failure makes it DEGRADED.
   */
  public void onSuspected(String nodeId) {
    context.runOnContext(v -> generationProbe(tracks.computeIfAbsent(nodeId, Track::new), "suspected"));
  }

  // ---- schedule ----

  private void reconcile() {
    if (!running) return;
    Set<String> seen = new HashSet<>();
    for (NodeEntry e : registry.all()) {
      seen.add(e.id());
      Track t = tracks.computeIfAbsent(e.id(), Track::new);
      if (t.timer < 0) {
        long now = registry.nowMillis();
        schedule(t, Math.max(0, schedule.firstProbeAt(now) - now));
      }
    }
    for (Iterator<Map.Entry<String, Track>> it = tracks.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, Track> en = it.next();
      if (!seen.contains(en.getKey())) {
        en.getValue().cancel();
        repairs.forget(en.getKey());
        it.remove();
      }
    }
  }

  private void schedule(Track t, long delayMs) {
    t.timer = vertx.setTimer(Math.max(1, delayMs), id -> {
      t.timer = -1;
      if (!running || tracks.get(t.nodeId) != t) return;
      long start = registry.nowMillis();
      schedule(t, schedule.nextProbeAt(start) - start);
      if (!t.probing) probe(t);
    });
  }

  // ---- shallow probe and discovery ----

  private Future<Boolean> probe(Track t) {
    NodeEntry e = registry.get(t.nodeId);
    NodeClient c = clients.get(t.nodeId);
    if (e == null || c == null) return Future.succeededFuture(false);
    NodeSpec n = e.spec();
    t.probing = true;
    t.probeCount++;
    long timeoutMs = policy.probeTimeout().toMillis();
    URI uri = n.api() == ApiFlavor.OLLAMA ? ProbeHttp.resolve(n.root(), "/api/tags") : ProbeHttp.resolve(n.root(), "/health");
    HttpClient probes = c.probeHttp();
    return ProbeHttp.call(vertx, probes, c.spec(), HttpMethod.GET, uri, n.apiKey(), null, timeoutMs).transform(ar -> {
      t.probing = false;
      NodeEntry now = registry.get(t.nodeId);
      if (now == null) return Future.succeededFuture(false);
      NodeHealth h = now.health();
      if (ar.succeeded() && ar.result().ok()) {
        if (n.api() == ApiFlavor.OLLAMA) {
          discovered(now, parseNames(ar.result().body().toString(), "models", "name"));
        } else if (t.probeCount % settings.discoveryEvery() == 1 || settings.discoveryEvery() == 1) {
          discoverOpenAi(t, n, c);
        }
        if (!n.dialectsDeclared() && !t.discoveringDialects && t.probeCount >= t.dialectsDueAt) {
          t.dialectsDueAt = t.probeCount + settings.discoveryEvery();
          discoverDialects(t, n, c);
        }
        h.probeSucceeded();
        t.passedSinceGeneration++;
        afterProbePassed(t, now);
        return Future.succeededFuture(true);
      }
      String why = ar.succeeded() ? ProbeHttp.httpWhy(ar.result()) : ProbeHttp.why(ar.cause(), timeoutMs);
      t.passedSinceGeneration = 0;
      h.probeFailed(why);
      log.debug("probe of {} failed: {}", t.nodeId, why);
      return Future.succeededFuture(false);
    });
  }

  private void discoverOpenAi(Track t, NodeSpec n, NodeClient c) {
    long timeoutMs = policy.probeTimeout().toMillis();
    ProbeHttp.call(vertx, c.probeHttp(), c.spec(), HttpMethod.GET, ProbeHttp.resolve(n.openAiBase(), "/models"),
        n.apiKey(), null, timeoutMs).onComplete(ar -> {
          NodeEntry e = registry.get(t.nodeId);
          if (e == null) return;
          if (ar.succeeded() && ar.result().ok()) {
            discovered(e, parseNames(ar.result().body().toString(), "data", "id"));
          } else {
            log.debug("model list of {} unavailable: {}", t.nodeId,
                ar.succeeded() ? ProbeHttp.httpWhy(ar.result()) : ProbeHttp.why(ar.cause(), timeoutMs));
          }
        });
  }

  /**
   * Asks the node what it serves beyond its configured dialects: Ollama its version, an OpenAI node its route list
   * (and its Ollama version when it has no route list: an Ollama configured by its {@code /v1} URL).
   */
  private void discoverDialects(Track t, NodeSpec n, NodeClient c) {
    t.discoveringDialects = true;
    Future<Discovery> asked = n.api() == ApiFlavor.OLLAMA ? askOllamaVersion(n, c)
        : askRoutes(n, c).compose(routes -> routes == null || routes.dialects() != null ? Future.succeededFuture(routes)
            : askOllamaVersion(n, c).map(v -> v == null || v.dialects() == null ? routes : v).otherwise(routes));
    asked.onComplete(ar -> {
      t.discoveringDialects = false;
      NodeEntry e = registry.get(t.nodeId);
      if (e == null || e.spec().dialectsDeclared()) return;
      if (ar.failed() || ar.result() == null) {
        log.debug("dialects of {} not discovered now (kept: {}): {}", t.nodeId, names(e.dialects()),
            ar.failed() ? ProbeHttp.why(ar.cause(), policy.probeTimeout().toMillis()) : "unreadable answer");
        return;
      }
      Discovery d = ar.result();
      Set<NodeDialect> found = d.dialects() == null ? Set.of() : d.dialects();
      Set<NodeDialect> before = e.dialects();
      e.discoveredDialects(found);
      Set<NodeDialect> after = e.dialects();
      if (after.equals(before)) return;
      if (found.isEmpty()) {
        EnumSet<NodeDialect> lost = EnumSet.copyOf(before);
        lost.removeAll(after);
        log.info("node {} no longer serves {} (discovered: {})", t.nodeId, names(lost), d.source());
      } else {
        log.info("node {} serves {} (discovered: {})", t.nodeId, names(found), d.source());
      }
    });
  }

  /**
   * What discovery found: the dialects (null when the node has no such route: 404) and where from, for the log. A
   * null {@code Discovery} is an unreadable answer; a failed future a transient failure (both keep what was known).
   */
  private record Discovery(Set<NodeDialect> dialects, String source) {
    static Discovery of(DialectDiscovery.Found f) {
      return f == null ? null : new Discovery(f.dialects(), f.source());
    }
  }

  private Future<Discovery> askOllamaVersion(NodeSpec n, NodeClient c) {
    long timeoutMs = policy.probeTimeout().toMillis();
    return ProbeHttp.call(vertx, c.probeHttp(), c.spec(), HttpMethod.GET, ProbeHttp.resolve(n.root(), "/api/version"),
        n.apiKey(), null, timeoutMs).compose(r -> {
          if (r.status() == 404) return Future.succeededFuture(new Discovery(null, "/api/version: HTTP 404"));
          if (!r.ok()) return Future.failedFuture("/api/version: " + ProbeHttp.httpWhy(r));
          return Future.succeededFuture(Discovery.of(DialectDiscovery.ollamaVersion(r.body().toString())));
        });
  }

  private Future<Discovery> askRoutes(NodeSpec n, NodeClient c) {
    long timeoutMs = policy.probeTimeout().toMillis();
    return ProbeHttp.call(vertx, c.probeHttp(), c.spec(), HttpMethod.GET, ProbeHttp.resolve(n.root(), "/openapi.json"),
        n.apiKey(), null, timeoutMs, DialectDiscovery.MAX_OPENAPI_BYTES).compose(r -> {
          if (r.status() == 404) return Future.succeededFuture(new Discovery(null, "/openapi.json: HTTP 404"));
          if (!r.ok()) return Future.failedFuture("/openapi.json: " + ProbeHttp.httpWhy(r));
          return Future.succeededFuture(Discovery.of(DialectDiscovery.openApiRoutes(r.body().getBytes())));
        });
  }

  private static String names(Set<NodeDialect> dialects) {
    TreeSet<String> out = new TreeSet<>();
    for (NodeDialect d : dialects) out.add(d.configName());
    return String.join(", ", out);
  }

  /** Names listed under {@code array[].field}, or null when the body is not such a list. */
  static Set<String> parseNames(String body, String array, String field) {
    try {
      JsonNode list = Json.MAPPER.readTree(body).path(array);
      if (!list.isArray()) return null;
      Set<String> out = new LinkedHashSet<>();
      for (JsonNode m : list) {
        String name = m.path(field).asText("");
        if (!name.isEmpty()) out.add(name);
      }
      return out;
    } catch (Exception ex) {
      return null;
    }
  }

  private void discovered(NodeEntry e, Set<String> served) {
    if (served == null) return; // unparseable list: keep what we knew
    e.servedModels(served);
    Track t = tracks.computeIfAbsent(e.id(), Track::new);
    for (String m : configuredModels(e.id())) {
      if (served.contains(m)) {
        t.missingLogged.remove(m);
      } else if (t.missingLogged.add(m)) {
        log.warn("node {} does not serve {} (it lists: {})", e.id(), m,
            served.isEmpty() ? "nothing" : String.join(", ", served));
      }
    }
  }

  private void afterProbePassed(Track t, NodeEntry e) {
    HealthSnapshot s = e.health().snapshot();
    if (s.state() == NodeState.WARMING && !t.warmupHandled) {
      warmUp(t, "reachable");
    } else if ((s.state() == NodeState.WARMING || s.state() == NodeState.DEGRADED) && !t.warming && !t.generating
        && s.consecutiveProbeSuccesses() >= policy.successesToRecover()
        && t.passedSinceGeneration >= policy.successesToRecover()) {
      generationProbe(t, s.state() == NodeState.DEGRADED ? "recovering" : "warming");
    }
  }

  // ---- transitions ----

  private void handleTransition(String nodeId, NodeState from, NodeState to, String reason) {
    Track t = tracks.computeIfAbsent(nodeId, Track::new);
    switch (to) {
      case WARMING -> {
        if (t.warming) return; // our own warmupStarted()
        t.warmupHandled = false;
        NodeEntry e = registry.get(nodeId);
        if (e != null && e.health().state() == NodeState.WARMING) warmUp(t, reason);
      }
      case DEGRADED -> {
        NodeEntry e = registry.get(nodeId);
        if (e != null) repairs.onDegraded(e.spec(), reason);
      }
      case READY -> {
        t.warmupHandled = false;
        repairs.onReady(nodeId);
      }
      default -> { }
    }
  }

  private void afterRepair(String nodeId) {
    context.runOnContext(v -> {
      Track t = tracks.computeIfAbsent(nodeId, Track::new);
      NodeEntry e = registry.get(nodeId);
      if (e == null || e.health().state() == NodeState.READY) return;
      warmUp(t, "after repair");
    });
  }

  // ---- warm-up and generation probe ----

  private void warmUp(Track t, String why) {
    if (t.warming) return;
    NodeEntry e = registry.get(t.nodeId);
    NodeClient c = clients.get(t.nodeId);
    if (e == null || c == null) return;
    t.warmupHandled = true;
    List<WarmStep> steps = warmupSteps(e);
    if (steps.isEmpty()) {
      generationProbe(t, "warming (" + why + ")");
      return;
    }
    t.warming = true;
    e.health().warmupStarted();
    long started = registry.clock().nanos();
    Future<Void> chain = Future.succeededFuture();
    for (WarmStep s : steps) {
      chain = chain.compose(v -> ProbeHttp.call(vertx, c.probeHttp(), c.spec(), HttpMethod.POST, s.uri,
          e.spec().apiKey(), s.json, settings.warmupTimeout().toMillis()).compose(r -> r.ok() ? Future.<Void>succeededFuture()
              : Future.failedFuture(s.what + ": " + ProbeHttp.httpWhy(r) + " "
                  + ProbeHttp.truncate(r.body().toString(), 80))));
    }
    chain.onComplete(ar -> {
      t.warming = false;
      NodeEntry now = registry.get(t.nodeId);
      if (now == null) return;
      long ms = (registry.clock().nanos() - started) / 1_000_000;
      if (ar.succeeded()) {
        log.info("warm-up of {} done ({} step(s), {} ms)", t.nodeId, steps.size(), ms);
        now.health().warmupFinished(true);
        generationProbe(t, "after warm-up");
      } else {
        String cause = ProbeHttp.why(ar.cause(), settings.warmupTimeout().toMillis());
        log.warn("warm-up of {} failed after {} ms: {}", t.nodeId, ms, ProbeHttp.truncate(cause, 200));
        now.health().warmupFinished(false);
      }
    });
  }

  private record WarmStep(String what, URI uri, String json) {}

  private List<WarmStep> warmupSteps(NodeEntry e) {
    NodeSpec n = e.spec();
    SluiceConfig c = config.get();
    List<WarmStep> steps = new ArrayList<>();
    if (c == null) return steps;
    Set<String> served = e.servedModels();
    for (ModelSpec m : modelSpecs(c, n.id())) {
      if (served != null && !served.contains(m.id())) continue;
      ModelSpec.GpuProfile g = m.gpuProfile();
      if (g == null) continue;
      if (g.prefetch() && n.api() == ApiFlavor.OLLAMA) {
        ObjectNode body = Json.MAPPER.createObjectNode().put("model", m.id()).put("keep_alive", PREFETCH_KEEP_ALIVE)
            .put("stream", false);
        steps.add(new WarmStep("prefetch " + m.id(), ProbeHttp.resolve(n.root(), "/api/generate"), body.toString()));
      }
      if (g.warmupPrompt() != null && !g.warmupPrompt().isBlank()) {
        steps.add(chatStep("warm-up prompt " + m.id(), n, m.id(), g.warmupPrompt(), WARMUP_MAX_TOKENS));
      }
    }
    return steps;
  }

  private static WarmStep chatStep(String what, NodeSpec n, String model, String prompt, int maxTokens) {
    ObjectNode body = Json.MAPPER.createObjectNode().put("model", model).put("stream", false);
    body.putArray("messages").addObject().put("role", "user").put("content", prompt);
    if (n.api() == ApiFlavor.OLLAMA) {
      body.putObject("options").put("num_predict", maxTokens);
      return new WarmStep(what, ProbeHttp.resolve(n.root(), "/api/chat"), body.toString());
    }
    body.put("max_tokens", maxTokens);
    return new WarmStep(what, ProbeHttp.resolve(n.openAiBase(), "/chat/completions"), body.toString());
  }

  private Future<Boolean> generationProbe(Track t, String why) {
    NodeEntry e = registry.get(t.nodeId);
    NodeClient c = clients.get(t.nodeId);
    if (e == null || c == null || t.generating || t.warming) return Future.succeededFuture(false);
    String model = probeModel(e);
    if (model == null) {
      log.warn("no generation probe for {}: it serves none of its configured models (it lists: {})", t.nodeId,
          e.servedModels());
      return Future.succeededFuture(false);
    }
    NodeSpec n = e.spec();
    WarmStep step = generationStep(n, model);
    t.generating = true;
    t.passedSinceGeneration = 0;
    long timeoutMs = settings.generationTimeout().toMillis();
    long started = registry.clock().nanos();
    return ProbeHttp.call(vertx, c.probeHttp(), c.spec(), HttpMethod.POST, step.uri, n.apiKey(), step.json, timeoutMs)
        .transform(ar -> {
          t.generating = false;
          NodeEntry now = registry.get(t.nodeId);
          if (now == null) return Future.succeededFuture(false);
          long ms = (registry.clock().nanos() - started) / 1_000_000;
          String cause = generationFailure(n.api(), ar.succeeded() ? ar.result() : null, ar.cause(), timeoutMs);
          if (cause == null) {
            log.info("generation probe of {} ({}, {}) passed in {} ms", t.nodeId, model, why, ms);
            now.health().generationProbeSucceeded();
            return Future.succeededFuture(true);
          }
          log.warn("generation probe of {} ({}, {}) failed: {}", t.nodeId, model, why, cause);
          now.health().generationProbeFailed(cause);
          return Future.succeededFuture(false);
        });
  }

  /**
   * The generation probe's request: a streamed generation of {@link HealthPolicy#GENERATION_PROBE_TOKENS} tokens,
   * streamed so that the answer must arrive end to end as clients' streams do, to its final event.
   */
  private static WarmStep generationStep(NodeSpec n, String model) {
    ObjectNode body = Json.MAPPER.createObjectNode().put("model", model).put("stream", true);
    if (n.api() == ApiFlavor.OLLAMA) {
      body.put("prompt", PROBE_PROMPT).putObject("options").put("num_predict", HealthPolicy.GENERATION_PROBE_TOKENS);
      return new WarmStep("generation", ProbeHttp.resolve(n.root(), "/api/generate"), body.toString());
    }
    body.putArray("messages").addObject().put("role", "user").put("content", PROBE_PROMPT);
    body.put("max_tokens", HealthPolicy.GENERATION_PROBE_TOKENS);
    return new WarmStep("generation", ProbeHttp.resolve(n.openAiBase(), "/chat/completions"), body.toString());
  }

  /**
   * Why a generation probe failed, or null when it passed: a 2xx stream that reached its final event without an
   * in-band error within the generation timeout. A stream that stops after some tokens fails with how many came.
   */
  static String generationFailure(ApiFlavor api, ProbeHttp.Reply reply, Throwable failure, long timeoutMs) {
    if (reply != null && !reply.ok()) return ProbeHttp.httpWhy(reply);
    if (reply != null) return GenerationAnswer.read(api, reply.body().toString()).failure(false, timeoutMs);
    if (failure instanceof ProbeHttp.DeadlineException d) {
      return GenerationAnswer.read(api, d.received.toString()).failure(true, timeoutMs);
    }
    return ProbeHttp.why(failure, timeoutMs);
  }

  /** A configured model the node serves (by its last listing), or the first configured one while unknown. */
  private String probeModel(NodeEntry e) {
    List<String> configured = configuredModels(e.id());
    Set<String> served = e.servedModels();
    if (served == null) return configured.isEmpty() ? null : configured.get(0);
    for (String m : configured) if (served.contains(m)) return m;
    return configured.isEmpty() && !served.isEmpty() ? served.iterator().next() : null;
  }

  private List<String> configuredModels(String nodeId) {
    List<String> out = new ArrayList<>();
    SluiceConfig c = config.get();
    if (c == null) return out;
    for (ModelSpec m : modelSpecs(c, nodeId)) out.add(m.id());
    return out;
  }

  private static List<ModelSpec> modelSpecs(SluiceConfig c, String nodeId) {
    List<ModelSpec> out = new ArrayList<>();
    c.models().forEach((id, route) -> {
      for (NodeSpec n : route.nodes()) {
        if (n.id().equals(nodeId)) {
          out.add(route.model());
          break;
        }
      }
    });
    return out;
  }

  private Future<Void> onContext(Runnable r) {
    Promise<Void> p = Promise.promise();
    context.runOnContext(v -> {
      try {
        r.run();
        p.complete();
      } catch (RuntimeException ex) {
        p.fail(ex);
      }
    });
    return p.future();
  }

  /** The prober's per-node state (context-owned). */
  private final class Track {
    final String nodeId;
    long timer = -1;
    boolean probing;
    boolean warming;
    boolean generating;
    boolean warmupHandled;
    int probeCount;
    int passedSinceGeneration;
    /** The probe count from which dialect discovery is due again; a discovery is in flight. */
    int dialectsDueAt;
    boolean discoveringDialects;
    final Set<String> missingLogged = new HashSet<>();

    Track(String nodeId) {
      this.nodeId = nodeId;
    }

    void cancel() {
      if (timer >= 0) vertx.cancelTimer(timer);
      timer = -1;
    }
  }
}
