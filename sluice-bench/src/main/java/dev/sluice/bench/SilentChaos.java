package dev.sluice.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.config.ConfigHolder;
import dev.sluice.config.ConfigLoader;
import dev.sluice.health.NodeState;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.server.Gateway;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.support.Json;
import dev.sluice.testkit.ChaosLoad;
import dev.sluice.testkit.ChaosLoad.Outcome;
import dev.sluice.testkit.ChaosLoad.Result;
import dev.sluice.testkit.ChaosLoad.Shape;
import dev.sluice.testkit.GatewayWatch;
import dev.sluice.testkit.GatewayWatch.NodeSample;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * The silent-failure scenarios of {@link ChaosBench}: a node that stops answering without closing anything
 * (hung engine, stalled streams, black hole), a node that is only busy, the small model answering for the big one and
 * beside its own users. Each scenario runs on a fresh cluster: the demo's nodes ({@code qwen3:32b} on an A10 with the
 * demo's KV, an A100 and an H100, {@code qwen2:7b} on another A10; one Vertx, time scale {@code --time-scale}) and a
 * gateway with the defaults of a config file that only names the providers and the downgrade
 * {@code qwen3:32b → qwen2:7b} (health probes every 5 s, firstToken 60 s, idle 30 s, least-delay, ladder window 60 s
 * / 20 requests / dwell 20 s: what an operator gets), under an open-loop load of {@code --rate} requests a second,
 * half streamed, 16 tokens out, distinct short prompts (no cache hit can stand in for an answer). Every figure of the
 * report is judged against the acceptance figures of the silent-failures issue in a table at the top.
 */
final class SilentChaos {
  static final String BIG = "qwen3:32b";
  static final String SMALL = "qwen2:7b";
  /** Every scenario, in the order they run. */
  static final List<String> SCENARIOS = List.of("hang", "stall", "black-hole", "busy", "isolation", "small-healthy");
  /** Unanswered requests the users hold before new arrivals are lost (the operator's "could not be sent"). */
  static final int MAX_OUTSTANDING = 200;
  static final Duration POLL = Duration.ofMillis(100);
  /** The issue: a hung node out of rotation within 2 s. */
  static final double OUT_OF_ROTATION_S = 2;
  /** Stalled streams and black holes: "within a few seconds". */
  static final double TAKEN_OUT_S = 5;
  /** The first-token deadline of a node answering in tens of ms (its floor), bounded by the 2 s figure. */
  static final double FAST_NODE_DEADLINE_MS = 2_000;
  static final double DOWNGRADED_P99_MS = 800;
  static final double NORMAL_AFTER_READY_S = 15;
  static final double GOOD_TTFT_MS = 5_000;

  /** What the run was configured with. */
  record Settings(double timeScale, double rate, int beforeSeconds, int hangSeconds, int faultSeconds,
      int afterSeconds, int busyStreams, int holdSeconds, int isolationSeconds, int drainSeconds, int eventLoops) {}

  /** One of the issue's figures: what it asks, what was measured, whether it held. */
  record Claim(String scenario, String criterion, String measured, boolean met) {}

  private final Settings s;
  private final List<Claim> claims = new ArrayList<>();
  private final StringBuilder sections = new StringBuilder();
  private String configJson = "";

  SilentChaos(Settings settings) {
    this.s = settings;
  }

  List<Claim> claims() {
    return claims;
  }

  /** Runs {@code scenarios} (names of {@link #SCENARIOS}) and returns the markdown sections. */
  String run(List<String> scenarios) throws Exception {
    for (String name : SCENARIOS) {
      if (!scenarios.contains(name)) continue;
      System.err.println("chaos: scenario " + name);
      switch (name) {
        case "hang" -> nodeFault("hang", SimFault.node(SimFault.Kind.HUNG_ENGINE), s.hangSeconds(),
            OUT_OF_ROTATION_S, true);
        case "stall" -> nodeFault("stall", SimFault.stall(2), s.faultSeconds(), TAKEN_OUT_S, false);
        case "black-hole" -> nodeFault("black-hole", SimFault.node(SimFault.Kind.BLACK_HOLE), s.faultSeconds(),
            TAKEN_OUT_S, true);
        case "busy" -> busy();
        case "isolation" -> isolation();
        case "small-healthy" -> smallHealthy();
        default -> throw new IllegalArgumentException(name);
      }
    }
    return sections.toString();
  }

