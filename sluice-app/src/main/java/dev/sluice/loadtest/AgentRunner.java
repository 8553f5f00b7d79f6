package dev.sluice.loadtest;

import dev.sluice.loadtest.AgentWorkload.Request;
import dev.sluice.loadtest.AgentWorkload.Session;
import dev.sluice.loadtest.AgentWorkload.Step;
import dev.sluice.support.Clock;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Runs {@link AgentWorkload} sessions against a gateway. Closed loop ({@code users}): that many sessions at once,
 * each replaced by the next session when it ends. Open loop ({@code rate}): sessions start at that rate. Within a
 * session the next step is sent when every request of the last one answered and its think time (times
 * {@code thinkScale}) passed; a burst's sub-agents are sent together. Each request carries
 * {@link AgentWorkload#SESSION_HEADER}. The run stops at the plan's request count or duration; a session thinking past
 * the end is not waited for. TTFT is split by cached-eligible turns; the prefix-cache hit rate comes from the nodes'
 * {@code /metrics} ({@code nodeUrls}), scraped before and after.
 */
public final class AgentRunner {
  static final String HITS = "vllm:prefix_cache_hits_total";
  static final String QUERIES = "vllm:prefix_cache_queries_total";

  private final LoadPlan plan;
  private final AgentWorkload workload;
  private final double thinkScale;
  private final List<URI> nodeUrls;
  private final Clock clock;
  private final LoadRunner http;
  private final AgentStats stats = new AgentStats();
  private final AtomicLong nextSession = new AtomicLong();
  private final AtomicLong issued = new AtomicLong();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger liveSessions = new AtomicInteger();

  public AgentRunner(LoadPlan plan, AgentWorkload workload, double thinkScale, List<URI> nodeUrls) {
    this(plan, workload, thinkScale, nodeUrls, Clock.SYSTEM);
  }

  public AgentRunner(LoadPlan plan, AgentWorkload workload, double thinkScale, List<URI> nodeUrls, Clock clock) {
    this.plan = Objects.requireNonNull(plan, "plan");
    this.workload = Objects.requireNonNull(workload, "workload");
    if (!(thinkScale >= 0)) throw new IllegalArgumentException("--think-scale " + thinkScale + " must be >= 0");
    this.thinkScale = thinkScale;
    this.nodeUrls = List.copyOf(nodeUrls);
    this.clock = Objects.requireNonNull(clock, "clock");
    this.http = new LoadRunner(plan, PromptMix.builtIn(0, 1), clock);
  }

  /** The statistics of what was sent. */
  public AgentStats stats() {
    return stats;
  }

  public void checkReachable() throws IOException, InterruptedException {
    http.checkReachable();
  }

  public BenchResult run(Consumer<BenchResult> progress) throws InterruptedException {
    long[] before = counters();
    long start = clock.nanos();
    BenchResult result = new BenchResult(start, clock, plan.slo());
    long deadline = plan.duration() == null ? Long.MAX_VALUE : start + plan.duration().toNanos();
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "bench-agent-timer");
      t.setDaemon(true);
      return t;
    });
    Object lock = new Object();
    Runnable changed = () -> {
      synchronized (lock) {
        lock.notifyAll();
      }
    };
    try {
      if (progress != null) timer.scheduleAtFixedRate(() -> progress.accept(result), 1, 1, TimeUnit.SECONDS);
      if (plan.openLoop()) {
        long period = (long) (1e9 / plan.rate());
        timer.scheduleAtFixedRate(() -> {
          if (!stopped(deadline)) startSession(result, timer, deadline, changed, false);
        }, 0, period, TimeUnit.NANOSECONDS);
      } else {
        long step = plan.users() <= 1 ? 0 : plan.rampUp().toNanos() / plan.users();
        for (int i = 0; i < plan.users(); i++) {
          liveSessions.incrementAndGet();
          timer.schedule(() -> startSession(result, timer, deadline, changed, true), i * step, TimeUnit.NANOSECONDS);
        }
      }
      long giveUp = Long.MAX_VALUE;
      synchronized (lock) {
        while (true) {
          boolean done = stopped(deadline) && inFlight.get() == 0 || !plan.openLoop() && liveSessions.get() == 0;
          if (done) break;
          if (stopped(deadline) && giveUp == Long.MAX_VALUE) {
            giveUp = clock.nanos() + plan.requestTimeout().plus(Duration.ofSeconds(5)).toNanos();
          }
          if (clock.nanos() > giveUp) break;
          lock.wait(100);
        }
      }
    } finally {
      timer.shutdownNow();
    }
    long[] after = counters();
    double hitRate = before == null || after == null || after[1] - before[1] <= 0 ? Double.NaN
        : (double) (after[0] - before[0]) / (after[1] - before[1]);
    result.agent(hitRate, stats.table());
    result.finish(clock.nanos(), "agent sessions, " + plan.describe() + ", think scale " + thinkScale);
    return result;
  }

  private boolean stopped(long deadline) {
    return clock.nanos() >= deadline || plan.requests() > 0 && issued.get() >= plan.requests();
  }

  private boolean take(long deadline) {
    if (clock.nanos() >= deadline) return false;
    if (plan.requests() <= 0) return true;
    if (issued.incrementAndGet() <= plan.requests()) return true;
    issued.decrementAndGet();
    return false;
  }

  /** Runs session after session (closed loop: a user; open loop: one session) until the plan stops. */
  private void startSession(BenchResult result, ScheduledExecutorService timer, long deadline, Runnable changed,
      boolean repeat) {
    if (stopped(deadline)) {
      if (repeat) liveSessions.decrementAndGet();
      changed.run();
      return;
    }
    Session session = workload.session(nextSession.getAndIncrement());
    Runnable ended = repeat ? () -> startSession(result, timer, deadline, changed, true) : changed;
    step(session, result, timer, deadline, ended, changed);
  }

  private void step(Session session, BenchResult result, ScheduledExecutorService timer, long deadline,
      Runnable ended, Runnable changed) {
    Step step = session.next();
    if (step == null) {
      ended.run();
      return;
    }
    long delay = Math.round(step.thinkMillis() * thinkScale);
    if (deadline != Long.MAX_VALUE && clock.nanos() + delay * 1_000_000 >= deadline) {
      ended.run(); // thinking past the end of the run
      return;
    }
    Runnable send = () -> {
      inFlight.incrementAndGet(); // held while tickets are taken, so the run cannot end in between
      List<Request> sent = new ArrayList<>();
      for (Request r : step.requests()) {
        if (!take(deadline)) break;
        sent.add(r);
      }
      inFlight.addAndGet(sent.size() - 1);
      if (sent.isEmpty()) {
        changed.run();
        ended.run();
        return;
      }
      List<CompletableFuture<?>> all = new ArrayList<>();
      for (Request r : sent) {
        all.add(http.send(r.body(plan.model()), r.stream(), Map.of(AgentWorkload.SESSION_HEADER, r.sessionId()))
            .thenAccept(s -> {
              result.record(s, r.cachedEligible());
              inFlight.decrementAndGet();
              changed.run();
            }));
      }
      stats.add(step, sent);
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
          .whenComplete((v, e) -> step(session, result, timer, deadline, ended, changed));
    };
    try {
      timer.schedule(send, delay, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      ended.run(); // the run is over
    }
  }

  /** Summed hits and queries of every node's prefix cache, or null when no node exposes both counters. */
  long[] counters() {
    if (nodeUrls.isEmpty()) return null;
    long hits = 0;
    long queries = 0;
    boolean found = false;
    for (URI node : nodeUrls) {
      String base = node.toString().replaceAll("/+$", "");
      try {
        HttpResponse<String> r = http.client().send(HttpRequest.newBuilder(URI.create(base + "/metrics"))
            .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) continue;
        double[] hq = parse(r.body());
        if (hq == null) continue;
        found = true;
        hits += (long) hq[0];
        queries += (long) hq[1];
      } catch (IOException e) {
        // a node that does not answer contributes nothing
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      }
    }
    return found ? new long[] {hits, queries} : null;
  }

  /** Sums every series of the two counters in a Prometheus text exposition; null when either is absent. */
  static double[] parse(String exposition) {
    double hits = 0;
    double queries = 0;
    boolean h = false;
    boolean q = false;
    for (String line : exposition.split("\n")) {
      if (line.startsWith("#")) continue;
      int end = line.indexOf('{') >= 0 ? line.indexOf('{') : line.indexOf(' ');
      if (end < 0) continue;
      String name = line.substring(0, end);
      boolean isHits = name.equals(HITS);
      boolean isQueries = name.equals(QUERIES);
      if (!isHits && !isQueries) continue;
      String rest = line.charAt(end) == '{' ? line.substring(line.lastIndexOf('}') + 1) : line.substring(end);
      String[] parts = rest.trim().split("\\s+");
      double v;
      try {
        v = Double.parseDouble(parts[0]);
      } catch (NumberFormatException e) {
        continue;
      }
      if (isHits) {
        hits += v;
        h = true;
      } else {
        queries += v;
        q = true;
      }
    }
    return h && q ? new double[] {hits, queries} : null;
  }
}
