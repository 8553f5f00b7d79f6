package dev.sluice.sim;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** A small JSON-schema checker for tests: type, enum, const, required, properties, items, bounds, lengths. */
final class SchemaCheck {
  private SchemaCheck() {}

  /** What in {@code value} breaks {@code schema}; empty when it conforms. */
  static List<String> violations(JsonNode schema, JsonNode value) {
    List<String> found = new ArrayList<>();
    check(schema, value, "$", found);
    return found;
  }

  private static void check(JsonNode schema, JsonNode value, String at, List<String> found) {
    if (schema.has("enum")) {
      boolean member = false;
      for (JsonNode option : schema.get("enum")) {
        member |= option.equals(value);
      }
      if (!member) {
        found.add(at + ": " + value + " not in " + schema.get("enum"));
      }
    }
    if (schema.has("const") && !schema.get("const").equals(value)) {
      found.add(at + ": " + value + " is not " + schema.get("const"));
    }
    String type = schema.path("type").asText("");
    boolean typed = switch (type) {
      case "object" -> value.isObject();
      case "array" -> value.isArray();
      case "string" -> value.isTextual();
      case "integer" -> value.isIntegralNumber();
      case "number" -> value.isNumber();
      case "boolean" -> value.isBoolean();
      case "null" -> value.isNull();
      default -> true;
    };
    if (!typed) {
      found.add(at + ": " + value + " is not of type " + type);
      return;
    }
    schema.path("required").forEach(name -> {
      if (!value.has(name.asText())) {
        found.add(at + ": required property " + name.asText() + " missing");
      }
    });
    schema.path("properties").fields().forEachRemaining(property -> {
      if (value.has(property.getKey())) {
        check(property.getValue(), value.get(property.getKey()), at + "." + property.getKey(), found);
      }
    });
    if (value.isArray()) {
      if (value.size() < schema.path("minItems").asInt(0)) {
        found.add(at + ": fewer than minItems items");
      }
      if (schema.has("maxItems") && value.size() > schema.get("maxItems").asInt()) {
        found.add(at + ": more than maxItems items");
      }
      for (int i = 0; i < value.size(); i++) {
        if (schema.has("items")) {
          check(schema.get("items"), value.get(i), at + "[" + i + "]", found);
        }
      }
    }
    if (value.isNumber()) {
      if (schema.has("minimum") && value.asDouble() < schema.get("minimum").asDouble()
          || schema.has("maximum") && value.asDouble() > schema.get("maximum").asDouble()) {
        found.add(at + ": " + value + " out of bounds");
      }
    }
    if (value.isTextual()) {
      int length = value.asText().codePointCount(0, value.asText().length());
      if (length < schema.path("minLength").asInt(0)
          || schema.has("maxLength") && length > schema.get("maxLength").asInt()) {
        found.add(at + ": length " + length + " out of bounds");
      }
    }
  }
}
