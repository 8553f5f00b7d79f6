package dev.sluice.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.ApiException;
import dev.sluice.api.ApiFlavor;
import dev.sluice.api.Endpoint;
import dev.sluice.api.ErrorKind;
import dev.sluice.api.ParsedRequest;
import dev.sluice.api.PathNormalizer;
import dev.sluice.api.RequestValidator;
import dev.sluice.config.ApiKind;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.SluiceConfig;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.routing.RetryBudget;
import dev.sluice.support.Clock;
import dev.sluice.support.Json;
import dev.sluice.upstream.Exchange;
import dev.sluice.upstream.NodeClient;
import dev.sluice.upstream.NodeClients;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.RequestOptions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The data plane's one request handler: normalise the path, check it against the allow-list, read and validate the
 * body, then answer locally (models, version, metrics, health), merge answers of all Ollama nodes (tags, ps), or hand
 * the request to an {@link Exchange} that routes it to a node. Shared by every event loop; holds no per-request state.
 */
final class GatewayHandler {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(GatewayHandler.class);
  /** The Ollama version Sluice reports on /api/version: recent enough that Ollama clients enable every feature. */
  static final String OLLAMA_COMPAT_VERSION = "0.12.6";
  /** What Ollama answers on its root path; kept verbatim because clients compare it. */
  static final String OLLAMA_ROOT_TEXT = "Ollama is running";
  /** How long /api/tags and /api/ps wait for each node before answering without it. */
  static final long AGGREGATE_TIMEOUT_MS = 2_000;
  private static final int MAX_MODEL_NAME_IN_MESSAGE = 100;

  private final Vertx vertx;
  /** The config and router current now: each request takes one when it arrives and keeps it to its end. */
  private final java.util.function.Supplier<ConfigSnapshot> snapshots;
  private final NodeClients nodes;
  private final dev.sluice.node.NodeRegistry registry;
  private final RoutedRequest.Shared shared;
  /** Connections that sent a refused framing: anything still pipelined on them is dropped, not served. */
  private final java.util.Set<io.vertx.core.http.HttpConnection> poisoned =
      java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final AdminApi admin;
  private final AccessControl access;
  private final Console console = new Console();
  private final SluiceMetrics metrics;
  private final BodyReader bodies;
  private final Clock clock;
  private final String startedAt = Instant.now().toString();
  private final long createdEpochSeconds = Instant.now().getEpochSecond();

  GatewayHandler(Vertx vertx, Clock clock, java.util.function.Supplier<ConfigSnapshot> snapshots, NodeClients nodes,
      dev.sluice.node.NodeRegistry registry, AdminApi admin, AccessControl access, SluiceMetrics metrics,
      Protections protections, Observers observers, java.util.function.BooleanSupplier starting, BodyReader bodies) {
    AtomicInteger inFlight = new AtomicInteger();
    this.shared = new RoutedRequest.Shared(new Exchange.Shared(vertx, clock, metrics, new RetryBudget(), inFlight::get),
        clock, inFlight, metrics, protections, observers, starting);
    this.clock = clock;
    this.vertx = vertx;
    this.snapshots = snapshots;
    this.nodes = nodes;
    this.registry = registry;
    this.admin = admin;
    this.access = access;
    this.metrics = metrics;
    this.bodies = java.util.Objects.requireNonNull(bodies, "bodies");
  }

  /** A request on the main listener. */
  void handle(HttpServerRequest req) {
    handle(req, false);
  }

  /** A request on the separate admin listener ({@code admin.port}). */
  void handleAdmin(HttpServerRequest req) {
    handle(req, true);
  }

  private void handle(HttpServerRequest req, boolean adminListener) {
    Arrival start = Arrival.of(req, clock);
    ConfigSnapshot snapshot = snapshots.get();
    if (req.isSSL()) {
      String hsts = TlsListeners.hsts(snapshot.config().server().tls());
      if (hsts != null) req.response().putHeader(TlsListeners.HSTS_HEADER, hsts);
    }
    try {
      dispatch(req, snapshot, start, adminListener);
    } catch (RuntimeException e) {
      // A bug must never reach the client as a stack trace or a hung connection.
      log.error("internal error on {} {}", req.method(), req.path(), e);
      refuse(req, Endpoint.flavorOf(req.path()), "other", ErrorKind.INTERNAL,
          "internal error in Sluice (logged on the gateway); retry, and report it if it persists", start);
    }
  }

