package dev.sluice.onboard;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.ApiFlavor;
import dev.sluice.support.Json;
import java.net.URI;
import java.util.Locale;
import java.util.Objects;

/**
 * The node being onboarded, as it is registered: the same keys as a node in the config file.
 *
 * @param id node id (unique across the gateway's config)
 * @param baseUrl the node's URL as the operator gave it ({@code http://10.0.0.9:11434}, or with {@code /v1})
 * @param root the node's root (scheme, host, port and any path prefix, without {@code /v1}), as the config loader
 *     derives it from {@code baseUrl}
 * @param api the node's wire API (given or detected)
 * @param gpuType GPU model, e.g. A10
 * @param model the model it is onboarded for
 */
public record NodeRequest(String id, String baseUrl, URI root, ApiFlavor api, String gpuType, String model) {
  /** Longest node id the config accepts. */
  private static final int MAX_ID_CHARS = 64;

  public NodeRequest {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(baseUrl, "baseUrl");
    Objects.requireNonNull(root, "root");
    Objects.requireNonNull(api, "api");
    Objects.requireNonNull(gpuType, "gpuType");
    Objects.requireNonNull(model, "model");
  }

  /** The node as a config-file / admin-API node object: {@code id}, {@code baseUrl}, {@code api}, {@code gpuType}. */
  public ObjectNode toJson() {
    return Json.MAPPER.createObjectNode().put("id", id).put("baseUrl", baseUrl)
        .put("api", api == ApiFlavor.OLLAMA ? "ollama" : "openai").put("gpuType", gpuType);
  }

  /**
   * The default node id: GPU type, host and port, lower case, every other character a dash ({@code A10} and
   * {@code http://10.0.0.9:11434} → {@code a10-10-0-0-9-11434}); the scheme's default port when the URL has none.
   */
  public static String defaultId(String gpuType, URI url) {
    int port = url.getPort() >= 0 ? url.getPort() : "https".equalsIgnoreCase(url.getScheme()) ? 443 : 80;
    String raw = (gpuType + "-" + url.getHost() + "-" + port).toLowerCase(Locale.ROOT);
    String id = raw.replaceAll("[^a-z0-9]+", "-").replaceAll("^-+|-+$", "");
    if (id.length() > MAX_ID_CHARS) id = id.substring(id.length() - MAX_ID_CHARS).replaceAll("^-+", "");
    return id.isEmpty() ? "node-" + port : id;
  }

  /**
   * Whether two node roots name the same server: scheme and host compared without case, a missing port as the
   * scheme's default, trailing slashes ignored.
   */
  public static boolean sameAddress(URI a, URI b) {
    return key(a).equals(key(b));
  }

  private static String key(URI u) {
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
    int port = u.getPort() >= 0 ? u.getPort() : scheme.equals("https") ? 443 : 80;
    String host = u.getHost() == null ? "" : u.getHost().toLowerCase(Locale.ROOT);
    String path = u.getPath() == null ? "" : u.getPath().replaceAll("/+$", "");
    return scheme + "://" + host + ":" + port + path;
  }

  /**
   * Why {@code this} node cannot join next to an existing one ({@code otherId} at {@code otherRoot}, described by
   * {@code where}), or null when it can.
   */
  String conflictWith(String otherId, URI otherRoot, String where) {
    boolean sameAddress = otherRoot != null && sameAddress(root, otherRoot);
    if (id.equals(otherId) && sameAddress) {
      return "node " + id + " at " + baseUrl + " is already registered in " + where + "; nothing to do (its state is "
          + "on GET /admin/nodes)";
    }
    if (id.equals(otherId)) {
      return "node id " + id + " is already registered in " + where + " (at " + otherRoot + "); choose another --id, "
          + "or leave the existing node as it is";
    }
    if (sameAddress) {
      return baseUrl + " is already registered in " + where + " as node " + otherId + "; one server is one node "
          + "(its state is on GET /admin/nodes)";
    }
    return null;
  }
}
