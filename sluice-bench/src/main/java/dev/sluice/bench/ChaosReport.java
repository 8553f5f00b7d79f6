package dev.sluice.bench;

import dev.sluice.bench.ChaosBench.Action;
import dev.sluice.bench.ChaosBench.LevelSample;
import dev.sluice.bench.ChaosBench.NodeChange;
import dev.sluice.bench.ChaosBench.Phase;
import dev.sluice.bench.ChaosBench.Transition;
import dev.sluice.bench.ChaosLoad.Done;
import dev.sluice.bench.ChaosLoad.Outcome;
import dev.sluice.degrade.DegradationController;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.HdrHistogram.Histogram;

/** The markdown report of a {@link ChaosBench} run, computed from the finished requests and the polled levels. */
final class ChaosReport {
  /** The brief's latency bound during a GPU failure. */
  static final double CLAIM_P99_MS = 800;
  private static final String MODEL = ChaosLoad.MODEL;

  /** What the run was configured with. */
  record Settings(int clients, int phaseSeconds, int warmupSeconds, double timeScale, int maxTokens, int prompts,
      double zipf, long seed, int flapEvery, int eventLoops, int drainSeconds, String command, double[] calibration,
      String configJson, boolean resumption, int streamShare) {}

  private final Settings s;
  private final List<Phase> phases;
  private final List<Done> done;
  private final Histogram[] hist;
  private final long[] sentByPhase;
  private final long sent;
  private final long lost;
  private final long drainedMicros;
  private final List<LevelSample> samples;
  private final List<Transition> transitions;
  private final List<NodeChange> nodeChanges;
  private final List<Action> actions;
  private final Map<String, String> finalLevels;
  private final StringBuilder out = new StringBuilder();

  ChaosReport(Settings settings, List<Phase> phases, List<Done> done, Histogram[] hist, long[] sentByPhase, long sent,
      long lost, long drainedMicros, List<LevelSample> samples, List<Transition> transitions,
      List<NodeChange> nodeChanges, List<Action> actions, Map<String, String> finalLevels) {
    this.finalLevels = finalLevels;
    this.s = settings;
    this.phases = phases;
    this.done = done;
    this.hist = hist;
    this.sentByPhase = sentByPhase;
    this.sent = sent;
    this.lost = lost;
    this.drainedMicros = drainedMicros;
    this.samples = samples;
    this.transitions = transitions;
    this.nodeChanges = nodeChanges;
    this.actions = actions;
  }

  String render() {
    line("# Chaos benchmark: node failures under load (" + LocalDate.now() + ")");
    line("");
    line("Written by `dev.sluice.bench.ChaosBench` (see its Javadoc and `sluice-bench/README.md`, section \"chaos\").");
    line("");
    line("Command: `" + s.command() + "`");
    line("");
    machine();
    settings();
    phaseTable();
    totals();
    resumption();
    outcomeLatencies();
    failures();
    timings();
    transitionList();
    nodeList();
    claim();
    line("");
    line("<details><summary>Config file used (ports are the run's)</summary>");
    line("");
    line("```json");
    out.append(s.configJson());
    line("```");
    line("");
    line("</details>");
    return out.toString();
  }

  // ------------------------------------------------------------------ sections

  private void machine() {
    line("## Machine");
    line("");
    line("- cores (`Runtime.availableProcessors()`): " + Runtime.getRuntime().availableProcessors() + cpuModel());
    line("- JDK: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version") + " ("
        + System.getProperty("java.vendor") + "), max heap " + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB");
    line("- OS: " + System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
        + System.getProperty("os.arch"));
    line("- code: git " + git("rev-parse", "--short", "HEAD")
        + (git("status", "--porcelain", "--", "sluice-app/src/main").isEmpty() ? ""
        : " + uncommitted changes in sluice-app/src/main"));
    line("- everything in one JVM on 127.0.0.1: simulator (1 Vertx), gateway (1 Vertx, " + s.eventLoops()
        + " event loops), clients (1 Vertx)");
    line("");
  }

