package dev.sluice.server;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.sluice.auth.ApiKey;
import dev.sluice.auth.ApiKeys;
import dev.sluice.auth.AuthException;
import dev.sluice.auth.AuthMode;
import dev.sluice.auth.Authenticator;
import dev.sluice.auth.FailureBackoff;
import dev.sluice.auth.JwtVerifier;
import dev.sluice.auth.KeyFile;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.auth.Principal;
import dev.sluice.config.AdminSettings;
import dev.sluice.config.AuthSettings;
import dev.sluice.config.ServerSettings;
import dev.sluice.config.SluiceConfig;
import dev.sluice.console.KeyStore;
import dev.sluice.flow.Band;
import dev.sluice.limit.Limits;
import dev.sluice.support.Clock;
import dev.sluice.support.Durations;
import dev.sluice.support.Secrets;
import dev.sluice.support.Sha256;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.Cookie;
import io.vertx.core.http.HttpServerRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may call what: the data plane's {@link Authenticator} (gateway tokens, JWT), the gateway tokens themselves
 * (hashes only, from the keys file, re-read within {@link #KEYS_FILE_POLL_MILLIS} of a change), and the admin plane's
 * credential (the admin token, or a console session obtained with it). Rebuilt on config swaps.
 *
 * <p>Every presented credential (bearer token, {@code x-api-key}, console sign-in) first passes the
 * {@link FailureBackoff} of its {@link ClientAddress client address}: an address that sent too many wrong ones gets
 * {@link Throttled} without its credential being looked at, unless that credential verified recently. Console session
 * cookies are not throttled (a stale cookie after a restart is not a guess).
 */
final class AccessControl implements KeyStore {
  private static final Logger log = LoggerFactory.getLogger(AccessControl.class);
  /** How often the keys file is checked for changes: a revocation by `sluice keys revoke` applies within this. */
  static final long KEYS_FILE_POLL_MILLIS = 1_000;
  static final String SESSION_COOKIE = "sluice_session";
  /** Console sessions end after this much inactivity. */
  static final Duration SESSION_IDLE = Duration.ofHours(8);
  /** Header the console's scripts send on state-changing calls: a cross-site form or image cannot set it. */
  static final String CONSOLE_HEADER = "x-sluice-console";
  private static final SecureRandom RANDOM = new SecureRandom();

  /** The admin plane's answer to a request. */
  enum AdminAccess {
    /** Admin token or console session: go on. */
    GRANTED,
    /** No credential. */
    MISSING,
    /** A credential that is not the admin token nor a live session. */
    INVALID,
    /** A valid data-plane gateway token: wrong plane. */
    DATA_PLANE_TOKEN,
    /** No admin token configured and auth is on: the admin plane is closed. */
    CLOSED,
    /** A console session without the console's header on a state-changing call (cross-site request forgery). */
    NO_CONSOLE_HEADER,
    /** The client's address sent too many wrong credentials: this one was not looked at (see {@link #throttled}). */
    THROTTLED
  }

  /** The planes, as the throttle metric labels them. */
  static final String DATA_PLANE = "data";
  static final String ADMIN_PLANE = "admin";

  /**
   * A credential refused unverified because its client address waits after too many wrong ones: answered 429 with
   * {@code Retry-After}. No stack trace: a normal outcome.
   */
  static final class Throttled extends RuntimeException {
    private final long retryAfterSeconds;
    private final String plane;

    Throttled(String message, long retryAfterSeconds, String plane) {
      super(message, null, false, false);
      this.retryAfterSeconds = retryAfterSeconds;
      this.plane = plane;
    }

    long retryAfterSeconds() {
      return retryAfterSeconds;
    }

    String plane() {
      return plane;
    }
  }

  private final Vertx vertx;
  private final Clock clock;
  private final AtomicReference<ApiKeys> keys = new AtomicReference<>(ApiKeys.empty());
  private final Cache<String, Boolean> sessions = Caffeine.newBuilder().maximumSize(1_000)
      .expireAfterAccess(SESSION_IDLE).build();
  private volatile AuthSettings authSettings;
  private volatile AdminSettings adminSettings;
  private volatile Authenticator authenticator;
  private volatile JwtVerifier jwt;
  private volatile Path keysFile;
  private volatile String keysFileStamp = "";
  private long pollTimer = -1;
  private volatile ClientAddress clients = new ClientAddress(List.of());
  private volatile FailureBackoff backoff;
  private volatile List<String> trustedProxies;

  AccessControl(Vertx vertx, SluiceConfig initial, Clock clock) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.clock = Objects.requireNonNull(clock, "clock");
    apply(initial);
  }

  /** Takes the auth and admin settings of {@code config}; the JWT verifier and keys are rebuilt only when they change. */
  synchronized void apply(SluiceConfig config) {
    AuthSettings a = config.auth();
    AdminSettings ad = config.admin();
    for (var n : config.nodes()) Secrets.register(n.apiKey());
    applyClientSettings(config.server());
    if (a.equals(authSettings) && ad.equals(adminSettings)) return;
    boolean jwtChanged = authSettings == null || !Objects.equals(a.jwt(), authSettings.jwt());
    this.adminSettings = ad;
    if (!Objects.equals(a.keysFile(), keysFile)) {
      keysFile = a.keysFile();
      keysFileStamp = "";
      if (keysFile != null) reloadKeys(true);
    }
    if (jwtChanged) {
      JwtVerifier old = jwt;
      if (a.jwt() != null) {
        for (var k : a.jwt().keys()) Secrets.register(k.secret());
        jwt = new JwtVerifier(vertx, a.jwt(), clock);
        jwt.start();
      } else {
        jwt = null;
      }
      if (old != null) old.close();
    }
    authSettings = a;
    authenticator = new Authenticator(a.mode(), keys::get, a.mode().acceptsJwt() ? jwt : null, clock);
    warnAboutDefaults(a, ad);
  }

  /** Trusted proxies and the backoff; a backoff with unchanged settings keeps what it learned. */
  private void applyClientSettings(ServerSettings server) {
    if (!server.trustedProxies().equals(trustedProxies)) {
      clients = new ClientAddress(server.trustedProxies());
      trustedProxies = server.trustedProxies();
    }
    FailureBackoff b = backoff;
    if (b == null || !b.settings().equals(server.failedCredentials())) {
      backoff = new FailureBackoff(server.failedCredentials(), clock);
    }
  }

  private static void warnAboutDefaults(AuthSettings a, AdminSettings ad) {
    if (a.mode() == AuthMode.NONE) {
      log.warn("*** auth.mode is \"none\": ANYONE who can reach this port can use every model. This is for the demo "
          + "and tests only; set auth.mode to \"tokens\" or \"jwt\" for anything else. ***");
      if (!ad.hasToken()) log.warn("*** no admin token: /admin, /console and /metrics are open too. ***");
    } else if (!ad.hasToken()) {
      log.warn("no admin token configured (admin.tokenSha256): /admin and /console are closed{}; "
          + "`sluice keys admin-token` makes one", ad.protectMetrics() ? " and so is /metrics" : "");
    }
  }

  /** Starts watching the keys file. */
  void start() {
    pollTimer = vertx.setPeriodic(KEYS_FILE_POLL_MILLIS, id -> {
      if (keysFile != null) vertx.executeBlocking(() -> reloadKeys(false), false);
    });
  }

  void close() {
    if (pollTimer >= 0) vertx.cancelTimer(pollTimer);
    JwtVerifier j = jwt;
    if (j != null) j.close();
  }

  /** Re-reads the keys file when its size or modification time changed; a broken file keeps the keys in force. */
  private synchronized boolean reloadKeys(boolean force) {
    Path file = keysFile;
    if (file == null) return false;
    String stamp;
    try {
      stamp = Files.exists(file) ? Files.getLastModifiedTime(file).toMillis() + ":" + Files.size(file) : "absent";
    } catch (IOException e) {
      stamp = "unreadable";
    }
    if (!force && stamp.equals(keysFileStamp)) return false;
    keysFileStamp = stamp;
    try {
      ApiKeys read = KeyFile.read(file);
      keys.set(read);
      log.info("gateway tokens: {} loaded from {} ({} active)", read.size(), file,
          read.all().stream().filter(k -> k.active(clock.millis())).count());
      return true;
    } catch (IOException e) {
      log.error("gateway tokens: {}; keeping the {} tokens in force", e.getMessage(), keys.get().size());
      return false;
    }
  }

  AuthMode mode() {
    return authSettings.mode();
  }

  AdminSettings admin() {
    return adminSettings;
  }

  /** The data plane: who is calling. Fails with {@link AuthException}. */
  Future<Principal> authenticate(HttpServerRequest req) {
    if (authSettings.mode() == AuthMode.NONE) {
      // Nothing is verified, but callers that send a key still get their own rate-limit budget and cache space.
      String token = bearer(req);
      return Future.succeededFuture(token == null ? Principal.anonymous()
          : new Principal("key-" + KeyGenerator.sha256Hex(token).substring(0, 8), null, Set.of(), null,
              Principal.Kind.ANONYMOUS));
    }
    String token = bearer(req);
    FailureBackoff b = backoff;
    if (token == null || !b.settings().enabled()) {
      return authenticator.authenticate(req.getHeader("Authorization"), req.getHeader("x-api-key"));
    }
    // While no address waits (the common case) the client's address is worked out only when a credential fails.
    if (b.anyWaiting()) {
      String client = throttleKey(req);
      if (b.retryAfterMillis(client) > 0 && !b.recentlyVerified(credentialHash(sha256(token)))) {
        return Future.failedFuture(throttled(req, DATA_PLANE));
      }
    }
    Future<Principal> result = authenticator.authenticate(req.getHeader("Authorization"), req.getHeader("x-api-key"));
    if (result.isComplete()) {
      learn(b, result, req, token);
      return result;
    }
    return result.andThen(ar -> learn(b, ar, req, token)); // a JWT waiting for a JWKS refresh
  }

  /** What a data-plane verification teaches the backoff: a verified credential, or one more failure. */
  private void learn(FailureBackoff b, AsyncResult<Principal> ar, HttpServerRequest req, String token) {
    if (ar.succeeded()) {
      b.verified(verifiedHash(ar.result(), token));
    } else if (ar.cause() instanceof AuthException e && e.reason() == AuthException.Reason.INVALID) {
      failed(b, req, throttleKey(req), credentialHash(sha256(token)), DATA_PLANE);
    }
  }

  /**
   * The SHA-256 (hex) of a credential that just verified: for a gateway token the hash its key stores (the token
   * matched it), so the request path hashes nothing more; for a JWT its own hash.
   */
  private String verifiedHash(Principal who, String token) {
    if (who.kind() == Principal.Kind.KEY && who.keyId() != null) {
      ApiKey key = keys.get().byId(who.keyId());
      if (key != null) return key.sha256Hex();
    }
    return credentialHash(sha256(token));
  }

  /** Counts a wrong credential against its address; logs once when the address starts to wait. */
  private void failed(FailureBackoff b, HttpServerRequest req, String client, String hash, String plane) {
    b.forget(hash);
    FailureBackoff.Failure f = b.failed(client);
    if (!f.burstStarted()) return;
    FailureBackoff.Settings s = b.settings();
    boolean forwarded = req.getHeader("X-Forwarded-For") != null || req.getHeader("X-Real-IP") != null;
    log.warn("client {}: {} wrong credentials within {} (the last on the {} plane): its credentials are refused "
        + "unchecked with 429 for {}, the wait doubling with each further failure up to {} (server.failedCredentials); "
        + "credentials that verified in the last {} still pass{}", client, f.failuresInWindow(), human(s.window()),
        plane, human(Duration.ofMillis(f.retryAfterMillis())), human(s.maxBackoff()),
        human(FailureBackoff.VERIFIED_FOR), forwarded && !clients.trustsPeer(req)
            ? ". Its requests carry X-Forwarded-For/X-Real-IP: if it is your reverse proxy, list it in "
                + "server.trustedProxies, or all clients behind it wait together" : "");
  }

  /** The 429 answer for {@code req}, whose address waits. */
  Throttled throttled(HttpServerRequest req, String plane) {
    String client = throttleKey(req);
    long seconds = Durations.retryAfterSeconds(backoff.retryAfterMillis(client));
    return new Throttled("too many wrong credentials from " + client + ": credentials from this address are not "
        + "checked for the next " + seconds + " s; retry after that with a valid token (tokens that worked from here "
        + "before still do)", seconds, plane);
  }

  /** The key the backoff counts {@code req}'s client under. */
  private String throttleKey(HttpServerRequest req) {
    return ClientAddress.throttleKey(clients.of(req));
  }

  private static String human(Duration d) {
    long s = d.toSeconds();
    if (s >= 3600 && s % 3600 == 0) return s / 3600 + "h";
    if (s >= 60 && s % 60 == 0) return s / 60 + "m";
    return s + "s";
  }

  private static byte[] sha256(String token) {
    return Sha256.digest().digest(token.getBytes(StandardCharsets.UTF_8));
  }

  /** What the backoff remembers of a verified credential: its SHA-256, never the credential. */
  private static String credentialHash(byte[] sha256) {
    return HexFormat.of().formatHex(sha256);
  }

  // ------------------------------------------------------------------ admin plane

  /** Whether {@code req} may use the admin plane. */
  AdminAccess admin(HttpServerRequest req) {
    AdminSettings ad = adminSettings;
    if (!ad.hasToken()) return authSettings.mode() == AuthMode.NONE ? AdminAccess.GRANTED : AdminAccess.CLOSED;
    String token = bearer(req);
    if (token != null) {
      FailureBackoff b = backoff;
      byte[] digest = sha256(token);
      String hash = credentialHash(digest);
      String client = b.settings().enabled() ? throttleKey(req) : null;
      if (client != null && b.retryAfterMillis(client) > 0 && !b.recentlyVerified(hash)) return AdminAccess.THROTTLED;
      if (isAdminDigest(digest)) {
        b.verified(hash);
        return AdminAccess.GRANTED;
      }
      if (isDataPlaneToken(token)) {
        // a JWT-shaped token is not verified here: unless it verified on the data plane, it may be a guess
        if (KeyGenerator.idOf(token) == null && !b.recentlyVerified(hash) && client != null) {
          failed(b, req, client, hash, ADMIN_PLANE);
        }
        return AdminAccess.DATA_PLANE_TOKEN;
      }
      if (client != null) failed(b, req, client, hash, ADMIN_PLANE);
      return AdminAccess.INVALID;
    }
    Cookie c = req.getCookie(SESSION_COOKIE);
    if (c != null) {
      if (sessions.getIfPresent(c.getValue()) == null) return AdminAccess.INVALID;
      boolean safe = switch (req.method().name()) {
        case "GET", "HEAD", "OPTIONS" -> true;
        default -> false;
      };
      return safe || "1".equals(req.getHeader(CONSOLE_HEADER)) ? AdminAccess.GRANTED : AdminAccess.NO_CONSOLE_HEADER;
    }
    return AdminAccess.MISSING;
  }

  boolean isAdminToken(String token) {
    return token != null && isAdminDigest(sha256(token));
  }

  private boolean isAdminDigest(byte[] presented) {
    AdminSettings ad = adminSettings;
    if (!ad.hasToken()) return false;
    return MessageDigest.isEqual(presented, HexFormat.of().parseHex(ad.tokenSha256()));
  }

  private boolean isDataPlaneToken(String token) {
    if (KeyGenerator.idOf(token) != null) {
      return keys.get().find(token, clock.millis()) instanceof ApiKeys.Found;
    }
    return token.chars().filter(ch -> ch == '.').count() == 2 && jwt != null;
  }

  /**
   * A new console session for a correct admin token; null otherwise (a failure counted against the client's address).
   *
   * @throws Throttled when the address waits after too many wrong credentials and this token did not verify recently
   */
  String login(HttpServerRequest req, String token) {
    if (token == null || token.isEmpty()) return null;
    FailureBackoff b = backoff;
    byte[] digest = sha256(token);
    String hash = credentialHash(digest);
    String client = b.settings().enabled() ? throttleKey(req) : null;
    if (client != null && b.retryAfterMillis(client) > 0 && !b.recentlyVerified(hash)) {
      throw throttled(req, ADMIN_PLANE);
    }
    if (!isAdminDigest(digest)) {
      if (client != null) failed(b, req, client, hash, ADMIN_PLANE);
      return null;
    }
    b.verified(hash);
    byte[] id = new byte[32];
    RANDOM.nextBytes(id);
    String session = Base64.getUrlEncoder().withoutPadding().encodeToString(id);
    sessions.put(session, Boolean.TRUE);
    return session;
  }

  void logout(HttpServerRequest req) {
    Cookie c = req.getCookie(SESSION_COOKIE);
    if (c != null) sessions.invalidate(c.getValue());
  }

  /**
   * The presented credential, read exactly as {@link Authenticator} reads it ({@code Authorization: Bearer}, any case,
   * any whitespace; else {@code x-api-key}), so no spelling of the header slips past the backoff; null when none.
   */
  private static String bearer(HttpServerRequest req) {
    String auth = req.getHeader("Authorization");
    if (auth != null) {
      String h = auth.strip();
      if (h.length() >= 7 && h.regionMatches(true, 0, "Bearer", 0, 6) && Character.isWhitespace(h.charAt(6))) {
        String t = h.substring(7).strip();
        if (!t.isEmpty()) return t;
      }
    }
    String key = req.getHeader("x-api-key");
    return key == null || key.isBlank() ? null : key.strip();
  }

  // ------------------------------------------------------------------ gateway tokens

  @Override
  public List<ApiKey> keys() {
    return keys.get().all();
  }

  /**
   * Creates a gateway token, saves its hash to the keys file (blocking I/O: call off the event loop) and puts it in
   * force at once.
   */
  @Override
  public synchronized KeyGenerator.Created createKey(String tenant, Set<String> models, Limits limits, int weight,
      Band maxBand, Instant expiresAt, String note) throws IOException {
    KeyGenerator.Created created = KeyGenerator.create(tenant, models, limits, weight, maxBand, expiresAt, note,
        Instant.ofEpochMilli(clock.millis()));
    ApiKeys next = currentForUpdate().with(created.key());
    save(next);
    return created;
  }

  /** Revokes the key with public id {@code id} at once; null when there is none. */
  @Override
  public synchronized ApiKey revokeKey(String id) throws IOException {
    ApiKeys current = currentForUpdate();
    if (current.byId(id) == null) return null;
    ApiKeys next = current.revoke(id, Instant.ofEpochMilli(clock.millis()));
    save(next);
    return next.byId(id);
  }

  /** The file's latest content (another process may have written it since the last poll). */
  private ApiKeys currentForUpdate() {
    reloadKeys(false);
    return keys.get();
  }

  private void save(ApiKeys next) throws IOException {
    if (keysFile != null) {
      KeyFile.write(keysFile, next);
      keysFileStamp = Files.getLastModifiedTime(keysFile).toMillis() + ":" + Files.size(keysFile);
    }
    keys.set(next);
  }
}
