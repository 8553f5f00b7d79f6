package dev.sluice.sim;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.sim.GenerationRequest.Endpoint;
import dev.sluice.support.Json;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A simulated GPU node on a Vert.x HTTP server, speaking Ollama ({@code /api/*}, {@code GET /}) and the
 * OpenAI-compatible API of Ollama and vLLM ({@code /v1/*}, {@code GET /health}) with the timing of a
 * {@link GpuProfile}.
 *
 * <p>Generation requests wait the prefill time of their prompt, then produce one token per decode interval, all
 * divided by the time scale; streams go out with chunked encoding, one write per event (the HTTP head goes out with
 * the first event, as Ollama does). Output length is the client's limit ({@code max_tokens},
 * {@code max_completion_tokens}, {@code options.num_predict}; capped at {@value TextGenerator#MAX_OUTPUT_TOKENS},
 * finish reason {@code length}) or drawn from a chat-like distribution (finish reason {@code stop}, see
 * {@link TextGenerator}). The n-th generation request of a node gets the same text under the same seed.
 *
 * <p>Simulator-only control endpoints, not part of any real node's API: {@code POST /sim/faults} queues a fault
 * ({@code {"kind":"reset-after-tokens","count":1,"tokens":5}}, {@code "status"} and {@code "body"} for kind
 * {@code status}, see {@link SimFault.Kind#wireName()}), {@code DELETE /sim/faults} clears them, and
 * {@code GET /sim/stats} returns the {@link SimStats} counters.
 */
public final class SimNode {
  static final String JSON = "application/json; charset=utf-8";

  private static final Logger LOG = LoggerFactory.getLogger(SimNode.class);
  private static final String OLLAMA_VERSION = "0.12.6";
  private static final String MODIFIED_AT = "2026-05-10T08:06:48.63-07:00";
  /** Ollama's default keep-alive: how long a loaded model stays in memory after its last request. */
  private static final Duration KEEP_ALIVE = Duration.ofMinutes(5);
  private static final String NOT_FOUND = "404 page not found";

  private final Vertx vertx;
  private final SimStats stats = new SimStats();
  private final EngineControl control = new EngineControl();
  private final PerformanceModel performance;
  private final Map<String, SimModel> models = new LinkedHashMap<>();
  private final Deque<QueuedFault> faults = new ArrayDeque<>();
  private final AtomicLong sequence = new AtomicLong();
  private SimOptions options;
  private HttpServer server;

  private SimNode(Vertx vertx, SimOptions options) {
    this.vertx = vertx;
    this.options = options;
    this.performance = PerformanceModel.batchOne(options.gpu());
    options.models().forEach(name -> models.put(name, SimModel.of(name, options.gpu())));
  }

  /** Starts a node listening on {@code options.host():options.port()}. */
  public static Future<SimNode> start(Vertx vertx, SimOptions options) {
    Objects.requireNonNull(vertx, "vertx");
    Objects.requireNonNull(options, "options");
    SimNode node = new SimNode(vertx, options);
    // real Ollama and vLLM speak HTTP/1.1 only in clear text: no h2c upgrade
    return vertx.createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(false))
        .requestHandler(node::handle)
        .listen(options.port(), options.host())
        .map(server -> {
          node.server = server;
          SimOptions bound = options.withPort(server.actualPort());
          node.options = bound.id() == null ? bound.withId("sim-" + server.actualPort()) : bound;
          return node;
        });
  }

  /** The port the node listens on. */
  public int port() {
    return server.actualPort();
  }

  /** {@code http://<host>:<port>}. */
  public String baseUrl() {
    return "http://" + options.host() + ":" + port();
  }

  /** The options the node runs with: the bound port and the resolved id. */
  public SimOptions options() {
    return options;
  }

  /** Live counters. */
  public SimStats stats() {
    return stats;
  }

  /** Engine knobs that faults turn (speed factor, hung). */
  public EngineControl control() {
    return control;
  }

  /** Queues a fault for the next {@code fault.count()} generation requests, after the faults already queued. */
  public void injectFault(SimFault fault) {
    Objects.requireNonNull(fault, "fault");
    synchronized (faults) {
      faults.addLast(new QueuedFault(fault, fault.count()));
    }
    LOG.info("sim {}: fault queued: {} for {} request(s)", options.id(), fault.kind().wireName(), fault.count());
  }

  /** Drops every queued fault. */
  public void clearFaults() {
    synchronized (faults) {
      faults.clear();
    }
  }

  /** Stops listening and closes open connections, which cancels the requests in flight. */
  public Future<Void> close() {
    return server.close();
  }

  PerformanceModel performance() {
    return performance;
  }

  private SimFault takeFault() {
    synchronized (faults) {
      QueuedFault head = faults.peekFirst();
      if (head == null) {
        return null;
      }
      if (--head.remaining == 0) {
        faults.removeFirst();
      }
      return head.fault;
    }
  }

  private void handle(HttpServerRequest request) {
    long arrivalNanos = System.nanoTime();
    String path = request.path();
    if (path.startsWith("/sim/")) {
      control(request);
      return;
    }
    stats.recordPath(path);
    switch (request.method().name() + " " + path) {
      case "GET /" -> request.response().putHeader("content-type", "text/plain; charset=utf-8")
          .end("Ollama is running");
      case "GET /health" -> request.response().end();
      case "GET /api/version" -> json(request, 200, Json.MAPPER.createObjectNode().put("version", OLLAMA_VERSION));
      case "GET /api/tags" -> json(request, 200, tags(false));
      case "GET /api/ps" -> json(request, 200, tags(true));
      case "GET /v1/models" -> json(request, 200, openAiModels());
      case "POST /api/show" -> readJson(request, Api.OLLAMA, body -> show(request, body));
      case "POST /api/chat" -> generate(request, Endpoint.OLLAMA_CHAT, arrivalNanos);
      case "POST /api/generate" -> generate(request, Endpoint.OLLAMA_GENERATE, arrivalNanos);
      case "POST /v1/chat/completions" -> generate(request, Endpoint.OPENAI_CHAT, arrivalNanos);
      case "POST /v1/completions" -> generate(request, Endpoint.OPENAI_COMPLETION, arrivalNanos);
      case "POST /api/embed" -> embed(request, Api.OLLAMA, arrivalNanos);
      case "POST /v1/embeddings" -> embed(request, Api.OPENAI, arrivalNanos);
      default -> notFound(request);
    }
  }

  private void generate(HttpServerRequest request, Endpoint endpoint, long arrivalNanos) {
    readJson(request, endpoint.api, body -> {
      String model = knownModel(request, endpoint.api, body);
      if (model == null) {
        return;
      }
      GenerationRequest parsed;
      try {
        parsed = GenerationRequest.parse(endpoint, body);
      } catch (IllegalArgumentException e) {
        error(request, endpoint.api, 400, e.getMessage());
        return;
      }
      stats.recordStarted();
      long n = sequence.incrementAndGet();
      SplittableRandom random = new SplittableRandom(options.seed() * 0x9E3779B97F4A7C15L + n);
      int outputTokens = parsed.maxTokens() > 0
          ? Math.min(parsed.maxTokens(), TextGenerator.MAX_OUTPUT_TOKENS)
          : TextGenerator.sampleOutputTokens(random);
      Generation generation = new Generation(n, model, Instant.now().getEpochSecond(),
          TextGenerator.promptTokens(parsed.promptText()), TextGenerator.tokens(random, outputTokens),
          parsed.maxTokens() > 0 ? "length" : "stop", parsed.stream(), parsed.includeUsage());
      new GenerationRun(vertx, request, generation, endpoint.format, this, takeFault(), arrivalNanos).start();
    });
  }

  private void embed(HttpServerRequest request, Api api, long arrivalNanos) {
    readJson(request, api, body -> {
      String model = knownModel(request, api, body);
      if (model == null) {
        return;
      }
      JsonNode input = body.path("input");
      List<String> texts = new ArrayList<>();
      if (input.isTextual()) {
        texts.add(input.asText());
      } else if (input.isArray()) {
        input.forEach(item -> texts.add(item.isTextual() ? item.asText() : null));
      }
      if (texts.isEmpty() || texts.contains(null)) {
        error(request, api, 400, "input must be a string or a non-empty array of strings");
        return;
      }
      int promptTokens = texts.stream().mapToInt(TextGenerator::promptTokens).sum();
      long startNanos = System.nanoTime();
      long delayNanos = options.timeScale() == 0 ? 0
          : (long) (performance.prefillNanos(promptTokens) / options.timeScale());
      stats.recordStarted();
      new EmbeddingRun(vertx, request.response(), stats).start(delayNanos, () -> api == Api.OLLAMA
          ? ollamaEmbeddings(model, texts, promptTokens, arrivalNanos, startNanos).toString()
          : openAiEmbeddings(model, texts, promptTokens).toString());
    });
  }

  private ObjectNode ollamaEmbeddings(String model, List<String> texts, int promptTokens, long arrivalNanos,
      long startNanos) {
    ObjectNode body = Json.MAPPER.createObjectNode().put("model", model);
    ArrayNode embeddings = body.putArray("embeddings");
    texts.forEach(text -> vector(embeddings.addArray(), model, text));
    return body.put("total_duration", System.nanoTime() - arrivalNanos)
        .put("load_duration", startNanos - arrivalNanos)
        .put("prompt_eval_count", promptTokens);
  }

  private ObjectNode openAiEmbeddings(String model, List<String> texts, int promptTokens) {
    ObjectNode body = Json.MAPPER.createObjectNode().put("object", "list");
    ArrayNode data = body.putArray("data");
    for (int i = 0; i < texts.size(); i++) {
      ObjectNode item = data.addObject().put("object", "embedding").put("index", i);
      vector(item.putArray("embedding"), model, texts.get(i));
    }
    body.put("model", model).putObject("usage").put("prompt_tokens", promptTokens).put("total_tokens", promptTokens);
    return body;
  }

  private void vector(ArrayNode target, String model, String text) {
    for (float value : Embeddings.of(model, text, options.embeddingDimensions())) {
      target.add(value);
    }
  }

  private ObjectNode tags(boolean loaded) {
    ObjectNode body = Json.MAPPER.createObjectNode();
    ArrayNode list = body.putArray("models");
    String expiresAt = Instant.now().plus(KEEP_ALIVE).toString();
    for (SimModel model : models.values()) {
      ObjectNode entry = list.addObject().put("name", model.name()).put("model", model.name());
      if (!loaded) {
        entry.put("modified_at", MODIFIED_AT);
      }
      entry.put("size", model.sizeBytes()).put("digest", model.digest());
      entry.set("details", details(model));
      if (loaded) {
        entry.put("expires_at", expiresAt)
            .put("size_vram", model.sizeBytes())
            .put("context_length", model.contextLengthTokens());
      }
    }
    return body;
  }

  private ObjectNode openAiModels() {
    ObjectNode body = Json.MAPPER.createObjectNode().put("object", "list");
    ArrayNode data = body.putArray("data");
    long created = OffsetDateTime.parse(MODIFIED_AT).toEpochSecond();
    for (SimModel model : models.values()) {
      data.addObject()
          .put("id", model.name())
          .put("object", "model")
          .put("created", created)
          .put("owned_by", "library")
          .put("root", model.name())
          .putNull("parent")
          .put("max_model_len", model.contextLengthTokens());
    }
    return body;
  }

  private void show(HttpServerRequest request, JsonNode body) {
    String name = body.hasNonNull("model") ? body.path("model").asText() : body.path("name").asText();
    SimModel model = models.get(name);
    if (model == null) {
      error(request, Api.OLLAMA, 404, "model '" + name + "' not found");
      return;
    }
    ObjectNode show = Json.MAPPER.createObjectNode()
        .put("license", "")
        .put("modelfile", "# simulated by sluice sim\nFROM " + model.name() + "\n")
        .put("parameters", "")
        .put("template", "{{ .Prompt }}");
    show.set("details", details(model));
    show.putObject("model_info")
        .put("general.architecture", model.family())
        .put("general.parameter_count", model.parameterCount())
        .put(model.family() + ".context_length", SimModel.MODEL_CONTEXT_TOKENS);
    show.putArray("capabilities").add("completion");
    show.put("modified_at", MODIFIED_AT);
    json(request, 200, show);
  }

  private static ObjectNode details(SimModel model) {
    ObjectNode details = Json.MAPPER.createObjectNode()
        .put("parent_model", "")
        .put("format", "gguf")
        .put("family", model.family());
    details.putArray("families").add(model.family());
    return details.put("parameter_size", model.parameterSize()).put("quantization_level", "Q4_K_M");
  }

  private void control(HttpServerRequest request) {
    switch (request.method().name() + " " + request.path()) {
      case "GET /sim/stats" -> json(request, 200, statsJson());
      case "DELETE /sim/faults" -> {
        clearFaults();
        request.response().setStatusCode(204).end();
      }
      case "POST /sim/faults" -> readJson(request, Api.OLLAMA, body -> {
        try {
          injectFault(faultFrom(body));
          request.response().setStatusCode(204).end();
        } catch (IllegalArgumentException e) {
          error(request, Api.OLLAMA, 400, e.getMessage());
        }
      });
      default -> notFound(request);
    }
  }

  private static SimFault faultFrom(JsonNode body) {
    JsonNode faultBody = body.path("body");
    return new SimFault(
        SimFault.Kind.fromWireName(body.path("kind").asText()),
        body.path("count").asInt(1),
        body.path("tokens").asInt(0),
        body.path("status").asInt(0),
        faultBody.isMissingNode() || faultBody.isNull() ? null
            : faultBody.isTextual() ? faultBody.asText() : faultBody.toString());
  }

  private ObjectNode statsJson() {
    ObjectNode body = Json.MAPPER.createObjectNode()
        .put("id", options.id())
        .put("requestsReceived", stats.requestsReceived())
        .put("active", stats.active())
        .put("completed", stats.completed())
        .put("cancelled", stats.cancelled())
        .put("faulted", stats.faulted());
    ObjectNode paths = body.putObject("paths");
    stats.paths().forEach(paths::put);
    return body;
  }

  /** The body's {@code model} if this node serves it; otherwise answers 400 or 404 and returns {@code null}. */
  private String knownModel(HttpServerRequest request, Api api, JsonNode body) {
    String model = body.path("model").asText("");
    if (model.isEmpty()) {
      error(request, api, 400, "model is required");
      return null;
    }
    if (!models.containsKey(model)) {
      error(request, api, 404, "model \"" + model + "\" not found, try pulling it first");
      return null;
    }
    return model;
  }

  /** Reads the body as a JSON object, answering 400 in the API's format if it is not one. */
  private static void readJson(HttpServerRequest request, Api api, Consumer<JsonNode> handler) {
    request.body().onSuccess(buffer -> {
      JsonNode body;
      try {
        body = Json.MAPPER.readTree(buffer.getBytes());
      } catch (JsonProcessingException e) {
        error(request, api, 400, "invalid JSON: " + e.getOriginalMessage());
        return;
      } catch (IOException e) {
        error(request, api, 400, "invalid JSON: " + e.getMessage());
        return;
      }
      if (body == null || !body.isObject()) {
        error(request, api, 400, "invalid JSON: the request body must be a JSON object");
        return;
      }
      handler.accept(body);
    });
  }

  private static void error(HttpServerRequest request, Api api, int status, String message) {
    request.response().setStatusCode(status).putHeader("content-type", JSON).end(api.errorBody(status, message));
  }

  private static void json(HttpServerRequest request, int status, ObjectNode body) {
    request.response().setStatusCode(status).putHeader("content-type", JSON).end(body.toString());
  }

  private static void notFound(HttpServerRequest request) {
    request.response().setStatusCode(404).putHeader("content-type", "text/plain").end(NOT_FOUND);
  }

  /** A fault and how many more requests it applies to. */
  private static final class QueuedFault {
    final SimFault fault;
    int remaining;

    QueuedFault(SimFault fault, int remaining) {
      this.fault = fault;
      this.remaining = remaining;
    }
  }
}