  private void settings() {
    line("## Settings");
    line("");
    line("- clients: " + s.clients() + " closed loop (no think time), Vert.x HttpClient, keep-alive pool of "
        + (s.clients() + 8) + ". Closed loop means the request rate follows the answer time: when answers come "
        + "from the cache or the static reply in ~1 ms, the same clients send ~50× more requests than against the "
        + "nodes, so request counts and percentages of different phases are not comparable (failures are also given "
        + "as counts)");
    line("- phases: warm-up " + s.warmupSeconds() + " s (not judged), then " + s.phaseSeconds() + " s each"
        + (s.flapEvery() > 0 ? "; flapping: node a10-1 killed/restarted every " + s.flapEvery() + " s" : ""));
    line("- kill = simulator fault `refuse-connections` (listener closed, open connections closed: requests in "
        + "flight on the node are cut); restart = fault cleared (listens again on the same port)");
    line("- nodes: 3 × simulated A10 (vLLM profile), each serving `qwen3:32b` and `qwen2:7b`, all with the same seed "
        + "(every node answers a prompt alike, as nodes running the same weights do); time scale "
        + fmt(s.timeScale()) + " (simulated time = real time × " + fmt(s.timeScale()) + ")");
    int rest = 100 - s.streamShare();
    line("- requests: `max_tokens`/`num_predict` " + s.maxTokens() + "; mix " + fmt(rest * 8 / 9.0) + " % "
        + "`/v1/chat/completions`, " + s.streamShare() + " % the same streamed (SSE), " + fmt(rest / 9.0) + " % Ollama "
        + "`/api/chat` (`stream: false`), all for `qwen3:32b`; prompts: "
        + s.prompts() + " distinct, Zipf s = " + fmt(s.zipf()) + ", seed " + s.seed());
    line("- gateway config: health probe 1 s / timeout 500 ms; connect 500 ms, firstToken 2 s; degradation window "
        + "20 s, minRequests 20, dwell 10 s, thresholds 5/15/30 %, probeShare 0.1, fallbackOnFailure on, "
        + "downgrade `qwen3:32b → qwen2:7b`; cache defaults (fresh 60 s, stale up to 10 min, served only while "
        + "degraded)");
    line(String.format(Locale.ROOT, "- idle cluster, one request at a time (10 non-streaming requests before the "
        + "load): median %.1f ms, max %.1f ms", s.calibration()[0], s.calibration()[1]));
    line("");
  }

  private void phaseTable() {
    line("## Per phase");
    line("");
    line("Requests are counted in the phase they were **sent** in; latency is client-side, send → last byte, "
        + "every request (failed ones included). Levels: `qwen3:32b`'s degradation level at the phase start and every "
        + "transition in the phase; peak err = the highest window error rate polled.");
    line("");
    line("| phase | requests | req/s | requested | cached | downgraded | static | failed | p50 ms | p95 ms | p99 ms "
        + "| max ms | levels of qwen3:32b | peak err |");
    line("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (int p = 0; p < phases.size(); p++) {
      Phase ph = phases.get(p);
      List<Done> in = inPhase(p);
      Map<Outcome, Long> c = counts(in);
      Histogram h = hist[p];
      line("| " + ph.name() + " | " + in.size() + " | " + String.format(Locale.ROOT, "%.0f", in.size() / ph.seconds())
          + " | " + pct(c.get(Outcome.REQUESTED), in.size()) + " | " + pct(c.get(Outcome.CACHED), in.size()) + " | "
          + pct(c.get(Outcome.DOWNGRADED), in.size()) + " | " + pct(c.get(Outcome.STATIC), in.size()) + " | "
          + pct(c.get(Outcome.FAILED), in.size()) + " (" + c.get(Outcome.FAILED) + ") | " + ms(h, 50) + " | "
          + ms(h, 95) + " | " + ms(h, 99) + " | " + ms(h.getMaxValue()) + " | " + levels(ph) + " | " + peakError(ph) + " |");
    }
    line("");
  }

