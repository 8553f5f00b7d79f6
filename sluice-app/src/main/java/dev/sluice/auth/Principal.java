package dev.sluice.auth;

import dev.sluice.flow.Band;
import dev.sluice.limit.Limits;
import java.util.Objects;
import java.util.Set;

/**
 * The authenticated caller of one request.
 *
 * @param tenant tenant id (limits, cache keys and metrics are per tenant); never null
 * @param keyId for {@link Kind#KEY} the key's public id ({@code sk-sluice-AbCd1234}); for {@link Kind#JWT} the token's
 *     {@code kid} or null; null for {@link Kind#ANONYMOUS}
 * @param models models this caller may use; empty means every model
 * @param limits limits carried by the credential; null means the config's limits for the tenant
 * @param kind how the caller was authenticated
 * @param weight the caller's weight in fair share (flow control) as its key or token carries it; 0 when it carries
 *     none (then {@code routing.flow.tenants} or {@code defaultWeight})
 * @param maxBand the highest priority band the caller may ask for as its key or token carries it; null when it carries
 *     none (then {@code routing.flow.tenants}, else interactive)
 * @param resumeStreams whether this caller's streams may be continued on another node after a node breaks
 *     (docs/stream-resumption.md); false when its key or token says {@code "resume": false}
 */
public record Principal(String tenant, String keyId, Set<String> models, Limits limits, Kind kind, int weight,
    Band maxBand, boolean resumeStreams) {
  /** How a principal was authenticated. */
  public enum Kind { ANONYMOUS, KEY, JWT }

  /** Tenant id of every request when auth is off. */
  public static final String ANONYMOUS_TENANT = "anonymous";

  private static final Principal ANONYMOUS = new Principal(ANONYMOUS_TENANT, null, Set.of(), null, Kind.ANONYMOUS);

  /** A caller whose credential carries no weight or band. */
  public Principal(String tenant, String keyId, Set<String> models, Limits limits, Kind kind) {
    this(tenant, keyId, models, limits, kind, 0, null);
  }

  /** A caller whose streams may be continued (the default). */
  public Principal(String tenant, String keyId, Set<String> models, Limits limits, Kind kind, int weight,
      Band maxBand) {
    this(tenant, keyId, models, limits, kind, weight, maxBand, true);
  }

  public Principal {
    Objects.requireNonNull(tenant, "tenant");
    Objects.requireNonNull(kind, "kind");
    models = models == null ? Set.of() : Set.copyOf(models);
    if (weight < 0) throw new IllegalArgumentException("weight: " + weight);
  }

  /** The caller when auth mode is {@code none}: tenant {@value #ANONYMOUS_TENANT}, every model, config limits. */
  public static Principal anonymous() {
    return ANONYMOUS;
  }

  /** True when this caller may use {@code model} (always when {@link #models} is empty). */
  public boolean mayUse(String model) {
    return models.isEmpty() || models.contains(model);
  }
}
