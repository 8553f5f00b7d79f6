package dev.sluice.api;

import java.util.Locale;

/**
 * A wire API a node serves, as the config's {@code "dialects"} names it. Every client {@link Dialect} says which one it
 * needs on a node to be passed through unchanged ({@link Dialect#nodeDialect}); Anthropic Messages and OpenAI
 * Responses can also be carried over a node's chat completions ({@link Dialect#overChat}).
 */
public enum NodeDialect {
  /** OpenAI-compatible: chat completions, completions, embeddings, models under {@code /v1} (vLLM, Ollama, TGI). */
  OPENAI,
  /** Ollama's native API: {@code /api/chat}, {@code /api/generate}, {@code /api/embed}, tags, ps. */
  OLLAMA,
  /** Anthropic Messages: {@code /v1/messages} and {@code /v1/messages/count_tokens} (Ollama ≥ 0.14, vLLM). */
  ANTHROPIC,
  /** OpenAI Responses: {@code /v1/responses} (Ollama ≥ 0.14, vLLM). */
  RESPONSES;

  /** The name in config and on the admin API: {@code openai}, {@code ollama}, {@code anthropic}, {@code responses}. */
  public String configName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The dialect of a config name, or null for an unknown one. */
  public static NodeDialect ofConfigName(String name) {
    for (NodeDialect d : values()) {
      if (d.configName().equals(name)) return d;
    }
    return null;
  }
}
