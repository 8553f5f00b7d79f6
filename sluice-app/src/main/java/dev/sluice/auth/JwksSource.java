package dev.sluice.auth;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.support.Clock;
import dev.sluice.support.Json;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.impl.jose.JWK;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The keys of a JWKS endpoint ({@code {"keys":[…]}}), fetched every {@code refresh} and on demand when a token names a
 * kid we do not know, at most once per {@code minInterval}. When the endpoint is down or answers garbage the last good
 * keys stay in use, and one WARN is logged per failure streak.
 */
public final class JwksSource {
  private static final Logger log = LoggerFactory.getLogger(JwksSource.class);
  /** Connect and idle timeout of a fetch. */
  static final Duration FETCH_TIMEOUT = Duration.ofSeconds(10);
  /** A JWKS larger than this is not a JWKS (identity providers publish a few keys, a few KiB). */
  static final int MAX_BODY_BYTES = 1 << 20;

  /** A parsed key set; {@code json} identifies it, so an unchanged fetch keeps the same instance. */
  record KeySet(List<JWK> keys, List<String> json) {
    static final KeySet EMPTY = new KeySet(List.of(), List.of());
  }

  private final Vertx vertx;
  private final URI url;
  private final Duration refresh;
  private final Duration minInterval;
  private final Clock clock;
  private final HttpClient client;
  /** Every fetch runs here: an HTTP exchange driven from a non-Vert.x thread can lose its response body. */
  private final Context context;
  private final AtomicLong fetches = new AtomicLong();
  private volatile KeySet current = KeySet.EMPTY;
  /** Clock reading of the last on-demand fetch; Long.MIN_VALUE before the first. */
  private long lastOnDemandMillis = Long.MIN_VALUE;
  private Future<Boolean> inFlight;
  private boolean failing;
  private long timer = -1;
  private volatile boolean closed;

