package dev.sluice.server;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.sluice.auth.ApiKey;
import dev.sluice.auth.ApiKeys;
import dev.sluice.auth.AuthException;
import dev.sluice.auth.AuthMode;
import dev.sluice.auth.Authenticator;
import dev.sluice.auth.JwtVerifier;
import dev.sluice.auth.KeyFile;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.auth.Principal;
import dev.sluice.config.AdminSettings;
import dev.sluice.config.AuthSettings;
import dev.sluice.config.SluiceConfig;
import dev.sluice.limit.Limits;
import dev.sluice.support.Secrets;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.Cookie;
import io.vertx.core.http.HttpServerRequest;
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
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may call what: the data plane's {@link Authenticator} (gateway tokens, JWT), the gateway tokens themselves
 * (hashes only, from the keys file, re-read within {@link #KEYS_FILE_POLL_MILLIS} of a change), and the admin plane's
 * credential (the admin token, or a console session obtained with it). Rebuilt on config swaps.
 */
final class AccessControl {
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
    NO_CONSOLE_HEADER
  }

  private final Vertx vertx;
  private final LongSupplier clock;
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

  AccessControl(Vertx vertx, SluiceConfig initial, LongSupplier clock) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.clock = Objects.requireNonNull(clock, "clock");
    apply(initial);
  }

  /** Takes the auth and admin settings of {@code config}; the JWT verifier and keys are rebuilt only when they change. */
  synchronized void apply(SluiceConfig config) {
    AuthSettings a = config.auth();
    AdminSettings ad = config.admin();
    for (var n : config.nodes()) Secrets.register(n.apiKey());
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
    } catch (java.io.IOException e) {
      stamp = "unreadable";
    }
    if (!force && stamp.equals(keysFileStamp)) return false;
    keysFileStamp = stamp;
    try {
      ApiKeys read = KeyFile.read(file);
      keys.set(read);
      log.info("gateway tokens: {} loaded from {} ({} active)", read.size(), file,
          read.all().stream().filter(k -> k.active(clock.getAsLong())).count());
      return true;
    } catch (java.io.IOException e) {
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
    return authenticator.authenticate(req.getHeader("Authorization"), req.getHeader("x-api-key"));
  }

  // ------------------------------------------------------------------ admin plane

  /** Whether {@code req} may use the admin plane. */
  AdminAccess admin(HttpServerRequest req) {
    AdminSettings ad = adminSettings;
    if (!ad.hasToken()) return authSettings.mode() == AuthMode.NONE ? AdminAccess.GRANTED : AdminAccess.CLOSED;
    String token = bearer(req);
    if (token != null) {
      if (isAdminToken(token)) return AdminAccess.GRANTED;
      if (isDataPlaneToken(token)) return AdminAccess.DATA_PLANE_TOKEN;
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
    AdminSettings ad = adminSettings;
    if (!ad.hasToken() || token == null) return false;
    byte[] presented = dev.sluice.support.Sha256.digest().digest(token.getBytes(StandardCharsets.UTF_8));
    return MessageDigest.isEqual(presented, HexFormat.of().parseHex(ad.tokenSha256()));
  }

  private boolean isDataPlaneToken(String token) {
    if (KeyGenerator.idOf(token) != null) {
      return keys.get().find(token, clock.getAsLong()) instanceof ApiKeys.Found;
    }
    return token.chars().filter(ch -> ch == '.').count() == 2 && jwt != null;
  }

  /** A new console session for a correct admin token; null otherwise. */
  String login(String token) {
    if (!isAdminToken(token)) return null;
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

  private static String bearer(HttpServerRequest req) {
    String auth = req.getHeader("Authorization");
    if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) return auth.substring(7).trim();
    String key = req.getHeader("x-api-key");
    return key == null || key.isBlank() ? null : key.trim();
  }

  // ------------------------------------------------------------------ gateway tokens

  List<ApiKey> keys() {
    return keys.get().all();
  }

  /**
   * Creates a gateway token, saves its hash to the keys file (blocking I/O: call off the event loop) and puts it in
   * force at once.
   */
  synchronized KeyGenerator.Created createKey(String tenant, Set<String> models, Limits limits, Instant expiresAt,
      String note) throws java.io.IOException {
    KeyGenerator.Created created = KeyGenerator.create(tenant, models, limits, expiresAt, note,
        Instant.ofEpochMilli(clock.getAsLong()));
    ApiKeys next = currentForUpdate().with(created.key());
    save(next);
    return created;
  }

  /** Revokes the key with public id {@code id} at once; null when there is none. */
  synchronized ApiKey revokeKey(String id) throws java.io.IOException {
    ApiKeys current = currentForUpdate();
    if (current.byId(id) == null) return null;
    ApiKeys next = current.revoke(id, Instant.ofEpochMilli(clock.getAsLong()));
    save(next);
    return next.byId(id);
  }

  /** The file's latest content (another process may have written it since the last poll). */
  private ApiKeys currentForUpdate() {
    reloadKeys(false);
    return keys.get();
  }

  private void save(ApiKeys next) throws java.io.IOException {
    if (keysFile != null) {
      KeyFile.write(keysFile, next);
      keysFileStamp = Files.getLastModifiedTime(keysFile).toMillis() + ":" + Files.size(keysFile);
    }
    keys.set(next);
  }
}
