package dev.sluice.onboard;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.util.Objects;

/**
 * Registers a node through a running gateway's {@code POST /admin/nodes}, after checking {@code GET /admin/nodes} for
 * a node with the same id or URL. The gateway keeps such a node until it restarts (not in its config file).
 */
final class AdminApiRegistrar implements NodeRegistrar {
  private final AdminClient gateway;

  AdminApiRegistrar(AdminClient gateway) {
    this.gateway = Objects.requireNonNull(gateway, "gateway");
  }

  @Override
  public String target() {
    return "the admin API of " + gateway.base();
  }

  @Override
  public Registration register(NodeRequest node) throws IOException, InterruptedException {
    refuseDuplicates(gateway.nodes(), node, "the gateway at " + gateway.base());
    JsonNode added = gateway.addNode(node.toJson().put("model", node.model()));
    return new Registration(added.path("provider").asText("?"),
        "kept until the gateway restarts; add it to the config to keep it for good",
        added.path("state").asText(null), added.path("reason").asText(null));
  }

  /**
   * Asks the running gateway {@code gateway} (called {@code who} in messages) for its nodes first, for modes that
   * change a config it reads: it must answer (it is what turns the node READY) and must not have the node's id or URL.
   *
   * @param unchanged what the refusal adds when the gateway does not answer (what was left alone, and the fix)
   */
  static void refuseDuplicatesOnRunning(AdminClient gateway, NodeRequest node, String who, String unchanged)
      throws IOException, InterruptedException {
    JsonNode running;
    try {
      running = gateway.nodes();
    } catch (AdminClient.Unreachable e) {
      throw new OnboardException(e.getMessage() + "; " + unchanged);
    }
    refuseDuplicates(running, node, who + " at " + gateway.base());
  }

  /** Refuses {@code node} when {@code GET /admin/nodes}'s answer has its id or URL. */
  static void refuseDuplicates(JsonNode adminNodes, NodeRequest node, String where) {
    for (JsonNode n : adminNodes.path("nodes")) {
      URI root;
      try {
        root = URI.create(n.path("baseUrl").asText());
      } catch (IllegalArgumentException e) {
        root = null;
      }
      String why = node.conflictWith(n.path("id").asText(), root, where);
      if (why != null) throw new OnboardException(why);
    }
  }
}
