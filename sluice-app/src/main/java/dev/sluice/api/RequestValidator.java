package dev.sluice.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import io.netty.buffer.ByteBuf;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;
import java.io.IOException;
import java.util.ArrayDeque;

/**
 * Checks a request body before anything goes upstream: well-formed JSON (no duplicate keys, no trailing garbage, depth
 * at most {@link Json#MAX_NESTING_DEPTH}, no number that overflows a double, valid UTF-8), an object with a
 * {@code model}, and the parameters of its dialect in range ({@link Dialect#checkParameters}). Every refusal is an
 * {@link ApiException} whose message names the field and the fix.
 */
public final class RequestValidator {
  /** OpenAI's own API refuses n above 128; a self-hosted GPU node should never fan one request out that wide. */
  public static final int MAX_N = 16;
  /** The bound on max_tokens at validation (a model's own maxTokens is the context guard's): no open model emits more. */
  public static final int MAX_OUTPUT_TOKENS_UNCONFIGURED = 1_000_000;

  private RequestValidator() {}

  /** Parses and validates, with the default JSON depth limit. */
  public static ParsedRequest parse(Endpoint endpoint, Buffer raw) throws ApiException {
    return parse(endpoint, raw, Json.MAX_NESTING_DEPTH);
  }

  /**
   * Like {@link #parse(Endpoint, Buffer)} with another JSON depth limit. {@code max_tokens} is checked against
   * {@link #MAX_OUTPUT_TOKENS_UNCONFIGURED} only: against the model's maxTokens is the context guard's job (reject or
   * cap, limits.overMaxTokens).
   */
  public static ParsedRequest parse(Endpoint endpoint, Buffer raw, int maxJsonDepth) throws ApiException {
    ObjectNode json = parseObject(raw, maxJsonDepth);
    String model = requireModel(endpoint, json);
    boolean stream = streamFlag(endpoint, json);
    endpoint.dialect().checkParameters(json, MAX_OUTPUT_TOKENS_UNCONFIGURED);
    return new ParsedRequest(endpoint, model, stream, json, raw);
  }

  static ObjectNode parseObject(Buffer raw, int maxDepth) throws ApiException {
    if (raw.length() == 0) {
      throw new ApiException(ErrorKind.INVALID_REQUEST, "request body is empty: send a JSON object with a \"model\" field");
    }
    JsonNode node;
    try {
      ByteBuf b = ((BufferInternal) raw).getByteBuf();
      node = b.hasArray() // read in place: no copy of the body
          ? Json.withMaxDepth(maxDepth).readTree(b.array(), b.arrayOffset() + b.readerIndex(), b.readableBytes())
          : Json.withMaxDepth(maxDepth).readTree(raw.getBytes());
    } catch (StreamConstraintsException e) {
      throw new ApiException(ErrorKind.INVALID_REQUEST,
          "request body is nested too deeply (more than " + maxDepth + " levels; server.maxJsonDepth)");
    } catch (JsonProcessingException e) {
      throw new ApiException(ErrorKind.INVALID_REQUEST, "request body is not valid JSON: " + describe(e));
    } catch (IOException e) {
      throw new ApiException(ErrorKind.INVALID_REQUEST, "request body could not be read as JSON");
    }
    if (node == null || !node.isObject()) {
      throw new ApiException(ErrorKind.INVALID_REQUEST, "request body must be a JSON object, got "
          + (node == null ? "nothing" : node.getNodeType().toString().toLowerCase()));
    }
    checkNumbersFinite(node);
    return (ObjectNode) node;
  }

