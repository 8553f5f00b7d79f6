package dev.sluice.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import java.util.Map;

/** OpenAI's model list, {@code GET /v1/models}: answered by the gateway from its config, never forwarded. */
public final class OpenAiModels extends OpenAiDialect {
  OpenAiModels() {}

  @Override
  public String path() {
    return "/v1/models";
  }

  /**
   * The list body: {@code {"object":"list","data":[{"id","object":"model","created","owned_by"}]}}.
   *
   * @param ownerById the models to list, in order, each with its {@code owned_by} (the provider)
   */
  public static String list(Map<String, String> ownerById, long createdEpochSeconds) {
    ObjectNode root = Json.MAPPER.createObjectNode().put("object", "list");
    ArrayNode data = root.putArray("data");
    ownerById.forEach((id, owner) ->
        data.addObject().put("id", id).put("object", "model").put("created", createdEpochSeconds).put("owned_by", owner));
    return root.toString();
  }
}
