package dev.sluice.api;

import io.vertx.core.http.HttpMethod;
import java.util.HashMap;
import java.util.Map;

/**
 * The allow-list: every client path Sluice answers, each with its {@link Dialect} (which knows the path and the
 * format). Anything else is 404 and is never forwarded (in particular Ollama's unauthenticated model management:
 * /api/pull, push, create, copy, delete).
 */
public enum Endpoint {
  OPENAI_CHAT(HttpMethod.POST, Handling.GENERATE, new OpenAiChat()),
  OPENAI_COMPLETIONS(HttpMethod.POST, Handling.GENERATE, new OpenAiCompletions()),
  OPENAI_EMBEDDINGS(HttpMethod.POST, Handling.EMBED, new OpenAiEmbeddings()),
  OPENAI_RESPONSES(HttpMethod.POST, Handling.GENERATE, new OpenAiResponses()),
  ANTHROPIC_MESSAGES(HttpMethod.POST, Handling.GENERATE, new AnthropicMessages()),
  ANTHROPIC_COUNT_TOKENS(HttpMethod.POST, Handling.EMBED, new AnthropicCountTokens()),
  OPENAI_MODELS(HttpMethod.GET, Handling.LOCAL, new OpenAiModels()),
  OPENAI_MODEL(HttpMethod.GET, Handling.LOCAL, new OpenAiModel()),
  OLLAMA_CHAT(HttpMethod.POST, Handling.GENERATE, new OllamaChat()),
  OLLAMA_GENERATE(HttpMethod.POST, Handling.GENERATE, new OllamaGenerate()),
  OLLAMA_EMBED(HttpMethod.POST, Handling.EMBED, new OllamaEmbed()),
  OLLAMA_EMBEDDINGS(HttpMethod.POST, Handling.EMBED, new OllamaEmbeddings()),
  OLLAMA_SHOW(HttpMethod.POST, Handling.EMBED, new OllamaShow()),
  OLLAMA_TAGS(HttpMethod.GET, Handling.AGGREGATE, OllamaModels.TAGS),
  OLLAMA_PS(HttpMethod.GET, Handling.AGGREGATE, OllamaModels.PS),
  OLLAMA_VERSION(HttpMethod.GET, Handling.LOCAL, OllamaModels.VERSION);

  /** What the gateway does with a request to the endpoint. */
  public enum Handling {
    /** Routed to one node by model; may stream. */
    GENERATE,
    /** Routed to one node by model; never streams (embeddings, show). */
    EMBED,
    /** Asked of every Ollama node, answers merged. */
    AGGREGATE,
    /** Answered by the gateway from its config. */
    LOCAL
  }

  private static final Map<String, Endpoint> BY_PATH = new HashMap<>();

  static {
    for (Endpoint e : values()) {
      if (e != OPENAI_MODEL) BY_PATH.put(e.path(), e); // a path with the model id in it: see at()
    }
  }

  private final HttpMethod method;
  private final Handling handling;
  private final Dialect dialect;

  Endpoint(HttpMethod method, Handling handling, Dialect dialect) {
    this.method = method;
    this.handling = handling;
    this.dialect = dialect;
  }

  /** The endpoint at a normalised path, or null. */
  public static Endpoint at(String normalisedPath) {
    if (normalisedPath == null) return null;
    Endpoint e = BY_PATH.get(normalisedPath);
    return e != null || !OpenAiModel.matches(normalisedPath) ? e : OPENAI_MODEL;
  }

  /** Which API a path belongs to, for errors on paths that match no endpoint. */
  public static ApiFlavor flavorOf(String rawPath) {
    if (rawPath != null && rawPath.startsWith("/api/")) return ApiFlavor.OLLAMA;
    if (rawPath != null && (rawPath.equals("/v1/messages") || rawPath.startsWith("/v1/messages/"))) {
      return ApiFlavor.ANTHROPIC;
    }
    return ApiFlavor.OPENAI;
  }

  /**
   * Every endpoint as a 404 lists them, in table order, the method written where it changes:
   * {@code POST /v1/chat/completions, /v1/completions, ..., GET /api/tags, /api/ps, /api/version}.
   */
  public static String listing() {
    StringBuilder out = new StringBuilder();
    HttpMethod previous = null;
    for (Endpoint e : values()) {
      if (out.length() > 0) out.append(", ");
      if (e.method != previous) out.append(e.method.name()).append(' ');
      out.append(e.path());
      previous = e.method;
    }
    return out.toString();
  }

  public String path() { return dialect.path(); }

  public HttpMethod method() { return method; }

  /** The endpoint's wire format: request specifics, answers, usage. */
  public Dialect dialect() { return dialect; }

  /** The API family, for its error shape. */
  public ApiFlavor flavor() { return dialect.flavor(); }

  public Handling handling() { return handling; }

  /** Path on the node ({@link Dialect#upstreamPath}); null for endpoints the gateway answers itself. */
  public String upstreamPath() { return dialect.upstreamPath(); }

  /** True when the request's {@code stream} flag defaults to true (Ollama's generation endpoints). */
  public boolean streamsByDefault() {
    return dialect.streamsByDefault();
  }
}
