package dev.sluice.routing;

import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The routing policies by config name ({@code routing.policy}); {@link RoutingPolicy#of(String)} reads better at the
 * call site. Each call builds a new instance (a round-robin cursor is per instance).
 */
public final class Policies {
  /** Config name of the default policy. */
  public static final String DEFAULT = LeastDelayPolicy.NAME;
  /** Every config name, in the order error messages and docs list them. */
  public static final List<String> NAMES = List.of(RoundRobinPolicy.NAME, LeastRequestPolicy.NAME,
      GpuWeightedPolicy.NAME, LeastDelayPolicy.NAME, LeastDelayPolicy.NAME_NO_ADMISSION, QueueKvScorerPolicy.NAME, PrefixHashPolicy.NAME);

  private Policies() {}

  /** A new policy named {@code name} (case and surrounding blanks ignored), with its defaults. */
  public static RoutingPolicy byName(String name) {
    String key = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
    Supplier<RoutingPolicy> factory = switch (key) {
      case RoundRobinPolicy.NAME -> RoundRobinPolicy::new;
      case LeastRequestPolicy.NAME -> LeastRequestPolicy::new;
      case GpuWeightedPolicy.NAME -> GpuWeightedPolicy::new;
      case LeastDelayPolicy.NAME -> LeastDelayPolicy::new;
      case LeastDelayPolicy.NAME_NO_ADMISSION -> LeastDelayPolicy::withoutAdmission;
      case QueueKvScorerPolicy.NAME -> QueueKvScorerPolicy::new;
      case PrefixHashPolicy.NAME -> PrefixHashPolicy::new;
      default -> null;
    };
    if (factory == null) {
      throw new IllegalArgumentException("routing.policy: \"" + name + "\" is not a routing policy (expected one of "
          + String.join(", ", NAMES) + "; default " + DEFAULT + ")");
    }
    return factory.get();
  }
}
