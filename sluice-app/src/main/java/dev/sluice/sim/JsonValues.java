package dev.sluice.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;

/**
 * Deterministic JSON values: one that conforms to a JSON schema (tool {@code parameters}, {@code json_schema}
 * response formats, Ollama {@code format}), or a small free-form object for plain JSON mode, and the split of a JSON
 * text into stream pieces.
 *
 * <p>Supported schema keywords: {@code type} (also a list, the first non-null one is used), {@code enum},
 * {@code const}, {@code properties} with {@code required} (optional properties are included at random),
 * {@code items}/{@code prefixItems} with {@code minItems}/{@code maxItems}, {@code minimum}/{@code maximum} (and the
 * exclusive ones), {@code minLength}/{@code maxLength}, the string formats {@code date}, {@code date-time},
 * {@code email}, {@code uri} and {@code uuid}, {@code anyOf}/{@code oneOf} (one branch at random), {@code allOf}
 * (properties merged) and local {@code $ref}s ({@code #/$defs/...}, {@code #/definitions/...}). {@code pattern} and
 * {@code multipleOf} are ignored.
 */
final class JsonValues {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  /** Nesting beyond which optional properties and extra array items are left out, so recursive schemas end. */
  private static final int DEEP = 4;
  private static final String[] WORDS = {
      "Paris", "Berlin", "café", "north", "report", "日本語", "blue", "quarterly", "Straße", "summary", "data",
      "🚀", "search", "file", "main", "notes", "src", "test", "weather", "order"
  };

  private JsonValues() {}

  /** A value conforming to {@code schema}. */
  static JsonNode conforming(JsonNode schema, SplittableRandom random) {
    return value(schema, schema, random, 0);
  }

  /** A small object of a few string, number, boolean and array fields: the answer of plain JSON mode. */
  static ObjectNode freeForm(SplittableRandom random) {
    ObjectNode object = NODES.objectNode();
    object.put("answer", words(random, 1 + random.nextInt(4)));
    object.put("confidence", round(random.nextDouble()));
    ArrayNode items = object.putArray("items");
    for (int i = random.nextInt(4); i > 0; i--) {
      items.add(words(random, 1));
    }
    object.put("done", random.nextBoolean());
    return object;
  }

  /** {@code json} split into stream pieces of 1 to 6 code points (never inside a surrogate pair). */
  static List<String> pieces(String json, SplittableRandom random) {
    List<String> pieces = new ArrayList<>();
    int from = 0;
    while (from < json.length()) {
      int to = from;
      for (int n = 1 + random.nextInt(6); n > 0 && to < json.length(); n--) {
        to += Character.charCount(json.codePointAt(to));
      }
      pieces.add(json.substring(from, to));
      from = to;
    }
    return pieces;
  }

  private static JsonNode value(JsonNode schema, JsonNode root, SplittableRandom random, int depth) {
    if (schema == null || !schema.isObject()) {
      return NODES.textNode(words(random, 1)); // true, {} or nonsense: anything goes
    }
    if (schema.has("$ref")) {
      String ref = schema.path("$ref").asText();
      JsonNode target = ref.startsWith("#") && depth < 2 * DEEP ? root.at(ref.substring(1)) : null;
      return target == null || target.isMissingNode() ? NODES.objectNode() : value(target, root, random, depth + 1);
    }
    if (schema.has("const")) {
      return schema.get("const");
    }
    JsonNode choices = schema.path("enum");
    if (choices.isArray() && !choices.isEmpty()) {
      return choices.get(random.nextInt(choices.size()));
    }
    for (String key : new String[] {"anyOf", "oneOf"}) {
      JsonNode branches = schema.path(key);
      if (branches.isArray() && !branches.isEmpty()) {
        return value(branches.get(random.nextInt(branches.size())), root, random, depth + 1);
      }
    }
    if (schema.path("allOf").isArray()) {
      return value(mergeAllOf(schema), root, random, depth);
    }
    return switch (type(schema)) {
      case "object" -> object(schema, root, random, depth);
      case "array" -> array(schema, root, random, depth);
      case "integer" -> integer(schema, random);
      case "number" -> number(schema, random);
      case "boolean" -> NODES.booleanNode(random.nextBoolean());
      case "null" -> NODES.nullNode();
      default -> string(schema, random);
    };
  }

  private static String type(JsonNode schema) {
    JsonNode type = schema.path("type");
    if (type.isTextual()) {
      return type.asText();
    }
    if (type.isArray()) {
      for (JsonNode t : type) {
        if (!"null".equals(t.asText())) {
          return t.asText();
        }
      }
      return "null";
    }
    if (schema.has("properties")) {
      return "object";
    }
    return schema.has("items") || schema.has("prefixItems") ? "array" : "string";
  }