  private static String describe(JsonProcessingException e) {
    String msg = e.getOriginalMessage();
    int cut = msg.indexOf('\n');
    if (cut > 0) msg = msg.substring(0, cut);
    if (msg.length() > 160) msg = msg.substring(0, 160) + "…";
    var loc = e.getLocation();
    return loc == null ? msg : msg + " (at line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")";
  }

  /** A literal such as 1e309 parses to infinity; refuse it rather than forward a number no node can read. */
  private static void checkNumbersFinite(JsonNode root) throws ApiException {
    ArrayDeque<JsonNode> todo = new ArrayDeque<>();
    todo.push(root);
    while (!todo.isEmpty()) {
      JsonNode n = todo.pop();
      if (n.isContainerNode()) {
        for (JsonNode child : n) todo.push(child);
      } else if (n.isDouble() || n.isFloat()) {
        double d = n.doubleValue();
        if (Double.isInfinite(d) || Double.isNaN(d)) {
          throw new ApiException(ErrorKind.INVALID_REQUEST,
              "request body has a number out of range (it overflows a 64-bit float): use a finite number");
        }
      }
    }
  }

  private static String requireModel(Endpoint endpoint, ObjectNode json) throws ApiException {
    JsonNode m = endpoint.dialect().model(json);
    if (m == null || m.isNull()) {
      throw new ApiException(ErrorKind.MISSING_MODEL, "missing \"model\": name the model to use, e.g. \"qwen3:32b\"", "model");
    }
    if (!m.isTextual() || m.asText().isBlank()) {
      throw new ApiException(ErrorKind.MISSING_MODEL, "\"model\" must be a non-empty string", "model");
    }
    return m.asText();
  }

  private static boolean streamFlag(Endpoint endpoint, ObjectNode json) throws ApiException {
    JsonNode s = json.get("stream");
    if (s == null || s.isNull()) return endpoint.streamsByDefault();
    if (!s.isBoolean()) throw new ApiException(ErrorKind.INVALID_REQUEST, "\"stream\" must be true or false", "stream");
    if (endpoint.handling() != Endpoint.Handling.GENERATE) return false;
    return s.booleanValue();
  }

  // ---------------------------------------------------------------- checks the dialects use

  /** Embeddings: an {@code input} is required. */
  static void requireInput(ObjectNode json) throws ApiException {
    if (!json.has("input")) {
      throw new ApiException(ErrorKind.INVALID_REQUEST, "missing \"input\": send a string or an array of strings", "input");
    }
  }

  static void requireNonEmptyArray(ObjectNode json, String field) throws ApiException {
    JsonNode v = json.get(field);
    if (v == null || !v.isArray() || v.isEmpty()) {
      throw new ApiException(ErrorKind.INVALID_REQUEST,
          "\"" + field + "\" must be a non-empty array of {role, content}", field);
    }
  }

  static void checkInt(ObjectNode json, String field, long min, long max) throws ApiException {
    JsonNode v = json.get(field);
    if (v == null || v.isNull()) return;
    if (!v.isNumber() || v.asDouble() != Math.rint(v.asDouble())) {
      throw new ApiException(ErrorKind.INVALID_REQUEST,
          "\"" + field + "\" must be an integer between " + min + " and " + max + ", got " + v, field);
    }
    double d = v.asDouble();
    if (d < min || d > max) {
      throw new ApiException(ErrorKind.INVALID_REQUEST,
          "\"" + field + "\" must be between " + min + " and " + max + ", got " + v, field);
    }
  }

  /** Like {@link #checkInt} for a field that must be present. */
  static void requireInt(ObjectNode json, String field, long min, long max) throws ApiException {
    JsonNode v = json.get(field);
    if (v == null || v.isNull()) {
      throw new ApiException(ErrorKind.INVALID_REQUEST,
          "missing \"" + field + "\": send an integer between " + min + " and " + max, field);
    }
    checkInt(json, field, min, max);
  }

  /** An optional array of strings. */
  static void checkStringArray(ObjectNode json, String field) throws ApiException {
    JsonNode v = json.get(field);
    if (v == null || v.isNull()) return;
    boolean ok = v.isArray();
    for (int i = 0; ok && i < v.size(); i++) ok = v.get(i).isTextual();
    if (!ok) {
      throw new ApiException(ErrorKind.INVALID_REQUEST,
          "\"" + field + "\" must be an array of strings, got " + clip(v.toString()), field);
    }
  }

  private static String clip(String text) {
    return text.length() > 80 ? text.substring(0, 80) + "…" : text;
  }

  static void checkNumber(ObjectNode json, String field, double min, double max) throws ApiException {
    JsonNode v = json.get(field);
    if (v == null || v.isNull()) return;
    if (!v.isNumber() || v.asDouble() < min || v.asDouble() > max) {
      throw new ApiException(ErrorKind.INVALID_REQUEST,
          "\"" + field + "\" must be a number between " + fmt(min) + " and " + fmt(max) + ", got " + v, field);
    }
  }

  private static String fmt(double d) {
    return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
  }
}
