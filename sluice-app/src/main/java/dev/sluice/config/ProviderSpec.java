package dev.sluice.config;

import dev.sluice.api.ApiFlavor;
import java.util.List;

/**
 * A provider block (Clawdbot format, plus optional {@code nodes}).
 *
 * @param name the key in {@code providers}
 * @param models models served by every node of this provider
 * @param nodes the provider's nodes; a provider without {@code nodes} has one node made from its own baseUrl
 */
public record ProviderSpec(String name, List<ModelSpec> models, List<NodeSpec> nodes) {
  /** Clawdbot's default {@code api} is {@code openai-completions}; Ollama, vLLM and TGI all serve it under /v1. */
  public static final ApiFlavor DEFAULT_API = ApiFlavor.OPENAI;

  public ProviderSpec {
    models = List.copyOf(models);
    nodes = List.copyOf(nodes);
  }
}
