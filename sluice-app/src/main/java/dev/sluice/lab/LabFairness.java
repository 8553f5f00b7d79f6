package dev.sluice.lab;

import dev.sluice.flow.Band;
import dev.sluice.lab.LabSimulation.TenantStream;
import dev.sluice.lab.RunResult.Outcome;
import dev.sluice.lab.RunResult.RequestRecord;
import dev.sluice.routing.LeastDelayPolicy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The lab's fairness runs (issue 21), on C2 chat without faults, with least-delay (flow control) and
 * least-delay-no-flow:
 * <ul>
 *   <li><b>Tenants</b>: four tenants of equal weight; A offers {@link #HEAVY_SHARES} times its fair share (a quarter
 *       of capacity), B–D {@link #LIGHT_SHARES} of theirs each (together {@value #OVERALL_LOAD_PERCENT} % of
 *       capacity). Each of B–D also runs alone (its own requests only, the same ones) for the reference.</li>
 *   <li><b>Batch</b>: interactive traffic at 100 % of capacity alone, and with the brief's 100-report batch job: 100
 *       batch requests of {@value #BATCH_PROMPT} prompt and {@value #BATCH_OUTPUT} output tokens sent at once at 10 %
 *       of the run.</li>
 * </ul>
 */
public final class LabFairness {
  static final String HEAVY = "A";
  static final List<String> LIGHT = List.of("B", "C", "D");
  static final double HEAVY_SHARES = 5;
  static final double LIGHT_SHARES = 0.5;
  static final int OVERALL_LOAD_PERCENT = 163;
  static final int BATCH_COUNT = 100;
  static final int BATCH_PROMPT = 1_000;
  static final int BATCH_OUTPUT = 1_000;
  static final String INTERACTIVE_TENANT = "users";
  static final String BATCH_TENANT = "reports";
  /** Goals: each light tenant keeps this share of its goodput alone; Jain's index at least this. */
  static final double GOAL_KEPT = 0.90;
  static final double GOAL_JAIN = 0.95;
  /** Goal: interactive TTFT p99 with the batch job at most this many times without it. */
  static final double GOAL_BATCH_P99_RATIO = 1.10;

  private LabFairness() {}

  /**
   * One policy's figures, means over seeds.
   *
   * @param policy its label
   * @param tenants per tenant, in order A, B, C, D
   * @param jain Jain's index over the four tenants' goodput ÷ their max-min fair allocation
   * @param interactiveP99Alone interactive TTFT p99 without the batch job, seconds
   * @param interactiveP99WithBatch with it, seconds
   * @param interactiveGoodputAlone interactive goodput/s without the batch job
   * @param interactiveGoodputWithBatch with it
   * @param batchCompleted batch requests completed per run (of {@value #BATCH_COUNT})
   * @param batchLastSeconds when the last batch request completed, seconds into the run (NaN: none)
   */
  public record PolicyResult(String policy, List<TenantRow> tenants, double jain, double interactiveP99Alone,
      double interactiveP99WithBatch, double interactiveGoodputAlone, double interactiveGoodputWithBatch,
      double batchCompleted, double batchLastSeconds) {}

  /**
   * One tenant under the mix.
   *
   * @param tenant its name
   * @param demand requests per second it offers
   * @param allocation its max-min fair allocation of the capacity given every tenant's demand
   * @param goodput its goodput/s among the others
   * @param goodputAlone its goodput/s alone (NaN for A: not run alone)
   * @param ttftP99 its TTFT p99 among the others, seconds
   * @param shed its shed requests per run
   */
  public record TenantRow(String tenant, double demand, double allocation, double goodput, double goodputAlone,
      double ttftP99, double shed) {
    /** Goodput ÷ allocation: what Jain's index is taken over. */
    public double normalised() {
      return goodput / allocation;
    }

    /** Goodput among the others ÷ alone. */
    public double kept() {
      return goodput / goodputAlone;
    }
  }

  /** The fairness runs' figures per policy. */
  public record Result(double capacity, double fairShare, List<PolicyResult> policies, double durationSeconds,
      int seeds) {}

  /** Runs the fairness scenarios with least-delay and least-delay-no-flow. */
  public static Result run(RoutingLab.Options options) throws InterruptedException {
    List<LabPolicy> policies = LabPolicy.standard().stream().filter(p -> p.label().equals(LeastDelayPolicy.NAME)
        || p.label().equals(LabPolicy.LEAST_DELAY_NO_FLOW)).toList();
    return run(options, policies);
  }

  static Result run(RoutingLab.Options options, List<LabPolicy> policies) throws InterruptedException {
    long duration = Math.round(options.durationSeconds() * 1e9);
    double capacity = Capacity.of(LabCluster.C2, Workload.CHAT);
    double fair = capacity / (1 + LIGHT.size());
    Map<String, Double> demand = new LinkedHashMap<>();
    demand.put(HEAVY, HEAVY_SHARES * fair);
    for (String t : LIGHT) {
      demand.put(t, LIGHT_SHARES * fair);
    }
    Map<String, Double> allocation = maxMinFair(demand, capacity);
    List<TenantStream> mix = new ArrayList<>();
    demand.forEach((t, rate) -> mix.add(TenantStream.poisson(t, Band.INTERACTIVE, rate)));
    TenantStream users = TenantStream.poisson(INTERACTIVE_TENANT, Band.INTERACTIVE, capacity);
    TenantStream reports = TenantStream.burst(BATCH_TENANT, Band.BATCH, BATCH_COUNT, duration / 10, BATCH_PROMPT,
        BATCH_OUTPUT);
    ExecutorService pool = Executors.newFixedThreadPool(options.threads());
    try {
      // per policy, per seed: mix, each light tenant alone, interactive alone, interactive + batch
      Map<String, List<Future<RunResult>>> futures = new LinkedHashMap<>();
      for (LabPolicy policy : policies) {
        for (int s = 0; s < options.seeds(); s++) {
          long seed = RoutingLab.FIRST_SEED + s;
          LabSimulation.Config base = LabSimulation.Config.of(LabCluster.C2, Workload.CHAT, Scenario.STEADY,
              capacity, duration, seed);
          List<List<TenantStream>> runs = new ArrayList<>();
          runs.add(mix);
          for (TenantStream st : mix.subList(1, mix.size())) {
            runs.add(List.of(st));
          }
          runs.add(List.of(users));
          runs.add(List.of(users, reports));
          List<Future<RunResult>> results = new ArrayList<>();
          for (List<TenantStream> streams : runs) {
            LabSimulation.Config config = base.withStreams(streams);
            results.add(pool.submit(() -> LabSimulation.run(config, policy)));
          }
          futures.put(policy.label() + "|" + s, results);
        }
      }
      List<PolicyResult> out = new ArrayList<>();
      double window = options.durationSeconds();
      for (LabPolicy policy : policies) {
        int n = options.seeds();
        Map<String, double[]> goodput = new LinkedHashMap<>();
        Map<String, double[]> alone = new LinkedHashMap<>();
        Map<String, double[]> p99 = new LinkedHashMap<>();
        Map<String, double[]> shed = new LinkedHashMap<>();
        for (String t : demand.keySet()) {
          goodput.put(t, new double[n]);
          alone.put(t, nans(n));
          p99.put(t, new double[n]);
          shed.put(t, new double[n]);
        }
        double[] jain = new double[n];
        double[] usersAlone = new double[n];
        double[] usersWith = new double[n];
        double[] usersGoodAlone = new double[n];
        double[] usersGoodWith = new double[n];
        double[] batchDone = new double[n];
        double[] batchLast = new double[n];
        for (int s = 0; s < n; s++) {
          List<Future<RunResult>> results = futures.get(policy.label() + "|" + s);
          RunResult mixed = get(results.get(0));
          double[] normalised = new double[demand.size()];
          int i = 0;
          for (String t : demand.keySet()) {
            goodput.get(t)[s] = good(mixed, t) / window;
            p99.get(t)[s] = RunResult.quantileSeconds(ttfts(mixed, t), 0.99);
            shed.get(t)[s] = mixed.requests().stream().filter(r -> r.tenant().equals(t)
                && r.outcome() == Outcome.SHED).count();
            normalised[i++] = goodput.get(t)[s] / allocation.get(t);
          }
          jain[s] = jain(normalised);
          for (int k = 0; k < LIGHT.size(); k++) {
            alone.get(LIGHT.get(k))[s] = good(get(results.get(1 + k)), LIGHT.get(k)) / window;
          }
          RunResult usersOnly = get(results.get(1 + LIGHT.size()));
          RunResult withBatch = get(results.get(2 + LIGHT.size()));
          usersAlone[s] = RunResult.quantileSeconds(ttfts(usersOnly, INTERACTIVE_TENANT), 0.99);
          usersWith[s] = RunResult.quantileSeconds(ttfts(withBatch, INTERACTIVE_TENANT), 0.99);
          usersGoodAlone[s] = good(usersOnly, INTERACTIVE_TENANT) / window;
          usersGoodWith[s] = good(withBatch, INTERACTIVE_TENANT) / window;
          List<RequestRecord> batch = withBatch.requests().stream().filter(r -> r.tenant().equals(BATCH_TENANT)
              && r.outcome() == Outcome.COMPLETED).toList();
          batchDone[s] = batch.size();
          batchLast[s] = batch.stream().mapToDouble(r -> (r.arrivalNanos() + r.e2eNanos()) / 1e9).max()
              .orElse(Double.NaN);
        }
        List<TenantRow> rows = new ArrayList<>();
        for (String t : demand.keySet()) {
          rows.add(new TenantRow(t, demand.get(t), allocation.get(t), mean(goodput.get(t)), mean(alone.get(t)),
              mean(p99.get(t)), mean(shed.get(t))));
        }
        out.add(new PolicyResult(policy.label(), rows, mean(jain), mean(usersAlone), mean(usersWith),
            mean(usersGoodAlone), mean(usersGoodWith), mean(batchDone), mean(batchLast)));
      }
      return new Result(capacity, fair, out, window, options.seeds());
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Max-min fair allocation (water-filling) of {@code capacity} over {@code demand}: every tenant gets
   * min(demand, level), the level chosen so the allocations sum to the capacity (or every demand is met).
   */
  static Map<String, Double> maxMinFair(Map<String, Double> demand, double capacity) {
    double[] sorted = demand.values().stream().mapToDouble(Double::doubleValue).sorted().toArray();
    double left = capacity;
    double level = Double.POSITIVE_INFINITY;
    for (int i = 0; i < sorted.length; i++) {
      double even = left / (sorted.length - i);
      if (sorted[i] >= even) {
        level = even;
        break;
      }
      left -= sorted[i];
    }
    Map<String, Double> out = new LinkedHashMap<>();
    for (Map.Entry<String, Double> e : demand.entrySet()) {
      out.put(e.getKey(), Math.min(e.getValue(), level));
    }
    return out;
  }

  /** Jain's fairness index of {@code x}: (Σx)² ÷ (n Σx²), 1 when all are equal. */
  static double jain(double[] x) {
    double sum = 0;
    double squares = 0;
    for (double v : x) {
      sum += v;
      squares += v * v;
    }
    return squares == 0 ? Double.NaN : sum * sum / (x.length * squares);
  }

  private static long good(RunResult r, String tenant) {
    return r.requests().stream().filter(q -> q.tenant().equals(tenant) && q.good()).count();
  }

  private static long[] ttfts(RunResult r, String tenant) {
    return r.requests().stream().filter(q -> q.tenant().equals(tenant) && q.ttftNanos() >= 0)
        .mapToLong(RequestRecord::ttftNanos).sorted().toArray();
  }

  private static double[] nans(int n) {
    double[] a = new double[n];
    Arrays.fill(a, Double.NaN);
    return a;
  }

  private static double mean(double[] values) {
    return RoutingLab.Stat.of(values).mean();
  }

  private static RunResult get(Future<RunResult> future) throws InterruptedException {
    try {
      return future.get();
    } catch (ExecutionException e) {
      throw new IllegalStateException("a lab fairness run failed: " + e.getCause(), e.getCause());
    }
  }
}