  private void dispatch(HttpServerRequest req, ConfigSnapshot snapshot, Arrival start, boolean adminListener) {
    String rawPath = req.path();
    if (!poisoned.isEmpty() && poisoned.contains(req.connection())) {
      return; // pipelined behind a refused framing: never served, the connection is closing
    }
    if (req.headers().contains(HttpHeaders.TRANSFER_ENCODING)) {
      // Netty lets Transfer-Encoding override Content-Length and keeps the connection, so CL.TE / TE.CL framing would
      // smuggle a second request past a proxy that frames differently. Sluice's clients send JSON with a length.
      io.vertx.core.http.HttpConnection conn = req.connection();
      poisoned.add(conn);
      conn.closeHandler(v -> poisoned.remove(conn));
      req.response().putHeader(HttpHeaders.CONNECTION, "close");
      refuse(req, Endpoint.flavorOf(rawPath), "other", ErrorKind.INVALID_REQUEST,
          "Transfer-Encoding on a request is refused (it is how requests are smuggled past proxies): send the body "
              + "with a Content-Length", start);
      conn.close();
      return;
    }
    if (Cors.handle(req, snapshot.config().server().cors())) {
      observe(start, "other", SluiceMetrics.UNKNOWN, null, req.response().getStatusCode(),
          req.response().getStatusCode() == 204 ? "ok" : "client_error");
      return;
    }
    String path = PathNormalizer.normalise(rawPath);
    boolean adminPath = path != null && isAdminPath(path);
    if (adminListener != adminPath && !(path != null && (path.equals("/healthz") || path.equals("/readyz")))) {
      // each listener serves its own plane only: the data port does not expose /admin when it has its own port
      if (adminListener || access.admin().separateListener()) {
        refuse(req, Endpoint.flavorOf(path == null ? rawPath : path), "other", ErrorKind.NOT_FOUND,
            adminListener ? "this is the admin listener: it serves /admin, /console and /metrics only"
                : "not found on this port: the admin plane listens on its own port (admin.port)", start);
        return;
      }
    }
    if (adminPath) {
      adminPlane(req, path, start);
      return;
    }
    if (path != null && (req.method() == HttpMethod.GET || req.method() == HttpMethod.HEAD)
        && serveOperational(req, path)) {
      return;
    }
    Endpoint endpoint = Endpoint.at(path);
    if (endpoint == null) {
      refuse(req, Endpoint.flavorOf(path == null ? rawPath : path), "other", ErrorKind.NOT_FOUND, notFoundMessage(path), start);
      return;
    }
    if (req.method() != endpoint.method()) {
      req.response().putHeader(HttpHeaders.ALLOW, endpoint.method().name());
      refuse(req, endpoint.flavor(), endpoint.name().toLowerCase(Locale.ROOT), ErrorKind.METHOD_NOT_ALLOWED,
          endpoint.path() + " accepts " + endpoint.method().name() + " only", start);
      return;
    }
    SluiceConfig config = snapshot.config();
    if (endpoint == Endpoint.OLLAMA_VERSION) { // Ollama clients' heartbeat: no secret in it
      answerLocally(req, endpoint, config, dev.sluice.auth.Principal.anonymous(), start);
      return;
    }
    Future<dev.sluice.auth.Principal> who = access.authenticate(req);
    if (!who.isComplete()) req.pause(); // a JWKS refresh: hold the body until we know who is calling
    who.onComplete(ar -> {
      if (ar.failed()) {
        unauthorized(req, endpoint, ar.cause(), start);
        return;
      }
      switch (endpoint.handling()) {
        case LOCAL -> answerLocally(req, endpoint, config, ar.result(), start);
        case AGGREGATE -> aggregate(req, endpoint, config, ar.result(), start);
        default -> readBody(req, endpoint, snapshot, ar.result(), start);
      }
    });
  }