  String configJson() {
    return configJson;
  }

  // ------------------------------------------------------------------ scenarios

  /** A node-level fault on the H100 (the fastest node, least-delay's favourite) under the steady load. */
  private void nodeFault(String name, SimFault fault, int faultSeconds, double outBoundS, boolean judgeRate)
      throws Exception {
    try (Cluster c = demo(sim("h100", GpuProfile.H100, BIG, Map.of("maxModelLenTokens", 24576.0)))) {
      long t0 = System.nanoTime();
      try (GatewayWatch watch = new GatewayWatch(c.url(), t0, POLL); ChaosLoad load = new ChaosLoad(c.port, 256, t0)) {
        load.open("load", s.rate(), MAX_OUTSTANDING, SilentChaos::shortChat);
        sleepSeconds(s.beforeSeconds());
        long faultAt = load.now();
        long receivedBefore = c.sim("h100").stats().requestsReceived();
        c.sim("h100").injectFault(fault);
        sleepSeconds(faultSeconds);
        long clearedAt = load.now();
        long receivedDuring = c.sim("h100").stats().requestsReceived() - receivedBefore;
        c.sim("h100").clearFault(fault.kind());
        sleepSeconds(s.afterSeconds());
        long endAt = load.now();
        load.stopAndDrain(Duration.ofSeconds(s.drainSeconds()));
        List<Result> all = load.results();
        long from = Math.min(2_000_000_000L, faultAt / 2); // the first seconds warm up (JIT, speed estimates)
        double before = rate(all, Result::real, from, faultAt);
        double during = rate(all, Result::real, faultAt, clearedAt);
        // one normal answer: requests of the steady phase that also ended before the fault (none it caught)
        double normalP99 = latency(sentIn(all, from, faultAt).stream()
            .filter(r -> r.doneNanos() < faultAt).toList(), 99);
        double p99 = latency(sentIn(all, faultAt, clearedAt), 99);
        NodeSample out = watch.first("h100", faultAt, x -> !x.inRotation());
        NodeSample back = out == null ? null
            : watch.first("h100", Math.max(clearedAt, out.atNanos()), NodeSample::inRotation);
        List<Result> fallbacks = all.stream().filter(r -> r.doneNanos() >= faultAt).filter(Result::fallback).toList();
        long staticAfter = count(all, r -> r.doneNanos() >= clearedAt && r.outcome() == Outcome.STATIC);
        boolean othersReady = List.of("a10", "a100").stream()
            .allMatch(o -> watch.matching(o, faultAt, endAt, x -> !x.inRotation()).isEmpty());
        String outText = out == null ? "never (in " + fmt(faultSeconds) + " s)" : sec(out.atNanos() - faultAt);
        claim(name, "h100 out of rotation within " + fmt(outBoundS) + " s", outText,
            out != null && out.atNanos() - faultAt <= outBoundS * 1e9);
        claim(name, "0 static or downgraded answers during and after the fault while a10 and a100 are READY"
                + (othersReady ? "" : " (they were not all READY: see the section)"),
            fallbacks.size() + " (" + count(fallbacks, r -> r.outcome() == Outcome.STATIC) + " static, "
                + count(fallbacks, r -> r.outcome() == Outcome.DOWNGRADED) + " downgraded)", fallbacks.isEmpty());
        if (judgeRate) {
          claim(name, "completed requests/s during the fault ≥ 80 % of before", String.format(Locale.ROOT,
              "%.1f vs %.1f req/s (%.0f %%)", during, before, pct(during, before)), during >= 0.8 * before);
          claim(name, "p99 of requests sent during the fault ≤ deadline (" + fmt(FAST_NODE_DEADLINE_MS / 1000)
                  + " s) + one normal answer (" + ms(normalP99) + ")", ms(p99),
              p99 <= FAST_NODE_DEADLINE_MS + normalP99);
        }
        heading(name, fault.describe() + " on h100 for " + faultSeconds + " s");
        line("The fault is switched on " + fmt(faultAt / 1e9) + " s after the load started (" + fmt(s.beforeSeconds())
            + " s of steady load, the first " + sec(from) + " not judged) and cleared " + faultSeconds + " s later; "
            + fmt(s.afterSeconds()) + " s of load follow. Requests are counted in the phase they were sent in; "
            + "latency is send → last byte; a request still unanswered " + s.drainSeconds() + " s after the load "
            + "stopped counts as unfinished with its latency up to then (a lower bound).");
        line("");
        phaseTable(all, List.of(new Phase("before", from, faultAt), new Phase("fault", faultAt, clearedAt),
            new Phase("after", clearedAt, endAt)));
        line("- completed real answers per second (by end time): " + String.format(Locale.ROOT,
            "%.1f before, %.1f during the fault (%.0f %%), %.1f after", before, during, pct(during, before),
            rate(all, Result::real, clearedAt, endAt)));
        line("- h100 out of rotation: **" + outText + "** after the fault" + (out == null ? ""
            : " (" + out.state() + (out.ejected() ? ", ejected" : out.eligible() ? "" : ", not eligible") + "; "
                + "last state change: " + out.reason() + ")") + "; back in rotation: "
            + (back == null ? "not within the run" : sec(back.atNanos() - clearedAt) + " after the fault cleared"));
        line("- generation requests h100 received during the fault: " + receivedDuring + "; answered by (requests "
            + "sent during the fault): " + ChaosLoad.byNode(sentIn(all, faultAt, clearedAt)));
        line("- static or downgraded answers during and after the fault: **" + fallbacks.size() + "**"
            + (fallbacks.isEmpty() ? "" : ", the first " + sec(fallbacks.stream().mapToLong(Result::doneNanos)
                .min().orElse(0) - faultAt) + " after the fault; static after it cleared: " + staticAfter));
        line("- arrivals not sent (" + MAX_OUTSTANDING + " unanswered already): " + load.notSent());
        line("- node states: " + watch.states(0, endAt));
        line("- levels of `" + BIG + "`: " + watch.levels(BIG, 0, endAt));
        line("");
      }
    }
  }

