package dev.sluice.doctor;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.api.ApiFlavor;
import dev.sluice.auth.AuthMode;
import dev.sluice.config.ModelSpec;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.SluiceConfig;
import dev.sluice.support.Clock;
import dev.sluice.support.Json;
import java.io.File;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.HdrHistogram.Histogram;

/**
 * Runs the 12 checks against a live gateway and its nodes, over HTTP: nodes directly (reachability, model lists,
 * context lengths), the gateway's admin API ({@code /admin/nodes}: router state and DCGM telemetry; {@code /metrics})
 * and its data plane (a short load run of {@link DoctorSettings#concurrency()} chat requests per model).
 */
public final class Doctor {
  /** What to check. */
  public record Target(SluiceConfig config, URI gateway, URI admin, String adminToken, String gatewayToken,
      Path modelStore, Path repairScript) {
    public Target {
      Objects.requireNonNull(config, "config");
      Objects.requireNonNull(gateway, "gateway");
      Objects.requireNonNull(admin, "admin");
    }
  }

  private final DoctorSettings settings;
  private final HttpClient http;
  private final Clock clock;

  public Doctor(DoctorSettings settings) {
    this(settings, Clock.SYSTEM);
  }

  /** A doctor that times the gateway's answers on {@code clock}. */
  public Doctor(DoctorSettings settings, Clock clock) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
  }

  /** The gateway's own address from its config: {@code server.host}/{@code port} (0.0.0.0 → 127.0.0.1). */
  public static URI gatewayOf(SluiceConfig c) {
    return URI.create((c.server().tls() != null ? "https" : "http") + "://" + loopbackIfAny(c.server().host()) + ":"
        + c.server().port());
  }

  /** The admin plane's address: its own listener when configured, else {@code gateway}. */
  public static URI adminOf(SluiceConfig c, URI gateway) {
    if (!c.admin().separateListener()) return gateway;
    return URI.create("http://" + loopbackIfAny(c.admin().host()) + ":" + c.admin().port());
  }

  private static String loopbackIfAny(String host) {
    return host == null || host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host;
  }

  public DoctorReport run(Target t) {
    SluiceConfig c = t.config();
    GatewaySeen seen = gatewaySeen(t);
    if (seen.mismatch() != null) return DoctorReport.refused(seen.described(), seen.mismatch());
    List<CheckResult> results = new ArrayList<>();
    results.add(reachable(c));
    results.add(modelsListed(c));
    AdminView admin = seen.admin();
    results.add(memory(c, admin, seen));
    results.add(ready(c, admin, seen));
    results.addAll(load(t, seen));
    results.add(contextWindow(c));
    results.add(auth(c));
    results.add(CheckResult.skip(Check.ETCD, "not configured (no etcd config source)"));
    results.add(modelStore(t.modelStore()));
    results.add(repairScript(c, t.repairScript()));
    results.add(routerUp(t, seen));
    return new DoctorReport(results, seen.described(), null);
  }

  // ---- which gateway ----

  /**
   * What answers at the gateway's address, asked before any check.
   *
   * @param described which gateway and what it serves, one line for the report
   * @param down why it did not answer (connection refused, …); null when it answered
   * @param mismatch why its nodes are not the config's (no check runs then); null when they are
   * @param admin its {@code /admin/nodes}, or the error that kept it from us
   */
  private record GatewaySeen(String described, String down, String mismatch, AdminView admin) {}

  private static final String GATEWAY_DOWN_FIX =
      "start the gateway (sluice serve --config FILE) or point --gateway/--admin-url at the running one";

  private GatewaySeen gatewaySeen(Target t) {
    String where = "the gateway at " + t.gateway()
        + (t.admin().equals(t.gateway()) ? "" : " (admin plane " + t.admin() + ")");
    Set<String> configured = new TreeSet<>();
    t.config().nodes().forEach(n -> configured.add(n.id()));
    int reported;
    try {
      HttpResponse<String> r = http.send(get(t.gateway().resolve("/readyz"), null),
          HttpResponse.BodyHandlers.ofString());
      JsonNode ready = r.statusCode() == 200 || r.statusCode() == 503 ? readTree(r.body()) : null;
      if (ready == null || !ready.path("nodes").isNumber()) {
        return new GatewaySeen(where, null, where + " is not a Sluice gateway (GET /readyz answered "
            + r.statusCode() + "): point --gateway at the gateway this config belongs to", null);
      }
      reported = ready.path("nodes").asInt();
    } catch (Exception e) {
      String why = why(e);
      return new GatewaySeen(where + ": not answering (" + why + ")", why, null,
          new AdminView(Map.of(), "not measured: " + where + " is not answering (" + why + ")"));
    }
    AdminView admin = adminView(t);
    if (admin.error() == null) {
      Set<String> served = new TreeSet<>(admin.nodes().keySet());
      List<String> other = new ArrayList<>(); // the config's nodes this gateway lacks, or has at another address
      for (NodeSpec n : t.config().nodes()) {
        JsonNode node = admin.nodes().get(n.id());
        String at = node == null ? null : node.path("baseUrl").asText();
        if (node == null) other.add(n.id() + " (not served there)");
        else if (!trimSlash(at).equals(trimSlash(n.root().toString()))) {
          other.add(n.id() + " (config " + n.root() + ", gateway " + at + ")");
        }
      }
      if (!other.isEmpty()) {
        return new GatewaySeen(where, null, where + " serves nodes " + String.join(", ", served) + ", not the ones "
            + "the config names: " + String.join(", ", other) + ". It is another gateway (or another config): point "
            + "--gateway at the gateway of this config, or --config at the file of the gateway on " + t.gateway(),
            admin);
      }
      Set<String> extra = new TreeSet<>(served);
      extra.removeAll(configured);
      return new GatewaySeen(where + ", serving the config's " + configured.size() + " nodes"
          + (extra.isEmpty() ? "" : " and " + String.join(", ", extra) + " (added at run time)"), null, null, admin);
    }
    if (reported < configured.size()) {
      return new GatewaySeen(where, null, where + " serves " + reported + " nodes but the config names "
          + configured.size() + ": it is another gateway (or another config). Point --gateway at the gateway of this "
          + "config, or --config at the file of the gateway on " + t.gateway(), admin);
    }
    return new GatewaySeen(where + ", serving " + reported + " nodes (the config names " + configured.size()
        + "; which ones is not known without the admin token)", null, null, admin);
  }

  private static String trimSlash(String url) {
    return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
  }

  private static JsonNode readTree(String body) {
    try {
      return Json.MAPPER.readTree(body);
    } catch (IOException e) {
      return null;
    }
  }

  // ---- 1 ----
  private CheckResult reachable(SluiceConfig c) {
    Check check = Check.NODES_REACHABLE;
    List<String> down = new ArrayList<>();
    List<String> plain = new ArrayList<>();
    int https = 0;
    for (NodeSpec n : c.nodes()) {
      try {
        send(n, get(n.root().resolve("/"), n.apiKey()));
        if ("https".equals(n.root().getScheme())) https++;
        else if (!isLoopback(n.root().getHost())) plain.add(n.id());
      } catch (Exception e) {
        down.add(n.id() + " (" + n.root() + ": " + why(e) + ")");
      }
    }
    int ok = c.nodes().size() - down.size();
    String measured = ok + "/" + c.nodes().size() + " reachable, " + https + " over HTTPS";
    if (!down.isEmpty()) {
      return CheckResult.fail(check, measured + "; down: " + String.join(", ", down),
          "start the node or fix its baseUrl (Ollama: OLLAMA_HOST=0.0.0.0:11434; check firewalls)");
    }
    if (!plain.isEmpty()) {
      return CheckResult.warn(check, measured + "; plain HTTP off-host: " + String.join(", ", plain),
          "serve these nodes over HTTPS (a TLS proxy in front of Ollama) and use https:// baseUrls");
    }
    return CheckResult.pass(check, measured);
  }

  private static boolean isLoopback(String host) {
    return host == null || host.equals("localhost") || host.startsWith("127.") || host.equals("::1")
        || host.equals("[::1]");
  }

  // ---- 2 ----
  private CheckResult modelsListed(SluiceConfig c) {
    Check check = Check.MODELS_LISTED;
    Map<String, Set<String>> listed = new LinkedHashMap<>();
    for (NodeSpec n : c.nodes()) listed.put(n.id(), listedModels(n));
    List<String> missing = new ArrayList<>();
    int pairs = 0;
    for (var route : c.models().values()) {
      for (NodeSpec n : route.nodes()) {
        pairs++;
        Set<String> models = listed.get(n.id());
        if (models == null) missing.add(route.model().id() + " on " + n.id() + " (node did not answer)");
        else if (!lists(models, route.model().id())) missing.add(route.model().id() + " on " + n.id());
      }
    }
    String endpoint = "/api/tags or /v1/models";
    if (missing.isEmpty()) {
      return CheckResult.pass(check, c.models().size() + " models on " + pairs + " model/node pairs listed ("
          + endpoint + ")");
    }
    return CheckResult.fail(check, "missing: " + String.join(", ", missing),
        "pull the model on the node (ollama pull MODEL / vllm serve MODEL) or remove the node from the provider");
  }

  private Set<String> listedModels(NodeSpec n) {
    try {
      Set<String> out = new LinkedHashSet<>();
      if (n.api() == ApiFlavor.OLLAMA) {
        JsonNode body = json(send(n, get(n.root().resolve("/api/tags"), n.apiKey())));
        body.path("models").forEach(m -> {
          out.add(m.path("name").asText());
          out.add(m.path("model").asText());
        });
      } else {
        JsonNode body = json(send(n, get(URI.create(n.openAiBase() + "/models"), n.apiKey())));
        body.path("data").forEach(m -> out.add(m.path("id").asText()));
      }
      return out;
    } catch (Exception e) {
      return null;
    }
  }

  private static boolean lists(Set<String> models, String id) {
    return models.contains(id) || (!id.contains(":") && models.contains(id + ":latest"));
  }

  // ---- 3, 4: from GET /admin/nodes ----
  private record AdminView(Map<String, JsonNode> nodes, String error) {}

  private AdminView adminView(Target t) {
    try {
      HttpResponse<String> r = http.send(get(t.admin().resolve("/admin/nodes"), t.adminToken()),
          HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        return new AdminView(Map.of(), "GET /admin/nodes answered " + r.statusCode() + ": " + oneLine(r.body()));
      }
      Map<String, JsonNode> nodes = new LinkedHashMap<>();
      Json.MAPPER.readTree(r.body()).path("nodes").forEach(n -> nodes.put(n.path("id").asText(), n));
      return new AdminView(nodes, null);
    } catch (Exception e) {
      return new AdminView(Map.of(), "GET " + t.admin().resolve("/admin/nodes") + ": " + why(e));
    }
  }

  private static final String ADMIN_FIX =
      "give the admin token (SLUICE_ADMIN_TOKEN or --admin-token-file; admin.tokenSha256 in the config) and "
          + "check --gateway/--admin-url";

  /** A gateway that is down needs starting, not a token. */
  private static String adminFix(GatewaySeen seen) {
    return seen.down() != null ? GATEWAY_DOWN_FIX : ADMIN_FIX;
  }

  private CheckResult memory(SluiceConfig c, AdminView admin, GatewaySeen seen) {
    if (admin.error() != null) return CheckResult.fail(Check.GPU_MEMORY, admin.error(), adminFix(seen));
    Map<String, Double> percent = new TreeMap<>();
    for (NodeSpec n : c.nodes()) {
      if (n.metricsUrl() == null) continue;
      JsonNode v = admin.nodes().getOrDefault(n.id(), Json.MAPPER.createObjectNode())
          .path("telemetry").path("memoryUsedPercent");
      percent.put(n.id(), v.isNumber() ? v.asDouble() : Double.NaN);
    }
    return Verdicts.memory(percent, settings.memoryMaxPercent());
  }

  private CheckResult ready(SluiceConfig c, AdminView admin, GatewaySeen seen) {
    if (admin.error() != null) return CheckResult.fail(Check.NODES_READY, admin.error(), adminFix(seen));
    Map<String, String> states = new LinkedHashMap<>();
    for (NodeSpec n : c.nodes()) {
      JsonNode node = admin.nodes().get(n.id());
      if (node == null) {
        states.put(n.id(), null);
        continue;
      }
      String state = node.path("state").asText();
      String reason = node.path("reason").asText("");
      states.put(n.id(), state.equals("READY") || reason.isEmpty() ? state : state + " (" + reason + ")");
    }
    return Verdicts.ready(states);
  }

  // ---- 5, 6 ----
  private List<CheckResult> load(Target t, GatewaySeen seen) {
    SluiceConfig c = t.config();
    if (seen.down() != null) {
      String measured = "not measured: " + seen.described();
      return List.of(CheckResult.fail(Check.ERROR_RATE, measured, GATEWAY_DOWN_FIX),
          CheckResult.skip(Check.P95_LATENCY, measured));
    }
    AtomicInteger errors = new AtomicInteger();
    AtomicReference<String> firstError = new AtomicReference<>();
    Map<String, Histogram> byClass = new TreeMap<>();
    Map<String, Duration> limits = new TreeMap<>();
    List<CompletableFuture<Void>> all = new ArrayList<>();
    URI chat = t.gateway().resolve("/v1/chat/completions");
    for (String model : c.models().keySet()) {
      String body = Json.MAPPER.createObjectNode().put("model", model).put("max_tokens", settings.maxTokens())
          .put("stream", false).set("messages", Json.MAPPER.createArrayNode().add(Json.MAPPER.createObjectNode()
              .put("role", "user").put("content", "sluice doctor: reply with one word"))).toString();
      for (int i = 0; i < settings.concurrency(); i++) {
        HttpRequest.Builder b = HttpRequest.newBuilder(chat).timeout(settings.requestTimeout())
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        if (t.gatewayToken() != null) b.header("Authorization", "Bearer " + t.gatewayToken());
        long start = clock.nanos();
        all.add(http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofString()).handle((r, e) -> {
          long nanos = clock.nanos() - start;
          if (e != null || r.statusCode() != 200) {
            errors.incrementAndGet();
            firstError.compareAndSet(null, e != null ? why(e) : r.statusCode() + " " + oneLine(r.body()));
            return null;
          }
          String node = r.headers().firstValue("x-sluice-node").orElse("");
          String gpu = c.node(node).map(NodeSpec::gpuType).orElse(null);
          String cls = settings.gpuClass(gpu);
          synchronized (byClass) {
            byClass.computeIfAbsent(cls, k -> new Histogram(3_600_000_000L, 3)).recordValue(
                Math.min(nanos / 1_000, 3_600_000_000L));
            limits.putIfAbsent(cls, settings.p95Limit(gpu));
          }
          return null;
        }));
      }
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
    int total = all.size();
    CheckResult rate = Verdicts.errorRate(errors.get(), total, settings.errorRateMaxPercent(), firstError.get());
    if (total > 0 && t.gatewayToken() == null && c.auth().mode() != AuthMode.NONE && errors.get() == total) {
      rate = CheckResult.fail(Check.ERROR_RATE, "not measured: no gateway token for auth mode "
          + c.auth().mode().name().toLowerCase(Locale.ROOT),
          "give a gateway token (SLUICE_TOKEN or --token-file; sluice keys create)");
    }
    Map<String, Duration> p95 = new TreeMap<>();
    byClass.forEach((cls, h) -> p95.put(cls, Duration.ofNanos(h.getValueAtPercentile(95) * 1_000)));
    return List.of(rate, Verdicts.p95(p95, limits));
  }

  // ---- 7 ----
  private CheckResult contextWindow(SluiceConfig c) {
    List<String> mismatches = new ArrayList<>();
    List<String> unknown = new ArrayList<>();
    int compared = 0;
    for (var route : c.models().values()) {
      ModelSpec m = route.model();
      if (m.contextWindowTokens() <= 0) {
        unknown.add(m.id() + ": no contextWindow configured");
        continue;
      }
      for (NodeSpec n : route.nodes()) {
        Integer reported = reportedContext(n, m.id());
        if (reported == null) {
          unknown.add(m.id() + " on " + n.id() + ": node reports no context length");
          continue;
        }
        compared++;
        if (reported != m.contextWindowTokens()) {
          mismatches.add(m.id() + " on " + n.id() + ": contextWindow " + m.contextWindowTokens() + " but node serves "
              + reported);
        }
      }
    }
    return Verdicts.contextWindow(compared, mismatches, unknown);
  }

  /**
   * The context length a node serves a model with: vLLM's {@code max_model_len} from {@code /v1/models}; Ollama's
   * runtime {@code context_length} from {@code /api/ps} (loaded models), else {@code num_ctx} in {@code /api/show}'s
   * parameters, else the model's {@code <arch>.context_length}. Null when the node does not say.
   */
  Integer reportedContext(NodeSpec n, String model) {
    try {
      if (n.api() != ApiFlavor.OLLAMA) {
        for (JsonNode d : json(send(n, get(URI.create(n.openAiBase() + "/models"), n.apiKey()))).path("data")) {
          if (d.path("id").asText().equals(model) && d.path("max_model_len").isNumber()) {
            return d.path("max_model_len").asInt();
          }
        }
        return null;
      }
      for (JsonNode p : json(send(n, get(n.root().resolve("/api/ps"), n.apiKey()))).path("models")) {
        if ((p.path("name").asText().equals(model) || p.path("model").asText().equals(model))
            && p.path("context_length").isNumber()) {
          return p.path("context_length").asInt();
        }
      }
      HttpRequest show = request(n.root().resolve("/api/show"), n.apiKey())
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(Json.MAPPER.createObjectNode().put("model", model).toString()))
          .build();
      JsonNode s = json(send(n, show));
      for (String line : s.path("parameters").asText("").split("\n")) {
        String[] kv = line.trim().split("\\s+");
        if (kv.length == 2 && kv[0].equals("num_ctx")) return Integer.parseInt(kv[1]);
      }
      var fields = s.path("model_info").fields();
      while (fields.hasNext()) {
        var f = fields.next();
        if (f.getKey().endsWith(".context_length") && f.getValue().isNumber()) return f.getValue().asInt();
      }
      return null;
    } catch (Exception e) {
      return null;
    }
  }

  // ---- 8 ----
  private static CheckResult auth(SluiceConfig c) {
    AuthMode mode = c.auth().mode();
    String name = mode.name().toLowerCase(Locale.ROOT).replace('_', '+');
    if (mode == AuthMode.NONE) {
      return CheckResult.fail(Check.AUTH, "auth.mode none: anyone who reaches the port can use it",
          "set auth.mode to jwt, tokens or tokens+jwt (sluice keys create makes a token)");
    }
    return CheckResult.pass(Check.AUTH, "auth.mode " + name);
  }

  // ---- 10 ----
  static CheckResult modelStore(Path store) {
    Check check = Check.MODEL_STORE;
    if (store == null) return CheckResult.skip(check, "not configured (pass --model-store PATH)");
    if (!Files.isDirectory(store)) {
      return CheckResult.fail(check, store + " is not a directory", "mount the model store at " + store);
    }
    Path probe = null;
    try {
      probe = Files.createTempFile(store, ".sluice-doctor-", ".tmp");
      Files.writeString(probe, "sluice doctor");
      if (!Files.readString(probe).equals("sluice doctor")) throw new IOException("read back differs");
      return CheckResult.pass(check, store + " readable and writable");
    } catch (Exception e) {
      return CheckResult.fail(check, store + ": " + why(e),
          "remount " + store + " read-write for the gateway's user (check permissions and the mount)");
    } finally {
      if (probe != null) {
        try {
          Files.deleteIfExists(probe);
        } catch (Exception ignored) {
          // reported by the write above if the store misbehaves
        }
      }
    }
  }

  // ---- 11 ----
  static CheckResult repairScript(SluiceConfig c, Path given) {
    Check check = Check.REPAIR_SCRIPT;
    Set<String> scripts = new LinkedHashSet<>();
    if (given != null) scripts.add(given.toString());
    else {
      for (NodeSpec n : c.nodes()) {
        if (n.repair() != null && n.repair().command() != null && !n.repair().command().isBlank()) {
          scripts.add(n.repair().command().trim().split("\\s+")[0]);
        }
      }
    }
    if (scripts.isEmpty()) {
      return CheckResult.skip(check, "no node has repair.command and no --repair-script given");
    }
    List<String> bad = new ArrayList<>();
    for (String s : scripts) {
      Path p = resolveCommand(s);
      if (p == null || !Files.isRegularFile(p)) bad.add(s + " does not exist");
      else if (!Files.isExecutable(p)) bad.add(s + " is not executable");
    }
    if (bad.isEmpty()) return CheckResult.pass(check, String.join(", ", scripts) + " executable");
    return CheckResult.fail(check, String.join(", ", bad),
        "install the repair script and chmod +x it, or fix repair.command / --repair-script");
  }

  /** A command's file: a path as given, or a bare name looked up on PATH. */
  private static Path resolveCommand(String s) {
    if (s.contains("/")) return Path.of(s);
    String path = System.getenv("PATH");
    if (path == null) return null;
    for (String dir : path.split(File.pathSeparator)) {
      Path p = Path.of(dir, s);
      if (Files.isRegularFile(p)) return p;
    }
    return null;
  }

  // ---- 12 ----
  private CheckResult routerUp(Target t, GatewaySeen seen) {
    Check check = Check.ROUTER_UP;
    if (seen.down() != null) return CheckResult.fail(check, "not measured: " + seen.described(), GATEWAY_DOWN_FIX);
    try {
      HttpResponse<String> r = http.send(get(t.admin().resolve("/metrics"), t.adminToken()),
          HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        return CheckResult.fail(check, "GET /metrics answered " + r.statusCode() + ": " + oneLine(r.body()),
            adminFix(seen));
      }
      for (String line : r.body().split("\n")) {
        if (line.startsWith("sluice_router_up")) {
          double v = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1).trim());
          String measured = "sluice_router_up " + (v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v));
          if (v == 1) return CheckResult.pass(check, measured);
          return CheckResult.fail(check, measured, "the router is not serving: check the gateway's log");
        }
      }
      return CheckResult.fail(check, "sluice_router_up absent from /metrics",
          "point --gateway/--admin-url at a Sluice gateway");
    } catch (Exception e) {
      return CheckResult.fail(check, "GET /metrics: " + why(e), "start the gateway or fix --gateway/--admin-url");
    }
  }

  // ---- HTTP ----
  private HttpRequest.Builder request(URI uri, String bearer) {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10));
    if (bearer != null) b.header("Authorization", "Bearer " + bearer);
    return b;
  }

  private HttpRequest get(URI uri, String bearer) {
    return request(uri, bearer).GET().build();
  }

  private HttpResponse<String> send(NodeSpec n, HttpRequest r) throws Exception {
    return http.send(r, HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode json(HttpResponse<String> r) throws Exception {
    if (r.statusCode() != 200) throw new IOException("HTTP " + r.statusCode());
    return Json.MAPPER.readTree(r.body());
  }

  private static String oneLine(String s) {
    if (s == null) return "";
    String line = s.replaceAll("\\s+", " ").trim();
    return line.length() > 120 ? line.substring(0, 117) + "..." : line;
  }

  /**
   * What went wrong with a request, in words: "connection refused (nothing listens there)" rather than the
   * {@code ClosedChannelException} Java's HTTP client wraps it in.
   */
  static String why(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof HttpConnectTimeoutException) return "no connection within 5 s (a firewall, or a host that is down)";
      if (t instanceof HttpTimeoutException) return "no answer within the request's timeout";
      if (t instanceof ConnectException) return "connection refused (nothing listens there)";
      if (t instanceof UnresolvedAddressException || t instanceof UnknownHostException) return "unknown host";
    }
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) t = t.getCause();
    String m = t.getMessage();
    return t.getClass().getSimpleName() + (m == null ? "" : ": " + oneLine(m));
  }
}
