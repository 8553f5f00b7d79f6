package dev.sluice.limit;

import java.util.Map;
import java.util.Objects;

/**
 * The rate-limit configuration, immutable.
 *
 * @param perTenant the default limits, applied to each tenant separately
 * @param tenants overrides by tenant id (replace {@code perTenant} for that tenant)
 * @param models limits by model id, shared by all tenants calling that model
 * @param overMaxTokens what to do when a request asks for more output than the model's configured maxTokens
 */
public record LimitSettings(Limits perTenant, Map<String, Limits> tenants, Map<String, Limits> models,
    OverMaxTokens overMaxTokens) {
  /**
   * Default for {@link #overMaxTokens}: reject, because quietly answering with fewer tokens than asked for is the kind
   * of silent cut BRIEF.md §2 warns about.
   */
  public static final OverMaxTokens DEFAULT_OVER_MAX_TOKENS = OverMaxTokens.REJECT;

  private static final LimitSettings DEFAULTS =
      new LimitSettings(Limits.unlimited(), Map.of(), Map.of(), DEFAULT_OVER_MAX_TOKENS);

  /** What to do when {@code max_tokens} is above the model's configured maxTokens. */
  public enum OverMaxTokens {
    /** Answer 400 {@code max_tokens_too_large}, naming the model's limit. */
    REJECT,
    /** Lower {@code max_tokens} to the model's limit and go on. */
    CAP
  }

  /** Nulls become the defaults; the maps are copied. */
  public LimitSettings {
    perTenant = perTenant == null ? Limits.unlimited() : perTenant;
    tenants = copy("tenants", tenants);
    models = copy("models", models);
    overMaxTokens = overMaxTokens == null ? DEFAULT_OVER_MAX_TOKENS : overMaxTokens;
  }

  /** Unlimited everywhere, {@link OverMaxTokens#REJECT}. */
  public static LimitSettings defaults() {
    return DEFAULTS;
  }

  /** The limits that apply to {@code tenant}: its override, else {@link #perTenant}. */
  public Limits forTenant(String tenant) {
    Limits override = tenants.get(tenant);
    return override != null ? override : perTenant;
  }

  /** The shared limits for {@code model}, unlimited when none is configured. */
  public Limits forModel(String model) {
    Limits limits = models.get(model);
    return limits != null ? limits : Limits.unlimited();
  }

  /** Where the limits for {@code tenant} come from, as a config path for messages: a named override or perTenant. */
  String tenantPath(String tenant) {
    return tenants.containsKey(tenant) ? "limits.tenants[\"" + tenant + "\"]" : "limits.perTenant";
  }

  /** Config path of the limits for {@code model}, for messages. */
  static String modelPath(String model) {
    return "limits.models[\"" + model + "\"]";
  }

  private static Map<String, Limits> copy(String name, Map<String, Limits> map) {
    if (map == null) {
      return Map.of();
    }
    map.forEach((key, value) -> {
      Objects.requireNonNull(key, () -> "limits." + name + " has a null key");
      Objects.requireNonNull(value, () -> "limits." + name + "[\"" + key + "\"] is null (omit it for the default)");
    });
    return Map.copyOf(map);
  }
}