  /**
   * {@code --busy-streams} long streams held on one node (an H100 at a hundredth of the time scale, so they last
   * the whole hold at a few hundred chunks a second), short requests of the other model beside them.
   */
  private void busy() throws Exception {
    try (Cluster c = new Cluster(s)
        .node(sim("busy", GpuProfile.H100, BIG, Map.of("maxModelLenTokens", 24576.0))
            .withTimeScale(s.timeScale() / 100))
        .node(sim("small", GpuProfile.A10, SMALL, Map.of("kvCapacityTokens", 32768.0)))
        .start(false)) {
      configJson = c.configJson;
      long t0 = System.nanoTime();
      try (GatewayWatch watch = new GatewayWatch(c.url(), t0, POLL);
          ChaosLoad streams = new ChaosLoad(c.port, s.busyStreams() + 100, t0);
          ChaosLoad users = new ChaosLoad(c.port, 64, t0)) {
        streams.closed("long streams", s.busyStreams(), Duration.ofSeconds(1), n -> new Shape(BIG, true, 200, "#" + n
            + " Write a long essay on backpressure."));
        users.open("small users", 5, 64, n -> new Shape(SMALL, n % 2 == 0, 16, "#" + n + " Say hi."));
        long peak = 0;
        long endAt = (long) (s.holdSeconds() * 1e9);
        while (users.now() < endAt) {
          peak = Math.max(peak, c.sim("busy").stats().active());
          Thread.sleep(100);
        }
        users.stopAndDrain(Duration.ofSeconds(s.drainSeconds()));
        streams.stop();
        List<Result> small = sentIn(users.results(), 0, endAt);
        List<Result> ended = streams.results(r -> r.doneNanos() < endAt);
        NodeSample notReady = watch.first("busy", 0, x -> !"READY".equals(x.state()) || x.ejected());
        long answered = count(small, r -> r.outcome() == Outcome.ANSWERED);
        claim("busy", s.busyStreams() + " long streams on one node: it stays READY (probes pass)",
            notReady == null ? "READY throughout " + s.holdSeconds() + " s"
                : notReady.state() + (notReady.ejected() ? " (ejected)" : "") + " after " + sec(notReady.atNanos())
                    + ": " + notReady.reason(), notReady == null);
        claim("busy", "short requests to the other model answered", answered + " of " + small.size(),
            answered == small.size() && !small.isEmpty());
        heading("busy", s.busyStreams() + " long streams on one node");
        line("Nodes: `busy` (H100, " + BIG + ", time scale " + fmt(s.timeScale() / 100) + ": 200-token streams last "
            + "minutes) and `small` (A10, " + SMALL + "). " + s.busyStreams() + " closed-loop clients stream "
            + BIG + " (200 tokens; a client whose request ended sends the next one a second after the last), 5 "
            + "short " + SMALL + " requests a second beside them, for " + s.holdSeconds() + " s; the gateway keeps "
            + "at most 256 connections per node (its default pool).");
        line("");
        line("- streams running on `busy` at most: " + peak);
        line("- `busy` left READY or was ejected: **" + (notReady == null ? "never" : sec(notReady.atNanos())
            + " after the streams started (" + notReady.state() + ": " + notReady.reason() + ")") + "**");
        line("- long " + BIG + " streams that ended during the hold: " + ChaosLoad.outcomes(ended) + reasons(ended));
        line("- short " + SMALL + " requests: " + ChaosLoad.outcomes(small) + ", TTFT p50 " + ms(ttft(small,
            50)) + " p99 " + ms(ttft(small, 99)));
        line("- node states: " + watch.states(0, endAt));
        line("- levels: `" + BIG + "` " + watch.levels(BIG, 0, endAt) + "; `" + SMALL + "` " + watch.levels(SMALL, 0,
            endAt));
        line("");
      }
    }
  }

