package dev.sluice.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;

/**
 * One model of OpenAI's model list, {@code GET /v1/models/{model}} (the SDKs' {@code models.retrieve}): answered by the
 * gateway from its config, never forwarded. The id is the rest of the path, slashes included, as the Python SDK sends
 * {@code Qwen/Qwen3-32B}.
 */
public final class OpenAiModel extends OpenAiDialect {
  /** The path's fixed part; the model id follows it. */
  static final String PREFIX = "/v1/models/";

  OpenAiModel() {}

  @Override
  public String path() {
    return PREFIX + "{model}";
  }

  /** Whether a normalised path names one model ({@code /v1/models/<id>}). */
  static boolean matches(String normalisedPath) {
    return normalisedPath.startsWith(PREFIX) && normalisedPath.length() > PREFIX.length();
  }

  /** The model id a normalised {@code /v1/models/<id>} path names. */
  public static String id(String normalisedPath) {
    return normalisedPath.substring(PREFIX.length());
  }

  /** The model object: {@code {"id","object":"model","created","owned_by"}}, as one entry of the list. */
  public static String model(String id, String owner, long createdEpochSeconds) {
    ObjectNode m = Json.MAPPER.createObjectNode().put("id", id).put("object", "model")
        .put("created", createdEpochSeconds).put("owned_by", owner);
    return m.toString();
  }
}