  private void unauthorized(HttpServerRequest req, Endpoint endpoint, Throwable cause, Arrival start) {
    req.resume();
    String label = endpoint.name().toLowerCase(Locale.ROOT);
    if (cause instanceof AccessControl.Throttled t) {
      throttled(req, endpoint.flavor(), label, t, start);
      return;
    }
    if (cause instanceof dev.sluice.auth.AuthException e) {
      if (e.reason() != dev.sluice.auth.AuthException.Reason.FORBIDDEN) {
        req.response().putHeader("WWW-Authenticate", "Bearer realm=\"sluice\"");
      }
      refuse(req, endpoint.flavor(), label, e.reason() == dev.sluice.auth.AuthException.Reason.FORBIDDEN
          ? ErrorKind.MODEL_NOT_ALLOWED : ErrorKind.UNAUTHORIZED, e.getMessage(), start);
      metrics.authFailure(e.reason().name().toLowerCase(Locale.ROOT));
      return;
    }
    log.error("authentication failed unexpectedly on {}", label, cause);
    refuse(req, endpoint.flavor(), label, ErrorKind.INTERNAL,
        "internal error while checking the gateway token (logged on the gateway); retry", start);
  }

  /** 429 + Retry-After for a credential not looked at because its address waits after too many wrong ones. */
  private void throttled(HttpServerRequest req, ApiFlavor flavor, String label, AccessControl.Throttled t,
      Arrival start) {
    req.response().putHeader(HttpHeaders.RETRY_AFTER, Long.toString(t.retryAfterSeconds()));
    metrics.credentialThrottled(t.plane());
    refuse(req, flavor, label, ErrorKind.RATE_LIMITED, t.getMessage(), start);
  }

  // ------------------------------------------------------------------ admin plane

  /** /admin/*, /console and, unless admin.protectMetrics is false, /metrics. */
  private boolean isAdminPath(String path) {
    return path.equals("/admin") || path.startsWith("/admin/") || path.equals("/console")
        || path.startsWith("/console/") || path.equals("/metrics") && access.admin().protectMetrics();
  }

  private void adminPlane(HttpServerRequest req, String path, Arrival start) {
    if (path.equals("/console/login")) {
      consoleLogin(req, start);
      return;
    }
    AccessControl.AdminAccess granted = access.admin(req);
    boolean consolePage = path.equals("/console") || path.startsWith("/console/");
    if (consolePage) {
      consolePage(req, path, granted, start);
      return;
    }
    if (granted != AccessControl.AdminAccess.GRANTED) {
      adminRefused(req, granted, start);
      return;
    }
    observe(start, "admin", SluiceMetrics.UNKNOWN, null, 200, "ok");
    if (path.equals("/metrics")) {
      req.response().putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
          .end(metrics.scrape());
      return;
    }
    admin.handle(req, path);
  }

  private void adminRefused(HttpServerRequest req, AccessControl.AdminAccess why, Arrival start) {
    if (why == AccessControl.AdminAccess.THROTTLED) {
      throttled(req, ApiFlavor.OPENAI, "admin", access.throttled(req, AccessControl.ADMIN_PLANE), start);
      return;
    }
    ErrorKind kind = ErrorKind.UNAUTHORIZED;
    String message;
    switch (why) {
      case MISSING -> message = "unauthorized: admin token missing (send Authorization: Bearer <admin token>; the "
          + "data plane's gateway tokens do not open the admin plane)";
      case INVALID -> message = "invalid admin token";
      case DATA_PLANE_TOKEN -> {
        kind = ErrorKind.ADMIN_FORBIDDEN;
        message = "this is a data-plane gateway token; /admin, /console and /metrics need the admin token";
      }
      case CLOSED -> {
        kind = ErrorKind.ADMIN_FORBIDDEN;
        message = "the admin plane is closed: no admin token is configured (set admin.tokenSha256; "
            + "`sluice keys admin-token` makes one)";
      }
      default -> {
        kind = ErrorKind.ADMIN_FORBIDDEN;
        message = "a console session may change state only from the console (X-Sluice-Console header missing)";
      }
    }
    if (kind == ErrorKind.UNAUTHORIZED) req.response().putHeader("WWW-Authenticate", "Bearer realm=\"sluice admin\"");
    metrics.authFailure("admin_" + why.name().toLowerCase(Locale.ROOT));
    refuse(req, ApiFlavor.OPENAI, "admin", kind, message, start);
  }

