package dev.sluice.sim;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.support.Json;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Several simulated nodes described by one JSON file ({@code sluice sim --cluster}, {@code sluice demo}):
 * <pre>{@code
 * {"timeScale": 1, "seed": 42, "nodes": [
 *   {"id": "a10-01", "host": "127.0.0.1", "port": 11434, "gpu": "A10", "models": ["qwen3:32b"],
 *    "overrides": {"prefillTokensPerSecond": 800}, "faults": [{"kind": "thermal-throttle"}]}]}
 * }</pre>
 * Top-level {@code timeScale}, {@code seed} and {@code host} are defaults for every node; a node's own value wins.
 * Port 0 means a free port. Errors name the key and the fix, e.g.
 * {@code cluster: nodes[2].gpu: "B200" is not a profile (expected A10, ...)}.
 */
public final class SimCluster {
  /** The demo cluster bundled with Sluice. */
  public static final String DEMO_RESOURCE = "/demo-cluster.json";

  private static final Set<String> TOP_KEYS = Set.of("timeScale", "seed", "host", "nodes");
  private static final Set<String> NODE_KEYS = Set.of("id", "host", "port", "gpu", "models", "timeScale", "seed",
      "embeddingDimensions", "overrides", "faults", "dialects");

  /** One node of the file: its options and the faults it starts with. */
  public record NodeSpec(SimOptions options, List<SimFault> faults) {
    public NodeSpec {
      Objects.requireNonNull(options, "options");
      faults = List.copyOf(faults);
    }
  }

  private SimCluster() {}

