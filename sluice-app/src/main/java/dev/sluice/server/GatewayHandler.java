package dev.sluice.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.ApiException;
import dev.sluice.api.ApiFlavor;
import dev.sluice.api.Endpoint;
import dev.sluice.api.ErrorKind;
import dev.sluice.api.OllamaModels;
import dev.sluice.api.OpenAiModel;
import dev.sluice.api.OpenAiModels;
import dev.sluice.api.ParsedRequest;
import dev.sluice.api.PathNormalizer;
import dev.sluice.api.RequestValidator;
import dev.sluice.auth.AuthException;
import dev.sluice.auth.Principal;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.SluiceConfig;
import dev.sluice.console.AdminApi;
import dev.sluice.http.Responses;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.node.NodeRegistry;
import dev.sluice.routing.RetryBudget;
import dev.sluice.support.Clock;
import dev.sluice.support.Json;
import dev.sluice.upstream.Exchange;
import dev.sluice.upstream.NodeClient;
import dev.sluice.upstream.NodeClients;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data plane's one request handler: normalise the path, check it against the allow-list, read and validate the
 * body, then answer locally (models, version, metrics, health), merge answers of all Ollama nodes (tags, ps), or hand
 * the request to an {@link Exchange} that routes it to a node. Shared by every event loop; holds no per-request state.
 */
final class GatewayHandler {
  private static final Logger log = LoggerFactory.getLogger(GatewayHandler.class);
  /** What Ollama answers on its root path; kept verbatim because clients compare it. */
  static final String OLLAMA_ROOT_TEXT = "Ollama is running";
  /** How long /api/tags and /api/ps wait for each node before answering without it. */
  static final long AGGREGATE_TIMEOUT_MS = 2_000;

  private final Vertx vertx;
  /** The config and router current now: each request takes one when it arrives and keeps it to its end. */
  private final Supplier<ConfigSnapshot> snapshots;
  private final NodeClients nodes;
  private final NodeRegistry registry;
  private final RoutedRequest.Shared shared;
  /** Connections that sent a refused framing: anything still pipelined on them is dropped, not served. */
  private final Set<HttpConnection> poisoned =
      ConcurrentHashMap.newKeySet();
  private final AdminPlane adminPlane;
  private final Outcomes outcomes;
  private final AccessControl access;
  private final SluiceMetrics metrics;
  private final BodyReader bodies;
  private final Clock clock;
  private final String startedAt;
  private final long createdEpochSeconds;

