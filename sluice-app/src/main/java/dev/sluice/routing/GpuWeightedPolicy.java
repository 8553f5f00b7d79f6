package dev.sluice.routing;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * The brief's dynamic-weight policy (BRIEF.md §3), reproduced exactly, quirks included (config name
 * {@code gpu-weighted}):
 *
 * <pre>
 * base   = {A10: 100, A100: 220, H100: 380}[gpu_type]
 * load   = 1 - (gpu_util / 100) * 0.6
 * temp   = max(0.3, 1 - (temp_c - 65) / 30)
 * health = health_ratio * 0.8 + 0.2
 * weight = int(base * load * temp * health)      e.g. a10-01: 86, a100-02: 192, h100-03: 341
 * </pre>
 *
 * <p>The first choice is a weighted random draw (probability weight ÷ sum of weights: the brief's "weighted
 * scheduling"); the rest of the plan follows by descending weight, equal weights in random order. When every weight is
 * 0 the first choice is drawn uniformly.
 *
 * <p>Documented choices where the brief is silent:
 * <ul>
 *   <li>Unknown = neutral: missing telemetry (NaN) counts as 0 % utilisation and 65 °C (load and temperature factors
 *       1.0); a NaN health ratio counts as 1 (no check ran yet).</li>
 *   <li>A GPU type missing from the base table (or no type at all) gets {@link #DEFAULT_UNKNOWN_BASE} (100, the A10
 *       figure: an unlabelled node is assumed to be the smallest card), configurable. Lookup ignores case.</li>
 *   <li>Utilisation is clamped to 0–100 and the health ratio to 0–1 (out-of-range scrapes), so a weight is never
 *       negative. Temperature is <em>not</em> clamped below 65 °C: a 35 °C just-restarted node gets ×2.0, the
 *       cold-node herd ROUTING.md describes; we reproduce it on purpose.</li>
 *   <li>Telemetry age is ignored, as in the brief (stale DCGM samples are used as they are).</li>
 * </ul>
 * Stateless, so thread-safe.
 */
public final class GpuWeightedPolicy implements RoutingPolicy {
  /** Config name. */
  public static final String NAME = "gpu-weighted";
  /** The brief's base weights. */
  public static final Map<String, Integer> DEFAULT_BASES = Map.of("A10", 100, "A100", 220, "H100", 380);
  /** Base weight of a GPU type the table does not list: the A10 figure, the brief's smallest card. */
  public static final int DEFAULT_UNKNOWN_BASE = 100;
  /** Utilisation assumed when telemetry is missing: neutral (load factor 1). */
  public static final double NEUTRAL_UTIL_PERCENT = 0;
  /** Temperature assumed when telemetry is missing: neutral (temperature factor 1). */
  public static final double NEUTRAL_TEMP_CELSIUS = 65;

  private final Map<String, Integer> bases;
  private final int unknownBase;

  /** The brief's table and {@link #DEFAULT_UNKNOWN_BASE}. */
  public GpuWeightedPolicy() {
    this(DEFAULT_BASES, DEFAULT_UNKNOWN_BASE);
  }

  /**
   * @param bases base weight per GPU type (keys matched ignoring case)
   * @param unknownBase base weight of a type not in {@code bases}, or of a node without a type
   */
  public GpuWeightedPolicy(Map<String, Integer> bases, int unknownBase) {
    this.bases = normalise(Objects.requireNonNull(bases, "bases"));
    if (unknownBase < 0) {
      throw new IllegalArgumentException("unknownBase: " + unknownBase + " is negative (expected ≥ 0, default "
          + DEFAULT_UNKNOWN_BASE + ")");
    }
    this.unknownBase = unknownBase;
  }

  @Override
  public RouteDecision decide(RouteRequest request, List<NodeView> candidates, RandomGenerator random) {
    Ordering.check(request, candidates, random);
    int n = candidates.size();
    int[] weights = new int[n];
    long total = 0;
    for (int i = 0; i < n; i++) {
      weights[i] = weight(candidates.get(i), bases, unknownBase);
      total += weights[i];
    }
    int first = total > 0 ? draw(weights, random.nextLong(total)) : random.nextInt(n);
    List<NodeView> rest = new ArrayList<>(candidates);
    NodeView chosen = rest.remove(first);
    List<String> plan = new ArrayList<>(n);
    plan.add(chosen.id());
    plan.addAll(Ordering.descending(rest, v -> weight(v, bases, unknownBase), random));
    return new RouteDecision.Plan(plan);
  }

  private static int draw(int[] weights, long ticket) {
    long cumulative = 0;
    for (int i = 0; i < weights.length; i++) {
      cumulative += weights[i];
      if (ticket < cumulative) {
        return i;
      }
    }
    throw new IllegalStateException("ticket " + ticket + " beyond total weight " + cumulative);
  }

  /** The weight of a node with the brief's base table, for the console, metrics and tests. */
  public int weight(NodeView node) {
    return weight(node, bases, unknownBase);
  }

  /** The brief's weight with {@code bases} and {@link #DEFAULT_UNKNOWN_BASE} for an unlisted type. */
  public static int weight(NodeView node, Map<String, Integer> bases) {
    return weight(node, normalise(bases), DEFAULT_UNKNOWN_BASE);
  }

  /** The brief's weight of {@code node}; {@code bases} keys must be upper case. */
  private static int weight(NodeView node, Map<String, Integer> upperCaseBases, int unknownBase) {
    double base = base(node.gpuType(), upperCaseBases, unknownBase);
    double util = Double.isNaN(node.gpuUtilPercent()) ? NEUTRAL_UTIL_PERCENT : clamp(node.gpuUtilPercent(), 0, 100);
    double tempC = Double.isNaN(node.gpuTempCelsius()) ? NEUTRAL_TEMP_CELSIUS : node.gpuTempCelsius();
    double healthRatio = Double.isNaN(node.healthRatio()) ? 1 : clamp(node.healthRatio(), 0, 1);
    double load = 1 - (util / 100) * 0.6;
    double temp = Math.max(0.3, 1 - (tempC - 65) / 30);
    double health = healthRatio * 0.8 + 0.2;
    return (int) (base * load * temp * health);
  }

  private static int base(String gpuType, Map<String, Integer> upperCaseBases, int unknownBase) {
    if (gpuType == null) {
      return unknownBase;
    }
    Integer base = upperCaseBases.get(gpuType.toUpperCase(Locale.ROOT));
    return base == null ? unknownBase : base;
  }

  private static Map<String, Integer> normalise(Map<String, Integer> bases) {
    Map<String, Integer> upper = new HashMap<>();
    bases.forEach((type, base) -> {
      Objects.requireNonNull(type, "GPU type in base table");
      if (base == null || base < 0) {
        throw new IllegalArgumentException("base weight of " + type + ": " + base + " (expected an integer ≥ 0)");
      }
      upper.put(type.toUpperCase(Locale.ROOT), base);
    });
    return Map.copyOf(upper);
  }

  private static double clamp(double x, double lo, double hi) {
    return Math.max(lo, Math.min(hi, x));
  }

  @Override
  public String name() {
    return NAME;
  }
}
