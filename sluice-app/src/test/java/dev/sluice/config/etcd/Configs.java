package dev.sluice.config.etcd;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.sim.SimNode;
import dev.sluice.support.Json;

/** Config documents for the etcd tests: one model served by simulated nodes, fast probes. */
final class Configs {
  static final String MODEL = "qwen3:32b";

  private Configs() {}

  /** A config with {@code nodes} serving {@link #MODEL}, auth {@code authMode}, the given admin token hash. */
  static ObjectNode of(String authMode, String adminTokenSha256, SimNode... nodes) {
    ObjectNode root = Json.MAPPER.createObjectNode();
    root.putObject("auth").put("mode", authMode);
    if (adminTokenSha256 != null) root.putObject("admin").put("tokenSha256", adminTokenSha256);
    root.putObject("health").put("probeInterval", "200ms").put("probeTimeout", "1s");
    root.putObject("routing").put("policy", "least-delay").put("ttftBudget", "30s");
    ObjectNode provider = root.putObject("providers").putObject("qwen");
    provider.put("api", "ollama").put("apiKey", "ollama");
    provider.putArray("models").addObject().put("id", MODEL).put("contextWindow", 24576).put("maxTokens", 4096);
    provider.putArray("nodes");
    for (SimNode n : nodes) addNode(root, n);
    return root;
  }

  /** {@code config} with {@code node} appended to the provider's nodes (changed in place). */
  static ObjectNode addNode(ObjectNode config, SimNode node) {
    ((ArrayNode) config.path("providers").path("qwen").path("nodes")).addObject().put("id", node.options().id())
        .put("baseUrl", node.baseUrl()).put("gpuType", node.options().gpu().name());
    return config;
  }

  /** {@code config} with another routing policy and ttftBudget (a marker of which change it is). */
  static ObjectNode routing(ObjectNode config, String policy, long ttftBudgetSeconds) {
    ((ObjectNode) config.path("routing")).put("policy", policy).put("ttftBudget", ttftBudgetSeconds + "s");
    return config;
  }

  static String text(ObjectNode config) {
    try {
      return Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(config);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
