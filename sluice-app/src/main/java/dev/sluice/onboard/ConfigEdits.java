package dev.sluice.onboard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.SluiceConfig;
import java.util.Objects;

/**
 * Onboarding's change to a config document (the JSON a config file or a config store holds): the node joins the
 * {@code nodes} of the provider serving its model, everything else stays as it was. Pure: JSON in, JSON out; the
 * caller validates the result with {@link dev.sluice.config.ConfigLoader} before storing it.
 */
public final class ConfigEdits {
  private ConfigEdits() {}

  /**
   * A copy of {@code root} with {@code node} added to the provider that serves {@code node.model()}. A provider
   * without {@code nodes} (one node made from its {@code baseUrl}, with the provider's name as its id) is turned into
   * the same node listed in {@code nodes}, followed by the new one.
   *
   * @param current {@code root} as loaded (for the duplicate check and the model's provider)
   * @throws OnboardException when the model is not configured or the node's id or URL is already there
   */
  public static ObjectNode withNode(ObjectNode root, SluiceConfig current, NodeRequest node) {
    Objects.requireNonNull(root, "root");
    Objects.requireNonNull(node, "node");
    String where = current.source() == null ? "the config" : current.source();
    for (NodeSpec n : current.nodes()) {
      String why = node.conflictWith(n.id(), n.root(), where);
      if (why != null) throw new OnboardException(why);
    }
    String providerName = current.model(node.model()).map(SluiceConfig.ModelRoute::provider)
        .orElseThrow(() -> new OnboardException(notConfigured(current, node.model(), where)));
    ObjectNode copy = root.deepCopy();
    JsonNode providers = copy.has("providers") ? copy.get("providers") : copy.path("models").path("providers");
    JsonNode provider = providers.get(providerName);
    if (!(provider instanceof ObjectNode p)) {
      throw new IllegalStateException("provider " + providerName + " of " + where + " not found in its JSON");
    }
    JsonNode nodes = p.get("nodes");
    if (nodes == null) {
      ArrayNode list = p.putArray("nodes");
      list.addObject().put("id", providerName).set("baseUrl", p.remove("baseUrl"));
      nodes = list;
    }
    ((ArrayNode) nodes).add(node.toJson());
    return copy;
  }

  /** {@code model} is not served by any provider of {@code config}: the message lists the configured ones. */
  public static String notConfigured(SluiceConfig config, String model, String where) {
    return "model " + model + " is not configured in " + where + " (configured: "
        + String.join(", ", config.models().keySet()) + "); add it to a provider's models first, or onboard the node "
        + "for one of those";
  }
}
