package dev.sluice.config;

/** Which wire API a node speaks. Ollama nodes also speak the OpenAI-compatible API under {@code /v1}. */
public enum ApiKind {
  OPENAI,
  OLLAMA
}
