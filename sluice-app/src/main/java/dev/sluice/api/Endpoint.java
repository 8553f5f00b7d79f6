package dev.sluice.api;

import io.vertx.core.http.HttpMethod;
import java.util.HashMap;
import java.util.Map;

/**
 * The allow-list: every client path Sluice answers. Anything else is 404 and is never forwarded (in particular
 * Ollama's unauthenticated model management: /api/pull, push, create, copy, delete).
 */
public enum Endpoint {
  OPENAI_CHAT("/v1/chat/completions", HttpMethod.POST, ApiFlavor.OPENAI, Handling.GENERATE, "/chat/completions"),
  OPENAI_COMPLETIONS("/v1/completions", HttpMethod.POST, ApiFlavor.OPENAI, Handling.GENERATE, "/completions"),
  OPENAI_EMBEDDINGS("/v1/embeddings", HttpMethod.POST, ApiFlavor.OPENAI, Handling.EMBED, "/embeddings"),
  OPENAI_MODELS("/v1/models", HttpMethod.GET, ApiFlavor.OPENAI, Handling.LOCAL, null),
  OLLAMA_CHAT("/api/chat", HttpMethod.POST, ApiFlavor.OLLAMA, Handling.GENERATE, "/api/chat"),
  OLLAMA_GENERATE("/api/generate", HttpMethod.POST, ApiFlavor.OLLAMA, Handling.GENERATE, "/api/generate"),
  OLLAMA_EMBED("/api/embed", HttpMethod.POST, ApiFlavor.OLLAMA, Handling.EMBED, "/api/embed"),
  OLLAMA_SHOW("/api/show", HttpMethod.POST, ApiFlavor.OLLAMA, Handling.EMBED, "/api/show"),
  OLLAMA_TAGS("/api/tags", HttpMethod.GET, ApiFlavor.OLLAMA, Handling.AGGREGATE, "/api/tags"),
  OLLAMA_PS("/api/ps", HttpMethod.GET, ApiFlavor.OLLAMA, Handling.AGGREGATE, "/api/ps"),
  OLLAMA_VERSION("/api/version", HttpMethod.GET, ApiFlavor.OLLAMA, Handling.LOCAL, null);

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
    for (Endpoint e : values()) BY_PATH.put(e.path, e);
  }

  private final String path;
  private final HttpMethod method;
  private final ApiFlavor flavor;
  private final Handling handling;
  private final String upstreamPath;

  Endpoint(String path, HttpMethod method, ApiFlavor flavor, Handling handling, String upstreamPath) {
    this.path = path;
    this.method = method;
    this.flavor = flavor;
    this.handling = handling;
    this.upstreamPath = upstreamPath;
  }

  /** The endpoint at a normalised path, or null. */
  public static Endpoint at(String normalisedPath) {
    return normalisedPath == null ? null : BY_PATH.get(normalisedPath);
  }

  /** Which API a path belongs to, for errors on paths that match no endpoint. */
  public static ApiFlavor flavorOf(String rawPath) {
    return rawPath != null && rawPath.startsWith("/api/") ? ApiFlavor.OLLAMA : ApiFlavor.OPENAI;
  }

  public String path() { return path; }

  public HttpMethod method() { return method; }

  public ApiFlavor flavor() { return flavor; }

  public Handling handling() { return handling; }

  /**
   * Path on the node: for OpenAI endpoints relative to the node's OpenAI base ({@code .../v1}), for Ollama endpoints
   * relative to the node's root.
   */
  public String upstreamPath() { return upstreamPath; }

  /** True when the request's {@code stream} flag defaults to true (Ollama's generation endpoints). */
  public boolean streamsByDefault() {
    return this == OLLAMA_CHAT || this == OLLAMA_GENERATE;
  }
}
