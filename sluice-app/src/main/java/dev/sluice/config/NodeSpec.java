package dev.sluice.config;

import dev.sluice.api.ApiFlavor;
import java.net.InetAddress;
import java.net.URI;
import java.util.Map;
import java.util.Objects;

/**
 * One upstream GPU node as configured.
 *
 * @param id unique node id across the whole config
 * @param root scheme://host:port plus any path prefix below which the node's native API lives
 *     (Ollama's {@code /api/...} paths are resolved against it)
 * @param openAiBase base for OpenAI-compatible paths (e.g. {@code http://h:11434/v1}); {@code /chat/completions}
 *     is appended to it
 * @param api wire API of the node (an Ollama node also speaks the OpenAI-compatible API under {@code /v1})
 * @param gpuType e.g. A10, A100, H100 (free text, upper-cased)
 * @param metricsUrl optional telemetry URL (DCGM exporter or vLLM /metrics); null when absent
 * @param labels free labels
 * @param apiKey key sent upstream as {@code Authorization: Bearer}; null to send none
 * @param provider the provider this node belongs to
 * @param repair self-healing action run when the node turns DEGRADED; null when none
 * @param pinnedAddresses host name (lower-case) → the address it resolved to and was checked against the address
 *     policy when the node was added at run time; every connection to that host goes there (no DNS rebinding).
 *     Empty for nodes from the config file or etcd, whose names are resolved at each connection as usual
 */
public record NodeSpec(
    String id,
    URI root,
    URI openAiBase,
    ApiFlavor api,
    String gpuType,
    URI metricsUrl,
    Map<String, String> labels,
    String apiKey,
    String provider,
    RepairAction repair,
    Map<String, InetAddress> pinnedAddresses) {
  public NodeSpec {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(root, "root");
    Objects.requireNonNull(openAiBase, "openAiBase");
    Objects.requireNonNull(api, "api");
    labels = labels == null ? Map.of() : Map.copyOf(labels);
    pinnedAddresses = pinnedAddresses == null ? Map.of() : Map.copyOf(pinnedAddresses);
  }

  /** A node whose host names are resolved at each connection (config file, etcd). */
  public NodeSpec(String id, URI root, URI openAiBase, ApiFlavor api, String gpuType, URI metricsUrl,
      Map<String, String> labels, String apiKey, String provider, RepairAction repair) {
    this(id, root, openAiBase, api, gpuType, metricsUrl, labels, apiKey, provider, repair, Map.of());
  }

  /** A node without a repair action. */
  public NodeSpec(String id, URI root, URI openAiBase, ApiFlavor api, String gpuType, URI metricsUrl,
      Map<String, String> labels, String apiKey, String provider) {
    this(id, root, openAiBase, api, gpuType, metricsUrl, labels, apiKey, provider, null);
  }

  /** This node connecting to {@code pins} (host name → checked address) instead of resolving its names again. */
  public NodeSpec withPinnedAddresses(Map<String, InetAddress> pins) {
    return new NodeSpec(id, root, openAiBase, api, gpuType, metricsUrl, labels, apiKey, provider, repair, pins);
  }
}
