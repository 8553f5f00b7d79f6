package dev.sluice.sim;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.sim.GenerationRequest.Endpoint;
import dev.sluice.support.Clock;
import dev.sluice.support.Json;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.PemKeyCertOptions;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A simulated GPU node on a Vert.x HTTP server, speaking Ollama ({@code /api/*}, {@code GET /}) and the
 * OpenAI-compatible API of Ollama and vLLM ({@code /v1/*}, {@code GET /health}) with the timing of a
 * {@link GpuProfile}.
 *
 * <p>Generation and embedding requests run as sequences of the node's continuous-batching {@link BatchEngine} (GPU
 * figures from an {@link EngineProfile}: the {@link GpuProfile} with {@link SimOptions#overrides()}), in simulated
 * time = real time × time scale; time scale 0 answers at once. Ollama profiles answer 503 beyond their queue limit
 * and truncate prompts to {@code num_ctx}; vLLM profiles refuse prompt + output beyond {@code max_model_len} with
 * vLLM's 400. Streams go out with chunked encoding, one write per event (the HTTP head goes out with the first
 * event, as Ollama does). Output length is the client's limit ({@code max_tokens},
 * {@code max_completion_tokens}, {@code options.num_predict}; capped at {@value TextGenerator#MAX_OUTPUT_TOKENS},
 * finish reason {@code length}) or drawn from a chat-like distribution (finish reason {@code stop}, see
 * {@link TextGenerator}). The text depends on the seed, the {@link Conversation} and the position only, so every node
 * with the same seed gives the same answer, whatever else it served before, and continues another's partial answer.
 *
 * <p>Telemetry: {@code GET /metrics} serves the DCGM exporter's and vLLM's families, {@code /metrics/dcgm} and
 * {@code /metrics/vllm} each alone (see {@link Telemetry}).
 *
 * <p>Simulator-only control endpoints, not part of any real node's API: {@code POST /sim/faults} queues a
 * per-request fault ({@code {"kind":"reset-after-tokens","count":1,"tokens":5}}) or turns a node-level one on until
 * cleared ({@code {"kind":"error-rate","percent":20,"status":503}}; see {@link SimFault.Kind}),
 * {@code GET /sim/faults} lists the node-level faults on, {@code DELETE /sim/faults[?kind=...]} clears them, and
 * {@code GET /sim/stats} returns the {@link SimStats} counters. They keep answering under black-hole; under
 * refuse-connections nothing answers, so clear that one with {@link #clearFaults()}, or post it with
 * {@code "seconds": N} so it clears itself.
 */
public final class SimNode {
  static final String JSON = "application/json; charset=utf-8";

  private static final Logger LOG = LoggerFactory.getLogger(SimNode.class);
  /** The version of a node without Anthropic Messages and OpenAI Responses: an Ollama from before they came. */
  private static final String OLLAMA_VERSION = "0.12.6";
  /** The version of a node serving both, as every Ollama from 0.14 on does. */
  private static final String OLLAMA_VERSION_WITH_DIALECTS = "0.14.2";
  /** The version in the simulated vLLM route list's {@code info}. */
  private static final String VLLM_VERSION = "0.11.0";
  private static final String MODIFIED_AT = "2026-05-10T08:06:48.63-07:00";
  /** Ollama's default keep-alive: how long a loaded model stays in memory after its last request. */
  private static final Duration KEEP_ALIVE = Duration.ofMinutes(5);
  private static final String NOT_FOUND = "404 page not found";

  private final Vertx vertx;
  private final SimStats stats = new SimStats();
  private final EngineControl control = new EngineControl();
  private final EngineDriver engine;
  private final Map<String, SimModel> configuredModels = new LinkedHashMap<>();
  /** The models the node serves now: its configured ones, or another under the wrong-model fault. */
  private volatile Map<String, SimModel> models = configuredModels;
  private final NodeFaults nodeFaults;
  private Telemetry telemetry;
  private final Deque<QueuedFault> faults = new ArrayDeque<>();
  /**
   * Request numbers, in ids ({@code chatcmpl-<n>}): one counter for every node of the process, from a random start,
   * so two nodes never answer with the same id (a client or a gateway keying on ids would mix them up), nor two
   * simulator processes in practice.
   */
  private static final AtomicLong SEQUENCE = new AtomicLong(ThreadLocalRandom.current().nextLong(1, 1L << 40) * 1_000);
  private SimOptions options;
  private volatile HttpServer server;
  private boolean listening = true;
  private boolean closed;

  private SimNode(Vertx vertx, SimOptions options) {
    this.vertx = vertx;
    this.options = options;
    EngineProfile profile = EngineProfile.of(options.gpu(), options.overrides());
    this.engine = new EngineDriver(vertx, profile, control, options.timeScale(), Clock.SYSTEM);
    options.models().forEach(name -> configuredModels.put(name, SimModel.of(name, profile)));
    this.nodeFaults = new NodeFaults(options.id(), control, options.seed());
  }

  /** Starts a node listening on {@code options.host():options.port()}. */
  public static Future<SimNode> start(Vertx vertx, SimOptions options) {
    Objects.requireNonNull(vertx, "vertx");
    Objects.requireNonNull(options, "options");
    SimNode node;
    try {
      node = new SimNode(vertx, options);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e); // e.g. an unknown engine figure in options.overrides()
    }
    return vertx.createHttpServer(serverOptions(options))
        .requestHandler(node::handle)
        .listen(options.port(), options.host())
        .map(server -> {
          node.server = server;
          SimOptions bound = options.withPort(server.actualPort());
          node.options = bound.id() == null ? bound.withId("sim-" + server.actualPort()) : bound;
          node.nodeFaults.nodeId(node.options.id());
          return node;
        });
  }

  /**
   * Real Ollama and vLLM speak HTTP/1.1 only in clear text (no h2c upgrade); behind a TLS proxy they speak HTTPS with
   * HTTP/1.1, which {@link SimOptions#tlsCert()} imitates.
   */
  private static HttpServerOptions serverOptions(SimOptions options) {
    HttpServerOptions server = new HttpServerOptions().setHttp2ClearTextEnabled(false);
    if (!options.tls()) return server;
    return server.setSsl(true).setUseAlpn(false).setKeyCertOptions(new PemKeyCertOptions()
        .setCertPath(options.tlsCert().toString()).setKeyPath(options.tlsKey().toString()));
  }

  /** The port the node listens on. */
  public int port() {
    return options.port();
  }

  /** {@code http://<host>:<port>}, or {@code https://} when the node listens with TLS. */
  public String baseUrl() {
    return (options.tls() ? "https://" : "http://") + options.host() + ":" + port();
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

  /** The node's engine as telemetry sees it (running, waiting, KV use, counters), in simulated time. */
  public EngineState engineState() {
    return engine.state();
  }

  /**
   * Turns a node-level fault on ({@link SimFault.Kind#persistent()}, until cleared), or queues a per-request fault for
   * the next {@code fault.count()} generation requests, after the faults already queued.
   */
  public void injectFault(SimFault fault) {
    Objects.requireNonNull(fault, "fault");
    if (fault.kind().persistent()) {
      if (nodeFaults.set(fault)) {
        applyNodeFaults();
      }
      return;
    }
    synchronized (faults) {
      faults.addLast(new QueuedFault(fault, fault.count()));
    }
    LOG.info("sim {}: fault queued: {} for {} request(s)", options.id(), fault.kind().wireName(), fault.count());
  }

  /** Drops every queued fault and turns every node-level fault off. */
  public void clearFaults() {
    synchronized (faults) {
      faults.clear();
    }
    if (nodeFaults.clearAll()) {
      applyNodeFaults();
    }
  }

  /** Turns one node-level fault off, or drops the queued per-request faults of that kind. */
  public void clearFault(SimFault.Kind kind) {
    Objects.requireNonNull(kind, "kind");
    synchronized (faults) {
      faults.removeIf(queued -> queued.fault.kind() == kind);
    }
    if (nodeFaults.clear(kind)) {
      applyNodeFaults();
    }
  }

  /** The node-level faults on now. */
  public List<SimFault> nodeFaults() {
    return nodeFaults.active();
  }

  /** Stops listening and closes open connections, which cancels the requests in flight. */
  public Future<Void> close() {
    synchronized (nodeFaults) {
      closed = true;
    }
    return server.close();
  }

  /** Applies the node-level faults that live outside the engine: the served models and the listening socket. */
  private void applyNodeFaults() {
    SimFault wrong = nodeFaults.get(SimFault.Kind.WRONG_MODEL);
    models = wrong == null ? configuredModels : Map.of(wrong.model(), SimModel.of(wrong.model(), options.gpu()));
    boolean refuse = nodeFaults.isOn(SimFault.Kind.REFUSE_CONNECTIONS);
    synchronized (nodeFaults) {
      if (closed || refuse != listening) {
        return;
      }
      listening = !refuse;
      if (refuse) {
        server.close();
        return;
      }
      vertx.createHttpServer(serverOptions(options))
          .requestHandler(this::handle)
          .listen(options.port(), options.host())
          .onSuccess(relistened -> server = relistened)
          .onFailure(e -> LOG.error("sim {}: cannot listen again on {}:{}: {}", options.id(), options.host(),
              options.port(), e.getMessage()));
    }
  }

  /** Whether the node accepts connections now (false while refuse-connections is on). */
  public boolean listening() {
    synchronized (nodeFaults) {
      return listening && !closed;
    }
  }

  /** The fault of a new generation request: the next queued one, else one derived from the node-level faults. */
  private SimFault requestFault(HttpServerRequest request) {
    SimFault fault = takeFault();
    if (fault == null) {
      fault = nodeFaults.requestFault();
    }
    if (fault == null && control.hung() && options.timeScale() == 0) {
      // time scale 0 bypasses the engine, so the engine's hung flag cannot hold the request: hang it here
      fault = SimFault.hangBeforeFirstByte(1);
    }
    if (fault != null && fault.kind() == SimFault.Kind.STATUS && (fault.status() == 429 || fault.status() == 503)) {
      request.response().putHeader("retry-after", Integer.toString(NodeFaults.RETRY_AFTER_SECONDS));
    }
    return fault;
  }

  /**
   * A status fault whose body is Ollama's ({@code {"error":"..."}}: error-rate and status faults unless given another
   * body) with its message in {@code api}'s error shape; other faults and bodies as they are.
   */
  private static SimFault inShape(SimFault fault, Api api) {
    if (fault == null || fault.kind() != SimFault.Kind.STATUS || fault.body() == null) {
      return fault;
    }
    JsonNode message;
    try {
      JsonNode body = Json.MAPPER.readTree(fault.body());
      message = body == null ? null : body.get("error");
    } catch (IOException e) {
      return fault;
    }
    if (message == null || !message.isTextual()) {
      return fault;
    }
    return SimFault.status(fault.status(), api.errorBody(fault.status(), message.asText()), fault.count());
  }

  private synchronized Telemetry telemetry() {
    if (telemetry == null) {
      telemetry = new Telemetry(options.id(), options.gpu(), List.copyOf(configuredModels.values()), engineState(),
          nodeFaults, options.timeScale(), options.seed(), Telemetry.DCGM_SAMPLE_INTERVAL);
    }
    return telemetry;
  }

  /** {@code GET /metrics} (DCGM and vLLM), {@code /metrics/dcgm}, {@code /metrics/vllm}. */
  private void metrics(HttpServerRequest request, String path) {
    String model = models.keySet().iterator().next();
    String text = switch (path) {
      case "/metrics/dcgm" -> telemetry().dcgm();
      case "/metrics/vllm" -> telemetry().vllm(model);
      default -> telemetry().all(model);
    };
    request.response().putHeader("content-type", PrometheusWriter.CONTENT_TYPE).end(text);
  }

  EngineDriver engine() {
    return engine;
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
    String path = request.path();
    if (path.startsWith("/sim/")) {
      control(request);
      return;
    }
    if (nodeFaults.isOn(SimFault.Kind.REFUSE_CONNECTIONS)) {
      // the listener closes asynchronously: a keep-alive connection opened before must not answer meanwhile
      request.connection().close();
      return;
    }
    if (nodeFaults.isOn(SimFault.Kind.BLACK_HOLE)) {
      return; // accepted, never answered
    }
    stats.recordPath(path);
    String dialect = dialect(path);
    if (dialect != null && !options.dialects().contains(dialect)) {
      notFound(request); // as a server that does not speak it
      return;
    }
    switch (request.method().name() + " " + path) {
      case "GET /" -> request.response().putHeader("content-type", "text/plain; charset=utf-8")
          .end("Ollama is running");
      case "GET /health" -> request.response().end();
      case "GET /api/version" -> json(request, 200, Json.MAPPER.createObjectNode().put("version", version()));
      case "GET /openapi.json" -> json(request, 200, openApi());
      case "GET /api/tags" -> json(request, 200, tags(false));
      case "GET /api/ps" -> json(request, 200, tags(true));
      case "GET /metrics", "GET /metrics/dcgm", "GET /metrics/vllm" -> metrics(request, path);
      case "GET /v1/models" -> json(request, 200, openAiModels());
      case "POST /api/show" -> readJson(request, Api.OLLAMA, body -> show(request, body));
      case "POST /api/chat" -> generate(request, Endpoint.OLLAMA_CHAT);
      case "POST /api/generate" -> generate(request, Endpoint.OLLAMA_GENERATE);
      case "POST /v1/chat/completions" -> generate(request, Endpoint.OPENAI_CHAT);
      case "POST /v1/completions" -> generate(request, Endpoint.OPENAI_COMPLETION);
      case "POST /v1/messages" -> dialect(request, Api.ANTHROPIC, AnthropicFormat.INSTANCE,
          body -> AnthropicFormat.toChat(body, true));
      case "POST /v1/messages/count_tokens" -> countTokens(request);
      case "POST /v1/responses" -> dialect(request, Api.OPENAI, ResponsesFormat.INSTANCE, ResponsesFormat::toChat);
      case "POST /api/embed" -> embed(request, Api.OLLAMA);
      case "POST /api/embeddings" -> legacyEmbedding(request);
      case "POST /v1/embeddings" -> embed(request, Api.OPENAI);
      default -> notFound(request);
    }
  }

  /** Ollama's version: one that serves Anthropic Messages and OpenAI Responses when the node speaks both. */
  private String version() {
    return options.dialects().containsAll(List.of("anthropic", "responses")) ? OLLAMA_VERSION_WITH_DIALECTS
        : OLLAMA_VERSION;
  }

  /**
   * vLLM's route list ({@code GET /openapi.json}, FastAPI's OpenAPI document), reduced to the paths this node serves
   * outside Ollama's API: the OpenAI ones, {@code /v1/messages} and {@code /v1/responses} as it speaks them.
   */
  private ObjectNode openApi() {
    ObjectNode doc = Json.MAPPER.createObjectNode().put("openapi", "3.1.0");
    doc.putObject("info").put("title", "vLLM (simulated)").put("version", VLLM_VERSION);
    ObjectNode paths = doc.putObject("paths");
    paths.putObject("/health").putObject("get");
    paths.putObject("/metrics").putObject("get");
    paths.putObject("/v1/models").putObject("get");
    for (String p : List.of("/v1/chat/completions", "/v1/completions", "/v1/embeddings")) {
      paths.putObject(p).putObject("post");
    }
    if (options.dialects().contains("anthropic")) {
      paths.putObject("/v1/messages").putObject("post");
      paths.putObject("/v1/messages/count_tokens").putObject("post");
    }
    if (options.dialects().contains("responses")) {
      paths.putObject("/v1/responses").putObject("post");
    }
    return doc;
  }

  /** The dialect a path belongs to (see {@link SimOptions#DIALECTS}); null for health and metrics, always served. */
  private static String dialect(String path) {
    if (path.equals("/health") || path.startsWith("/metrics")) {
      return null;
    }
    if (path.equals("/v1/messages") || path.startsWith("/v1/messages/")) {
      return "anthropic";
    }
    if (path.equals("/v1/responses") || path.startsWith("/v1/responses/")) {
      return "responses";
    }
    return path.equals("/") || path.startsWith("/api/") ? "ollama" : "openai";
  }

  /** Request headers of the latest generation request, as received (a gateway's tests check what it forwards). */
  private volatile Map<String, String> lastGenerationHeaders = Map.of();

  /** The headers (lower-case names) of the latest generation request this node received. */
  public Map<String, String> lastGenerationHeaders() {
    return lastGenerationHeaders;
  }

  private void generate(HttpServerRequest request, Endpoint endpoint) {
    recordHeaders(request);
    readJson(request, endpoint.api, body -> generate(request, endpoint, body, endpoint.api, endpoint.format));
  }

  /**
   * A generation in another dialect (Anthropic Messages, OpenAI Responses): {@code toChat} maps its body onto the chat
   * completion it asks for, so the same conversation gets the same answer; {@code format} writes it back.
   */
  private void dialect(HttpServerRequest request, Api api, GenerationFormat format,
      Function<JsonNode, ObjectNode> toChat) {
    recordHeaders(request);
    readJson(request, api, body -> {
      ObjectNode chat;
      try {
        chat = toChat.apply(body);
      } catch (IllegalArgumentException e) {
        error(request, api, 400, e.getMessage());
        return;
      }
      generate(request, Endpoint.OPENAI_CHAT, chat, api, format);
    });
  }

  /** Anthropic's {@code /v1/messages/count_tokens}: the prompt tokens the same request to /v1/messages would have. */
  private void countTokens(HttpServerRequest request) {
    readJson(request, Api.ANTHROPIC, body -> {
      ObjectNode chat;
      try {
        chat = AnthropicFormat.toChat(body, false);
      } catch (IllegalArgumentException e) {
        error(request, Api.ANTHROPIC, 400, e.getMessage());
        return;
      }
      if (knownModel(request, Api.ANTHROPIC, chat) != null) {
        json(request, 200, Json.MAPPER.createObjectNode().put("input_tokens",
            TextGenerator.promptTokens(GenerationRequest.parse(Endpoint.OPENAI_CHAT, chat).promptText())));
      }
    });
  }

  private void recordHeaders(HttpServerRequest request) {
    Map<String, String> seen = new TreeMap<>();
    request.headers().forEach(e -> seen.merge(e.getKey().toLowerCase(Locale.ROOT), e.getValue(),
        (a, b) -> a + ", " + b));
    lastGenerationHeaders = Collections.unmodifiableMap(seen);
  }

  private void generate(HttpServerRequest request, Endpoint endpoint, JsonNode body, Api api,
      GenerationFormat format) {
    String model = knownModel(request, api, body);
    if (model == null) {
      return;
    }
    GenerationRequest parsed;
    AgentRequest agent;
    try {
      parsed = GenerationRequest.parse(endpoint, body);
      agent = AgentRequest.parse(endpoint, body);
    } catch (IllegalArgumentException e) {
      error(request, api, 400, e.getMessage());
      return;
    }
    // the engine's verdict: Ollama's 503 when its queue is full or silent prompt truncation, vLLM's context 400
    Admission admission = engine.admission(TextGenerator.promptTokens(parsed.promptText()), parsed.maxTokens());
    if (admission instanceof Admission.Refused refused) {
      error(request, api, refused.status(), refused.message());
      return;
    }
    Admission.Accepted accepted = (Admission.Accepted) admission;
    stats.recordStarted();
    long n = SEQUENCE.incrementAndGet();
    // the text depends on the seed, the conversation and the position only, so the same request gets the same
    // answer whatever other traffic the node saw before it, and any node with the same seed can continue it
    TextGenerator.Answer answer = parsed.conversation().answer(options.seed(),
        Math.min(parsed.maxTokens(), TextGenerator.MAX_OUTPUT_TOKENS));
    List<String> tokens = answer.tokens();
    int outputTokens = Math.min(tokens.size(), accepted.maxOutputTokens());
    Generation generation = new Generation(n, model, Instant.now().getEpochSecond(),
        accepted.promptTokens(), tokens.subList(0, outputTokens),
        answer.finished() && outputTokens == tokens.size() ? "stop" : "length", parsed.stream(),
        parsed.includeUsage());
    generation = agent.shape(generation, options.seed(), parsed.promptText(), Math.min(accepted.maxOutputTokens(),
        parsed.maxTokens() > 0 ? Math.min(parsed.maxTokens(), TextGenerator.MAX_OUTPUT_TOKENS) : Integer.MAX_VALUE));
    SimFault fault = requestFault(request);
    if (format != endpoint.format) {
      fault = inShape(fault, api); // Messages or Responses carried over the chat endpoint: their own error shape
    }
    new GenerationRun(request, generation, format, this, fault)
        .prompt(PromptTokens.of(parsed.promptText())).start();
  }

  private void embed(HttpServerRequest request, Api api) {
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
      String encoding = body.path("encoding_format").asText("float");
      if (api == Api.OPENAI && !encoding.equals("float") && !encoding.equals("base64")) {
        error(request, api, 400,
            "encoding_format must be \"float\" or \"base64\", got " + body.get("encoding_format"));
        return;
      }
      Admission admission = engine.admission(texts.stream().mapToInt(TextGenerator::promptTokens).sum(), 0);
      if (admission instanceof Admission.Refused refused) {
        error(request, api, refused.status(), refused.message());
        return;
      }
      int promptTokens = ((Admission.Accepted) admission).promptTokens();
      stats.recordStarted();
      new EmbeddingRun(request.response(), stats, engine).start(promptTokens, timings -> api == Api.OLLAMA
          ? ollamaEmbeddings(model, texts, promptTokens, timings).toString()
          : openAiEmbeddings(model, texts, promptTokens, encoding.equals("base64")).toString());
    });
  }

  /** Ollama's legacy {@code /api/embeddings}: one {@code prompt}, one {@code embedding}, no counts. */
  private void legacyEmbedding(HttpServerRequest request) {
    readJson(request, Api.OLLAMA, body -> {
      String model = knownModel(request, Api.OLLAMA, body);
      if (model == null) {
        return;
      }
      JsonNode prompt = body.path("prompt");
      if (!prompt.isTextual()) {
        error(request, Api.OLLAMA, 400, "prompt must be a string");
        return;
      }
      Admission admission = engine.admission(TextGenerator.promptTokens(prompt.asText()), 0);
      if (admission instanceof Admission.Refused refused) {
        error(request, Api.OLLAMA, refused.status(), refused.message());
        return;
      }
      stats.recordStarted();
      new EmbeddingRun(request.response(), stats, engine).start(((Admission.Accepted) admission).promptTokens(),
          timings -> {
            ObjectNode answer = Json.MAPPER.createObjectNode();
            vector(answer.putArray("embedding"), model, prompt.asText());
            return answer.toString();
          });
    });
  }

  private ObjectNode ollamaEmbeddings(String model, List<String> texts, int promptTokens, Timings timings) {
    ObjectNode body = Json.MAPPER.createObjectNode().put("model", model);
    ArrayNode embeddings = body.putArray("embeddings");
    texts.forEach(text -> vector(embeddings.addArray(), model, text));
    return body.put("total_duration", timings.endNanos() - timings.arrivalNanos())
        .put("load_duration", timings.prefillStartNanos() - timings.arrivalNanos())
        .put("prompt_eval_count", promptTokens);
  }

  private ObjectNode openAiEmbeddings(String model, List<String> texts, int promptTokens, boolean base64) {
    ObjectNode body = Json.MAPPER.createObjectNode().put("object", "list");
    ArrayNode data = body.putArray("data");
    for (int i = 0; i < texts.size(); i++) {
      ObjectNode item = data.addObject().put("object", "embedding").put("index", i);
      if (base64) {
        item.put("embedding", Embeddings.base64(Embeddings.of(model, texts.get(i), options.embeddingDimensions())));
      } else {
        vector(item.putArray("embedding"), model, texts.get(i));
      }
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
            .put("size_vram", nodeFaults.vramBytes(model.sizeBytes()))
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
    show.putArray("capabilities").add("completion").add("tools").add("thinking"); // as Ollama shows qwen3's
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
      case "GET /sim/faults" -> {
        ObjectNode body = Json.MAPPER.createObjectNode();
        ArrayNode active = body.putArray("faults");
        nodeFaults.active().forEach(fault -> active.add(fault.describe()));
        json(request, 200, body);
      }
      case "DELETE /sim/faults" -> {
        String kind = request.getParam("kind");
        try {
          if (kind == null) {
            clearFaults();
          } else {
            clearFault(SimFault.Kind.fromWireName(kind));
          }
          request.response().setStatusCode(204).end();
        } catch (IllegalArgumentException e) {
          error(request, Api.OLLAMA, 400, e.getMessage());
        }
      }
      case "POST /sim/faults" -> readJson(request, Api.OLLAMA, body -> {
        SimFault fault;
        double seconds;
        try {
          seconds = clearAfterSeconds(body);
          fault = SimFault.fromJson(body);
        } catch (IllegalArgumentException e) {
          error(request, Api.OLLAMA, 400, e.getMessage());
          return;
        }
        if (seconds > 0) {
          vertx.setTimer(Math.max(1, (long) (seconds * 1000)), id -> clearFault(fault.kind()));
        }
        if (fault.kind() == SimFault.Kind.REFUSE_CONNECTIONS) {
          // answer first: refusing connections closes this very one
          request.response().setStatusCode(204).end().onComplete(done -> injectFault(fault));
          return;
        }
        injectFault(fault);
        request.response().setStatusCode(204).end();
      });
      default -> notFound(request);
    }
  }

  /**
   * Takes the optional {@code "seconds"} of a node-level fault posted over HTTP: the fault clears itself after that
   * many real seconds. Without it a refuse-connections or black-hole fault could never be cleared over HTTP, since
   * the control endpoint itself stops answering.
   */
  private static double clearAfterSeconds(JsonNode body) {
    JsonNode seconds = body.isObject() ? ((ObjectNode) body).remove("seconds") : null;
    if (seconds == null) {
      return 0;
    }
    if (!seconds.isNumber() || !(seconds.asDouble() > 0)) {
      throw new IllegalArgumentException("fault: seconds " + seconds + " must be a positive number (real seconds "
          + "after which the fault clears itself)");
    }
    return seconds.asDouble();
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