  private void totals() {
    Map<Outcome, Long> c = counts(done);
    long failed = c.get(Outcome.FAILED);
    line("## Totals");
    line("");
    line("- sent " + sent + ", answered " + (done.size() - failed) + ", failed " + failed + ", **lost " + lost
        + "** (sent − answered − failed, after the drain; the last request finished "
        + String.format(Locale.ROOT, "%.2f", (drainedMicros - phases.get(phases.size() - 1).endMicros()) / 1e6)
        + " s after the last phase ended)");
    line("- answered: **" + pct3(done.size() - failed, done.size()) + "** of all requests (requested model "
        + pct(c.get(Outcome.REQUESTED), done.size()) + ", cached " + pct(c.get(Outcome.CACHED), done.size())
        + ", downgraded " + pct(c.get(Outcome.DOWNGRADED), done.size()) + ", static "
        + pct(c.get(Outcome.STATIC), done.size()) + ")");
    long failedJudged = 0;
    long judged = 0;
    for (int p = 0; p < phases.size(); p++) {
      if (!phases.get(p).failure()) continue;
      List<Done> in = inPhase(p);
      judged += in.size();
      failedJudged += in.stream().filter(d -> d.outcome() == Outcome.FAILED).count();
    }
    line("- answered in the failure phases (" + failurePhaseNames() + "): **" + pct3(judged - failedJudged, judged)
        + "** (" + failedJudged + " failed of " + judged + ")");
    line("");
  }

  /**
   * Streams: how many a node's death cut (the client got {@code stream_interrupted}), how many the gateway continued on
   * another node (its {@code sluice-resumed} trailer), how long those waited for their continuation, and whether any
   * answer's text differs from the other answers to the same prompt (duplicated or missing text).
   */
  private void resumption() {
    line("## Streams and resumption");
    line("");
    line("Stream resumption " + (s.resumption() ? "on" : "off") + " (`upstream.resumption.enabled`). Every node has "
        + "the same seed, so every answer of `qwen3:32b` to a prompt is the same text; each answer of the requested "
        + "model is compared with the first one to its prompt.");
    line("");
    line("| phase | streams | cut (stream_interrupted) | continued | waited p50 ms | waited p99 ms | waited max ms "
        + "| answers compared | text differs |");
    line("|---|---|---|---|---|---|---|---|---|");
    Histogram allWaited = new Histogram(3);
    long streams = 0;
    long cut = 0;
    long continued = 0;
    long compared = 0;
    long differs = 0;
    for (int p = 0; p < phases.size(); p++) {
      List<Done> in = inPhase(p);
      List<Done> st = in.stream().filter(d -> d.kind().stream).toList();
      long c = st.stream().filter(d -> d.reason() != null && d.reason().contains("stream_interrupted")).count();
      Histogram waited = new Histogram(3);
      long r = 0;
      for (Done d : st) {
        if (d.resumed() == 0) continue;
        r++;
        waited.recordValue(Math.max(1, d.waitedMicros()));
      }
      allWaited.add(waited);
      long cmp = in.stream().filter(d -> d.text() >= 0).count();
      long diff = in.stream().filter(d -> d.text() == 0).count();
      streams += st.size();
      cut += c;
      continued += r;
      compared += cmp;
      differs += diff;
      line("| " + phases.get(p).name() + " | " + st.size() + " | " + c + " | " + r + " | "
          + (r == 0 ? "–" : ms(waited, 50)) + " | " + (r == 0 ? "–" : ms(waited, 99)) + " | "
          + (r == 0 ? "–" : ms(waited.getMaxValue())) + " | " + cmp + " | " + diff + " |");
    }
    line("| **all** | " + streams + " | **" + cut + "** | " + continued + " | "
        + (continued == 0 ? "–" : ms(allWaited, 50)) + " | " + (continued == 0 ? "–" : "**" + ms(allWaited, 99) + "**")
        + " | " + (continued == 0 ? "–" : ms(allWaited.getMaxValue())) + " | " + compared + " | **" + differs + "** |");
    line("");
    line("waited = from the break to the continuation's first event reaching the client (the gateway's own measure, "
        + "in the trailer): the delay a continued stream added.");
    line("");
  }

  private void outcomeLatencies() {
    line("## Latency by outcome");
    line("");
    line("p50 / p99 ms (count) per phase and outcome.");
    line("");
    StringBuilder head = new StringBuilder("| phase |");
    StringBuilder sep = new StringBuilder("|---|");
    for (Outcome o : Outcome.values()) {
      head.append(' ').append(o.name().toLowerCase(Locale.ROOT)).append(" |");
      sep.append("---|");
    }
    line(head.toString());
    line(sep.toString());
    for (int p = 0; p < phases.size(); p++) {
      StringBuilder row = new StringBuilder("| " + phases.get(p).name() + " |");
      Map<Outcome, Histogram> byOutcome = new EnumMap<>(Outcome.class);
      for (Done d : inPhase(p)) {
        byOutcome.computeIfAbsent(d.outcome(), k -> new Histogram(3)).recordValue(Math.max(1, d.latencyMicros()));
      }
      for (Outcome o : Outcome.values()) {
        Histogram h = byOutcome.get(o);
        row.append(h == null ? " – |" : " " + ms(h, 50) + " / " + ms(h, 99) + " (" + h.getTotalCount() + ") |");
      }
      line(row.toString());
    }
    line("");
  }

