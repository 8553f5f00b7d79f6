package dev.sluice.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.sluice.support.Clock;
import java.time.Duration;
import java.util.Objects;

/**
 * Slows down whoever keeps presenting wrong credentials, per client address: after {@link Settings#failures} failures
 * within {@link Settings#window} the address must wait {@link #FIRST_BACKOFF} before a credential from it is looked at
 * again, and every further failure doubles the wait up to {@link Settings#maxBackoff}. While an address waits, its
 * credentials are not verified at all (so guessing learns nothing), except a credential that {@link #verified verified}
 * recently: clients that share the address with the guesser (a NAT, an office) keep working with the tokens they
 * already used. An address is forgotten after {@code window + maxBackoff} without a failure.
 *
 * <p>Pure: no I/O, time from the injected clock; memory bounded by {@link #MAX_CLIENTS} addresses and
 * {@link #MAX_VERIFIED} credential hashes. Thread-safe.
 */
public final class FailureBackoff {
  /** The first wait once an address crossed the threshold: a script notices (429 + Retry-After), a person barely. */
  public static final Duration FIRST_BACKOFF = Duration.ofSeconds(10);
  /** Addresses remembered at most: past this the least recently failing are forgotten (a flood of addresses). */
  public static final int MAX_CLIENTS = 100_000;
  /** Hashes of recently verified credentials kept at most: far more than the tokens in use at any one time. */
  public static final int MAX_VERIFIED = 100_000;
  /** A credential counts as recently verified for this long after its last successful use. */
  public static final Duration VERIFIED_FOR = Duration.ofHours(1);

  /**
   * The policy's figures.
   *
   * @param failures failures within {@code window} from one address that start its backoff; 0 = never throttle
   * @param window the span in which {@code failures} must fall
   * @param maxBackoff the longest wait (the doubling stops here)
   */
  public record Settings(int failures, Duration window, Duration maxBackoff) {
    /** A person who mistyped a token a few times is never slowed; a script guessing is after its fifth try. */
    public static final int DEFAULT_FAILURES = 5;
    /** Five failures in a minute is not typing: people take longer to copy a token again. */
    public static final Duration DEFAULT_WINDOW = Duration.ofMinutes(1);
    /** One guess per 5 minutes per address at most (288 a day); a person locked out by typos waits no longer. */
    public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofMinutes(5);
    /** Sanity bound on the threshold: above this the throttle would never act against a real attack. */
    public static final int MAX_FAILURES = 1_000;

    public Settings {
      Objects.requireNonNull(window, "window");
      Objects.requireNonNull(maxBackoff, "maxBackoff");
      if (failures < 0 || failures > MAX_FAILURES) {
        throw new IllegalArgumentException("failures: " + failures + " must be 0.." + MAX_FAILURES
            + " (0 = never throttle)");
      }
      if (window.isNegative() || window.isZero()) {
        throw new IllegalArgumentException("window: " + window + " must be positive");
      }
      if (maxBackoff.compareTo(FIRST_BACKOFF) < 0) {
        throw new IllegalArgumentException("maxBackoff: " + maxBackoff + " must be at least " + FIRST_BACKOFF
            + " (the first wait)");
      }
    }

    public static Settings defaults() {
      return new Settings(DEFAULT_FAILURES, DEFAULT_WINDOW, DEFAULT_MAX_BACKOFF);
    }

    /** Never throttles (every failure is still answered 401 and counted as before). */
    public static Settings off() {
      return new Settings(0, DEFAULT_WINDOW, DEFAULT_MAX_BACKOFF);
    }

    public boolean enabled() {
      return failures > 0;
    }
  }

  /**
   * What one failure did to its address.
   *
   * @param failuresInWindow failures of the address within the window, this one included (capped at the threshold)
   * @param retryAfterMillis how long the address now waits; 0 when it does not
   * @param burstStarted true for the failure that made the address wait for the first time (log it once)
   */
  public record Failure(int failuresInWindow, long retryAfterMillis, boolean burstStarted) {}

  /** One address's failures: the last {@code failures} times, and its backoff once it crossed the threshold. */
  private static final class Client {
    final long[] times;
    int next;
    int count;
    /** Waits so far: 0 until the threshold was crossed. */
    int backoffs;
    long blockedUntil;

    Client(int failures) {
      this.times = new long[failures];
    }
  }