  private static ObjectNode mergeAllOf(JsonNode schema) {
    ObjectNode merged = ((ObjectNode) schema).deepCopy();
    merged.remove("allOf");
    ObjectNode properties = NODES.objectNode();
    ArrayNode required = NODES.arrayNode();
    List<JsonNode> parts = new ArrayList<>();
    parts.add(schema);
    schema.path("allOf").forEach(parts::add);
    for (JsonNode part : parts) {
      if (part.path("properties").isObject()) {
        properties.setAll((ObjectNode) part.get("properties"));
      }
      part.path("required").forEach(required::add);
      if (part.has("type") && !merged.has("type")) {
        merged.set("type", part.get("type"));
      }
    }
    if (!properties.isEmpty()) {
      merged.set("properties", properties);
      merged.set("required", required);
    }
    return merged;
  }

  private static ObjectNode object(JsonNode schema, JsonNode root, SplittableRandom random, int depth) {
    ObjectNode object = NODES.objectNode();
    Set<String> required = new HashSet<>();
    schema.path("required").forEach(name -> required.add(name.asText()));
    JsonNode properties = schema.path("properties");
    properties.fields().forEachRemaining(property -> {
      boolean include = required.contains(property.getKey()) || depth < DEEP && random.nextInt(3) > 0;
      if (include) {
        object.set(property.getKey(), value(property.getValue(), root, random, depth + 1));
      }
    });
    JsonNode additional = schema.path("additionalProperties");
    if (properties.isMissingNode() && !additional.isBoolean() && depth < DEEP) {
      for (int i = 1 + random.nextInt(2); i > 0; i--) {
        object.set(words(random, 1).toLowerCase(Locale.ROOT), value(additional, root, random, depth + 1));
      }
    }
    return object;
  }

  private static ArrayNode array(JsonNode schema, JsonNode root, SplittableRandom random, int depth) {
    ArrayNode array = NODES.arrayNode();
    int min = Math.max(0, schema.path("minItems").asInt(0));
    int max = schema.has("maxItems") ? Math.max(min, schema.path("maxItems").asInt()) : min + 3;
    int count = depth < DEEP ? min + random.nextInt(Math.min(max, min + 3) - min + 1) : min;
    count = Math.max(count, Math.min(1, max)); // one item at least where allowed, so arrays show their shape
    JsonNode prefix = schema.path("prefixItems");
    for (int i = 0; i < count; i++) {
      JsonNode items = prefix.isArray() && i < prefix.size() ? prefix.get(i) : schema.get("items");
      array.add(value(items, root, random, depth + 1));
    }
    return array;
  }

  private static JsonNode integer(JsonNode schema, SplittableRandom random) {
    long low = schema.has("minimum") ? (long) Math.ceil(schema.get("minimum").asDouble())
        : schema.has("exclusiveMinimum") ? (long) Math.floor(schema.get("exclusiveMinimum").asDouble()) + 1 : 0;
    long high = schema.has("maximum") ? (long) Math.floor(schema.get("maximum").asDouble())
        : schema.has("exclusiveMaximum") ? (long) Math.ceil(schema.get("exclusiveMaximum").asDouble()) - 1
        : low + 100;
    return NODES.numberNode(high <= low ? low : low + random.nextLong(high - low + 1));
  }

  private static JsonNode number(JsonNode schema, SplittableRandom random) {
    double low = schema.has("minimum") ? schema.get("minimum").asDouble()
        : schema.has("exclusiveMinimum") ? schema.get("exclusiveMinimum").asDouble() + 0.01 : 0;
    double high = schema.has("maximum") ? schema.get("maximum").asDouble()
        : schema.has("exclusiveMaximum") ? schema.get("exclusiveMaximum").asDouble() - 0.01 : low + 100;
    if (high <= low) {
      return NODES.numberNode(low);
    }
    double value = round(low + random.nextDouble() * (high - low));
    return NODES.numberNode(Math.max(low, Math.min(high, value)));
  }

  private static JsonNode string(JsonNode schema, SplittableRandom random) {
    String text = switch (schema.path("format").asText("")) {
      case "date" -> "2026-05-" + (10 + random.nextInt(18));
      case "date-time" -> "2026-05-" + (10 + random.nextInt(18)) + "T08:06:48Z";
      case "email" -> "user" + random.nextInt(1000) + "@example.com";
      case "uri", "url" -> "https://example.com/" + random.nextInt(1000);
      case "uuid" -> new UUID(random.nextLong(), random.nextLong()).toString();
      default -> words(random, 1 + random.nextInt(3));
    };
    int min = schema.path("minLength").asInt(0);
    StringBuilder padded = new StringBuilder(text);
    while (padded.codePointCount(0, padded.length()) < min) {
      padded.append('x');
    }
    text = padded.toString();
    if (schema.has("maxLength")) {
      int max = Math.max(0, schema.get("maxLength").asInt());
      if (text.codePointCount(0, text.length()) > max) {
        text = text.substring(0, text.offsetByCodePoints(0, max));
      }
    }
    return NODES.textNode(text);
  }

  private static String words(SplittableRandom random, int count) {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < count; i++) {
      text.append(i == 0 ? "" : " ").append(WORDS[random.nextInt(WORDS.length)]);
    }
    return text.toString();
  }

  private static double round(double value) {
    return BigDecimal.valueOf(value).setScale(2, RoundingMode.HALF_UP).doubleValue();
  }
}