  private void failures() {
    line("## Failures");
    line("");
    boolean any = false;
    for (int p = 0; p < phases.size(); p++) {
      List<Done> failed = inPhase(p).stream().filter(d -> d.outcome() == Outcome.FAILED).toList();
      if (failed.isEmpty()) continue;
      any = true;
      Map<String, Long> reasons = new TreeMap<>();
      for (Done d : failed) reasons.merge(d.kind().name().toLowerCase(Locale.ROOT) + ": " + d.reason(), 1L, Long::sum);
      Phase ph = phases.get(p);
      long first = failed.stream().mapToLong(Done::doneMicros).min().orElse(0) - ph.startMicros();
      long last = failed.stream().mapToLong(Done::doneMicros).max().orElse(0) - ph.startMicros();
      line("- **" + ph.name() + "**: " + failed.size() + " failed, finished between " + sec(first) + " and "
          + sec(last) + " after the phase start; by request kind and reason: " + reasons.entrySet().stream()
          .sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
          .map(e -> e.getValue() + " × " + e.getKey()).collect(Collectors.joining("; ")));
    }
    if (!any) line("None.");
    line("");
  }

  private void timings() {
    line("## Timings");
    line("");
    Phase allDown = phase("all-down");
    Phase recovering = phase("recovering");
    if (allDown != null) {
      long t = allDown.startMicros();
      line("- all-down start → first cached or static answer: " + since(t, firstDone(t,
          d -> d.outcome() == Outcome.CACHED || d.outcome() == Outcome.STATIC)) + "; → first static answer: "
          + since(t, firstDone(t, d -> d.outcome() == Outcome.STATIC)));
      List<Done> in = inPhase(phases.indexOf(allDown));
      long lastFailure = in.stream().filter(d -> d.outcome() == Outcome.FAILED).mapToLong(Done::doneMicros).max()
          .orElse(-1);
      long lastRequested = done.stream().filter(d -> d.outcome() == Outcome.REQUESTED && d.doneMicros() >= t)
          .filter(d -> d.doneMicros() < allDown.endMicros()).mapToLong(Done::doneMicros).max().orElse(-1);
      line("- all-down start → last failed request of the phase: " + (lastFailure < 0 ? "none failed"
          : sec(lastFailure - t)) + "; → last requested-model answer: " + (lastRequested < 0 ? "none"
          : sec(lastRequested - t)));
      line("- all-down start → `qwen3:32b` at STATIC: " + since(t, firstTransition(MODEL, "STATIC", t)));
    }
    if (recovering != null) {
      long t = recovering.startMicros();
      line("- recovering start → first requested-model answer: " + since(t, firstDone(t,
          d -> d.outcome() == Outcome.REQUESTED)) + "; → all nodes READY again: " + since(t, allReady(t)));
      List<Done> staticAfter = done.stream().filter(d -> d.outcome() == Outcome.STATIC && d.sentMicros() >= t).toList();
      line("- static answers to requests sent after the recovering start: " + staticAfter.size()
          + (staticAfter.isEmpty() ? "" : ", the last " + sec(staticAfter.stream().mapToLong(Done::doneMicros).max().orElse(0) - t)
          + " after it"));
      line("- recovering start → `qwen3:32b` back to NORMAL: " + since(t, firstTransition(MODEL, "NORMAL", t))
          + " (steps: " + transitions.stream().filter(x -> x.scope().equals(MODEL) && x.micros() >= t)
          .filter(x -> phase("flapping") == null || x.micros() < phase("flapping").startMicros())
          .map(x -> x.to() + " at +" + sec(x.micros() - t)).collect(Collectors.joining(", ")) + ")");
    }
    Phase flap = phase("flapping");
    if (flap != null) {
      long n = transitions.stream().filter(x -> x.scope().equals(MODEL) && flap.contains(x.micros())).count();
      long up = transitions.stream().filter(x -> x.scope().equals(MODEL) && flap.contains(x.micros()))
          .filter(x -> rank(x.to()) > rank(x.from())).count();
      long nc = transitions.stream().filter(x -> x.scope().equals(DegradationController.CLUSTER)
          && flap.contains(x.micros())).count();
      line(String.format(Locale.ROOT, "- flapping: %d tier change(s) of `qwen3:32b` in %.0f s = **%.1f per minute** "
          + "(escalations: %d, the rest are steps down; cluster scope: %d); node a10-1 state changes: %d", n,
          flap.seconds(), n * 60 / flap.seconds(), up, nc,
          nodeChanges.stream().filter(c -> c.node().equals("a10-1") && flap.contains(c.micros())).count()));
    }
    line("- levels at the end of the run (last poll, after the drain): " + finalLevels.entrySet().stream()
        .map(e -> "`" + e.getKey() + "` " + e.getValue()).collect(Collectors.joining(", ")));
    line("");
  }

