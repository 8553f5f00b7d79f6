package dev.sluice.limit;

import dev.sluice.limit.LimitStore.BucketResult;
import dev.sluice.support.Clock;
import dev.sluice.support.Durations;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * Admits or refuses a request against its tenant's limits and its model's shared limits (requests per minute, tokens
 * per minute, requests in flight), all or nothing.
 *
 * <p>Checks run in a fixed order (tenant requests, tokens, concurrency, then the same for the model); when one fails,
 * what the earlier ones took is given back and {@link Limited} names the limit, the count and the fix. An admitted
 * request holds a {@link Permit}: call {@link Permit#complete(long)} with the real token usage when it ends (the
 * tokens buckets are corrected by real − estimate), or {@link Permit#release()} when no usage is known (the estimate
 * stands). Either frees the concurrency slots. A configuration without any limit for the tenant and model costs one
 * volatile read and two map lookups: no store call, no allocation.
 *
 * <p>With a {@link SharedLimitStore} ({@link #useShared}), {@link #admitAsync} takes the requests- and
 * tokens-per-minute buckets there, all in one atomic call, so replicas enforce one limit together; concurrency slots
 * stay in the local store (a slot held in a shared store would leak when its replica dies). When the shared store
 * cannot answer, the request is admitted against the local store instead: never refused because of the store.
 *
 * <p>Thread-safe; counters live in the {@link LimitStore}, settings are swapped whole by {@link #apply}.
 */
public final class RateLimiter {
  /** All limits are per minute, as configured ({@code requestsPerMinute}, {@code tokensPerMinute}). */
  public static final long PERIOD_MILLIS = 60_000;
  /**
   * Retry-After for a concurrency refusal: a slot frees whenever any request in flight ends, which cannot be predicted;
   * 1 s is the shortest whole-second Retry-After.
   */
  public static final long CONCURRENCY_RETRY_AFTER_MILLIS = 1_000;

  private static final Permit NO_PERMIT = new Permit() {
    @Override
    public void complete(long actualTokens) {}

    @Override
    public void release() {}
  };
  private static final Admitted UNLIMITED = new Admitted(NO_PERMIT, RateHeaders.none());

  private final LimitStore store;
  private final Clock clock;
  private volatile LimitSettings settings;
  private volatile SharedLimitStore shared;
  /** Corrections of the local store's buckets, at the time given. */
  private final Buckets localBuckets;

  /**
   * @param settings the limits; replace them later with {@link #apply}
   * @param store where counters live
   * @param clock epoch millis (the gateway's one clock)
   */
  public RateLimiter(LimitSettings settings, LimitStore store, Clock clock) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.store = Objects.requireNonNull(store, "store");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.localBuckets = (key, delta, capacity, nowMillis) -> store.adjust(key, delta, capacity, PERIOD_MILLIS,
        nowMillis);
  }

  /**
   * Takes the requests- and tokens-per-minute buckets of {@link #admitAsync} from {@code sharedStore} from now on;
   * null = the local store only. Permits already given keep correcting the store they were charged in.
   */
  public void useShared(SharedLimitStore sharedStore) {
    this.shared = sharedStore;
  }

  /** The shared store in use, or null. */
  public SharedLimitStore shared() {
    return shared;
  }

  /** Swaps in new limits (config reload); requests admitted before keep their permits. */
  public void apply(LimitSettings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
  }

  /** The limits in force. */
  public LimitSettings settings() {
    return settings;
  }

  /** The outcome of {@link #admit}; both carry the rate-limit headers to send. */
  public sealed interface Admission {
    RateHeaders headers();
  }

  /** Admitted: hold {@code permit} until the request ends. */
  public record Admitted(Permit permit, RateHeaders headers) implements Admission {}

  /**
   * Refused (HTTP 429 with Retry-After).
   *
   * @param message names the limit, the count and the fix
   * @param retryAfterMillis when a retry may succeed
   * @param scope {@code "tenant"} or {@code "model"} (a bounded metric label)
   * @param kind {@code "requests"}, {@code "tokens"} or {@code "concurrent"} (a bounded metric label)
   */
  public record Limited(String message, long retryAfterMillis, RateHeaders headers, String scope, String kind)
      implements Admission {}

  /** What an admitted request holds. Both methods are idempotent: only the first call to either counts. */
  public interface Permit {
    /** The request ended and used {@code actualTokens} (prompt + completion): correct the charge, free the slots. */
    void complete(long actualTokens);

    /** The request ended without known usage: free the slots, keep the estimate charged. */
    void release();

    /** Whether a tokens-per-minute limit charged this request, so its real usage is worth reading. */
    default boolean countsTokens() {
      return false;
    }
  }

  /**
   * Checks and charges one request.
   *
   * @param tenant who asks (a stable id, never a secret)
   * @param model the model asked for
   * @param estimatedTokens tokens to charge now: the prompt estimate plus the requested output
   */
  public Admission admit(String tenant, String model, long estimatedTokens) {
    return admit(tenant, null, null, model, estimatedTokens);
  }

  /**
   * Like {@link #admit(String, String, long)}, with the tenant's limits given by its credential (a gateway token's or
   * a JWT's limits) instead of the config.
   *
   * @param credentialLimits the tenant's limits; null = the config's ({@code limits.tenants} or {@code perTenant})
   * @param credentialName where those limits come from, for messages (e.g. "gateway token sk-sluice-AbCd1234")
   */
  public Admission admit(String tenant, Limits credentialLimits, String credentialName, String model,
      long estimatedTokens) {
    checkArguments(tenant, model, estimatedTokens);
    LimitSettings current = settings;
    Limits tenantLimits = credentialLimits != null ? credentialLimits : current.forTenant(tenant);
    Limits modelLimits = current.forModel(model);
    if (!tenantLimits.any() && !modelLimits.any()) {
      return UNLIMITED;
    }
    Attempt attempt = new Attempt(estimatedTokens, clock.millis(), localBuckets);
    Limited limited = attempt.check(Scope.TENANT, tenant, tenantLimits,
        tenantPath(current, tenant, credentialLimits, credentialName));
    if (limited == null) {
      limited = attempt.check(Scope.MODEL, model, modelLimits, LimitSettings.modelPath(model));
    }
    if (limited != null) {
      attempt.rollback();
      return limited;
    }
    return new Admitted(attempt.permit(), attempt.headers());
  }

  /**
   * Like {@link #admit(String, Limits, String, String, long)}, with the requests and tokens buckets in the shared store
   * when one is set ({@link #useShared}). Completes at once without a shared store, for unlimited requests, and for
   * requests limited by concurrency only; otherwise when the shared store answers, or — admitted against the local
   * store instead — when it fails. The stage may complete on the shared store's thread: continue on your own.
   */
  public CompletionStage<Admission> admitAsync(String tenant, Limits credentialLimits, String credentialName,
      String model, long estimatedTokens) {
    SharedLimitStore sharedStore = shared;
    if (sharedStore == null) {
      return CompletableFuture.completedFuture(admit(tenant, credentialLimits, credentialName, model,
          estimatedTokens));
    }
    checkArguments(tenant, model, estimatedTokens);
    LimitSettings current = settings;
    Limits tenantLimits = credentialLimits != null ? credentialLimits : current.forTenant(tenant);
    Limits modelLimits = current.forModel(model);
    if (!tenantLimits.any() && !modelLimits.any()) {
      return CompletableFuture.completedFuture(UNLIMITED);
    }
    String tenantPath = tenantPath(current, tenant, credentialLimits, credentialName);
    List<SharedLimitStore.Take> takes = new ArrayList<>(4);
    List<Check> checks = new ArrayList<>(4);
    addBuckets(takes, checks, Scope.TENANT, tenant, tenantLimits, tenantPath, estimatedTokens);
    addBuckets(takes, checks, Scope.MODEL, model, modelLimits, LimitSettings.modelPath(model), estimatedTokens);
    if (takes.isEmpty()) { // concurrency limits only: they are per replica
      return CompletableFuture.completedFuture(admit(tenant, credentialLimits, credentialName, model,
          estimatedTokens));
    }
    return sharedStore.takeAll(takes).handle((results, error) -> {
      if (error != null || results == null || results.isEmpty() || results.size() > checks.size()) {
        return admit(tenant, credentialLimits, credentialName, model, estimatedTokens); // local, this time
      }
      return admitShared(sharedStore, results, checks, tenant, tenantLimits, model, modelLimits, estimatedTokens,
          () -> admit(tenant, credentialLimits, credentialName, model, estimatedTokens));
    });
  }

  private static void checkArguments(String tenant, String model, long estimatedTokens) {
    Objects.requireNonNull(tenant, "tenant");
    Objects.requireNonNull(model, "model");
    if (estimatedTokens < 0) {
      throw new IllegalArgumentException("estimatedTokens " + estimatedTokens + " is negative");
    }
  }

  /** Where the tenant's limits come from, for messages: the credential, or the config path. */
  private static String tenantPath(LimitSettings current, String tenant, Limits credentialLimits,
      String credentialName) {
    if (credentialLimits == null) return current.tenantPath(tenant);
    return credentialName == null ? "the credential's limits" : credentialName + " limits";
  }

  /** One shared bucket of an async admission, to read its result with. */
  private record Check(Scope scope, String id, Kind kind, long capacity, String path) {}

  private static void addBuckets(List<SharedLimitStore.Take> takes, List<Check> checks, Scope scope, String id,
      Limits limits, String path, long estimate) {
    if (limits.requestsPerMinute() > 0) {
      takes.add(new SharedLimitStore.Take(key(scope, id, Kind.REQUESTS), 1, limits.requestsPerMinute(),
          PERIOD_MILLIS));
      checks.add(new Check(scope, id, Kind.REQUESTS, limits.requestsPerMinute(), path));
    }
    if (limits.tokensPerMinute() > 0) {
      takes.add(new SharedLimitStore.Take(key(scope, id, Kind.TOKENS), estimate, limits.tokensPerMinute(),
          PERIOD_MILLIS));
      checks.add(new Check(scope, id, Kind.TOKENS, limits.tokensPerMinute(), path));
    }
  }

  /** The shared store answered: its verdict on the buckets, then the local concurrency slots. */
  private Admission admitShared(SharedLimitStore sharedStore, List<BucketResult> results, List<Check> checks,
      String tenant, Limits tenantLimits, String model, Limits modelLimits, long estimate,
      Supplier<Admission> local) {
    Buckets buckets = (key, delta, capacity, nowMillis) -> sharedStore.adjust(key, delta, capacity, PERIOD_MILLIS);
    Attempt attempt = new Attempt(estimate, clock.millis(), buckets);
    for (int i = 0; i < results.size(); i++) {
      Check c = checks.get(i);
      String key = key(c.scope, c.id, c.kind);
      Limited limited = c.kind == Kind.REQUESTS ? attempt.requests(c.scope, c.id, c.capacity, key, results.get(i))
          : attempt.tokens(c.scope, c.id, c.capacity, c.path, key, results.get(i));
      if (limited != null) {
        return limited; // all or nothing: the store took none of the buckets, and no slot is held yet
      }
    }
    if (results.size() < checks.size()) { // stopped early without a refusal: a broken store; count on the local one
      return local.get();
    }
    Limited limited = attempt.slot(Scope.TENANT, tenant, tenantLimits.concurrent());
    if (limited == null) {
      limited = attempt.slot(Scope.MODEL, model, modelLimits.concurrent());
    }
    if (limited != null) {
      attempt.rollback(); // gives the shared buckets back
      return limited;
    }
    return new Admitted(attempt.permit(), attempt.headers());
  }

  /** Where an attempt's bucket corrections go: the local store at a given time, or the shared store. */
  @FunctionalInterface
  private interface Buckets {
    void adjust(String key, long delta, long capacity, long nowMillis);
  }

  /** Whose counter: {@link #label} is the metric label, {@link #prefix} starts the store key. */
  enum Scope {
    TENANT("tenant", "t"),
    MODEL("model", "m");

    final String label;
    final String prefix;

    Scope(String label, String prefix) {
      this.label = label;
      this.prefix = prefix;
    }
  }

  /** Which counter: {@link #label} is the metric label, {@link #suffix} ends the store key. */
  enum Kind {
    REQUESTS("requests", "rpm"),
    TOKENS("tokens", "tpm"),
    CONCURRENT("concurrent", "conc");

    final String label;
    final String suffix;

    Kind(String label, String suffix) {
      this.label = label;
      this.suffix = suffix;
    }
  }

  /** The store key scheme, in one place: {@code t:<tenant>:rpm}, {@code m:<model>:conc}, ... */
  static String key(Scope scope, String id, Kind kind) {
    return scope.prefix + ':' + id + ':' + kind.suffix;
  }

  /** One admission in progress: what it took (to give back or to hold) and the headers seen so far. */
  private final class Attempt {
    private final long estimate;
    private final long now;
    private final Buckets buckets;
    private final String[] requestKeys = new String[2];
    private final long[] requestCaps = new long[2];
    private int requestCount;
    private final String[] tokenKeys = new String[2];
    private final long[] tokenCaps = new long[2];
    private int tokenCount;
    private final String[] slotKeys = new String[2];
    private int slotCount;
    private long limitRequests = -1;
    private long remainingRequests = -1;
    private long resetRequests = -1;
    private long limitTokens = -1;
    private long remainingTokens = -1;
    private long resetTokens = -1;

    Attempt(long estimate, long now, Buckets buckets) {
      this.estimate = estimate;
      this.now = now;
      this.buckets = buckets;
    }

    /** Takes what {@code limits} require for this scope from the local store; the refusal, or null when all passed. */
    Limited check(Scope scope, String id, Limits limits, String path) {
      long rpm = limits.requestsPerMinute();
      if (rpm > 0) {
        String key = key(scope, id, Kind.REQUESTS);
        Limited limited = requests(scope, id, rpm, key, store.take(key, 1, rpm, PERIOD_MILLIS, now));
        if (limited != null) {
          return limited;
        }
      }
      long tpm = limits.tokensPerMinute();
      if (tpm > 0) {
        String key = key(scope, id, Kind.TOKENS);
        Limited limited = tokens(scope, id, tpm, path, key, store.take(key, estimate, tpm, PERIOD_MILLIS, now));
        if (limited != null) {
          return limited;
        }
      }
      return slot(scope, id, limits.concurrent());
    }

    /** A requests bucket's answer: the refusal, or null (and the bucket noted as taken). */
    Limited requests(Scope scope, String id, long rpm, String key, BucketResult r) {
      noteRequests(rpm, r);
      if (!r.allowed()) {
        String verb = scope == Scope.TENANT ? " made " : " received ";
        return limited(scope, Kind.REQUESTS, r.retryAfterMillis(), "rate limit: " + scope.label + " " + id + verb
            + Fmt.grouped(rpm - r.remaining()) + " requests in the last minute (limit " + Fmt.grouped(rpm)
            + " requests/min); retry in " + Durations.retryAfterSeconds(r.retryAfterMillis()) + " s");
      }
      requestKeys[requestCount] = key;
      requestCaps[requestCount++] = rpm;
      return null;
    }

    /** A tokens bucket's answer: the refusal, or null (and the bucket noted as taken). */
    Limited tokens(Scope scope, String id, long tpm, String path, String key, BucketResult r) {
      noteTokens(tpm, r);
      if (!r.allowed() && estimate > tpm) {
        return limited(scope, Kind.TOKENS, r.retryAfterMillis(), "rate limit: request needs ~"
            + Fmt.grouped(estimate) + " tokens but " + scope.label + " " + id + " allows " + Fmt.grouped(tpm)
            + " tokens/min in total (raise " + path + ".tokensPerMinute or lower max_tokens)");
      }
      if (!r.allowed()) {
        return limited(scope, Kind.TOKENS, r.retryAfterMillis(), "rate limit: " + scope.label + " " + id + " used "
            + Fmt.grouped(tpm - r.remaining()) + " tokens in the last minute (limit " + Fmt.grouped(tpm)
            + " tokens/min) and this request needs ~" + Fmt.grouped(estimate) + "; retry in "
            + Durations.retryAfterSeconds(r.retryAfterMillis()) + " s");
      }
      tokenKeys[tokenCount] = key;
      tokenCaps[tokenCount++] = tpm;
      return null;
    }

    /** A concurrency slot in the local store ({@code concurrent} 0 = no limit): the refusal, or null. */
    Limited slot(Scope scope, String id, int concurrent) {
      if (concurrent <= 0) {
        return null;
      }
      String key = key(scope, id, Kind.CONCURRENT);
      if (!store.acquireSlot(key, concurrent)) {
        int inFlight = Math.max(concurrent, store.slotsInUse(key));
        return limited(scope, Kind.CONCURRENT, CONCURRENCY_RETRY_AFTER_MILLIS, "rate limit: " + scope.label + " "
            + id + " has " + Fmt.grouped(inFlight) + " requests in flight (limit " + Fmt.grouped(concurrent)
            + " concurrent)");
      }
      slotKeys[slotCount++] = key;
      return null;
    }

    /** Gives back everything taken so far. */
    void rollback() {
      for (int i = 0; i < requestCount; i++) {
        buckets.adjust(requestKeys[i], -1, requestCaps[i], now);
      }
      for (int i = 0; i < tokenCount; i++) {
        buckets.adjust(tokenKeys[i], -estimate, tokenCaps[i], now);
      }
      for (int i = 0; i < slotCount; i++) {
        store.releaseSlot(slotKeys[i]);
      }
    }

    Permit permit() {
      if (tokenCount == 0 && slotCount == 0) {
        return NO_PERMIT;
      }
      return new StorePermit(buckets, estimate, Arrays.copyOf(tokenKeys, tokenCount),
          Arrays.copyOf(tokenCaps, tokenCount), Arrays.copyOf(slotKeys, slotCount));
    }

    RateHeaders headers() {
      return new RateHeaders(limitRequests, remainingRequests, resetRequests, limitTokens, remainingTokens,
          resetTokens);
    }

    private Limited limited(Scope scope, Kind kind, long retryAfterMillis, String message) {
      return new Limited(message, retryAfterMillis, headers(), scope.label, kind.label);
    }

    private void noteRequests(long limit, BucketResult r) {
      if (limitRequests < 0 || r.remaining() < remainingRequests) {
        limitRequests = limit;
        remainingRequests = r.remaining();
        resetRequests = r.resetMillis();
      }
    }

    private void noteTokens(long limit, BucketResult r) {
      if (limitTokens < 0 || r.remaining() < remainingTokens) {
        limitTokens = limit;
        remainingTokens = r.remaining();
        resetTokens = r.resetMillis();
      }
    }
  }

  /** Holds the tokens charged (in the store that charged them) and the local slots taken by one admitted request. */
  private final class StorePermit implements Permit {
    private final AtomicBoolean done = new AtomicBoolean();
    private final Buckets buckets;
    private final long estimate;
    private final String[] tokenKeys;
    private final long[] tokenCaps;
    private final String[] slotKeys;

    StorePermit(Buckets buckets, long estimate, String[] tokenKeys, long[] tokenCaps, String[] slotKeys) {
      this.buckets = buckets;
      this.estimate = estimate;
      this.tokenKeys = tokenKeys;
      this.tokenCaps = tokenCaps;
      this.slotKeys = slotKeys;
    }

    @Override
    public boolean countsTokens() {
      return tokenKeys.length > 0;
    }

    /** Negative usage (a broken upstream report) counts as 0. */
    @Override
    public void complete(long actualTokens) {
      if (!done.compareAndSet(false, true)) {
        return;
      }
      long delta = Math.max(0, actualTokens) - estimate;
      if (delta != 0 && tokenKeys.length > 0) {
        long now = clock.millis();
        for (int i = 0; i < tokenKeys.length; i++) {
          buckets.adjust(tokenKeys[i], delta, tokenCaps[i], now);
        }
      }
      releaseSlots();
    }

    @Override
    public void release() {
      if (done.compareAndSet(false, true)) {
        releaseSlots();
      }
    }

    private void releaseSlots() {
      for (String key : slotKeys) {
        store.releaseSlot(key);
      }
    }
  }
}