  /**
   * @param refresh time between scheduled fetches
   * @param minInterval least time between two on-demand fetches ({@link #refreshForUnknownKid})
   * @param clock epoch milliseconds, for the on-demand rate limit
   */
  public JwksSource(Vertx vertx, URI url, Duration refresh, Duration minInterval, Clock clock) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.url = Objects.requireNonNull(url, "url");
    this.refresh = Objects.requireNonNull(refresh, "refresh");
    this.minInterval = Objects.requireNonNull(minInterval, "minInterval");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.client = vertx.httpClientBuilder()
        .with(new HttpClientOptions().setName("jwks").setKeepAlive(true).setKeepAliveTimeout(30)
            .setConnectTimeout((int) FETCH_TIMEOUT.toMillis()))
        .build();
    this.context = vertx.getOrCreateContext();
  }

  /** Fetches once and schedules the refresh. Completes after the first attempt, whether it worked or not; never fails. */
  public Future<Void> start() {
    synchronized (this) {
      if (timer < 0 && !closed) timer = vertx.setPeriodic(refresh.toMillis(), id -> fetch());
    }
    return fetch().mapEmpty();
  }

  /**
   * Fetches now unless an on-demand fetch started less than {@code minInterval} ago (then completes with false at
   * once); a fetch already in flight is shared. Completes with true when the key set changed; never fails.
   */
  public Future<Boolean> refreshForUnknownKid() {
    synchronized (this) {
      if (inFlight != null) return inFlight;
      long now = clock.millis();
      if (lastOnDemandMillis != Long.MIN_VALUE && now - lastOnDemandMillis < minInterval.toMillis()) {
        return Future.succeededFuture(false);
      }
      lastOnDemandMillis = now;
    }
    return fetch();
  }

  /** The last good key set (empty before the first successful fetch). */
  KeySet keys() {
    return current;
  }

  /** Number of fetches started, for tests. */
  public long fetchCount() {
    return fetches.get();
  }

  /** Stops refreshing and closes the HTTP client. */
  public void close() {
    synchronized (this) {
      closed = true;
      if (timer >= 0) vertx.cancelTimer(timer);
      timer = -1;
    }
    client.close();
  }

  private Future<Boolean> fetch() {
    Promise<Boolean> done = Promise.promise();
    synchronized (this) {
      if (closed) return Future.succeededFuture(false);
      if (inFlight != null) return inFlight;
      inFlight = done.future();
    }
    fetches.incrementAndGet();
    context.runOnContext(v -> exchange(done));
    return done.future();
  }

  private void exchange(Promise<Boolean> done) {
    KeySet before = current;
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setAbsoluteURI(url.toString())
        .setConnectTimeout(FETCH_TIMEOUT.toMillis()).setIdleTimeout(FETCH_TIMEOUT.toMillis())
        .putHeader("accept", "application/json");
    client.request(options)
        .compose(req -> req.send())
        .compose(resp -> {
          if (resp.statusCode() != 200) {
            return resp.body().transform(x -> Future.failedFuture("HTTP " + resp.statusCode()));
          }
          return resp.body();
        })
        .map(this::parse)
        .onComplete(ar -> {
          boolean changed = false;
          if (ar.succeeded()) {
            changed = accept(ar.result(), before);
          } else {
            failed(ar.cause().getMessage());
          }
          synchronized (this) {
            inFlight = null;
          }
          done.complete(changed);
        });
  }

  private boolean accept(KeySet fetched, KeySet before) {
    boolean recovered;
    synchronized (this) {
      recovered = failing;
      failing = false;
    }
    if (recovered) log.info("JWKS {}: reachable again, {} keys", url, fetched.keys().size());
    if (fetched.json().equals(before.json())) return false;
    current = fetched;
    List<String> kids = new ArrayList<>();
    for (JWK k : fetched.keys()) kids.add(k.getAlgorithm() + (k.getId() == null ? "" : " " + k.getId()));
    log.info("JWKS {}: key set changed, now {} keys ({})", url, fetched.keys().size(), String.join(", ", kids));
    return true;
  }

  private void failed(String reason) {
    boolean first;
    synchronized (this) {
      first = !failing;
      failing = true;
    }
    if (first) {
      log.warn("JWKS {}: fetch failed ({}); keeping the last good {} keys until it works again", url, reason,
          current.keys().size());
    }
  }

  /** The usable keys of a JWKS document; fails when there are none (garbage must not replace good keys). */
  private KeySet parse(Buffer body) {
    if (body.length() > MAX_BODY_BYTES) throw new IllegalStateException("body larger than " + MAX_BODY_BYTES + " bytes");
    JsonNode root;
    try {
      root = Json.MAPPER.readTree(body.getBytes());
    } catch (IOException e) {
      throw new IllegalStateException("not JSON");
    }
    if (root == null || !root.isObject() || !root.path("keys").isArray()) {
      throw new IllegalStateException("not a JWKS (expected {\"keys\":[…]})");
    }
    List<JWK> keys = new ArrayList<>();
    List<String> json = new ArrayList<>();
    int i = 0;
    for (JsonNode k : root.get("keys")) {
      String skipped = usable(k);
      if (skipped != null) {
        log.info("JWKS {}: keys[{}] skipped: {}", url, i, skipped);
      } else {
        try {
          JsonObject jwk = new JsonObject(k.toString());
          if (!jwk.containsKey("alg")) jwk.put("alg", inferAlg(k));
          JWK parsed = new JWK(jwk);
          if (parsed.publicKey() == null && parsed.mac() == null) throw new IllegalArgumentException("no key material");
          keys.add(parsed);
          json.add(jwk.encode());
        } catch (RuntimeException e) {
          log.info("JWKS {}: keys[{}] skipped: not a valid {} key", url, i, k.path("kty").asText());
        }
      }
      i++;
    }
    if (keys.isEmpty()) throw new IllegalStateException("no usable RS256, ES256 or HS256 keys");
    return new KeySet(List.copyOf(keys), List.copyOf(json));
  }

  /** Null when {@code k} is a signing key of an algorithm we verify, else why it is skipped. */
  private static String usable(JsonNode k) {
    if (!k.isObject()) return "not an object";
    String use = k.path("use").asText("sig");
    if (!use.equals("sig")) return "use " + use + " (not sig)";
    String alg = k.hasNonNull("alg") ? k.get("alg").asText() : inferAlg(k);
    if (alg == null) return "kty " + k.path("kty").asText("(missing)") + " without alg";
    if (!JwtKeySpec.ALGS.contains(alg)) return "alg " + alg + " (only RS256, ES256, HS256)";
    String kty = k.path("kty").asText("");
    String expected = switch (alg) {
      case "RS256" -> "RSA";
      case "ES256" -> "EC";
      default -> "oct";
    };
    if (!kty.equals(expected)) return "alg " + alg + " with kty " + kty + " (expected " + expected + ")";
    if (alg.equals("ES256") && !"P-256".equals(k.path("crv").asText())) return "ES256 needs crv P-256";
    for (String member : switch (kty) {
      case "RSA" -> new String[] {"n", "e"};
      case "EC" -> new String[] {"x", "y"};
      default -> new String[] {"k"};
    }) {
      if (!k.path(member).isTextual() || k.get(member).textValue().isEmpty()) return "member " + member + " missing";
    }
    if (k.hasNonNull("kid") && (!k.get("kid").isTextual() || !JwtVerifier.acceptableKid(k.get("kid").asText()))) {
      return "kid is not 1 to 128 printable ASCII characters";
    }
    return null;
  }

  private static String inferAlg(JsonNode k) {
    return switch (k.path("kty").asText("")) {
      case "RSA" -> "RS256";
      case "EC" -> "P-256".equals(k.path("crv").asText()) ? "ES256" : null;
      case "oct" -> "HS256";
      default -> null;
    };
  }
}
