package dev.sluice.limit;

import dev.sluice.limit.LimitStore.BucketResult;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

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
  private final LongSupplier clockMillis;
  private volatile LimitSettings settings;

  /**
   * @param settings the limits; replace them later with {@link #apply}
   * @param store where counters live
   * @param clockMillis epoch millis (the gateway's one clock)
   */
  public RateLimiter(LimitSettings settings, LimitStore store, LongSupplier clockMillis) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.store = Objects.requireNonNull(store, "store");
    this.clockMillis = Objects.requireNonNull(clockMillis, "clockMillis");
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
    Objects.requireNonNull(tenant, "tenant");
    Objects.requireNonNull(model, "model");
    if (estimatedTokens < 0) {
      throw new IllegalArgumentException("estimatedTokens " + estimatedTokens + " is negative");
    }
    LimitSettings current = settings;
    Limits tenantLimits = credentialLimits != null ? credentialLimits : current.forTenant(tenant);
    Limits modelLimits = current.forModel(model);
    if (!tenantLimits.any() && !modelLimits.any()) {
      return UNLIMITED;
    }
    Attempt attempt = new Attempt(estimatedTokens, clockMillis.getAsLong());
    Limited limited = attempt.check(Scope.TENANT, tenant, tenantLimits,
        credentialLimits != null ? (credentialName == null ? "the credential's limits" : credentialName + " limits")
            : current.tenantPath(tenant));
    if (limited == null) {
      limited = attempt.check(Scope.MODEL, model, modelLimits, LimitSettings.modelPath(model));
    }
    if (limited != null) {
      attempt.rollback();
      return limited;
    }
    return new Admitted(attempt.permit(), attempt.headers());
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

    Attempt(long estimate, long now) {
      this.estimate = estimate;
      this.now = now;
    }

    /** Takes what {@code limits} require for this scope; the refusal, or null when all passed. */
    Limited check(Scope scope, String id, Limits limits, String path) {
      long rpm = limits.requestsPerMinute();
      if (rpm > 0) {
        String key = key(scope, id, Kind.REQUESTS);
        BucketResult r = store.take(key, 1, rpm, PERIOD_MILLIS, now);
        noteRequests(rpm, r);
        if (!r.allowed()) {
          String verb = scope == Scope.TENANT ? " made " : " received ";
          return limited(scope, Kind.REQUESTS, r.retryAfterMillis(), "rate limit: " + scope.label + " " + id + verb
              + Fmt.grouped(rpm - r.remaining()) + " requests in the last minute (limit " + Fmt.grouped(rpm)
              + " requests/min); retry in " + Fmt.retrySeconds(r.retryAfterMillis()) + " s");
        }
        requestKeys[requestCount] = key;
        requestCaps[requestCount++] = rpm;
      }
      long tpm = limits.tokensPerMinute();
      if (tpm > 0) {
        String key = key(scope, id, Kind.TOKENS);
        BucketResult r = store.take(key, estimate, tpm, PERIOD_MILLIS, now);
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
              + Fmt.retrySeconds(r.retryAfterMillis()) + " s");
        }
        tokenKeys[tokenCount] = key;
        tokenCaps[tokenCount++] = tpm;
      }
      int concurrent = limits.concurrent();
      if (concurrent > 0) {
        String key = key(scope, id, Kind.CONCURRENT);
        if (!store.acquireSlot(key, concurrent)) {
          int inFlight = Math.max(concurrent, store.slotsInUse(key));
          return limited(scope, Kind.CONCURRENT, CONCURRENCY_RETRY_AFTER_MILLIS, "rate limit: " + scope.label + " "
              + id + " has " + Fmt.grouped(inFlight) + " requests in flight (limit " + Fmt.grouped(concurrent)
              + " concurrent)");
        }
        slotKeys[slotCount++] = key;
      }
      return null;
    }

    /** Gives back everything taken so far. */
    void rollback() {
      for (int i = 0; i < requestCount; i++) {
        store.adjust(requestKeys[i], -1, requestCaps[i], PERIOD_MILLIS, now);
      }
      for (int i = 0; i < tokenCount; i++) {
        store.adjust(tokenKeys[i], -estimate, tokenCaps[i], PERIOD_MILLIS, now);
      }
      for (int i = 0; i < slotCount; i++) {
        store.releaseSlot(slotKeys[i]);
      }
    }

    Permit permit() {
      if (tokenCount == 0 && slotCount == 0) {
        return NO_PERMIT;
      }
      return new StorePermit(estimate, Arrays.copyOf(tokenKeys, tokenCount), Arrays.copyOf(tokenCaps, tokenCount),
          Arrays.copyOf(slotKeys, slotCount));
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

  /** Holds the tokens charged and the slots taken by one admitted request. */
  private final class StorePermit implements Permit {
    private final AtomicBoolean done = new AtomicBoolean();
    private final long estimate;
    private final String[] tokenKeys;
    private final long[] tokenCaps;
    private final String[] slotKeys;

    StorePermit(long estimate, String[] tokenKeys, long[] tokenCaps, String[] slotKeys) {
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
        long now = clockMillis.getAsLong();
        for (int i = 0; i < tokenKeys.length; i++) {
          store.adjust(tokenKeys[i], delta, tokenCaps[i], PERIOD_MILLIS, now);
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