  private static int rank(String level) {
    return switch (level) {
      case "NORMAL" -> 0;
      case "CACHE" -> 1;
      case "DOWNGRADE" -> 2;
      case "STATIC" -> 3;
      default -> -1;
    };
  }

  private void transitionList() {
    line("## Degradation transitions");
    line("");
    line("From `GET /admin/degradation` `recent[]` (polled every 500 ms); t = seconds after the start of the run.");
    line("");
    line("| t s | phase | scope | from → to | reason |");
    line("|---|---|---|---|---|");
    for (Transition t : transitions) {
      if (t.micros() < 0) continue; // the calibration requests cannot cause one, but be safe
      line("| " + sec(t.micros()) + " | " + phaseAt(t.micros()) + " | " + t.scope() + " | " + t.from() + " → "
          + t.to() + " | " + t.reason().replace("|", "\\|") + " |");
    }
    if (transitions.isEmpty()) line("| – | – | – | none | |");
    line("");
  }

  private void nodeList() {
    line("## Faults and node states");
    line("");
    line("Faults switched by the benchmark, and every change of a node's state in the gateway's registry (sampled "
        + "every 100 ms). t = seconds after the start of the run.");
    line("");
    line("| t s | phase | event |");
    line("|---|---|---|");
    List<Object[]> rows = new ArrayList<>();
    for (Action a : actions) rows.add(new Object[] {a.micros(), "**" + a.what() + "**"});
    for (NodeChange c : nodeChanges) rows.add(new Object[] {c.micros(), c.node() + ": " + c.from() + " → " + c.to()});
    rows.sort((a, b) -> Long.compare((Long) a[0], (Long) b[0]));
    for (Object[] r : rows) line("| " + sec((Long) r[0]) + " | " + phaseAt((Long) r[0]) + " | " + r[1] + " |");
    line("");
  }

  private void claim() {
    line("## Against the brief's claim");
    line("");
    line("BRIEF.md §4: \"in a simulated GPU failure 100 % of requests answered, P99 stable within 800 ms\". Judged on "
        + "the failure phases (" + failurePhaseNames() + "); \"answered\" = any 200 answer (requested model, "
        + "cached, downgraded or static).");
    line("");
    Phase healthy = phase("healthy");
    String base = healthy == null ? "–" : ms(hist[phases.indexOf(healthy)], 99);
    line("Baseline measured in the same run: p99 of the `healthy` phase = " + base + " ms.");
    line("");
    line("| phase | answered | p99 ms | 100 % answered | p99 ≤ 800 ms |");
    line("|---|---|---|---|---|");
    Histogram all = new Histogram(3);
    long n = 0;
    long failed = 0;
    for (int p = 0; p < phases.size(); p++) {
      Phase ph = phases.get(p);
      if (!ph.failure()) continue;
      List<Done> in = inPhase(p);
      long f = in.stream().filter(d -> d.outcome() == Outcome.FAILED).count();
      n += in.size();
      failed += f;
      all.add(hist[p]);
      double p99 = hist[p].getValueAtPercentile(99) / 1000.0;
      line("| " + ph.name() + " | " + pct3(in.size() - f, in.size()) + " | " + ms(hist[p], 99) + " | "
          + (f == 0 ? "met" : "**missed** (" + f + " failed)") + " | "
          + (p99 <= CLAIM_P99_MS ? "met" : "**missed**") + " |");
    }
    double p99 = all.getValueAtPercentile(99) / 1000.0;
    line("| all failure phases | " + pct3(n - failed, n) + " | " + ms(all, 99) + " | "
        + (failed == 0 ? "met" : "**missed** (" + failed + " failed)") + " | " + (p99 <= CLAIM_P99_MS ? "met"
        : "**missed**") + " |");
    line("");
  }