  /**
   * Every qwen3 node down and the operator's DOWNGRADE level on qwen3:32b, 300 qwen3 users with long answers (more
   * than the small A10 runs at once), and qwen2:7b's own users beside them.
   */
  private void isolation() throws Exception {
    try (Cluster c = demo(sim("h100", GpuProfile.H100, BIG, Map.of("maxModelLenTokens", 24576.0)))) {
      long t0 = System.nanoTime();
      List.of("a10", "a100", "h100").forEach(n -> c.sim(n).injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS)));
      int status = post(c.url() + "/admin/degradation", "{\"level\":\"downgrade\",\"model\":\"" + BIG + "\"}");
      if (status != 200) throw new IllegalStateException("POST /admin/degradation answered " + status);
      try (GatewayWatch watch = new GatewayWatch(c.url(), t0, POLL);
          ChaosLoad big = new ChaosLoad(c.port, 400, t0);
          ChaosLoad own = new ChaosLoad(c.port, 64, t0)) {
        big.closed("big users", 300, Duration.ofSeconds(1), n -> new Shape(BIG, false, 300, "#" + n + " Write a long essay on backpressure."));
        sleepSeconds(5);
        long ownAt = own.now();
        own.open("small users", 4, 64, n -> new Shape(SMALL, n % 2 == 0, 16, "#" + n + " Say hi."));
        sleepSeconds(s.isolationSeconds());
        long endAt = own.now();
        own.stopAndDrain(Duration.ofSeconds(s.drainSeconds()));
        big.stop();
        List<Result> mine = sentIn(own.results(), ownAt, endAt);
        long served = count(mine, r -> r.outcome() == Outcome.ANSWERED && "small".equals(r.node())
            && r.ttftMillis() <= GOOD_TTFT_MS);
        List<Result> bigDuring = big.results(r -> r.doneIn(ownAt, endAt));
        claim("isolation", "qwen2:7b's own users answered by qwen2:7b (TTFT ≤ 5 s) while downgraded traffic runs: "
            + "≥ 90 %", String.format(Locale.ROOT, "%d of %d (%.0f %%)", served, mine.size(),
            pct(served, mine.size())), mine.size() > 0 && served >= 0.9 * mine.size());
        heading("isolation", "downgraded traffic beside the small model's own users");
        line("All three " + BIG + " nodes refuse connections and the operator set `" + BIG + "` to DOWNGRADE "
            + "(`POST /admin/degradation`), so every " + BIG + " request goes to `small` (A10, " + SMALL + ", KV "
            + "32,768 tokens: ~100 of these answers at once). 300 closed-loop " + BIG + " users ask for 300-token "
            + "answers (not streamed; the next request a second after the last at the soonest); after 5 s, " + SMALL
            + "'s own users send 4 short requests a second (half streamed) for " + s.isolationSeconds() + " s.");
        line("");
        line("- " + SMALL + "'s own users: " + ChaosLoad.outcomes(mine) + reasons(mine) + ", answered by `small` "
            + "with TTFT ≤ 5 s: **" + served + " of " + mine.size() + "**, TTFT p50 " + ms(ttft(mine, 50))
            + " p99 " + ms(ttft(mine, 99)));
        line("- " + BIG + "'s users, answers that ended meanwhile: " + ChaosLoad.outcomes(bigDuring)
            + reasons(bigDuring));
        line("- levels: `" + BIG + "` " + watch.levels(BIG, 0, endAt) + "; `" + SMALL + "` " + watch.levels(SMALL, 0,
            endAt));
        line("");
      }
    }
  }

  /** Every qwen3 node down while qwen2:7b is healthy, then back. */
  private void smallHealthy() throws Exception {
    try (Cluster c = demo(sim("h100", GpuProfile.H100, BIG, Map.of("maxModelLenTokens", 24576.0)))) {
      long t0 = System.nanoTime();
      List<String> bigNodes = List.of("a10", "a100", "h100");
      double rate = Math.min(20, s.rate());
      try (GatewayWatch watch = new GatewayWatch(c.url(), t0, POLL); ChaosLoad load = new ChaosLoad(c.port, 256, t0)) {
        load.open("load", rate, MAX_OUTSTANDING, SilentChaos::shortChat);
        sleepSeconds(s.beforeSeconds());
        long downAt = load.now();
        bigNodes.forEach(n -> c.sim(n).injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS)));
        sleepSeconds(s.faultSeconds());
        long restartAt = load.now();
        bigNodes.forEach(n -> c.sim(n).clearFault(SimFault.Kind.REFUSE_CONNECTIONS));
        long readyAt = -1;
        long normalAt = -1;
        long giveUp = restartAt + 30_000_000_000L;
        while (load.now() < giveUp) {
          if (readyAt < 0 && bigNodes.stream().allMatch(n -> watch.first(n, restartAt, x -> "READY".equals(x.state()))
              != null)) {
            readyAt = bigNodes.stream().mapToLong(n -> watch.first(n, restartAt, x -> "READY".equals(x.state()))
                .atNanos()).max().orElse(-1);
            giveUp = readyAt + (long) ((NORMAL_AFTER_READY_S + 15) * 1e9);
          }
          if (readyAt >= 0 && watch.firstLevel(BIG, "NORMAL", readyAt) >= 0) {
            normalAt = watch.firstLevel(BIG, "NORMAL", readyAt);
            break;
          }
          Thread.sleep(100);
        }
        long endAt = load.now();
        load.stopAndDrain(Duration.ofSeconds(s.drainSeconds()));
        List<Result> all = load.results();
        List<Result> down = sentIn(all, downAt, restartAt);
        List<Result> downgraded = down.stream().filter(r -> r.outcome() == Outcome.DOWNGRADED).toList();
        double p99 = latency(downgraded, 99);
        long staticAfter = count(sentIn(all, restartAt, endAt), r -> r.outcome() == Outcome.STATIC);
        claim("small-healthy", "all " + BIG + " nodes down, " + SMALL + " healthy: ≥ 90 % real (downgraded) answers",
            String.format(Locale.ROOT, "%.1f %% (%d of %d)", pct(downgraded.size(), down.size()), downgraded.size(),
                down.size()), down.size() > 0 && downgraded.size() >= 0.9 * down.size());
        claim("small-healthy", "p99 of those ≤ 800 ms", ms(p99), !downgraded.isEmpty() && p99 <= DOWNGRADED_P99_MS);
        String toNormal = readyAt < 0 ? "nodes not READY within 30 s" : normalAt < 0 ? "not within "
            + sec(endAt - readyAt) : sec(normalAt - readyAt);
        claim("small-healthy", BIG + " NORMAL within 15 s of the nodes being READY", toNormal,
            readyAt >= 0 && normalAt >= 0 && normalAt - readyAt <= NORMAL_AFTER_READY_S * 1e9);
        heading("small-healthy", "every " + BIG + " node down while " + SMALL + " is healthy");
        line(fmt(rate) + " requests a second; after " + s.beforeSeconds() + " s the three " + BIG + " nodes refuse "
            + "connections for " + s.faultSeconds() + " s, then listen again; the run goes on until `" + BIG
            + "` is back at NORMAL (at most " + fmt(NORMAL_AFTER_READY_S + 15) + " s after the nodes are READY).");
        line("");
        phaseTable(all, List.of(new Phase("before", Math.min(2_000_000_000L, downAt / 2), downAt),
            new Phase("down", downAt, restartAt), new Phase("back", restartAt, endAt)));
        line("- while down: real (downgraded) answers **" + String.format(Locale.ROOT, "%.1f %%", pct(downgraded.size(),
            down.size())) + "**, p99 of those **" + ms(p99) + "**, answered by " + ChaosLoad.byNode(down));
        line("- restart → all " + BIG + " nodes READY: " + (readyAt < 0 ? "not within 30 s" : sec(readyAt - restartAt))
            + "; READY → `" + BIG + "` NORMAL: **" + toNormal + "**");
        line("- static answers to requests sent after the restart: " + staticAfter);
        line("- node states: " + watch.states(downAt, endAt));
        line("- levels of `" + BIG + "`: " + watch.levels(BIG, 0, endAt) + "; `" + SMALL + "`: "
            + watch.levels(SMALL, 0, endAt));
        line("");
      }
    }
  }

  // ------------------------------------------------------------------ cluster

  /** The demo's four nodes, the H100 given by the caller; started, all READY. */
  private Cluster demo(SimOptions h100) throws Exception {
    Cluster c = new Cluster(s)
        .node(sim("a10", GpuProfile.A10, BIG, Map.of("kvCapacityTokens", 24576.0)))
        .node(sim("a100", GpuProfile.A100, BIG, Map.of("maxModelLenTokens", 24576.0)))
        .node(h100)
        .node(sim("small", GpuProfile.A10, SMALL, Map.of("kvCapacityTokens", 32768.0)))
        .start(true);
    configJson = c.configJson;
    return c;
  }

  private SimOptions sim(String id, GpuProfile gpu, String model, Map<String, Double> overrides) {
    return SimOptions.defaults().withId(id).withGpu(gpu).withModels(model).withTimeScale(s.timeScale())
        .withOverrides(overrides);
  }

  /** Simulated nodes on one Vertx and a gateway on another, configured through the file format. */
  private static final class Cluster implements AutoCloseable {
    final Vertx simVertx = Vertx.vertx();
    final Vertx gatewayVertx = Vertx.vertx();
    final Map<String, SimNode> sims = new LinkedHashMap<>();
    final Settings settings;
    Gateway gateway;
    int port;
    String configJson;

    Cluster(Settings settings) {
      this.settings = settings;
    }

    Cluster node(SimOptions o) throws Exception {
      sims.put(o.id(), await(SimNode.start(simVertx, o)));
      return this;
    }

    SimNode sim(String id) {
      return sims.get(id);
    }

    String url() {
      return "http://127.0.0.1:" + port;
    }

    Cluster start(boolean downgrade) throws Exception {
      ObjectNode root = Json.MAPPER.createObjectNode();
      root.putObject("auth").put("mode", "none");
      if (downgrade) root.putObject("degradation").putObject("downgrade").put(BIG, SMALL);
      ObjectNode providers = root.putObject("providers");
      for (String model : List.of(BIG, SMALL)) {
        ObjectNode p = providers.putObject(model.equals(BIG) ? "qwen3:32b-prod" : "qwen2:7b").put("api", "ollama");
        p.putArray("models").addObject().put("id", model).put("contextWindow", model.equals(BIG) ? 24576 : 32768)
            .put("maxTokens", 4096);
        ArrayNode nodes = p.putArray("nodes");
        for (SimNode n : sims.values()) {
          if (!n.options().models().contains(model)) continue;
          String gpu = n.options().gpu().name();
          nodes.addObject().put("id", n.options().id()).put("baseUrl", n.baseUrl())
              .put("gpuType", gpu.contains("_") ? gpu.substring(0, gpu.indexOf('_')) : gpu)
              .put("metricsUrl", n.baseUrl() + "/metrics");
        }
      }
      configJson = Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
      gateway = new Gateway(gatewayVertx, new ConfigHolder(ConfigLoader.parse(configJson, "chaos")),
          new SluiceMetrics(), settings.eventLoops());
      port = await(gateway.start("127.0.0.1", 0));
      long readyBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!gateway.registry().all().stream().allMatch(e -> e.health().state() == NodeState.READY)) {
        if (System.nanoTime() > readyBy) throw new IllegalStateException("the nodes did not become READY in 30 s");
        Thread.sleep(50);
      }
      return this;
    }

    @Override
    public void close() {
      if (gateway != null) quietly(gateway.close());
      for (SimNode n : sims.values()) quietly(n.close());
      quietly(gatewayVertx.close());
      quietly(simVertx.close());
    }
  }

  // ------------------------------------------------------------------ report pieces

  /** A judged window of a scenario, ns since its t0. */
  private record Phase(String name, long from, long to) {}

  private void phaseTable(List<Result> all, List<Phase> phases) {
    line("| phase | s | sent | answered | downgraded | static | rejected | failed | unfinished | p50 ms | p99 ms "
        + "| max ms |");
    line("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (Phase p : phases) {
      List<Result> in = sentIn(all, p.from(), p.to());
      Map<Outcome, Long> o = ChaosLoad.outcomes(in);
      line("| " + p.name() + " | " + fmt((p.to() - p.from()) / 1e9) + " | " + in.size() + " | "
          + o.getOrDefault(Outcome.ANSWERED, 0L) + " | " + o.getOrDefault(Outcome.DOWNGRADED, 0L) + " | "
          + o.getOrDefault(Outcome.STATIC, 0L) + " | " + o.getOrDefault(Outcome.REJECTED, 0L) + " | "
          + o.getOrDefault(Outcome.FAILED, 0L) + " | " + o.getOrDefault(Outcome.UNFINISHED, 0L) + " | "
          + num(latency(in, 50)) + " | " + num(latency(in, 99)) + " | "
          + num(latency(in, 100)) + " |");
    }
    line("");
  }

  /** The most common reasons of the failed and rejected ones, e.g. {@code ; 44 × 503 upstream_busy}. */
  private static String reasons(List<Result> rs) {
    Map<String, Long> m = new LinkedHashMap<>();
    for (Result r : rs) {
      if (r.outcome() != Outcome.FAILED && r.outcome() != Outcome.REJECTED) continue;
      m.merge((r.status() > 0 ? r.status() + " " : "") + (r.detail() == null ? "" : r.detail()), 1L, Long::sum);
    }
    if (m.isEmpty()) return "";
    return " (" + m.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue(), a.getValue())).limit(3)
        .map(e -> e.getValue() + " × " + e.getKey().strip()).collect(Collectors.joining("; ")) + ")";
  }

  private void claim(String scenario, String criterion, String measured, boolean met) {
    claims.add(new Claim(scenario, criterion, measured, met));
  }

  private void heading(String name, String what) {
    line("## " + name + ": " + what);
    line("");
  }

  private void line(String text) {
    sections.append(text).append('\n');
  }

  // ------------------------------------------------------------------ helpers

  /** Short chat, half streamed, 16 tokens out, each prompt distinct. */
  private static Shape shortChat(int n) {
    return new Shape(BIG, n % 2 == 0, 16, "#" + n + " Explain backpressure in one sentence.");
  }

  private static List<Result> sentIn(List<Result> rs, long from, long to) {
    return rs.stream().filter(r -> r.sentIn(from, to)).toList();
  }

  private static long count(List<Result> rs, Predicate<Result> p) {
    return rs.stream().filter(p).count();
  }

  private static double rate(List<Result> rs, Predicate<Result> p, long from, long to) {
    return to <= from ? 0 : rs.stream().filter(r -> r.doneIn(from, to)).filter(p).count() / ((to - from) / 1e9);
  }

  private static int post(String url, String json) throws Exception {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    return client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
        .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build(),
        HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  private static void sleepSeconds(double seconds) throws InterruptedException {
    Thread.sleep((long) (seconds * 1000));
  }

  static double pct(double part, double whole) {
    return whole == 0 ? 0 : 100 * part / whole;
  }

  static String sec(long nanos) {
    return String.format(Locale.ROOT, "%.2f s", nanos / 1e9);
  }

  /** p-th percentile of the latencies (ms), NaN when there are none (printed as "–"). */
  private static double latency(List<Result> rs, double p) {
    return rs.isEmpty() ? Double.NaN : ChaosLoad.latencyPercentile(rs, p);
  }

  /** p-th percentile of the times to first byte (ms), NaN when there are none. */
  private static double ttft(List<Result> rs, double p) {
    return rs.isEmpty() ? Double.NaN : ChaosLoad.ttftPercentile(rs, p);
  }

  static String ms(double millis) {
    return Double.isNaN(millis) ? "–" : String.format(Locale.ROOT, "%,.0f ms", millis);
  }

  private static String num(double millis) {
    return Double.isNaN(millis) ? "–" : String.format(Locale.ROOT, millis >= 100 ? "%,.0f" : "%.1f", millis);
  }

  static String fmt(double d) {
    return d == Math.rint(d) ? Long.toString((long) d) : String.format(Locale.ROOT, "%.2f", d);
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
