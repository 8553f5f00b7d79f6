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
import dev.sluice.config.ConfigHolder;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.SluiceConfig;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.support.Json;
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
  private final ConfigHolder configs;
  private final NodeClients nodes;
  private final dev.sluice.node.NodeRegistry registry;
  private final RoutedRequest.Shared shared;
  /** Connections that sent a refused framing: anything still pipelined on them is dropped, not served. */
  private final java.util.Set<io.vertx.core.http.HttpConnection> poisoned =
      java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final AdminApi admin;
  private final SluiceMetrics metrics;
  private final String startedAt = Instant.now().toString();
  private final long createdEpochSeconds = Instant.now().getEpochSecond();

  GatewayHandler(Vertx vertx, ConfigHolder configs, NodeClients nodes, dev.sluice.node.NodeRegistry registry,
      java.util.function.Supplier<Router> router, AdminApi admin, SluiceMetrics metrics, Protections protections) {
    this.shared = new RoutedRequest.Shared(vertx, router, new dev.sluice.routing.RetryBudget(),
        new java.util.concurrent.atomic.AtomicInteger(), metrics, protections);
    this.vertx = vertx;
    this.configs = configs;
    this.nodes = nodes;
    this.registry = registry;
    this.admin = admin;
    this.metrics = metrics;
  }

  void handle(HttpServerRequest req) {
    long start = System.nanoTime();
    try {
      dispatch(req, start);
    } catch (RuntimeException e) {
      // A bug must never reach the client as a stack trace or a hung connection.
      log.error("internal error on {} {}", req.method(), req.path(), e);
      refuse(req, Endpoint.flavorOf(req.path()), "other", ErrorKind.INTERNAL,
          "internal error in Sluice (logged on the gateway); retry, and report it if it persists", start);
    }
  }

  private void dispatch(HttpServerRequest req, long start) {
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
    if (Cors.handle(req, configs.current().server().cors())) {
      metrics.request("other", SluiceMetrics.UNKNOWN, req.response().getStatusCode(),
          req.response().getStatusCode() == 204 ? "ok" : "client_error", System.nanoTime() - start);
      return;
    }
    String path = PathNormalizer.normalise(rawPath);
    if (path != null && (req.method() == HttpMethod.GET || req.method() == HttpMethod.HEAD)
        && serveOperational(req, path)) {
      return;
    }
    if (path != null && path.startsWith("/admin/")) {
      admin.handle(req, path);
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
    SluiceConfig config = configs.current();
    switch (endpoint.handling()) {
      case LOCAL -> answerLocally(req, endpoint, config, start);
      case AGGREGATE -> aggregate(req, endpoint, config, start);
      default -> readBody(req, endpoint, config, start);
    }
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
        SluiceConfig c = configs.current();
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
      long start) {
    refuse(req, flavor, endpoint, kind, message, null, SluiceMetrics.UNKNOWN, start);
  }

  private void refuse(HttpServerRequest req, ApiFlavor flavor, String endpoint, ErrorKind kind, String message,
      String param, String modelLabel, long start) {
    Responses.error(req.response(), flavor, kind, message, param);
    metrics.request(endpoint, modelLabel, kind.status(), kind.status() < 500 ? "client_error" : "failed",
        System.nanoTime() - start);
  }

  // ------------------------------------------------------------------ local answers

  private void answerLocally(HttpServerRequest req, Endpoint endpoint, SluiceConfig config, long start) {
    String body;
    if (endpoint == Endpoint.OPENAI_MODELS) {
      ObjectNode root = Json.MAPPER.createObjectNode().put("object", "list");
      ArrayNode data = root.putArray("data");
      config.models().forEach((id, route) -> data.addObject()
          .put("id", id).put("object", "model").put("created", createdEpochSeconds).put("owned_by", route.provider()));
      body = root.toString();
    } else {
      body = "{\"version\":\"" + OLLAMA_COMPAT_VERSION + "\"}";
    }
    Responses.json(req.response(), 200, body);
    metrics.request(endpoint.name().toLowerCase(Locale.ROOT), SluiceMetrics.UNKNOWN, 200, "ok", System.nanoTime() - start);
  }

  /** /api/tags and /api/ps: ask every Ollama node, merge by model name, show only models this gateway routes. */
  private void aggregate(HttpServerRequest req, Endpoint endpoint, SluiceConfig config, long start) {
    List<Future<JsonNode>> answers = new ArrayList<>();
    for (NodeSpec n : config.nodes()) {
      NodeClient c = nodes.get(n.id());
      if (c == null || n.api() != ApiKind.OLLAMA) continue;
      String base = n.root().getRawPath() == null ? "" : n.root().getRawPath();
      answers.add(c.http().request(new RequestOptions().setMethod(HttpMethod.GET).setURI(base + endpoint.upstreamPath())
              .setTimeout(AGGREGATE_TIMEOUT_MS))
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
          if (config.models().containsKey(name)) merged.putIfAbsent(name, m);
        }
      }
      if (endpoint == Endpoint.OLLAMA_TAGS) {
        for (String id : config.models().keySet()) merged.computeIfAbsent(id, this::syntheticTag);
      }
      ObjectNode out = Json.MAPPER.createObjectNode();
      out.putArray("models").addAll(merged.values());
      Responses.json(req.response(), 200, out.toString());
      metrics.request(endpoint.name().toLowerCase(Locale.ROOT), SluiceMetrics.UNKNOWN, 200, "ok",
          System.nanoTime() - start);
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

  private void readBody(HttpServerRequest req, Endpoint endpoint, SluiceConfig config, long start) {
    long max = config.server().maxBodyBytes();
    String declared = req.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (declared != null) {
      long len;
      try {
        len = Long.parseLong(declared.trim());
      } catch (NumberFormatException e) {
        len = -1;
      }
      if (len < 0 || len > max) {
        req.response().putHeader(HttpHeaders.CONNECTION, "close");
        refuse(req, endpoint.flavor(), endpoint.name().toLowerCase(Locale.ROOT), ErrorKind.BODY_TOO_LARGE,
            len < 0 ? "Content-Length is not a number" : tooLarge(len, max), start);
        return;
      }
    }
    Buffer body = Buffer.buffer(declared != null ? (int) Long.parseLong(declared.trim()) : 1024);
    boolean[] over = {false};
    req.handler(chunk -> {
      if (over[0]) return;
      if (body.length() + chunk.length() > max) {
        over[0] = true;
        req.response().putHeader(HttpHeaders.CONNECTION, "close");
        refuse(req, endpoint.flavor(), endpoint.name().toLowerCase(Locale.ROOT), ErrorKind.BODY_TOO_LARGE,
            tooLarge(body.length() + (long) chunk.length(), max), start);
        return;
      }
      body.appendBuffer(chunk);
    });
    req.exceptionHandler(t -> { /* client went away while sending its body: nothing was accepted */ });
    req.endHandler(v -> {
      if (!over[0]) route(req, endpoint, config, body, start);
    });
  }

  private static String tooLarge(long len, long max) {
    return "request body of " + len + " bytes is larger than the limit of " + max
        + " bytes (server.maxBodyBytes)";
  }

  private void route(HttpServerRequest req, Endpoint endpoint, SluiceConfig config, Buffer body, long start) {
    String endpointLabel = endpoint.name().toLowerCase(Locale.ROOT);
    ParsedRequest parsed;
    try {
      // max_tokens against the model's maxTokens is the context guard's job (reject or cap, limits.overMaxTokens)
      parsed = RequestValidator.parse(endpoint, body, model -> 0, config.server().maxJsonDepth());
    } catch (ApiException e) {
      refuse(req, endpoint.flavor(), endpointLabel, e.kind(), e.getMessage(), e.param(), SluiceMetrics.UNKNOWN, start);
      return;
    }
    if (config.model(parsed.model()).isEmpty()) {
      refuse(req, endpoint.flavor(), endpointLabel, ErrorKind.MODEL_NOT_FOUND,
          "model \"" + clip(parsed.model()) + "\" is not served by this gateway (available: "
              + String.join(", ", config.models().keySet()) + ")", "model", SluiceMetrics.UNKNOWN, start);
      return;
    }
    new RoutedRequest(shared, req, config, parsed, start).start();
  }

  private static String clip(String s) {
    return s.length() <= MAX_MODEL_NAME_IN_MESSAGE ? s : s.substring(0, MAX_MODEL_NAME_IN_MESSAGE) + "…";
  }
}