  GatewayHandler(Vertx vertx, Clock clock, Supplier<ConfigSnapshot> snapshots, NodeClients nodes,
      NodeRegistry registry, AdminApi admin, AccessControl access, SluiceMetrics metrics,
      Protections protections, Observers observers, BooleanSupplier starting, BodyReader bodies, FlowControl flow) {
    AtomicInteger inFlight = new AtomicInteger();
    this.shared = new RoutedRequest.Shared(new Exchange.Shared(vertx, clock, metrics, new RetryBudget(), inFlight::get),
        clock, inFlight, metrics, protections, observers, starting, flow);
    this.clock = clock;
    this.startedAt = Instant.ofEpochMilli(clock.millis()).toString();
    this.createdEpochSeconds = clock.millis() / 1000;
    this.vertx = vertx;
    this.snapshots = snapshots;
    this.nodes = nodes;
    this.registry = registry;
    this.outcomes = new Outcomes(observers, metrics);
    this.adminPlane = new AdminPlane(admin, access, metrics, outcomes);
    this.access = access;
    this.metrics = metrics;
    this.bodies = Objects.requireNonNull(bodies, "bodies");
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
      outcomes.refuse(req, Endpoint.flavorOf(req.path()), "other", ErrorKind.INTERNAL,
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
      HttpConnection conn = req.connection();
      poisoned.add(conn);
      conn.closeHandler(v -> poisoned.remove(conn));
      req.response().putHeader(HttpHeaders.CONNECTION, "close");
      outcomes.refuse(req, Endpoint.flavorOf(rawPath), "other", ErrorKind.INVALID_REQUEST,
          "Transfer-Encoding on a request is refused (it is how requests are smuggled past proxies): send the body "
              + "with a Content-Length", start);
      conn.close();
      return;
    }
    if (Cors.handle(req, snapshot.config().server().cors())) {
      outcomes.observe(start, "other", SluiceMetrics.UNKNOWN, null, req.response().getStatusCode(),
          req.response().getStatusCode() == 204 ? "ok" : "client_error");
      return;
    }
    String path = PathNormalizer.normalise(rawPath);
    boolean adminPath = path != null && adminPlane.isAdminPath(path);
    if (adminListener != adminPath && !(path != null && (path.equals("/healthz") || path.equals("/readyz")))) {
      // each listener serves its own plane only: the data port does not expose /admin when it has its own port
      if (adminListener || access.admin().separateListener()) {
        outcomes.refuse(req, Endpoint.flavorOf(path == null ? rawPath : path), "other", ErrorKind.NOT_FOUND,
            adminListener ? "this is the admin listener: it serves /admin, /console and /metrics only"
                : "not found on this port: the admin plane listens on its own port (admin.port)", start);
        return;
      }
    }
    if (adminPath) {
      adminPlane.handle(req, path, start);
      return;
    }
    if (path != null && (req.method() == HttpMethod.GET || req.method() == HttpMethod.HEAD)
        && serveOperational(req, path)) {
      return;
    }
    Endpoint endpoint = Endpoint.at(path);
    if (endpoint == null) {
      outcomes.refuse(req, Endpoint.flavorOf(path == null ? rawPath : path), "other", ErrorKind.NOT_FOUND, notFoundMessage(path), start);
      return;
    }
    if (req.method() != endpoint.method()) {
      req.response().putHeader(HttpHeaders.ALLOW, endpoint.method().name());
      outcomes.refuse(req, endpoint.flavor(), endpoint.name().toLowerCase(Locale.ROOT), ErrorKind.METHOD_NOT_ALLOWED,
          endpoint.path() + " accepts " + endpoint.method().name() + " only", start);
      return;
    }
    SluiceConfig config = snapshot.config();
    if (endpoint == Endpoint.OLLAMA_VERSION) { // Ollama clients' heartbeat: no secret in it
      answerLocally(req, endpoint, config, Principal.anonymous(), start);
      return;
    }
    Future<Principal> who = access.authenticate(req);
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
      outcomes.throttled(req, endpoint.flavor(), label, t, start);
      return;
    }
    if (cause instanceof AuthException e) {
      if (e.reason() != AuthException.Reason.FORBIDDEN) {
        req.response().putHeader("WWW-Authenticate", "Bearer realm=\"sluice\"");
      }
      outcomes.refuse(req, endpoint.flavor(), label, e.reason() == AuthException.Reason.FORBIDDEN
          ? ErrorKind.MODEL_NOT_ALLOWED : ErrorKind.UNAUTHORIZED, e.getMessage(), start);
      metrics.authFailure(e.reason().name().toLowerCase(Locale.ROOT));
      return;
    }
    log.error("authentication failed unexpectedly on {}", label, cause);
    outcomes.refuse(req, endpoint.flavor(), label, ErrorKind.INTERNAL,
        "internal error while checking the gateway token (logged on the gateway); retry", start);
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
    return "unknown endpoint: Sluice serves " + Endpoint.listing();
  }

  // ------------------------------------------------------------------ local answers

  private void answerLocally(HttpServerRequest req, Endpoint endpoint, SluiceConfig config,
      Principal who, Arrival start) {
    String body;
    if (endpoint == Endpoint.OPENAI_MODEL) {
      retrieveModel(req, config, who, start);
      return;
    }
    if (endpoint == Endpoint.OPENAI_MODELS) {
      Map<String, String> owners = new LinkedHashMap<>();
      config.models().forEach((id, route) -> {
        if (who.mayUse(id)) owners.put(id, route.provider());
      });
      body = OpenAiModels.list(owners, createdEpochSeconds);
    } else {
      body = OllamaModels.version();
    }
    Responses.json(req.response(), 200, body);
    outcomes.observe(start, endpoint.name().toLowerCase(Locale.ROOT), SluiceMetrics.UNKNOWN, who.tenant(), 200, "ok");
  }

  /**
   * {@code GET /v1/models/{model}}: the model as the list shows it, to a caller the list shows it to; any other id is
   * the API's 404 (a model outside the token's scope is not listed, so it is not found either).
   */
  private void retrieveModel(HttpServerRequest req, SluiceConfig config, Principal who, Arrival start) {
    String label = Endpoint.OPENAI_MODEL.name().toLowerCase(Locale.ROOT);
    String id = OpenAiModel.id(PathNormalizer.normalise(req.path()));
    var route = config.model(id);
    if (route.isEmpty() || !who.mayUse(id)) {
      List<String> available = config.models().keySet().stream().filter(who::mayUse).toList();
      outcomes.refuse(req, Endpoint.OPENAI_MODEL.flavor(), label, ErrorKind.MODEL_NOT_FOUND,
          "model \"" + Outcomes.clip(id) + "\" is not served by this gateway (available"
              + (who.models().isEmpty() ? "" : " to this gateway token") + ": "
              + (available.isEmpty() ? "none" : String.join(", ", available)) + ")", "model", who.tenant(), start);
      return;
    }
    Responses.json(req.response(), 200, OpenAiModel.model(id, route.get().provider(), createdEpochSeconds));
    outcomes.observe(start, label, SluiceMetrics.UNKNOWN, who.tenant(), 200, "ok");
  }

  /** /api/tags and /api/ps: ask every Ollama node, merge by model name, show only models this gateway routes. */
  private void aggregate(HttpServerRequest req, Endpoint endpoint, SluiceConfig config,
      Principal who, Arrival start) {
    List<Future<JsonNode>> answers = new ArrayList<>();
    for (NodeSpec n : config.nodes()) {
      NodeClient c = nodes.get(n.id());
      if (c == null || n.api() != ApiFlavor.OLLAMA) continue;
      String base = n.root().getRawPath() == null ? "" : n.root().getRawPath();
      answers.add(c.http().request(c.target(new RequestOptions().setMethod(HttpMethod.GET)
              .setURI(base + endpoint.upstreamPath()).setTimeout(AGGREGATE_TIMEOUT_MS)))
          .compose(r -> r.send())
          .compose(r -> r.statusCode() == 200 ? r.body() : Future.failedFuture("HTTP " + r.statusCode()))
          .map(b -> {
            try {
              return Json.MAPPER.readTree(b.getBytes());
            } catch (IOException e) {
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
          String name = OllamaModels.name(m);
          if (config.models().containsKey(name) && who.mayUse(name)) merged.putIfAbsent(name, m);
        }
      }
      if (endpoint == Endpoint.OLLAMA_TAGS) {
        for (String id : config.models().keySet()) {
          if (who.mayUse(id)) merged.computeIfAbsent(id, tag -> OllamaModels.syntheticTag(tag, startedAt));
        }
      }
      ObjectNode out = Json.MAPPER.createObjectNode();
      out.putArray("models").addAll(merged.values());
      Responses.json(req.response(), 200, out.toString());
      outcomes.observe(start, endpoint.name().toLowerCase(Locale.ROOT), SluiceMetrics.UNKNOWN, who.tenant(), 200, "ok");
    });
  }

  // ------------------------------------------------------------------ routed requests

  private void readBody(HttpServerRequest req, Endpoint endpoint, ConfigSnapshot snapshot,
      Principal who, Arrival start) {
    bodies.read(req, snapshot.config().server(), who.tenant(), body -> route(req, endpoint, snapshot, who, body, start),
        (kind, message) -> outcomes.refuse(req, endpoint.flavor(), endpoint.name().toLowerCase(Locale.ROOT), kind, message,
            null, who.tenant(), start));
  }

  private void route(HttpServerRequest req, Endpoint endpoint, ConfigSnapshot snapshot, Principal who,
      Buffer body, Arrival start) {
    SluiceConfig config = snapshot.config();
    String endpointLabel = endpoint.name().toLowerCase(Locale.ROOT);
    ParsedRequest parsed;
    try {
      // max_tokens against the model's maxTokens is the context guard's job (reject or cap, limits.overMaxTokens)
      parsed = RequestValidator.parse(endpoint, body, config.server().maxJsonDepth());
    } catch (ApiException e) {
      outcomes.refuse(req, endpoint.flavor(), endpointLabel, e.kind(), e.getMessage(), e.param(), who.tenant(), start);
      return;
    }
    if (config.model(parsed.model()).isEmpty()) {
      // only the models this caller may use: the others are none of its business
      List<String> available = config.models().keySet().stream().filter(who::mayUse).toList();
      outcomes.refuse(req, endpoint.flavor(), endpointLabel, ErrorKind.MODEL_NOT_FOUND,
          "model \"" + Outcomes.clip(parsed.model()) + "\" is not served by this gateway (available"
              + (who.models().isEmpty() ? "" : " to this gateway token") + ": "
              + (available.isEmpty() ? "none" : String.join(", ", available)) + ")", "model", who.tenant(), start);
      return;
    }
    if (!who.mayUse(parsed.model())) {
      outcomes.refuse(req, endpoint.flavor(), endpointLabel, ErrorKind.MODEL_NOT_ALLOWED, "model \"" + parsed.model()
          + "\" is not allowed for this gateway token (allowed: " + String.join(", ", who.models()) + ")", "model",
          who.tenant(), start);
      return;
    }
    new RoutedRequest(shared, req, snapshot, parsed, who, start).start();
  }
}
