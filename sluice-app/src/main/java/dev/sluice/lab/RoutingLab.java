package dev.sluice.lab;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * The lab's grid: clusters × workloads × scenarios × offered loads × policies × seeds, each a {@link LabSimulation}
 * run, summarised per point and policy as the mean and spread over seeds. Runs are independent and deterministic, so
 * they run in parallel and the results do not depend on the thread count.
 */
public final class RoutingLab {
  /** Offered loads of the headline sweep (C2 chat), as fractions of estimated capacity. */
  static final double[] SWEEP = {0.1, 0.3, 0.5, 0.7, 0.85, 1.0, 1.15, 1.3};
  /** Offered loads of the other cluster/workload combinations. */
  static final double[] COARSE = {0.5, 0.7, 1.0, 1.3};
  /**
   * Offered loads of the agent points: the 50–130 % and beyond, where the knee of the best policy shows
   * (agent capacity is estimated without prefix reuse, so a cache-aware router serves well past 100 %).
   */
  static final double[] AGENT_LOADS = {0.5, 0.7, 1.0, 1.3, 1.6, 2.0, 2.5, 3.0};
  /** Offered loads of the flow-control goals (issue 21): at capacity and 30 % past it. */
  static final double[] FLOW_LOADS = {1.0, 1.3};
  /** Offered loads of the quick grid. */
  static final double[] QUICK = {0.7, 1.3};
  /** Seed of the first run; seed i is {@code FIRST_SEED + i}. */
  static final long FIRST_SEED = 1;

  private RoutingLab() {}

  /**
   * How to run the lab.
   *
   * @param seeds seeds per point (mean and spread over them)
   * @param quick the reduced grid: C2 chat, steady, 70 % and 130 %
   * @param durationSeconds arrival window per run, simulated
   * @param threads parallel runs
   */
  public record Options(int seeds, boolean quick, double durationSeconds, int threads) {
    public Options {
      if (seeds < 1) {
        throw new IllegalArgumentException("seeds: " + seeds + " (expected ≥ 1)");
      }
      if (!(durationSeconds > 0)) {
        throw new IllegalArgumentException("durationSeconds: " + durationSeconds + " (expected > 0)");
      }
      threads = Math.max(1, threads);
    }
  }

  /**
   * One point of the grid.
   *
   * @param cluster which nodes
   * @param workload which requests
   * @param scenario which faults
   * @param load offered load as a fraction of {@link Capacity#of(LabCluster, Workload)}
   */
  public record Point(LabCluster cluster, Workload workload, Scenario scenario, double load) {
    public double offeredPerSecond() {
      return load * Capacity.of(cluster, workload);
    }
  }

  /** Mean, min and max over seeds. */
  public record Stat(double mean, double min, double max) {
    static Stat of(double[] values) {
      double sum = 0;
      double min = Double.POSITIVE_INFINITY;
      double max = Double.NEGATIVE_INFINITY;
      int n = 0;
      for (double v : values) {
        if (Double.isNaN(v)) {
          continue;
        }
        sum += v;
        min = Math.min(min, v);
        max = Math.max(max, v);
        n++;
      }
      return n == 0 ? new Stat(Double.NaN, Double.NaN, Double.NaN) : new Stat(sum / n, min, max);
    }
  }

  /**
   * One policy at one point over the seeds.
   *
   * @param point the point
   * @param policy the policy's label
   * @param arrived requests per run
   * @param throughput completed requests per second
   * @param goodput requests per second meeting the SLO
   * @param ttftP50 seconds
   * @param ttftP99 seconds
   * @param e2eP50 seconds
   * @param e2eP99 seconds
   * @param shed shed requests per run
   * @param failed failed requests per run
   * @param ttftP90 seconds
   * @param prefixHitRate share of queried prompt tokens the engines found cached, 0–1 (NaN without agent turns)
   * @param ttftCachedEligibleP50 seconds, agent turns reusing ≥ 90 % of the previous input
   * @param ttftCachedEligibleP90 seconds
   * @param ttftOtherP50 seconds, the other requests
   * @param ttftOtherP90 seconds
   * @param affinityHitShare share of attempts sent where the router's affinity estimated the prompt warm, 0–1 (NaN
   *     without agent turns)
   * @param affinityMoveShare share of attempts sent elsewhere than the warm node, 0–1 (NaN without agent turns)
   */
  public record Summary(Point point, String policy, Stat arrived, Stat throughput, Stat goodput, Stat ttftP50,
      Stat ttftP99, Stat e2eP50, Stat e2eP99, Stat shed, Stat failed, Stat ttftP90, Stat prefixHitRate,
      Stat ttftCachedEligibleP50, Stat ttftCachedEligibleP90, Stat ttftOtherP50, Stat ttftOtherP90,
      Stat affinityHitShare, Stat affinityMoveShare) {}

  /** The points of the full or quick grid, in report order. */
  public static List<Point> grid(boolean quick) {
    List<Point> points = new ArrayList<>();
    if (quick) {
      for (double load : QUICK) {
        points.add(new Point(LabCluster.C2, Workload.CHAT, Scenario.STEADY, load));
      }
      return points;
    }
    for (Scenario scenario : Scenario.values()) {
      for (double load : SWEEP) {
        points.add(new Point(LabCluster.C2, Workload.CHAT, scenario, load));
      }
    }
    for (LabCluster cluster : LabCluster.values()) {
      for (Workload workload : Workload.values()) {
        if (cluster == LabCluster.C2 && workload == Workload.CHAT || workload.agent()) {
          continue;
        }
        for (double load : COARSE) {
          points.add(new Point(cluster, workload, Scenario.STEADY, load));
        }
      }
    }
    for (LabCluster cluster : List.of(LabCluster.C1, LabCluster.C3)) {
      for (double load : COARSE) {
        points.add(new Point(cluster, Workload.CHAT, Scenario.EVENTS, load));
      }
    }
    points.addAll(agentGrid());
    return points;
  }