  /**
   * The report of {@link SilentChaos}'s scenarios: machine, settings, the figures judged in one table, then a
   * section per scenario and the config file of the last cluster.
   */
  static String silent(SilentChaos.Settings s, List<String> scenarios, List<SilentChaos.Claim> claims,
      String sections, String configJson, String command) {
    StringBuilder b = new StringBuilder();
    Consumer<String> line = t -> b.append(t).append('\n');
    line.accept("# Chaos benchmark: silent failures (" + LocalDate.now() + ")");
    line.accept("");
    line.accept("Written by `dev.sluice.bench.ChaosBench` (`SilentChaos`; see its Javadoc and `sluice-bench/README.md`, "
        + "section \"chaos\"). Scenarios: " + String.join(", ", scenarios) + ".");
    line.accept("");
    line.accept("Command: `" + command + "`");
    line.accept("");
    line.accept("## Machine");
    line.accept("");
    line.accept("- cores (`Runtime.availableProcessors()`): " + Runtime.getRuntime().availableProcessors() + cpuModel());
    line.accept("- JDK: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    line.accept("- code: git " + git("rev-parse", "--short", "HEAD")
        + (git("status", "--porcelain", "--", "sluice-app/src/main").isEmpty() ? ""
        : " + uncommitted changes in sluice-app/src/main"));
    line.accept("- everything in one JVM on 127.0.0.1: simulator (1 Vertx), gateway (1 Vertx, " + s.eventLoops()
        + " event loops), each client load (1 Vertx)");
    line.accept("");
    line.accept("## Settings");
    line.accept("");
    line.accept("- a fresh cluster per scenario: the demo's nodes, `qwen3:32b` on `a10` (A10, KV 24,576 tokens as the "
        + "demo), `a100` and `h100`, `qwen2:7b` on `small` (A10, KV 32,768), time scale " + fmt(s.timeScale())
        + " (every gateway timeout is wall-clock); `busy` has its own two nodes (see its section)");
    line.accept("- gateway config: the defaults (health probe every 5 s / timeout 2 s, 3 failures → DEGRADED; "
        + "firstToken 60 s, idle 30 s; least-delay with its ttftBudget; 256 connections per node; ladder window 60 s, "
        + "minRequests 20, dwell 20 s) plus `degradation.downgrade` `qwen3:32b → qwen2:7b`; the file is at the end");
    line.accept("- load: open loop, " + fmt(s.rate()) + " requests a second of `qwen3:32b` (small-healthy: at most "
        + "20), half streamed, `max_tokens` 16, every prompt distinct; an arrival while " + SilentChaos.MAX_OUTSTANDING
        + " requests are unanswered is not sent (counted); requests still unanswered " + s.drainSeconds()
        + " s after the load stops count as unfinished");
    line.accept("- node states and levels: `GET /admin/nodes` and `GET /admin/degradation` every 100 ms; \"out of "
        + "rotation\" = the first poll where the node is not READY or not eligible");
    line.accept("");
    line.accept("## Against the issue's figures");
    line.accept("");
    line.accept("| scenario | figure | measured | met |");
    line.accept("|---|---|---|---|");
    for (SilentChaos.Claim c : claims) {
      line.accept("| " + c.scenario() + " | " + c.criterion().replace("|", "\\|") + " | "
          + c.measured().replace("|", "\\|") + " | " + (c.met() ? "met" : "**missed**") + " |");
    }
    line.accept("");
    b.append(sections);
    line.accept("<details><summary>Config file of the demo cluster (ports are the run's)</summary>");
    line.accept("");
    line.accept("```json");
    b.append(configJson);
    line.accept("```");
    line.accept("");
    line.accept("</details>");
    return b.toString();
  }

