package dev.sluice.config;

import static dev.sluice.config.ConfigReader.quote;
import static dev.sluice.config.ConfigReader.show;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.api.ApiFlavor;
import dev.sluice.api.NodeDialect;
import java.net.URI;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The providers, in Clawdbot's format ({@code providers}, or nested as {@code models.providers}): each provider's
 * {@code models[]}, {@code api}, {@code apiKey}, and either one {@code baseUrl} or Sluice's {@code nodes[]} (and Sluice's
 * {@code dialects}, on a provider or a node). Unknown
 * keys in Clawdbot's provider blocks and model entries are warnings; in Sluice's node blocks they are errors. Node ids
 * are unique across the whole config.
 */
final class ProvidersSection {
  /** Node ids become metric labels: keep them short and free of characters that need escaping. */
  private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,63}");
  private static final Pattern VRAM = Pattern.compile("\\d+(\\.\\d+)?\\s*[KMGT](i?B)?", Pattern.CASE_INSENSITIVE);
  private static final List<String> PROVIDER_KEYS = List.of("baseUrl", "apiKey", "api", "dialects", "models", "nodes");
  private static final List<String> MODEL_KEYS =
      List.of("id", "name", "contextWindow", "maxTokens", "gpuProfile", "overflowModel");
  private static final List<String> GPU_PROFILE_KEYS = List.of("minVRAM", "prefetch", "warmupPrompt");
  private static final List<String> NODE_KEYS =
      List.of("id", "baseUrl", "api", "dialects", "gpuType", "metricsUrl", "labels", "apiKey", "repair",
          "maxConcurrent");
  private static final List<String> REPAIR_KEYS = List.of("command", "webhook");
  private static final String API_VALUES =
      "\"openai-completions\", \"openai\", \"ollama\", \"anthropic-messages\" or \"openai-responses\"";
  private static final String DIALECT_VALUES = "\"openai\", \"ollama\", \"anthropic\" or \"responses\"";

  private final ConfigReader r;
  /** Node id → path of the key that defined it, to report duplicates across providers. */
  private final Map<String, String> nodeIds = new HashMap<>();
  /** "providers" or, in Clawdbot's nesting, "models.providers". */
  private String providersPath = "providers";

  ProvidersSection(ConfigReader r) {
    this.r = r;
  }

  /** Where the providers were read from: "providers" or "models.providers", for the paths in messages. */
  String providersPath() {
    return providersPath;
  }

  /** Marks {@code id} as taken by {@code owner} (e.g. a node of the running config), so a new node cannot reuse it. */
  void reserveNodeId(String id, String owner) {
    nodeIds.put(id, owner);
  }

  List<ProviderSpec> providers(JsonNode root) {
    JsonNode top = root.get("providers");
    JsonNode wrapper = root.get("models");
    JsonNode block = top;
    if (wrapper != null) {
      if (top != null) {
        r.problem("models.providers", "given as well as top-level providers; keep only one of them");
        return List.of();
      }
      if (!r.isObject(wrapper, "models")) return List.of();
      r.tolerateUnknown(wrapper, "models", List.of("providers"));
      providersPath = "models.providers";
      block = wrapper.get("providers");
    }
    String path = providersPath;
    if (block == null) {
      r.problem(path, "missing; add at least one provider, e.g. \"providers\": {\"local\": {\"baseUrl\": "
          + "\"http://127.0.0.1:11434/v1\", \"models\": [{\"id\": \"qwen3:32b\"}]}}");
      return List.of();
    }
    if (!r.isObject(block, path)) return List.of();
    if (block.isEmpty()) {
      r.problem(path, "is empty; add at least one provider with a baseUrl and models");
      return List.of();
    }
    List<ProviderSpec> out = new ArrayList<>();
    block.properties().forEach(e -> {
      ProviderSpec p = provider(e.getKey(), e.getValue(), path + "." + e.getKey());
      if (p != null) out.add(p);
    });
    return out;
  }

  private ProviderSpec provider(String name, JsonNode node, String path) {
    if (!r.isObject(node, path)) return null;
    r.tolerateUnknown(node, path, PROVIDER_KEYS);
    Api api = api(node.get("api"), path + ".api", Api.DEFAULT);
    Set<NodeDialect> dialects = dialects(node.get("dialects"), path + ".dialects", null);
    String apiKey = apiKey(node.get("apiKey"), path + ".apiKey", null);
    List<ModelSpec> models = models(node.get("models"), path + ".models");
    JsonNode nodesNode = node.get("nodes");
    JsonNode baseUrl = node.get("baseUrl");
    List<NodeSpec> nodes = new ArrayList<>();
    if (nodesNode == null) {
      if (baseUrl == null) {
        r.problem(path + ".baseUrl", "missing; give the provider a baseUrl (e.g. \"http://127.0.0.1:11434/v1\") "
            + "or a nodes[] list");
        return null;
      }
      Endpoint endpoint = endpoint(baseUrl, path + ".baseUrl");
      if (!NODE_ID.matcher(name).matches()) {
        r.problem(path, "provider name " + quote(name) + " is used as the node id and must match "
            + NODE_ID.pattern() + " (it becomes a metric label); rename the provider or give it nodes[]");
      } else {
        claimNodeId(name, path);
      }
      if (endpoint != null) {
        nodes.add(new NodeSpec(name, endpoint.root, endpoint.openAiBase, api.flavor(), null, null, Map.of(), apiKey,
            name).withDialects(dialects == null ? api.dialects() : dialects, dialects != null));
      }
    } else {
      if (baseUrl != null) {
        endpoint(baseUrl, path + ".baseUrl");
        r.warning(path + ".baseUrl", "ignored because the provider lists nodes[]; each node has its own baseUrl");
      }
      if (nodesNode.isArray() && nodesNode.isEmpty()) {
        r.problem(path + ".nodes", "is empty; list at least one node, or remove nodes to use the provider's baseUrl");
      } else if (r.isArray(nodesNode, path + ".nodes")) {
        for (int i = 0; i < nodesNode.size(); i++) {
          NodeSpec n = node(nodesNode.get(i), path + ".nodes[" + i + "]", name, api, dialects, apiKey);
          if (n != null) nodes.add(n);
        }
      }
    }
    return new ProviderSpec(name, models, nodes);
  }

  private List<ModelSpec> models(JsonNode node, String path) {
    if (node == null) {
      r.problem(path, "missing; list at least one model, e.g. \"models\": [{\"id\": \"qwen3:32b\"}]");
      return List.of();
    }
    if (!r.isArray(node, path)) return List.of();
    if (node.isEmpty()) {
      r.problem(path, "is empty; list at least one model, e.g. [{\"id\": \"qwen3:32b\"}]");
      return List.of();
    }
    List<ModelSpec> out = new ArrayList<>();
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < node.size(); i++) {
      String at = path + "[" + i + "]";
      ModelSpec m = model(node.get(i), at);
      if (m == null) continue;
      Integer first = seen.putIfAbsent(m.id(), i);
      if (first != null) {
        r.problem(at + ".id", show(node.get(i).get("id")) + " is already listed at models[" + first
            + "]; list each model once per provider");
      } else {
        out.add(m);
      }
    }
    return out;
  }

  private ModelSpec model(JsonNode node, String path) {
    if (!r.isObject(node, path)) return null;
    r.tolerateUnknown(node, path, MODEL_KEYS);
    String id = r.requiredString(node, path, "id", "a model id like \"qwen3:32b\"");
    String name = r.optionalString(node, path, "name", "a display name");
    int contextWindow = r.positiveInt(node, path, "contextWindow", "tokens", 0);
    int maxTokens = r.positiveInt(node, path, "maxTokens", "tokens", 0);
    if (contextWindow > 0 && maxTokens > contextWindow) {
      r.problem(path + ".maxTokens", maxTokens + " exceeds contextWindow " + contextWindow
          + "; lower maxTokens or raise contextWindow");
    }
    ModelSpec.GpuProfile gpuProfile = gpuProfile(node.get("gpuProfile"), path + ".gpuProfile");
    String overflow = r.optionalString(node, path, "overflowModel", "the id of a configured model with a larger "
        + "contextWindow");
    return id == null ? null : new ModelSpec(id, name, contextWindow, maxTokens, gpuProfile,
        overflow == null || overflow.isBlank() ? null : overflow);
  }

  private ModelSpec.GpuProfile gpuProfile(JsonNode node, String path) {
    if (node == null || !r.isObject(node, path)) return null;
    r.tolerateUnknown(node, path, GPU_PROFILE_KEYS);
    String minVram = r.optionalString(node, path, "minVRAM", "a memory size like \"22G\"");
    if (minVram != null && !VRAM.matcher(minVram).matches()) {
      r.problem(path + ".minVRAM", show(node.get("minVRAM")) + " must be a memory size like \"22G\" or \"24GiB\"");
    }
    boolean prefetch = false;
    JsonNode p = node.get("prefetch");
    if (p != null) {
      if (p.isBoolean()) prefetch = p.asBoolean();
      else r.problem(path + ".prefetch", show(p) + " must be true or false");
    }
    String warmupPrompt = r.optionalString(node, path, "warmupPrompt", "the prompt sent once at start-up");
    return new ModelSpec.GpuProfile(minVram, prefetch, warmupPrompt);
  }

  /**
   * One node given as JSON (the admin API's "add a node") for {@code provider}, whose first node lends it its
   * {@code api}, {@code dialects} (when the config lists them) and {@code apiKey}.
   */
  NodeSpec nodeOf(JsonNode node, String path, ProviderSpec provider) {
    NodeSpec first = provider.nodes().isEmpty() ? null : provider.nodes().get(0);
    if (first == null) return node(node, path, provider.name(), Api.DEFAULT, null, null);
    Api api = new Api(first.api(), first.dialectsDeclared() ? NodeSpec.dialectsOf(first.api()) : first.dialects());
    return node(node, path, provider.name(), api, first.dialectsDeclared() ? first.dialects() : null, first.apiKey());
  }

  /**
   * @param providerDialects the provider's {@code dialects}, or null when it lists none
   */
  private NodeSpec node(JsonNode node, String path, String provider, Api providerApi,
      Set<NodeDialect> providerDialects, String providerKey) {
    if (!r.isObject(node, path)) return null;
    r.rejectUnknown(node, path, NODE_KEYS);
    String id = r.requiredString(node, path, "id", "a node id like \"a10-01\"");
    if (id != null) {
      if (!NODE_ID.matcher(id).matches()) {
        r.problem(path + ".id", show(node.get("id")) + " must match " + NODE_ID.pattern()
            + " (letters, digits, '.', '_', ':', '-'; at most 64; it becomes a metric label)");
      } else {
        claimNodeId(id, path + ".id");
      }
    }
    Endpoint endpoint = null;
    JsonNode baseUrl = node.get("baseUrl");
    if (baseUrl == null) r.problem(path + ".baseUrl", "missing; give the node's URL, e.g. \"http://10.0.0.5:8000/v1\"");
    else endpoint = endpoint(baseUrl, path + ".baseUrl");
    Api api = api(node.get("api"), path + ".api", providerApi);
    Set<NodeDialect> dialects = dialects(node.get("dialects"), path + ".dialects", providerDialects);
    String gpuType = r.optionalString(node, path, "gpuType", "a GPU model like \"A10\" or \"H100\"");
    if (gpuType != null && gpuType.isBlank()) {
      r.problem(path + ".gpuType", "\"\" must be a GPU model like \"A10\" or \"H100\", or be left out");
    }
    URI metricsUrl = null;
    JsonNode m = node.get("metricsUrl");
    if (m != null) metricsUrl = r.url(m, path + ".metricsUrl", true);
    Map<String, String> labels = labels(node.get("labels"), path + ".labels");
    String apiKey = apiKey(node.get("apiKey"), path + ".apiKey", providerKey);
    RepairAction repair = repair(node.get("repair"), path + ".repair");
    int maxConcurrent = 0;
    JsonNode mc = node.get("maxConcurrent");
    if (mc != null) {
      if (mc.isIntegralNumber() && mc.canConvertToInt() && mc.asInt() > 0) {
        maxConcurrent = mc.asInt();
      } else {
        r.problem(path + ".maxConcurrent", show(mc) + " must be a positive whole number of requests the node runs at "
            + "once, e.g. 4 (leave it out to let the gateway learn the cap)");
      }
    }
    if (id == null || endpoint == null) return null;
    String gpu = gpuType == null || gpuType.isBlank() ? null : gpuType.toUpperCase(Locale.ROOT);
    return new NodeSpec(id, endpoint.root, endpoint.openAiBase, api.flavor(), gpu, metricsUrl, labels, apiKey, provider,
        repair).withDialects(dialects == null ? api.dialects() : dialects, dialects != null)
        .withMaxConcurrent(maxConcurrent);
  }

  private RepairAction repair(JsonNode node, String path) {
    if (node == null || !r.isObject(node, path)) return null;
    r.rejectUnknown(node, path, REPAIR_KEYS);
    String command = r.optionalString(node, path, "command", "a shell command, e.g. \"/opt/sluice/healthcheck.sh\"");
    URI webhook = node.has("webhook") ? r.url(node.get("webhook"), path + ".webhook", true) : null;
    if (command == null && webhook == null) {
      r.problem(path, "needs \"command\" or \"webhook\" (or leave \"repair\" out)");
      return null;
    }
    return new RepairAction(command == null || command.isBlank() ? null : command, webhook);
  }

  private Map<String, String> labels(JsonNode node, String path) {
    if (node == null || !r.isObject(node, path)) return Map.of();
    Map<String, String> out = new LinkedHashMap<>();
    node.properties().forEach(e -> {
      if (e.getValue().isTextual()) out.put(e.getKey(), e.getValue().asText());
      else r.problem(path + "." + e.getKey(), show(e.getValue()) + " must be a string (labels map names to strings)");
    });
    return out;
  }

  private void claimNodeId(String id, String path) {
    String first = nodeIds.putIfAbsent(id, path);
    if (first != null) {
      r.problem(path, "node id \"" + id + "\" is already used by " + first
          + "; node ids must be unique across the whole config");
    }
  }

  /**
   * A provider's or node's {@code api}: how the gateway probes the node ({@code flavor}) and the dialects it serves
   * unless {@code dialects} lists them. The nodes behind {@code anthropic-messages} and {@code openai-responses}
   * providers are Ollama or vLLM, which serve chat completions too: they are probed as OpenAI-compatible nodes.
   */
  record Api(ApiFlavor flavor, Set<NodeDialect> dialects) {
    /** Clawdbot's default, {@code openai-completions}. */
    static final Api DEFAULT = new Api(ProviderSpec.DEFAULT_API, NodeSpec.dialectsOf(ProviderSpec.DEFAULT_API));
  }

  private Api api(JsonNode v, String path, Api fallback) {
    if (v == null) return fallback;
    String s = v.isTextual() ? v.asText() : "";
    switch (s) {
      case "openai-completions", "openai":
        return new Api(ApiFlavor.OPENAI, NodeSpec.dialectsOf(ApiFlavor.OPENAI));
      case "ollama":
        return new Api(ApiFlavor.OLLAMA, NodeSpec.dialectsOf(ApiFlavor.OLLAMA));
      case "anthropic-messages":
        return new Api(ApiFlavor.OPENAI, Set.of(NodeDialect.ANTHROPIC, NodeDialect.OPENAI));
      case "openai-responses":
        return new Api(ApiFlavor.OPENAI, Set.of(NodeDialect.RESPONSES, NodeDialect.OPENAI));
      default:
        r.problem(path, show(v) + " is not a known api (expected " + API_VALUES + ")");
        return fallback;
    }
  }

  /**
   * A {@code dialects} list: the APIs the node serves, replacing those its {@code api} implies (and the prober's
   * discovery). Null when left out or wrong ({@code fallback} when left out).
   */
  private Set<NodeDialect> dialects(JsonNode v, String path, Set<NodeDialect> fallback) {
    if (v == null) return fallback;
    if (!v.isArray() || v.isEmpty()) {
      r.problem(path, show(v) + " must be a non-empty array of the APIs the node serves, e.g. [\"openai\", "
          + "\"anthropic\"] (each one of " + DIALECT_VALUES + "), or be left out to use those of \"api\"");
      return fallback;
    }
    EnumSet<NodeDialect> out = EnumSet.noneOf(NodeDialect.class);
    boolean ok = true;
    for (int i = 0; i < v.size(); i++) {
      JsonNode e = v.get(i);
      NodeDialect d = e.isTextual() ? NodeDialect.ofConfigName(e.asText()) : null;
      if (d == null) {
        r.problem(path + "[" + i + "]", show(e) + " is not a dialect (expected " + DIALECT_VALUES + ")");
        ok = false;
      } else {
        out.add(d);
      }
    }
    if (!ok) return fallback;
    if (!out.contains(NodeDialect.OPENAI) && !out.contains(NodeDialect.OLLAMA)) {
      r.problem(path, show(v) + " names neither \"openai\" nor \"ollama\"; the gateway probes and warms nodes "
          + "through one of them, so add the one the node serves, e.g. [\"openai\", " + quote(
              out.iterator().next().configName()) + "]");
      return fallback;
    }
    return Set.copyOf(out);
  }

  /** A key sent upstream; an empty string means send none. */
  private String apiKey(JsonNode v, String path, String fallback) {
    if (v == null) return fallback;
    if (!v.isTextual()) {
      r.problem(path, show(v) + " must be a string (the key sent as Authorization: Bearer; \"\" to send none)");
      return fallback;
    }
    return v.asText().isEmpty() ? null : v.asText();
  }

  private Endpoint endpoint(JsonNode v, String path) {
    URI url = r.url(v, path, false);
    if (url == null) return null;
    String s = v.asText().replaceAll("/+$", "");
    if (s.endsWith("/v1")) return new Endpoint(URI.create(s.substring(0, s.length() - 3)), URI.create(s));
    return new Endpoint(URI.create(s), URI.create(s + "/v1"));
  }

  /** The two bases derived from one baseUrl (see {@link NodeSpec}). */
  private record Endpoint(URI root, URI openAiBase) {}
}