  /**
   * The agent points: the agent workload on C1 and C2, its prefill- and decode-heavy variants on C2; steady; at
   * {@link #AGENT_LOADS}; then the agent workload on C1 and C2 with the events at {@link #FLOW_LOADS} (the
   * flow-control goals).
   */
  static List<Point> agentGrid() {
    List<Point> points = new ArrayList<>();
    for (LabCluster cluster : List.of(LabCluster.C1, LabCluster.C2)) {
      for (double load : AGENT_LOADS) {
        points.add(new Point(cluster, Workload.AGENT, Scenario.STEADY, load));
      }
    }
    for (Workload workload : List.of(Workload.AGENT_PREFILL_HEAVY, Workload.AGENT_DECODE_HEAVY)) {
      for (double load : AGENT_LOADS) {
        points.add(new Point(LabCluster.C2, workload, Scenario.STEADY, load));
      }
    }
    for (LabCluster cluster : List.of(LabCluster.C1, LabCluster.C2)) {
      for (double load : FLOW_LOADS) {
        points.add(new Point(cluster, Workload.AGENT, Scenario.EVENTS, load));
      }
    }
    return points;
  }

  /** Runs every policy at every point for every seed; summaries in point order, then policy order. */
  public static List<Summary> run(Options options, List<Point> points, List<LabPolicy> policies)
      throws InterruptedException {
    Objects.requireNonNull(policies, "policies");
    return run(options, points, point -> policies);
  }

  /**
   * Runs the policies {@code policiesAt} gives each point ({@link LabPolicy#forWorkload}: the agent set on agent
   * points) for every seed; summaries in point order, then policy order.
   */
  public static List<Summary> run(Options options, List<Point> points, Function<Point, List<LabPolicy>> policiesAt)
      throws InterruptedException {
    Objects.requireNonNull(options, "options");
    long duration = Math.round(options.durationSeconds() * 1e9);
    ExecutorService pool = Executors.newFixedThreadPool(options.threads());
    try {
      Map<String, List<Future<double[]>>> futures = new LinkedHashMap<>();
      for (Point point : points) {
        for (LabPolicy policy : policiesAt.apply(point)) {
          List<Future<double[]>> runs = new ArrayList<>();
          for (int s = 0; s < options.seeds(); s++) {
            long seed = FIRST_SEED + s;
            LabSimulation.Config config = LabSimulation.Config.of(point.cluster(), point.workload(),
                point.scenario(), point.offeredPerSecond(), duration, seed);
            runs.add(pool.submit(() -> metrics(LabSimulation.run(config, policy))));
          }
          futures.put(key(point, policy), runs);
        }
      }
      List<Summary> summaries = new ArrayList<>();
      for (Point point : points) {
        for (LabPolicy policy : policiesAt.apply(point)) {
          List<Future<double[]>> runs = futures.get(key(point, policy));
          double[][] byMetric = new double[METRICS][runs.size()];
          for (int i = 0; i < runs.size(); i++) {
            double[] m = get(runs.get(i));
            for (int k = 0; k < METRICS; k++) {
              byMetric[k][i] = m[k];
            }
          }
          summaries.add(new Summary(point, policy.label(), Stat.of(byMetric[0]), Stat.of(byMetric[1]),
              Stat.of(byMetric[2]), Stat.of(byMetric[3]), Stat.of(byMetric[4]), Stat.of(byMetric[5]),
              Stat.of(byMetric[6]), Stat.of(byMetric[7]), Stat.of(byMetric[8]), Stat.of(byMetric[9]),
              Stat.of(byMetric[10]), Stat.of(byMetric[11]), Stat.of(byMetric[12]), Stat.of(byMetric[13]),
              Stat.of(byMetric[14]), Stat.of(byMetric[15]), Stat.of(byMetric[16])));
        }
      }
      return summaries;
    } finally {
      pool.shutdownNow();
    }
  }

  private static final int METRICS = 17;

  private static double[] metrics(RunResult r) {
    long[] eligible = r.ttftNanos(true);
    long[] other = r.ttftNanos(false);
    return new double[] {r.arrived(), r.throughputPerSecond(), r.goodputPerSecond(),
        RunResult.quantileSeconds(r.ttftNanos(), 0.50), RunResult.quantileSeconds(r.ttftNanos(), 0.99),
        RunResult.quantileSeconds(r.e2eNanos(), 0.50), RunResult.quantileSeconds(r.e2eNanos(), 0.99), r.shed(),
        r.failed(), RunResult.quantileSeconds(r.ttftNanos(), 0.90), r.prefixHitRate(),
        RunResult.quantileSeconds(eligible, 0.50), RunResult.quantileSeconds(eligible, 0.90),
        RunResult.quantileSeconds(other, 0.50), RunResult.quantileSeconds(other, 0.90),
        r.affinity().hitShare(), r.affinity().moveShare()};
  }

  private static double[] get(Future<double[]> future) throws InterruptedException {
    try {
      return future.get();
    } catch (ExecutionException e) {
      throw new IllegalStateException("a lab run failed: " + e.getCause(), e.getCause());
    }
  }

  private static String key(Point point, LabPolicy policy) {
    return point + "|" + policy.label();
  }
}