  /** Reads and validates a cluster file. */
  public static List<NodeSpec> load(Path file) {
    Objects.requireNonNull(file, "file");
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalArgumentException("cluster: cannot read " + file + ": " + e.getMessage()
          + " (expected a readable JSON file)");
    }
    return parse(text);
  }

  /** Reads and validates a cluster file bundled as a class-path resource, e.g. {@link #DEMO_RESOURCE}. */
  public static List<NodeSpec> resource(String name) {
    try (InputStream in = SimCluster.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("cluster resource " + name + " is missing from the class path");
      }
      return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalStateException("cluster resource " + name + ": " + e.getMessage(), e);
    }
  }

  /** Validates a cluster file's text. */
  public static List<NodeSpec> parse(String json) {
    JsonNode root;
    try {
      root = Json.MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("cluster: invalid JSON: " + e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("cluster: the file must be a JSON object (expected {\"nodes\": [...]})");
    }
    unknownKeys(root, TOP_KEYS, "cluster");
    double timeScale = number(root, "timeScale", 1.0, "cluster.timeScale");
    long seed = (long) number(root, "seed", SimOptions.DEFAULT_SEED, "cluster.seed");
    String host = text(root, "host", SimOptions.DEFAULT_HOST, "cluster.host");
    JsonNode nodes = root.path("nodes");
    if (!nodes.isArray() || nodes.isEmpty()) {
      throw new IllegalArgumentException("cluster: nodes: " + (nodes.isMissingNode() ? "missing" : nodes)
          + " (expected a non-empty array of nodes, e.g. [{\"id\":\"a10-01\",\"gpu\":\"A10\"}])");
    }
    List<NodeSpec> specs = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    Set<String> ports = new HashSet<>();
    for (int i = 0; i < nodes.size(); i++) {
      String where = "cluster: nodes[" + i + "]";
      NodeSpec spec = node(nodes.get(i), where, host, timeScale, seed);
      SimOptions options = spec.options();
      if (options.id() != null && !ids.add(options.id())) {
        throw new IllegalArgumentException(where + ".id: \"" + options.id() + "\" is used twice (expected unique ids)");
      }
      if (options.port() != 0 && !ports.add(options.host() + ":" + options.port())) {
        throw new IllegalArgumentException(where + ".port: " + options.port() + " is used twice on " + options.host()
            + " (expected unique ports, or 0 for a free one)");
      }
      specs.add(spec);
    }
    return List.copyOf(specs);
  }

  /** Starts every node in order, with its faults on; on a failure closes the nodes already started. */
  public static Future<List<SimNode>> start(Vertx vertx, List<NodeSpec> specs) {
    Objects.requireNonNull(vertx, "vertx");
    List<SimNode> started = new ArrayList<>();
    Future<Void> chain = Future.succeededFuture();
    for (NodeSpec spec : specs) {
      chain = chain.compose(v -> SimNode.start(vertx, spec.options())).map(node -> {
        started.add(node);
        spec.faults().forEach(node::injectFault);
        return null;
      });
    }
    return chain.map(v -> List.copyOf(started)).recover(e -> {
      started.forEach(SimNode::close);
      return Future.failedFuture(e);
    });
  }

  private static NodeSpec node(JsonNode node, String where, String host, double timeScale, long seed) {
    if (!node.isObject()) {
      throw new IllegalArgumentException(where + ": " + node + " is not an object (expected {\"id\":...,\"gpu\":...})");
    }
    unknownKeys(node, NODE_KEYS, where);
    String gpuName = text(node, "gpu", GpuProfile.A10.name(), where + ".gpu");
    GpuProfile gpu;
    try {
      gpu = GpuProfile.valueOf(gpuName);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ".gpu: \"" + gpuName + "\" is not a profile (expected "
          + Arrays.stream(GpuProfile.values()).map(Enum::name).collect(Collectors.joining(", ")) + ")");
    }
    List<String> models = new ArrayList<>();
    JsonNode modelsNode = node.path("models");
    if (modelsNode.isMissingNode()) {
      models.add(SimOptions.DEFAULT_MODEL);
    } else if (!modelsNode.isArray() || modelsNode.isEmpty()) {
      throw new IllegalArgumentException(where + ".models: " + modelsNode
          + " (expected a non-empty array of model names, e.g. [\"qwen3:32b\"])");
    } else {
      for (int m = 0; m < modelsNode.size(); m++) {
        JsonNode model = modelsNode.get(m);
        if (!model.isTextual() || model.asText().isBlank()) {
          throw new IllegalArgumentException(where + ".models[" + m + "]: " + model
              + " is not a model name (expected e.g. \"qwen3:32b\")");
        }
        models.add(model.asText());
      }
    }
    Set<String> dialects = SimOptions.DIALECTS;
    JsonNode dialectsNode = node.path("dialects");
    if (!dialectsNode.isMissingNode()) {
      if (!dialectsNode.isArray() || dialectsNode.isEmpty()) {
        throw new IllegalArgumentException(where + ".dialects: " + dialectsNode
            + " (expected a non-empty array of dialects, e.g. [\"ollama\", \"openai\"])");
      }
      dialects = new HashSet<>();
      for (JsonNode dialect : dialectsNode) {
        dialects.add(dialect.asText());
      }
    }
    Map<String, Double> overrides = new LinkedHashMap<>();
    JsonNode overridesNode = node.path("overrides");
    if (!overridesNode.isMissingNode()) {
      if (!overridesNode.isObject()) {
        throw new IllegalArgumentException(where + ".overrides: " + overridesNode
            + " (expected an object of profile figures, e.g. {\"prefillTokensPerSecond\": 800})");
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = overridesNode.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> entry = it.next();
        if (!entry.getValue().isNumber()) {
          throw new IllegalArgumentException(where + ".overrides." + entry.getKey() + ": " + entry.getValue()
              + " is not a number");
        }
        overrides.put(entry.getKey(), entry.getValue().asDouble());
      }
    }
    List<SimFault> faults = new ArrayList<>();
    JsonNode faultsNode = node.path("faults");
    if (!faultsNode.isMissingNode()) {
      if (!faultsNode.isArray()) {
        throw new IllegalArgumentException(where + ".faults: " + faultsNode
            + " (expected an array, e.g. [{\"kind\":\"thermal-throttle\"}])");
      }
      for (int f = 0; f < faultsNode.size(); f++) {
        try {
          faults.add(SimFault.fromJson(faultsNode.get(f)));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(where + ".faults[" + f + "]: " + e.getMessage());
        }
      }
    }
    try {
      SimOptions options = new SimOptions(
          node.hasNonNull("id") ? text(node, "id", null, where + ".id") : null,
          text(node, "host", host, where + ".host"),
          (int) number(node, "port", 0, where + ".port"),
          gpu,
          models,
          number(node, "timeScale", timeScale, where + ".timeScale"),
          (long) number(node, "seed", seed, where + ".seed"),
          (int) number(node, "embeddingDimensions", SimOptions.DEFAULT_EMBEDDING_DIMENSIONS,
              where + ".embeddingDimensions"),
          0,
          overrides, null, null, dialects);
      return new NodeSpec(options, faults);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + "." + e.getMessage());
    }
  }

  private static void unknownKeys(JsonNode object, Set<String> known, String where) {
    object.fieldNames().forEachRemaining(key -> {
      if (!known.contains(key)) {
        throw new IllegalArgumentException(where + ": unknown key \"" + key + "\" (expected one of "
            + known.stream().sorted().collect(Collectors.joining(", ")) + ")");
      }
    });
  }

  private static double number(JsonNode object, String key, double fallback, String where) {
    JsonNode value = object.path(key);
    if (value.isMissingNode() || value.isNull()) {
      return fallback;
    }
    if (!value.isNumber()) {
      throw new IllegalArgumentException(where + ": " + value + " is not a number");
    }
    return value.asDouble();
  }

  private static String text(JsonNode object, String key, String fallback, String where) {
    JsonNode value = object.path(key);
    if (value.isMissingNode() || value.isNull()) {
      return fallback;
    }
    if (!value.isTextual() || value.asText().isBlank()) {
      throw new IllegalArgumentException(where + ": " + value + " is not a non-empty string");
    }
    return value.asText();
  }
}
