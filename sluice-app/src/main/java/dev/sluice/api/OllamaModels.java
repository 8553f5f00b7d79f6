package dev.sluice.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;

/**
 * Ollama's model listings {@code GET /api/tags} and {@code /api/ps} (asked of every Ollama node, merged by model name)
 * and its heartbeat {@code GET /api/version} (answered by the gateway).
 */
public final class OllamaModels extends OllamaDialect {
  /**
   * The Ollama version Sluice reports on /api/version: recent enough that Ollama clients enable every feature, and
   * 0.14 because, as Ollama 0.14, the gateway serves Anthropic Messages and OpenAI Responses (to every model: passed
   * through or translated).
   */
  static final String COMPAT_VERSION = "0.14.0";
  static final OllamaModels TAGS = new OllamaModels("/api/tags", "/api/tags");
  static final OllamaModels PS = new OllamaModels("/api/ps", "/api/ps");
  static final OllamaModels VERSION = new OllamaModels("/api/version", null);

  private final String path;
  private final String upstreamPath;

  private OllamaModels(String path, String upstreamPath) {
    this.path = path;
    this.upstreamPath = upstreamPath;
  }

  @Override
  public String path() {
    return path;
  }

  @Override
  public String upstreamPath() {
    return upstreamPath;
  }

  /** The name a node's listing entry goes by: {@code name}, else {@code model}. */
  public static String name(JsonNode entry) {
    return entry.path("name").asText(entry.path("model").asText(""));
  }

  /** An /api/tags entry for a configured model that no Ollama node listed (e.g. served only by vLLM nodes). */
  public static JsonNode syntheticTag(String id, String modifiedAt) {
    ObjectNode m = Json.MAPPER.createObjectNode().put("name", id).put("model", id).put("modified_at", modifiedAt)
        .put("size", 0).put("digest", "");
    String family = id.contains(":") ? id.substring(0, id.indexOf(':')) : id;
    m.putObject("details").put("format", "").put("family", family).put("parameter_size", "").put("quantization_level", "");
    return m;
  }

  /** The /api/version body: {@link #COMPAT_VERSION}. */
  public static String version() {
    return "{\"version\":\"" + COMPAT_VERSION + "\"}";
  }
}
