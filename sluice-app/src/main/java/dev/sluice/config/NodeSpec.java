package dev.sluice.config;

import dev.sluice.api.ApiFlavor;
import dev.sluice.api.NodeDialect;
import java.net.InetAddress;
import java.net.URI;
import java.util.EnumSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

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
 * @param dialects the APIs the node serves ({@code "dialects"} in config, else derived from {@code api}: see
 *     {@link #dialectsOf}); always {@link NodeDialect#OPENAI} or {@link NodeDialect#OLLAMA} among them, since the
 *     gateway probes nodes through one of those
 * @param dialectsDeclared the config lists the dialects: the prober does not add what it discovers
 * @param maxConcurrent requests the node may run at once ({@code maxConcurrent}); 0 when not configured (the gateway
 *     then uses {@code routing.flow.maxConcurrent} for its GPU type, or learns a cap)
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
    Map<String, InetAddress> pinnedAddresses,
    Set<NodeDialect> dialects,
    boolean dialectsDeclared,
    int maxConcurrent) {
  public NodeSpec {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(root, "root");
    Objects.requireNonNull(openAiBase, "openAiBase");
    Objects.requireNonNull(api, "api");
    labels = labels == null ? Map.of() : Map.copyOf(labels);
    pinnedAddresses = pinnedAddresses == null ? Map.of() : Map.copyOf(pinnedAddresses);
    dialects = dialects == null || dialects.isEmpty() ? dialectsOf(api) : Set.copyOf(dialects);
    if (maxConcurrent < 0) throw new IllegalArgumentException("maxConcurrent: " + maxConcurrent);
  }

  /** A node without a configured cap. */
  public NodeSpec(String id, URI root, URI openAiBase, ApiFlavor api, String gpuType, URI metricsUrl,
      Map<String, String> labels, String apiKey, String provider, RepairAction repair,
      Map<String, InetAddress> pinnedAddresses, Set<NodeDialect> dialects, boolean dialectsDeclared) {
    this(id, root, openAiBase, api, gpuType, metricsUrl, labels, apiKey, provider, repair, pinnedAddresses, dialects,
        dialectsDeclared, 0);
  }

  /** A node with the dialects its {@code api} implies. */
  public NodeSpec(String id, URI root, URI openAiBase, ApiFlavor api, String gpuType, URI metricsUrl,
      Map<String, String> labels, String apiKey, String provider, RepairAction repair,
      Map<String, InetAddress> pinnedAddresses) {
    this(id, root, openAiBase, api, gpuType, metricsUrl, labels, apiKey, provider, repair, pinnedAddresses, null,
        false);
  }

  /**
   * What a node of {@code api} serves when the config does not say: an Ollama node its own API and the
   * OpenAI-compatible one under {@code /v1}; an OpenAI node the OpenAI API. Anthropic Messages and OpenAI Responses are
   * added when the config names them ({@code "api": "anthropic-messages"}, {@code "dialects"}) or the prober discovers
   * them.
   */
  public static Set<NodeDialect> dialectsOf(ApiFlavor api) {
    return api == ApiFlavor.OLLAMA ? Set.copyOf(EnumSet.of(NodeDialect.OLLAMA, NodeDialect.OPENAI))
        : Set.of(NodeDialect.OPENAI);
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
    return new NodeSpec(id, root, openAiBase, api, gpuType, metricsUrl, labels, apiKey, provider, repair, pins,
        dialects, dialectsDeclared, maxConcurrent);
  }

  /** This node serving {@code served} ({@code declared}: as the config lists them). */
  public NodeSpec withDialects(Set<NodeDialect> served, boolean declared) {
    return new NodeSpec(id, root, openAiBase, api, gpuType, metricsUrl, labels, apiKey, provider, repair,
        pinnedAddresses, served, declared, maxConcurrent);
  }

  /** This node with a configured cap of {@code cap} requests at once (0: none configured). */
  public NodeSpec withMaxConcurrent(int cap) {
    return new NodeSpec(id, root, openAiBase, api, gpuType, metricsUrl, labels, apiKey, provider, repair,
        pinnedAddresses, dialects, dialectsDeclared, cap);
  }
}