  private void consolePage(HttpServerRequest req, String path, AccessControl.AdminAccess granted, Arrival start) {
    HttpServerResponse resp = req.response();
    if (path.equals("/console/logout") && req.method() == HttpMethod.POST) {
      access.logout(req);
      Console.secure(resp).putHeader(HttpHeaders.SET_COOKIE, AccessControl.SESSION_COOKIE
          + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict").putHeader(HttpHeaders.LOCATION, "/console/login")
          .setStatusCode(303).end();
      return;
    }
    String name = path.equals("/console") ? "index.html" : path.substring("/console/".length());
    boolean publicAsset = name.equals("console.css");
    if (granted != AccessControl.AdminAccess.GRANTED && !publicAsset) {
      if (req.method() == HttpMethod.GET && name.equals("index.html")) {
        Console.secure(resp).putHeader(HttpHeaders.LOCATION, "/console/login").setStatusCode(303).end();
      } else {
        adminRefused(req, granted, start);
      }
      return;
    }
    if (req.method() != HttpMethod.GET && req.method() != HttpMethod.HEAD || !console.serve(resp, name, 200)) {
      refuse(req, ApiFlavor.OPENAI, "admin", ErrorKind.NOT_FOUND, "no such console page", start);
    }
  }

  /** GET: the sign-in form. POST (form field {@code token}): a console session cookie for the admin token. */
  private void consoleLogin(HttpServerRequest req, Arrival start) {
    HttpServerResponse resp = req.response();
    if (req.method() == HttpMethod.GET) {
      console.serve(resp, "login.html", 200);
      return;
    }
    if (req.method() != HttpMethod.POST) {
      refuse(req, ApiFlavor.OPENAI, "admin", ErrorKind.METHOD_NOT_ALLOWED, "/console/login accepts GET and POST", start);
      return;
    }
    String len = req.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (len == null || !len.matches("\\d{1,4}")) {
      resp.putHeader(HttpHeaders.CONNECTION, "close");
      refuse(req, ApiFlavor.OPENAI, "admin", ErrorKind.BODY_TOO_LARGE, "the sign-in form is at most 9999 bytes",
          start);
      return;
    }
    String type = req.getHeader(HttpHeaders.CONTENT_TYPE);
    if (!isFormType(type)) {
      // only the form's own encoding is decoded: anything else (multipart with a broken boundary…) is refused
      // before a decoder sees it, so a malformed sign-in costs one 400, not a stack trace in the log
      resp.putHeader(HttpHeaders.CONNECTION, "close");
      refuse(req, ApiFlavor.OPENAI, "admin", ErrorKind.INVALID_REQUEST, "the sign-in form is sent as "
          + FORM_TYPE + (type == null ? " (no Content-Type given)" : " (got Content-Type " + clip(type) + ")")
          + ": sign in on the page /console/login", start);
      return;
    }
    req.setExpectMultipart(true);
    req.exceptionHandler(e -> {
      // a body the form decoder cannot read (bad percent-encoding): the client's fault, not worth a log line
      if (resp.ended() || resp.closed()) return;
      resp.putHeader(HttpHeaders.CONNECTION, "close");
      refuse(req, ApiFlavor.OPENAI, "admin", ErrorKind.INVALID_REQUEST, "the sign-in form could not be decoded as "
          + FORM_TYPE + ": sign in on the page /console/login", start);
    });
    req.endHandler(v -> {
      if (resp.ended()) return;
      String session;
      try {
        session = access.login(req, req.getFormAttribute("token"));
      } catch (AccessControl.Throttled t) {
        throttled(req, ApiFlavor.OPENAI, "admin", t, start);
        return;
      }
      if (session == null) {
        metrics.authFailure("admin_login");
        console.serve(resp, "login.html", 401);
        return;
      }
      Console.secure(resp).putHeader(HttpHeaders.SET_COOKIE, AccessControl.SESSION_COOKIE + "=" + session
              + "; Path=/; HttpOnly; SameSite=Strict" + (req.isSSL() ? "; Secure" : ""))
          .putHeader(HttpHeaders.LOCATION, "/console").setStatusCode(303).end();
    });
  }

  /** The encoding of the console's sign-in form (an HTML form without enctype). */
  private static final String FORM_TYPE = "application/x-www-form-urlencoded";

  private static boolean isFormType(String contentType) {
    if (contentType == null) return false;
    int semi = contentType.indexOf(';');
    return (semi < 0 ? contentType : contentType.substring(0, semi)).strip().equalsIgnoreCase(FORM_TYPE);
  }

  // ------------------------------------------------------------------ operational endpoints

  private boolean serveOperational(HttpServerRequest req, String path) {
    HttpServerResponse resp = req.response();
    switch (path) {
      case "/metrics" -> resp.putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
          .end(metrics.scrape());
      case "/healthz" -> Responses.json(resp, 200, "{\"status\":\"ok\"}");
      // Ollama clients check `HEAD /` (the ollama CLI's heartbeat) and some match this exact text.
      case "/" -> resp.putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8").end(OLLAMA_ROOT_TEXT);
      case "/readyz" -> {
        SluiceConfig c = snapshots.get().config();
        long now = registry.nowMillis();
        long eligible = registry.all().stream().filter(e -> e.health().eligible(now)).count();
        boolean ready = eligible > 0;
        Responses.json(resp, ready ? 200 : 503, "{\"status\":\"" + (ready ? "ready" : "no node in rotation")
            + "\",\"models\":" + c.models().size() + ",\"nodes\":" + c.nodes().size()
            + ",\"nodesInRotation\":" + eligible + "}");
      }
      default -> {
        return false;
      }
    }
    return true;
  }

  private static String notFoundMessage(String path) {
    if (path != null && path.matches("/api/(pull|push|create|copy|delete|blobs)(/.*)?")) {
      return "model management (/api/pull, push, create, copy, delete) is not available through Sluice: "
          + "manage models on the nodes themselves";
    }
    return "unknown endpoint: Sluice serves POST /v1/chat/completions, /v1/completions, /v1/embeddings, GET /v1/models, "
        + "POST /api/chat, /api/generate, /api/embed, /api/show, GET /api/tags, /api/ps, /api/version";
  }

  private void refuse(HttpServerRequest req, ApiFlavor flavor, String endpoint, ErrorKind kind, String message,
      Arrival start) {
    refuse(req, flavor, endpoint, kind, message, null, null, start);
  }

  /** An error answered before routing: counted, and told to the observers (no node, no attempt). */
  private void refuse(HttpServerRequest req, ApiFlavor flavor, String endpoint, ErrorKind kind, String message,
      String param, String tenant, Arrival start) {
    Responses.error(req.response(), flavor, kind, message, param);
    observe(start, endpoint, SluiceMetrics.UNKNOWN, tenant, kind.status(),
        kind.status() < 500 ? "client_error" : "failed");
  }

  /** The record of a request the gateway answered itself: metrics and observers see it like a routed one. */
  private void observe(Arrival start, String endpoint, String model, String tenant, int status, String outcome) {
    long duration = start.elapsedNanos();
    shared.observers().publish(new dev.sluice.observe.RequestRecord(start.startEpochMillis, start.requestId,
        start.trace.traceId(), tenant, endpoint, model, null, null, 0, outcome, status, -1, duration, duration, -1, -1,
        false));
  }

  // ------------------------------------------------------------------ local answers

  private void answerLocally(HttpServerRequest req, Endpoint endpoint, SluiceConfig config,
      dev.sluice.auth.Principal who, Arrival start) {
    String body;
    if (endpoint == Endpoint.OPENAI_MODELS) {
      ObjectNode root = Json.MAPPER.createObjectNode().put("object", "list");
      ArrayNode data = root.putArray("data");
      config.models().forEach((id, route) -> {
        if (who.mayUse(id)) {
          data.addObject().put("id", id).put("object", "model").put("created", createdEpochSeconds)
              .put("owned_by", route.provider());
        }
      });
      body = root.toString();
    } else {
      body = "{\"version\":\"" + OLLAMA_COMPAT_VERSION + "\"}";
    }
    Responses.json(req.response(), 200, body);
    observe(start, endpoint.name().toLowerCase(Locale.ROOT), SluiceMetrics.UNKNOWN, who.tenant(), 200, "ok");
  }

  /** /api/tags and /api/ps: ask every Ollama node, merge by model name, show only models this gateway routes. */
  private void aggregate(HttpServerRequest req, Endpoint endpoint, SluiceConfig config,
      dev.sluice.auth.Principal who, Arrival start) {
    List<Future<JsonNode>> answers = new ArrayList<>();
    for (NodeSpec n : config.nodes()) {
      NodeClient c = nodes.get(n.id());
      if (c == null || n.api() != ApiKind.OLLAMA) continue;
      String base = n.root().getRawPath() == null ? "" : n.root().getRawPath();
      answers.add(c.http().request(c.target(new RequestOptions().setMethod(HttpMethod.GET)
              .setURI(base + endpoint.upstreamPath()).setTimeout(AGGREGATE_TIMEOUT_MS)))
          .compose(r -> r.send())
          .compose(r -> r.statusCode() == 200 ? r.body() : Future.failedFuture("HTTP " + r.statusCode()))
          .map(b -> {
            try {
              return Json.MAPPER.readTree(b.getBytes());
            } catch (java.io.IOException e) {
              return null;
            }
          })
          .otherwise((JsonNode) null));
    }
    Future.join(answers).onComplete(done -> {
      Map<String, JsonNode> merged = new LinkedHashMap<>();
      for (Future<JsonNode> f : answers) {
        JsonNode root = f.result();
        if (root == null || !root.path("models").isArray()) continue;
        for (JsonNode m : root.path("models")) {
          String name = m.path("name").asText(m.path("model").asText(""));
          if (config.models().containsKey(name) && who.mayUse(name)) merged.putIfAbsent(name, m);
        }
      }
      if (endpoint == Endpoint.OLLAMA_TAGS) {
        for (String id : config.models().keySet()) {
          if (who.mayUse(id)) merged.computeIfAbsent(id, this::syntheticTag);
        }
      }
      ObjectNode out = Json.MAPPER.createObjectNode();
      out.putArray("models").addAll(merged.values());
      Responses.json(req.response(), 200, out.toString());
      observe(start, endpoint.name().toLowerCase(Locale.ROOT), SluiceMetrics.UNKNOWN, who.tenant(), 200, "ok");
    });
  }

  /** An /api/tags entry for a configured model that no Ollama node listed (e.g. served only by vLLM nodes). */
  private JsonNode syntheticTag(String id) {
    ObjectNode m = Json.MAPPER.createObjectNode().put("name", id).put("model", id).put("modified_at", startedAt)
        .put("size", 0).put("digest", "");
    String family = id.contains(":") ? id.substring(0, id.indexOf(':')) : id;
    m.putObject("details").put("format", "").put("family", family).put("parameter_size", "").put("quantization_level", "");
    return m;
  }

  // ------------------------------------------------------------------ routed requests

  private void readBody(HttpServerRequest req, Endpoint endpoint, ConfigSnapshot snapshot,
      dev.sluice.auth.Principal who, Arrival start) {
    bodies.read(req, snapshot.config().server(), who.tenant(), body -> route(req, endpoint, snapshot, who, body, start),
        (kind, message) -> refuse(req, endpoint.flavor(), endpoint.name().toLowerCase(Locale.ROOT), kind, message,
            null, who.tenant(), start));
  }

  private void route(HttpServerRequest req, Endpoint endpoint, ConfigSnapshot snapshot, dev.sluice.auth.Principal who,
      Buffer body, Arrival start) {
    SluiceConfig config = snapshot.config();
    String endpointLabel = endpoint.name().toLowerCase(Locale.ROOT);
    ParsedRequest parsed;
    try {
      // max_tokens against the model's maxTokens is the context guard's job (reject or cap, limits.overMaxTokens)
      parsed = RequestValidator.parse(endpoint, body, model -> 0, config.server().maxJsonDepth());
    } catch (ApiException e) {
      refuse(req, endpoint.flavor(), endpointLabel, e.kind(), e.getMessage(), e.param(), who.tenant(), start);
      return;
    }
    if (config.model(parsed.model()).isEmpty()) {
      // only the models this caller may use: the others are none of its business
      List<String> available = config.models().keySet().stream().filter(who::mayUse).toList();
      refuse(req, endpoint.flavor(), endpointLabel, ErrorKind.MODEL_NOT_FOUND,
          "model \"" + clip(parsed.model()) + "\" is not served by this gateway (available"
              + (who.models().isEmpty() ? "" : " to this gateway token") + ": "
              + (available.isEmpty() ? "none" : String.join(", ", available)) + ")", "model", who.tenant(), start);
      return;
    }
    if (!who.mayUse(parsed.model())) {
      refuse(req, endpoint.flavor(), endpointLabel, ErrorKind.MODEL_NOT_ALLOWED, "model \"" + parsed.model()
          + "\" is not allowed for this gateway token (allowed: " + String.join(", ", who.models()) + ")", "model",
          who.tenant(), start);
      return;
    }
    new RoutedRequest(shared, req, snapshot, parsed, who, start).start();
  }

  private static String clip(String s) {
    String shown = dev.sluice.support.Secrets.redact(s); // a client may paste its token into the wrong field
    return shown.length() <= MAX_MODEL_NAME_IN_MESSAGE ? shown : shown.substring(0, MAX_MODEL_NAME_IN_MESSAGE) + "…";
  }
}
