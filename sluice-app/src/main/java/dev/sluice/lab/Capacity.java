package dev.sluice.lab;

import dev.sluice.loadtest.AgentWorkload;
import dev.sluice.sim.Admission;
import dev.sluice.sim.BatchEngine;
import dev.sluice.sim.EngineControl;
import dev.sluice.sim.EngineProfile;
import dev.sluice.sim.GpuProfile;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Estimated capacity (requests per second) of a node and of a cluster for a workload's request sizes, from the
 * engine profiles: one {@link BatchEngine} alone is kept busy in a closed loop (a new request as soon as one ends)
 * with {@link #concurrency} requests in flight, the most whose weight-bound decode step stays within half the
 * time-per-output-token SLO (so prefill chunks still fit under it) or the engine's own slot and KV limits,
 * whichever binds first; completions per second over {@link #MEASURE_SECONDS} after {@link #WARMUP_SECONDS}. A
 * cluster's capacity is the sum of its nodes': what a perfect router could serve within the decode SLO. Seeded and
 * cached, so every run and policy use the same figure.
 *
 * <p>Agent workloads: the request sizes (input tokens, max_tokens) of {@link #AGENT_SAMPLE_SESSIONS} whole sessions,
 * drawn at random, without prompt token ids: the capacity without prefix reuse (a cache that hits serves more).
 */
public final class Capacity {
  /** Target weight-bound step time: half the TPOT SLO. */
  static final double TARGET_STEP_NANOS = LabSimulation.TPOT_SLO_NANOS / 2.0;
  static final double WARMUP_SECONDS = 120;
  static final double MEASURE_SECONDS = 1_800;
  private static final long SEED = 20_260_501L;
  /** Sessions whose requests give an agent workload's sizes and requests per session. */
  static final int AGENT_SAMPLE_SESSIONS = 200;
  private static final Map<String, Double> CACHE = new ConcurrentHashMap<>();
  private static final Map<Workload, AgentSample> AGENT_SAMPLES = new ConcurrentHashMap<>();

  private Capacity() {}

  /** Requests per second {@code cluster} can serve within the decode SLO, for {@code workload}'s sizes. */
  public static double of(LabCluster cluster, Workload workload) {
    return of(cluster.nodes(), workload);
  }

  /** The sum of the nodes' capacities. */
  public static double of(List<LabCluster.NodeSpec> nodes, Workload workload) {
    double sum = 0;
    for (LabCluster.NodeSpec node : nodes) {
      sum += node(node.gpu(), workload);
    }
    return sum;
  }

  /**
   * The capacity {@code scenario} leaves {@code cluster} over a run of {@code durationNanos}, time-weighted: each
   * node's capacity times the share of the run it can serve (none while down or hung, ×{@link
   * Scenario#THROTTLE_FACTOR} while throttled; a node reading hot at full speed loses nothing). What a perfect router
   * could serve through the events; equals {@link #of(LabCluster, Workload)} for steady runs.
   */
  public static double available(LabCluster cluster, Workload workload, Scenario scenario, long durationNanos) {
    double sum = 0;
    List<Scenario.LabEvent> events = scenario.events(cluster, durationNanos);
    for (LabCluster.NodeSpec node : cluster.nodes()) {
      double share = 1;
      for (Scenario.LabEvent e : events) {
        if (!e.nodeId().equals(node.id())) {
          continue;
        }
        double span = (Math.min(e.untilNanos(), durationNanos) - Math.max(0, e.fromNanos())) / (double) durationNanos;
        share -= switch (e.kind()) {
          case DOWN, HUNG -> span;
          case THROTTLE -> span * (1 - Scenario.THROTTLE_FACTOR);
          case HOT -> 0;
        };
      }
      sum += node(node.gpu(), workload) * Math.max(0, share);
    }
    return sum;
  }

  /** In-flight requests used to measure {@code profile}: decode step ≤ {@link #TARGET_STEP_NANOS}, ≤ max running. */
  static int concurrency(EngineProfile profile) {
    double t1 = profile.decodeMillisPerToken() * 1e6;
    double beta = profile.batchSlope();
    int byStep = beta <= 0 ? profile.maxRunning() : (int) Math.floor(1 + (TARGET_STEP_NANOS / t1 - 1) / beta);
    return Math.max(1, Math.min(profile.maxRunning(), byStep));
  }

  /** Requests per second one node of {@code gpu} completes for {@code workload}'s sizes (cached). */
  public static double node(GpuProfile gpu, Workload workload) {
    Workload sizes = workload == Workload.BURSTY ? Workload.CHAT : workload;
    return CACHE.computeIfAbsent(gpu + "/" + sizes, k -> measure(gpu, sizes));
  }

  private static double measure(GpuProfile gpu, Workload workload) {
    EngineProfile profile = EngineProfile.of(gpu);
    BatchEngine engine = new BatchEngine(profile, new EngineControl());
    SplittableRandom random = new SplittableRandom(SEED);
    long warmup = (long) (WARMUP_SECONDS * 1e9);
    long end = warmup + (long) (MEASURE_SECONDS * 1e9);
    int[] completed = new int[1];
    BatchEngine.Listener listener = new BatchEngine.Listener() {
      @Override
      public void finished(BatchEngine.Sequence sequence, long atNanos) {
        if (atNanos >= warmup && atNanos < end) {
          completed[0]++;
        }
      }
    };
    int inFlight = concurrency(profile);
    // a FIFO longer than the running set would only add waiting: keep the engine just full
    for (int i = 0; i < inFlight; i++) {
      submit(engine, profile, workload, random, listener, 0);
    }
    long now = 0;
    while (now < end) {
      long next = engine.nextEventAt();
      if (next == Long.MAX_VALUE) {
        break;
      }
      now = Math.max(now, next);
      engine.advanceTo(now);
      while (engine.running() + engine.waiting() < inFlight) {
        submit(engine, profile, workload, random, listener, now);
      }
    }
    return completed[0] / MEASURE_SECONDS;
  }

  /** Mean requests (main turns and sub-agents) per whole session of an agent workload. */
  public static double requestsPerSession(Workload workload) {
    return agentSample(workload).requestsPerSession();
  }

  /** Share of an agent workload's requests (whole sessions) whose prompt fits no node of {@code cluster}, 0–1. */
  public static double agentShareTooLong(LabCluster cluster, Workload workload) {
    int longest = 0;
    for (LabCluster.NodeSpec node : cluster.nodes()) {
      EngineProfile profile = EngineProfile.of(node.gpu());
      longest = profile.ollama() ? Integer.MAX_VALUE : Math.max(longest, profile.maxModelLenTokens());
    }
    List<Workload.Size> sizes = agentSample(workload).sizes();
    int limit = longest;
    return (double) sizes.stream().filter(s -> s.promptTokens() >= limit).count() / sizes.size();
  }

  private static AgentSample agentSample(Workload workload) {
    return AGENT_SAMPLES.computeIfAbsent(workload, w -> {
      AgentWorkload agents = w.agentWorkload(SEED);
      List<Workload.Size> sizes = new ArrayList<>();
      for (int i = 0; i < AGENT_SAMPLE_SESSIONS; i++) {
        AgentWorkload.Session session = agents.session(i);
        for (AgentWorkload.Step step = session.next(); step != null; step = session.next()) {
          for (AgentWorkload.Request r : step.requests()) {
            sizes.add(new Workload.Size(r.inputTokens(), r.maxTokens()));
          }
        }
      }
      return new AgentSample(List.copyOf(sizes), (double) sizes.size() / AGENT_SAMPLE_SESSIONS);
    });
  }

  private record AgentSample(List<Workload.Size> sizes, double requestsPerSession) {}

  private static Workload.Size size(Workload workload, SplittableRandom random) {
    if (!workload.agent()) {
      return workload.size(random);
    }
    List<Workload.Size> sizes = agentSample(workload).sizes();
    return sizes.get(random.nextInt(sizes.size()));
  }

  private static void submit(BatchEngine engine, EngineProfile profile, Workload workload, SplittableRandom random,
      BatchEngine.Listener listener, long now) {
    while (true) {
      Workload.Size size = size(workload, random);
      if (!profile.ollama() && size.promptTokens() >= profile.maxModelLenTokens()) {
        continue; // the router would not send it here
      }
      Admission admission = engine.admission(size.promptTokens(), 0);
      if (admission instanceof Admission.Accepted accepted) {
        int output = Math.min(size.outputTokens(), accepted.maxOutputTokens());
        engine.submit(new BatchEngine.Sequence(accepted.promptTokens(), output, listener), now);
        return;
      }
    }
  }
}