  // ------------------------------------------------------------------ helpers

  private String failurePhaseNames() {
    return phases.stream().filter(Phase::failure).map(Phase::name).collect(Collectors.joining(", "));
  }

  private List<Done> inPhase(int p) {
    return done.stream().filter(d -> d.phase() == p).toList();
  }

  private static Map<Outcome, Long> counts(List<Done> in) {
    Map<Outcome, Long> c = new EnumMap<>(Outcome.class);
    for (Outcome o : Outcome.values()) c.put(o, 0L);
    for (Done d : in) c.merge(d.outcome(), 1L, Long::sum);
    return c;
  }

  private Phase phase(String name) {
    return phases.stream().filter(p -> p.name().equals(name)).findFirst().orElse(null);
  }

  private String phaseAt(long micros) {
    for (Phase p : phases) if (p.contains(micros)) return p.name();
    return micros < 0 ? "before" : "drain";
  }

  /** qwen3:32b's level at the phase start, then every level it moved to within the phase. */
  private String levels(Phase ph) {
    String start = "NORMAL";
    for (Transition t : transitions) {
      if (t.scope().equals(MODEL) && t.micros() < ph.startMicros()) start = t.to();
    }
    List<String> seq = new ArrayList<>(List.of(start));
    for (Transition t : transitions) {
      if (t.scope().equals(MODEL) && ph.contains(t.micros())) seq.add(t.to());
    }
    return String.join(" → ", seq);
  }

  private String peakError(Phase ph) {
    double max = samples.stream().filter(x -> ph.contains(x.micros())).mapToDouble(LevelSample::errorRate).max()
        .orElse(0);
    return String.format(Locale.ROOT, "%.0f %%", max * 100);
  }

  private long firstDone(long from, Predicate<Done> p) {
    return done.stream().filter(d -> d.doneMicros() >= from).filter(p).mapToLong(Done::doneMicros).min().orElse(-1);
  }

  private long firstTransition(String scope, String to, long from) {
    return transitions.stream().filter(t -> t.scope().equals(scope) && t.to().equals(to) && t.micros() >= from)
        .mapToLong(Transition::micros).min().orElse(-1);
  }

  /** First time after {@code from} at which no node was in a state other than READY (from the sampled changes). */
  private long allReady(long from) {
    Map<String, String> state = new LinkedHashMap<>();
    for (NodeChange c : nodeChanges) {
      state.put(c.node(), c.to());
      if (c.micros() >= from && state.values().stream().allMatch(v -> v.equals("READY"))) return c.micros();
    }
    return -1;
  }

  private static String since(long from, long at) {
    return at < 0 ? "not within the run" : "**" + sec(at - from) + "**";
  }

  private static String sec(long micros) {
    return String.format(Locale.ROOT, "%.2f s", micros / 1e6);
  }

  private static String ms(Histogram h, double percentile) {
    return h.getTotalCount() == 0 ? "–" : ms(h.getValueAtPercentile(percentile));
  }

  private static String ms(long micros) {
    double v = micros / 1000.0;
    return v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v);
  }

  private static String pct(Long n, long of) {
    return of == 0 ? "–" : String.format(Locale.ROOT, "%.1f %%", 100.0 * (n == null ? 0 : n) / of);
  }

  private static String pct3(long n, long of) {
    return of == 0 ? "–" : String.format(Locale.ROOT, "%.3f %%", 100.0 * n / of);
  }

  private static String fmt(double d) {
    return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
  }

  /** The trimmed output of a git command in the working directory; "unknown" for the commit when git fails. */
  static String git(String... args) {
    try {
      List<String> cmd = new ArrayList<>(List.of("git"));
      cmd.addAll(List.of(args));
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (p.waitFor() != 0) return args[0].equals("rev-parse") ? "unknown" : "";
      return text;
    } catch (IOException | RuntimeException e) {
      return args[0].equals("rev-parse") ? "unknown" : "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }

  static String cpuModel() {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (l.startsWith("model name")) return " (" + l.substring(l.indexOf(':') + 1).strip() + ")";
      }
    } catch (IOException | RuntimeException ignored) {
      // not Linux
    }
    return "";
  }

  private void line(String s) {
    out.append(s).append('\n');
  }
}