  private final Settings settings;
  private final Clock clock;
  private final Cache<String, Client> clients;
  private final Cache<String, Boolean> verified;
  /**
   * The latest time until which some address waits (a maximum, never lowered): before it, {@link #anyWaiting} is
   * true. Lets the request path skip working out the client's address and looking it up while nobody waits.
   */
  private volatile long someoneWaitsUntil = Long.MIN_VALUE;

  /** @param clock milliseconds (any epoch; only differences count) */
  public FailureBackoff(Settings settings, Clock clock) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.clock = Objects.requireNonNull(clock, "clock");
    com.github.benmanes.caffeine.cache.Ticker ticker = () -> clock.millis() * 1_000_000L;
    this.clients = Caffeine.newBuilder().maximumSize(MAX_CLIENTS).ticker(ticker)
        .expireAfterWrite(settings.window().plus(settings.maxBackoff())).executor(Runnable::run).build();
    this.verified = Caffeine.newBuilder().maximumSize(MAX_VERIFIED).ticker(ticker)
        .expireAfterAccess(VERIFIED_FOR).executor(Runnable::run).build();
  }

  public Settings settings() {
    return settings;
  }

  /**
   * Whether some address may be waiting now. False means no address waits, so a request need not be checked against
   * its address before its credential is verified (the common case: one volatile read and a clock read).
   */
  public boolean anyWaiting() {
    return settings.enabled() && clock.millis() < someoneWaitsUntil;
  }

  /** How long {@code client} must still wait before its credentials are looked at again; 0 = not at all. */
  public long retryAfterMillis(String client) {
    if (!settings.enabled()) return 0;
    Client c = clients.getIfPresent(client);
    if (c == null) return 0;
    synchronized (c) {
      return Math.max(0, c.blockedUntil - clock.millis());
    }
  }

  /** Records a wrong credential from {@code client}. */
  public Failure failed(String client) {
    Objects.requireNonNull(client, "client");
    if (!settings.enabled()) return new Failure(1, 0, false);
    long now = clock.millis();
    int threshold = settings.failures();
    Failure[] out = new Failure[1];
    // compute writes the entry, so an address is forgotten window + maxBackoff after its last failure
    clients.asMap().compute(client, (k, existing) -> {
      Client c = existing != null ? existing : new Client(threshold);
      synchronized (c) {
        c.times[c.next] = now;
        c.next = (c.next + 1) % threshold;
        if (c.count < threshold) c.count++;
        if (c.backoffs == 0) {
          // the slot written next holds the oldest of the last `threshold` failures
          if (c.count == threshold && now - c.times[c.next] < settings.window().toMillis()) {
            c.backoffs = 1;
            c.blockedUntil = now + FIRST_BACKOFF.toMillis();
            out[0] = new Failure(threshold, FIRST_BACKOFF.toMillis(), true);
          } else {
            out[0] = new Failure(countWithin(c, now), 0, false);
          }
        } else {
          c.backoffs++;
          c.blockedUntil = Math.max(c.blockedUntil, now + backoff(c.backoffs));
          out[0] = new Failure(countWithin(c, now), c.blockedUntil - now, false);
        }
      }
      return c;
    });
    if (out[0].retryAfterMillis() > 0) waitsUntil(now + out[0].retryAfterMillis());
    return out[0];
  }

  private synchronized void waitsUntil(long until) {
    if (until > someoneWaitsUntil) someoneWaitsUntil = until;
  }

  private int countWithin(Client c, long now) {
    int n = 0;
    for (int i = 0; i < c.count; i++) {
      if (now - c.times[i] < settings.window().toMillis()) n++;
    }
    return n;
  }

  /** The wait after the {@code n}th crossing: FIRST_BACKOFF doubled n-1 times, at most maxBackoff. */
  private long backoff(int n) {
    long first = FIRST_BACKOFF.toMillis();
    long max = settings.maxBackoff().toMillis();
    int doublings = Math.min(n - 1, 40);
    long wait = first << doublings;
    return wait <= 0 || wait > max ? max : wait;
  }

  /** Remembers that the credential with this hash just verified (its owner keeps passing while its address waits). */
  public void verified(String credentialHash) {
    if (!settings.enabled()) return;
    if (verified.getIfPresent(credentialHash) == null) verified.put(credentialHash, Boolean.TRUE);
  }

  /** Whether the credential with this hash verified within {@link #VERIFIED_FOR} of now. */
  public boolean recentlyVerified(String credentialHash) {
    return verified.getIfPresent(credentialHash) != null;
  }

  /** A credential that failed now (revoked, expired) is no longer one that verified recently. */
  public void forget(String credentialHash) {
    verified.invalidate(credentialHash);
  }
}
