package dev.sluice.routing;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Which nodes a request may fail over to, and in what order, given the policy's plan (config
 * {@code routing.failover}). The GPU class of a node is looked up by id; classes compare ignoring case, and a node
 * without a class (absent or null) is in the "unknown" class, which only matches other unknown nodes.
 */
public enum FailoverOrder {
  /** The brief's rule: only nodes of the first choice's GPU class ("A100 → A100, never across generations"). */
  SAME_GPU_CLASS("same-gpu-class"),
  /** Default: nodes of the first choice's class first, in the policy's order, then the others in the policy's order. */
  SAME_GPU_CLASS_FIRST("same-gpu-class-first"),
  /** The policy's order as it is. */
  ANY("any");

  /** The default order. */
  public static final FailoverOrder DEFAULT = SAME_GPU_CLASS_FIRST;

  private final String configName;

  FailoverOrder(String configName) {
    this.configName = configName;
  }

  /** The name used in config. */
  public String configName() {
    return configName;
  }

  /** The order named {@code name} in config ({@code same-gpu-class}, {@code same-gpu-class-first}, {@code any}). */
  public static FailoverOrder fromConfig(String name) {
    for (FailoverOrder order : values()) {
      if (order.configName.equalsIgnoreCase(String.valueOf(name).trim())) {
        return order;
      }
    }
    throw new IllegalArgumentException("routing.failover: \"" + name + "\" is not a failover order (expected one of "
        + Arrays.stream(values()).map(FailoverOrder::configName).collect(Collectors.joining(", ")) + ")");
  }

  /**
   * The attempt order: the first choice stays first; the rest filtered or regrouped by GPU class.
   *
   * @param plan the policy's plan, first choice first
   * @param gpuTypeById GPU class of each node id
   */
  public List<String> apply(List<String> plan, Map<String, String> gpuTypeById) {
    Objects.requireNonNull(plan, "plan");
    Objects.requireNonNull(gpuTypeById, "gpuTypeById");
    if (plan.isEmpty() || this == ANY) {
      return List.copyOf(plan);
    }
    String firstClass = gpuClass(plan.get(0), gpuTypeById);
    List<String> same = new ArrayList<>(plan.size());
    List<String> others = new ArrayList<>(plan.size());
    for (String id : plan) {
      (Objects.equals(gpuClass(id, gpuTypeById), firstClass) ? same : others).add(id);
    }
    if (this == SAME_GPU_CLASS_FIRST) {
      same.addAll(others);
    }
    return List.copyOf(same);
  }

  private static String gpuClass(String id, Map<String, String> gpuTypeById) {
    String type = gpuTypeById.get(id);
    return type == null ? null : type.trim().toUpperCase(Locale.ROOT);
  }
}
