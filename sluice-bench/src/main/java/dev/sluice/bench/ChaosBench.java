package dev.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.config.ConfigHolder;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import dev.sluice.health.EjectionState;
import dev.sluice.health.NodeState;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.node.NodeEntry;
import dev.sluice.server.Gateway;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.support.Json;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Chaos benchmark: scenarios chosen with {@code --scenarios} (default: the silent ones, ~5 min; {@code all} runs
 * everything, ~8 min), one markdown report.
 *
 * <p><b>Silent failures</b> ({@link SilentChaos}; {@code hang}, {@code stall}, {@code black-hole}, {@code busy},
 * {@code isolation}, {@code small-healthy}): each on a fresh cluster of the demo's nodes with the gateway's defaults,
 * under an open-loop load of {@code --rate} requests a second, judged against the acceptance figures of the
 * silent-failures issue (out of rotation within seconds, requests per second kept, p99 bounded, 0 fallbacks while the
 * model's other nodes are READY, a busy node stays READY, the small model answers for the big one but not at the
 * expense of its own users, NORMAL soon after the nodes are back).
 *
 * <p><b>The ladder</b> ({@code ladder}): the degradation ladder (BRIEF.md §4: "in a simulated GPU failure 100 % of requests answered, P99
 * stable within 800 ms"; RELIABILITY.md rows "node: all down" and "flapping"). In one JVM, all on 127.0.0.1 port 0: three
 * simulated A10 nodes (one Vertx) each serving {@code qwen3:32b} and its downgrade target {@code qwen2:7b}, the real
 * gateway loaded from a JSON config file (own Vertx), and {@code --clients} closed-loop HTTP clients (a third Vertx)
 * sending 80 % non-streaming {@code /v1/chat/completions}, 10 % streaming ones and 10 % Ollama {@code /api/chat}, all
 * for {@code qwen3:32b}, prompts drawn from {@code --prompts} distinct ones with a seeded Zipf distribution.
 *
 * <p>Phases of {@code --phase} seconds after an unjudged warm-up: healthy → 1-down → 2-down → all-down (each kill is the
 * simulator's refuse-connections fault: the listener closes and requests in flight on the node are cut) → recovering
 * (all three listen again at its start) → recovered → flapping (node 1 killed and restarted every {@code --flap-every}
 * seconds; off with {@code --no-flapping}). Every response is classified from the client's side (requested model,
 * cached, downgraded, static, failed with a reason); {@code GET /admin/degradation} is polled every 500 ms for the
 * level of {@code qwen3:32b} and the transitions. The markdown report goes to stdout and {@code --out}.
 *
 * <p>Run (the gateway and simulator log to stderr):
 * <pre>
 * mvn -B -o -q -pl sluice-bench -am package -DskipTests -Pbenchmarks
 * java -cp sluice-bench/target/benchmarks.jar dev.sluice.bench.ChaosBench 2&gt;/tmp/chaos.log      # silent, ~5 min
 * java -cp sluice-bench/target/benchmarks.jar dev.sluice.bench.ChaosBench --scenarios ladder        # ~2.5 min
 * java -cp sluice-bench/target/benchmarks.jar dev.sluice.bench.ChaosBench --scenarios hang,busy --hang 10
 * java -cp sluice-bench/target/benchmarks.jar dev.sluice.bench.ChaosBench --help
 * java -cp sluice-bench/target/benchmarks.jar dev.sluice.bench.ChaosBench --scenarios ladder --phase 5 --no-flapping
 * </pre>
 *
 * <p>Exit code 0 whether or not the claims hold (this is a measurement); 2 on a setup failure, 3 when requests of the
 * ladder run were lost (sent but neither answered nor failed by the end of the drain; the silent scenarios give up
 * requests a few seconds after their load stops and report them as unfinished).
 */
@Command(name = "ChaosBench", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Breaks simulated GPU nodes under load (hung, stalled, black-holed, busy, killed) and reports how "
        + "the gateway answered.")
public final class ChaosBench implements Callable<Integer> {
  static final String MODEL = ChaosLoad.MODEL;
  static final String SMALL_MODEL = "qwen2:7b";
  static final int NODES = 3;
  static final long POLL_MS = 500;
  static final long TICK_MS = 100;

  @Option(names = "--clients", defaultValue = "100", description = "closed-loop clients (default ${DEFAULT-VALUE})")
  int clients;
  @Option(names = "--phase", defaultValue = "20", description = "seconds per phase (default ${DEFAULT-VALUE})")
  int phaseSeconds;
  @Option(names = "--warmup", defaultValue = "10",
      description = "seconds of unjudged load before 'healthy' (JIT, cache; default ${DEFAULT-VALUE})")
  int warmupSeconds;
  @Option(names = "--time-scale", defaultValue = "10",
      description = "simulator speed-up over a real A10 (1 = real speed; default ${DEFAULT-VALUE})")
  double timeScale;
  @Option(names = "--max-tokens", defaultValue = "16",
      description = "max_tokens / num_predict of every request (default ${DEFAULT-VALUE})")
  int maxTokens;
  @Option(names = "--prompts", defaultValue = "300", description = "distinct prompts (default ${DEFAULT-VALUE})")
  int prompts;
  @Option(names = "--seed", defaultValue = "1",
      description = "seed of the clients' randomness (default ${DEFAULT-VALUE})")
  long seed;
  @Option(names = "--flapping", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "add the flapping phase (default on)")
  boolean flapping;
  @Option(names = "--flap-every", defaultValue = "3",
      description = "seconds between kill and restart of node 1 in the flapping phase (default ${DEFAULT-VALUE})")
  int flapEvery;
  @Option(names = "--drain", defaultValue = "60",
      description = "seconds to wait for requests in flight after the last phase (default ${DEFAULT-VALUE})")
  int drainSeconds;
  @Option(names = "--resumption", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "ladder: streams broken after their first byte are continued on another node (default on, as the "
          + "gateway's default; --no-resumption for the behaviour before it)")
  boolean resumption;
  @Option(names = "--stream-share", defaultValue = "10",
      description = "ladder: percent of requests that are streamed chat, the rest 8:1 chat and Ollama chat "
          + "(default ${DEFAULT-VALUE}: 80 % chat, 10 % streamed, 10 % Ollama)")
  int streamShare;
  @Option(names = "--event-loops", defaultValue = "2",
      description = "gateway event loops (default ${DEFAULT-VALUE})")
  int eventLoops;
  @Option(names = "--out", description = "report file (default sluice-bench/results/<today>-chaos.md)")
  Path out;
  @Option(names = "--scenarios", defaultValue = "hang,stall,black-hole,busy,isolation,small-healthy",
      description = "comma-separated: ladder (the phases above, ~2.5 min), hang, stall, black-hole, busy, isolation, "
          + "small-healthy (~5 min together), or all (default ${DEFAULT-VALUE})")
  String scenarios;
  @Option(names = "--rate", defaultValue = "25",
      description = "silent scenarios: open-loop requests a second, half streamed (default ${DEFAULT-VALUE})")
  double rate;
  @Option(names = "--before", defaultValue = "10",
      description = "silent scenarios: seconds of steady load before the fault (default ${DEFAULT-VALUE})")
  int beforeSeconds;
  @Option(names = "--hang", defaultValue = "30",
      description = "seconds of the hung-engine fault (default ${DEFAULT-VALUE})")
  int hangSeconds;
  @Option(names = "--fault", defaultValue = "20",
      description = "seconds of the stall and black-hole faults and of small-healthy's outage (default "
          + "${DEFAULT-VALUE})")
  int faultSeconds;
  @Option(names = "--after", defaultValue = "10",
      description = "silent scenarios: seconds of load after a fault cleared (default ${DEFAULT-VALUE})")
  int afterSeconds;
  @Option(names = "--busy-streams", defaultValue = "300",
      description = "busy: long streams held on one node (default ${DEFAULT-VALUE})")
  int busyStreams;
  @Option(names = "--hold", defaultValue = "40",
      description = "busy: seconds the streams are held (default ${DEFAULT-VALUE})")
  int holdSeconds;
  @Option(names = "--isolation", defaultValue = "20",
      description = "isolation: seconds the small model's own users are measured (default ${DEFAULT-VALUE})")
  int isolationSeconds;

  /** The name of the degradation-ladder run in {@code --scenarios}. */
  static final String LADDER = "ladder";
  /** Silent scenarios: requests still unanswered this long after the load stops count as unfinished. */
  static final int SILENT_DRAIN_SECONDS = 5;

  /** A phase of the run, times in µs after the start. */
  record Phase(String name, long startMicros, long endMicros, boolean failure) {
    boolean contains(long micros) {
      return micros >= startMicros && micros < endMicros;
    }

    double seconds() {
      return (endMicros - startMicros) / 1e6;
    }
  }

  /** One poll of {@code GET /admin/degradation}: level and window error rate of {@code qwen3:32b}. */
  record LevelSample(long micros, String level, double errorRate, String clusterLevel) {}

  /** One transition from the admin view's {@code recent[]}, time in µs after the start. */
  record Transition(long micros, String scope, String from, String to, String reason) {}

  /** A change of a node's state as the gateway's registry shows it (polled every 100 ms). */
  record NodeChange(long micros, String node, String from, String to) {}

  /** A node fault switched by the benchmark. */
  record Action(long micros, String what) {}

  private final List<SimNode> sims = new ArrayList<>();
  private final ConcurrentLinkedQueue<LevelSample> samples = new ConcurrentLinkedQueue<>();
  private final Map<String, Transition> transitions = new ConcurrentHashMap<>();
  private final List<NodeChange> nodeChanges = new ArrayList<>();
  private final List<Action> actions = new ArrayList<>();
  private final Map<String, String> nodeViews = new HashMap<>();
  /** Scope → level at the last poll, the cluster included. */
  private volatile Map<String, String> lastLevels = Map.of();
  private long t0Nanos;
  private long t0Millis;

  public static void main(String[] args) {
    int code = new CommandLine(new ChaosBench()).execute(args);
    System.exit(code);
  }

  @Override
  public Integer call() throws Exception {
    if (clients < 1 || phaseSeconds < 1 || warmupSeconds < 0 || maxTokens < 1 || prompts < 1 || flapEvery < 1
        || timeScale <= 0) {
      System.err.println("chaos: --clients, --phase, --max-tokens, --prompts, --flap-every and --time-scale must be "
          + "positive, --warmup at least 0");
      return 2;
    }
    if (streamShare < 0 || streamShare > 100) {
      System.err.println("chaos: --stream-share must be a percentage 0..100, got " + streamShare);
      return 2;
    }
    if (!(rate > 0) || beforeSeconds < 1 || hangSeconds < 1 || faultSeconds < 1 || afterSeconds < 0
        || busyStreams < 1 || holdSeconds < 1 || isolationSeconds < 1) {
      System.err.println("chaos: --rate, --before, --hang, --fault, --busy-streams, --hold and --isolation must be "
          + "positive, --after at least 0");
      return 2;
    }
    List<String> chosen = new ArrayList<>();
    for (String name : scenarios.split(",")) {
      String n = name.strip().toLowerCase(Locale.ROOT);
      if (n.isEmpty()) continue;
      if (n.equals("all")) {
        chosen.add(LADDER);
        chosen.addAll(SilentChaos.SCENARIOS);
      } else if (n.equals(LADDER) || SilentChaos.SCENARIOS.contains(n)) {
        chosen.add(n);
      } else {
        System.err.println("chaos: --scenarios: \"" + name.strip() + "\" is not a scenario (expected a comma-separated "
            + "list of " + LADDER + ", " + String.join(", ", SilentChaos.SCENARIOS) + ", or all)");
        return 2;
      }
    }
    if (chosen.isEmpty()) {
      System.err.println("chaos: --scenarios is empty (expected e.g. hang,busy or all)");
      return 2;
    }
    if (out == null) out = Path.of("sluice-bench", "results", LocalDate.now() + "-chaos.md");
    StringBuilder report = new StringBuilder();
    int code = 0;
    if (chosen.contains(LADDER)) {
      code = runLadder(report);
      if (code == 2) return code;
    }
    List<String> silent = chosen.stream().filter(SilentChaos.SCENARIOS::contains).toList();
    if (!silent.isEmpty()) {
      SilentChaos.Settings settings = new SilentChaos.Settings(timeScale, rate, beforeSeconds, hangSeconds,
          faultSeconds, afterSeconds, busyStreams, holdSeconds, isolationSeconds, SILENT_DRAIN_SECONDS, eventLoops);
      SilentChaos run = new SilentChaos(settings);
      try {
        String sections = run.run(silent);
        if (report.length() > 0) report.append("\n");
        report.append(ChaosReport.silent(settings, silent, run.claims(), sections, run.configJson(),
            silentCommandLine()));
      } catch (Exception e) {
        System.err.println("chaos: setup failed: " + e);
        e.printStackTrace();
        return 2;
      }
    }
    System.out.println(report);
    Path parent = out.toAbsolutePath().getParent();
    if (parent != null) Files.createDirectories(parent);
    Files.writeString(out, report);
    System.err.println("chaos: report written to " + out);
    return code;
  }

  /** The degradation-ladder phases (healthy → … → flapping); appends their report; 0, 2 (setup) or 3 (lost). */
  private int runLadder(StringBuilder report) throws Exception {
    Vertx simVertx = Vertx.vertx();
    Vertx gatewayVertx = Vertx.vertx();
    Vertx clientVertx = Vertx.vertx();
    Gateway gateway = null;
    HttpClientAgent http = null;
    try {
      // 1. the nodes
      for (int i = 1; i <= NODES; i++) {
        sims.add(await(SimNode.start(simVertx, SimOptions.defaults().withId("a10-" + i).withGpu(GpuProfile.A10)
            .withModels(MODEL, SMALL_MODEL).withTimeScale(timeScale).withSeed(SimOptions.DEFAULT_SEED))));
      }
      // 2. the config, through the file format
      String json = configJson();
      Path file = Files.createTempFile("sluice-chaos-", ".json");
      Files.writeString(file, json);
      SluiceConfig config = ConfigLoader.parse(Files.readString(file), "chaos");
      Files.deleteIfExists(file);
      gateway = new Gateway(gatewayVertx, new ConfigHolder(config), new SluiceMetrics(), eventLoops);
      int port = await(gateway.start("127.0.0.1", 0));
      long readyBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      Gateway gw = gateway;
      while (!gw.registry().all().stream().allMatch(e -> e.health().state() == NodeState.READY)) {
        if (System.nanoTime() > readyBy) {
          System.err.println("chaos: the nodes did not become READY within 30 s");
          return 2;
        }
        Thread.sleep(50);
      }
      // 3. the clients
      http = clientVertx.httpClientBuilder()
          .with(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true).setConnectTimeout(2_000)
              .setDefaultHost("127.0.0.1").setDefaultPort(port))
          .with(new PoolOptions().setHttp1MaxSize(clients + 8).setMaxWaitQueueSize(-1))
          .build();
      double[] calibration = calibrate(http, port);

      List<Phase> phases = phases();
      t0Nanos = System.nanoTime();
      t0Millis = System.currentTimeMillis();
      ChaosLoad load = new ChaosLoad(http, port, maxTokens, prompts, phases.size(), t0Nanos).streamShare(streamShare);
      HttpClientAgent poller = http;
      long timer = clientVertx.setPeriodic(POLL_MS, id -> poll(poller, port));
      load.start(clients, seed);
      for (int p = 0; p < phases.size(); p++) {
        Phase phase = phases.get(p);
        load.phase(p);
        begin(phase);
        runPhase(gw, phase);
      }
      if (flapping) act(() -> sims.get(0).clearFault(SimFault.Kind.REFUSE_CONNECTIONS), "a10-1 restarted (end of run)");
      load.stop();
      long drainBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(drainSeconds);
      while (load.finished() < load.sent() && System.nanoTime() < drainBy) {
        sampleNodes(gw);
        Thread.sleep(TICK_MS);
      }
      long drainedMicros = micros();
      clientVertx.cancelTimer(timer);
      await(pollOnce(http, port));
      long lost = load.sent() - load.finished();

      ChaosReport.Settings settings = new ChaosReport.Settings(clients, phaseSeconds, warmupSeconds, timeScale,
          maxTokens, prompts, ChaosLoad.ZIPF_EXPONENT, seed, flapping ? flapEvery : 0, eventLoops, drainSeconds,
          commandLine(), calibration, json, resumption, streamShare);
      List<ChaosLoad.Done> done = load.done();
      org.HdrHistogram.Histogram[] hist = new org.HdrHistogram.Histogram[phases.size()];
      long[] sentByPhase = new long[phases.size()];
      for (int p = 0; p < phases.size(); p++) {
        hist[p] = load.histogram(p);
        sentByPhase[p] = load.sentInPhase(p);
      }
      List<Transition> ts = new ArrayList<>(transitions.values());
      ts.sort((a, b) -> Long.compare(a.micros(), b.micros()));
      report.append(new ChaosReport(settings, phases, done, hist, sentByPhase, load.sent(), lost, drainedMicros,
          new ArrayList<>(samples), ts, nodeChanges, actions, lastLevels).render());
      if (lost > 0) {
        System.err.println("chaos: " + lost + " request(s) lost (sent, never finished)");
        return 3;
      }
      return 0;
    } catch (Exception e) {
      System.err.println("chaos: setup failed: " + e);
      e.printStackTrace();
      return 2;
    } finally {
      if (http != null) quietly(http.close());
      if (gateway != null) quietly(gateway.close());
      for (SimNode s : sims) quietly(s.close());
      quietly(clientVertx.close());
      quietly(gatewayVertx.close());
      quietly(simVertx.close());
    }
  }

  /** The config file: one provider, three Ollama A10 nodes, both models, the brief's ladder with short windows. */
  String configJson() {
    StringBuilder nodes = new StringBuilder();
    for (SimNode s : sims) {
      if (nodes.length() > 0) nodes.append(",\n");
      nodes.append("        { \"id\": \"").append(s.options().id()).append("\", \"baseUrl\": \"").append(s.baseUrl())
          .append("\", \"api\": \"ollama\", \"gpuType\": \"A10\" }");
    }
    return """
        {
          "auth": { "mode": "none" },
          "timeouts": { "connect": "500ms", "firstToken": "2s" },
          "upstream": { "resumption": { "enabled": %s } },
          "health": { "probeInterval": "1s", "probeTimeout": "500ms" },
          "degradation": {
            "downgrade": { "qwen3:32b": "qwen2:7b" },
            "window": "20s", "minRequests": 20, "dwell": "10s"
          },
          "providers": {
            "chaos-a10": {
              "api": "ollama",
              "models": [
                { "id": "qwen3:32b", "contextWindow": 24576, "maxTokens": 4096 },
                { "id": "qwen2:7b", "contextWindow": 32768, "maxTokens": 4096 }
              ],
              "nodes": [
        %s
              ]
            }
          }
        }
        """.formatted(resumption, nodes);
  }

  List<Phase> phases() {
    List<Phase> list = new ArrayList<>();
    long at = 0;
    long len = phaseSeconds * 1_000_000L;
    if (warmupSeconds > 0) {
      list.add(new Phase("warm-up", 0, warmupSeconds * 1_000_000L, false));
      at = warmupSeconds * 1_000_000L;
    }
    String[] names = {"healthy", "1-down", "2-down", "all-down", "recovering", "recovered"};
    boolean[] failure = {false, true, true, true, true, false};
    for (int i = 0; i < names.length; i++) {
      list.add(new Phase(names[i], at, at + len, failure[i]));
      at += len;
    }
    if (flapping) list.add(new Phase("flapping", at, at + len, true));
    return list;
  }

  /** The node faults at the start of a phase. */
  private void begin(Phase phase) {
    switch (phase.name()) {
      case "1-down" -> kill(0);
      case "2-down" -> kill(1);
      case "all-down" -> kill(2);
      case "recovering" -> {
        for (int i = 0; i < NODES; i++) {
          int n = i;
          act(() -> sims.get(n).clearFault(SimFault.Kind.REFUSE_CONNECTIONS),
              sims.get(n).options().id() + " restarted");
        }
      }
      default -> { }
    }
  }

  private void kill(int node) {
    act(() -> sims.get(node).injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS)),
        sims.get(node).options().id() + " killed");
  }

  private void act(Runnable r, String what) {
    r.run();
    actions.add(new Action(micros(), what));
  }

  /** Waits for the end of the phase, sampling node states; in the flapping phase toggles node 1. */
  private void runPhase(Gateway gw, Phase phase) throws InterruptedException {
    long nextFlap = phase.startMicros();
    boolean down = false;
    while (true) {
      long now = micros();
      if (now >= phase.endMicros()) return;
      if (phase.name().equals("flapping") && now >= nextFlap) {
        if (down) act(() -> sims.get(0).clearFault(SimFault.Kind.REFUSE_CONNECTIONS), "a10-1 restarted (flap)");
        else kill(0);
        down = !down;
        nextFlap += flapEvery * 1_000_000L;
      }
      sampleNodes(gw);
      long sleep = Math.min(TICK_MS * 1000, phase.endMicros() - micros());
      if (phase.name().equals("flapping")) sleep = Math.min(sleep, Math.max(0, nextFlap - micros()));
      if (sleep > 0) Thread.sleep(Math.max(1, sleep / 1000));
    }
  }

  /** Records changes of each node's state, ejections included, as the gateway sees them. */
  private void sampleNodes(Gateway gw) {
    long nowMillis = gw.registry().nowMillis();
    for (NodeEntry e : gw.registry().all()) {
      EjectionState ej = e.health().ejection();
      String view = e.health().state().name();
      if (ej.ejectedAt(nowMillis)) {
        view += ", ejected #" + ej.ejectionCount() + " for "
            + Math.round((ej.ejectedUntilMillis() - nowMillis) / 1000.0) + " s";
      }
      String before = nodeViews.put(e.id(), view);
      String beforeKey = before == null ? null : before.replaceAll(" for \\d+ s$", "");
      String key = view.replaceAll(" for \\d+ s$", "");
      if (before != null && !beforeKey.equals(key)) {
        nodeChanges.add(new NodeChange(micros(), e.id(), before, view));
      }
    }
  }

  private void poll(HttpClientAgent http, int port) {
    pollOnce(http, port);
  }

  private Future<Void> pollOnce(HttpClientAgent http, int port) {
    long at = micros();
    RequestOptions o = new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1").setPort(port)
        .setURI("/admin/degradation").setIdleTimeout(5_000);
    return http.request(o).compose(req -> req.send()).compose(resp -> resp.body()).map(body -> {
      record(at, body);
      return (Void) null;
    }).otherwise(t -> null);
  }

  private void record(long at, Buffer body) {
    try {
      JsonNode root = Json.MAPPER.readTree(body.toString(StandardCharsets.UTF_8));
      String level = "NORMAL";
      double rate = 0;
      Map<String, String> levels = new LinkedHashMap<>();
      levels.put("cluster", root.path("cluster").path("level").asText("?"));
      for (JsonNode m : root.path("models")) {
        levels.put(m.path("scope").asText(), m.path("level").asText());
        if (m.path("scope").asText().equals(MODEL)) {
          level = m.path("level").asText();
          rate = m.path("errorRate").asDouble();
        }
      }
      samples.add(new LevelSample(at, level, rate, root.path("cluster").path("level").asText("?")));
      lastLevels = levels;
      for (JsonNode t : root.path("recent")) {
        long atMillis = t.path("atMillis").asLong();
        String key = atMillis + "|" + t.path("scope").asText() + "|" + t.path("from").asText() + "|"
            + t.path("to").asText();
        transitions.putIfAbsent(key, new Transition((atMillis - t0Millis) * 1000, t.path("scope").asText(),
            t.path("from").asText(), t.path("to").asText(), t.path("reason").asText()));
      }
    } catch (Exception e) {
      System.err.println("chaos: cannot read /admin/degradation: " + e);
    }
  }

  /** Ten sequential non-streaming requests on the idle cluster: {median, max} end-to-end latency in ms. */
  private double[] calibrate(HttpClientAgent http, int port) throws Exception {
    ChaosLoad probe = new ChaosLoad(http, port, maxTokens, prompts, 1, System.nanoTime());
    double[] ms = new double[10];
    for (int i = 0; i < ms.length; i++) {
      String body = probe.body(ChaosLoad.Kind.CHAT, prompts - 1 - i % prompts);
      long start = System.nanoTime();
      RequestOptions o = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(port)
          .setURI("/v1/chat/completions").putHeader("content-type", "application/json");
      int status = await(http.request(o).compose(r -> r.send(body)).compose(r -> r.body().map(b -> r.statusCode())));
      ms[i] = (System.nanoTime() - start) / 1e6;
      if (status != 200) throw new IllegalStateException("calibration request answered " + status);
    }
    Arrays.sort(ms);
    return new double[] {(ms[4] + ms[5]) / 2, ms[ms.length - 1]};
  }

  private String commandLine() {
    return "java -cp sluice-bench/target/benchmarks.jar dev.sluice.bench.ChaosBench --clients " + clients + " --phase "
        + phaseSeconds + " --warmup " + warmupSeconds + " --time-scale " + fmt(timeScale) + " --max-tokens "
        + maxTokens + " --prompts " + prompts + " --seed " + seed + (flapping ? " --flap-every " + flapEvery
        : " --no-flapping") + (resumption ? "" : " --no-resumption")
        + (streamShare == 10 ? "" : " --stream-share " + streamShare) + " --event-loops " + eventLoops;
  }

  private String silentCommandLine() {
    return "java -cp sluice-bench/target/benchmarks.jar dev.sluice.bench.ChaosBench --scenarios " + scenarios
        + " --rate " + fmt(rate) + " --before " + beforeSeconds + " --hang " + hangSeconds + " --fault "
        + faultSeconds + " --after " + afterSeconds + " --busy-streams " + busyStreams + " --hold " + holdSeconds
        + " --isolation " + isolationSeconds + " --time-scale " + fmt(timeScale) + " --event-loops " + eventLoops;
  }

  private static String fmt(double d) {
    return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
  }

  private long micros() {
    return (System.nanoTime() - t0Nanos) / 1000;
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static void quietly(Future<?> f) {
    try {
      f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception ignored) {
      // shutting down
    }
  }
}
