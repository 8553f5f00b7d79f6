package dev.sluice.sim;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;

/** The API families a node speaks, each with its own error body. */
enum Api {
  /** Ollama's native API under {@code /api}: {@code {"error":"..."}}. */
  OLLAMA {
    @Override
    String errorBody(int status, String message) {
      return Json.MAPPER.createObjectNode().put("error", message).toString();
    }
  },
  /** The OpenAI-compatible API under {@code /v1}: {@code {"error":{"message","type","param","code"}}}. */
  OPENAI {
    @Override
    String errorBody(int status, String message) {
      ObjectNode body = Json.MAPPER.createObjectNode();
      body.putObject("error")
          .put("message", message)
          .put("type", switch (status) {
            case 400 -> "invalid_request_error";
            case 404 -> "not_found_error";
            default -> "api_error";
          })
          .putNull("param")
          .putNull("code");
      return body.toString();
    }
  },
  /** Anthropic's Messages API: {@code {"type":"error","error":{"type","message"}}}. */
  ANTHROPIC {
    @Override
    String errorBody(int status, String message) {
      ObjectNode body = Json.MAPPER.createObjectNode().put("type", "error");
      body.putObject("error")
          .put("type", switch (status) {
            case 400 -> "invalid_request_error";
            case 401 -> "authentication_error";
            case 403 -> "permission_error";
            case 404 -> "not_found_error";
            case 413 -> "request_too_large";
            case 429 -> "rate_limit_error";
            case 503, 529 -> "overloaded_error";
            default -> "api_error";
          })
          .put("message", message);
      return body.toString();
    }
  };

  abstract String errorBody(int status, String message);
}
