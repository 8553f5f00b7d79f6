package dev.sluice.console;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.ApiFlavor;
import dev.sluice.api.ErrorKind;
import dev.sluice.http.Responses;
import dev.sluice.support.Json;
import io.vertx.core.http.HttpServerResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The strict reader of admin request bodies: one JSON object with only the fields the endpoint accepts, each of the
 * expected type, or a {@link Refused} naming the field, what was sent and what to send. An admin body that is not
 * understood is refused whole rather than half-applied: a misspelled {@code "modles"} or a {@code "models"} string
 * must not turn into a token for every model. Reading never changes anything; endpoints act only after it succeeded.
 */
final class AdminBody {
  /** Longest value shown back in a message (a body may be up to 64 KiB). */
  private static final int MAX_SHOWN_CHARS = 80;
  private static final Pattern DUPLICATE = Pattern.compile("Duplicate field '([^']*)'");

  /** A body that is refused: the message says why and how to fix it; {@code field} is the field at fault, if one. */
  static final class Refused extends Exception {
    final String field;

    Refused(String field, String message) {
      super(message, null, false, false);
      this.field = field;
    }

    /** Answers 400 in the OpenAI error shape, {@code param} naming the field. */
    void answer(HttpServerResponse resp) {
      Responses.error(resp, ApiFlavor.OPENAI, ErrorKind.INVALID_REQUEST, getMessage(),
          field);
    }
  }

  private final JsonNode json;
  /** Where this object sits in the body: "" at the top, "limits." inside a nested object. */
  private final String prefix;

  private AdminBody(JsonNode json, String prefix) {
    this.json = json;
    this.prefix = prefix;
  }

  /**
   * {@code body} as one JSON object with no fields but {@code accepted}.
   *
   * @param usage the whole accepted shape, appended when the body is no JSON object at all
   */
  static AdminBody object(byte[] body, List<String> accepted, String usage) throws Refused {
    return object(body, accepted, Map.of(), usage);
  }

  /** As above, with fields refused for a reason of their own ({@code field → why}), checked first. */
  static AdminBody object(byte[] body, List<String> accepted, Map<String, String> refused, String usage)
      throws Refused {
    JsonNode json = parse(body, usage);
    if (json == null || !json.isObject()) {
      throw new Refused(null, "the body must be a JSON object: " + usage);
    }
    for (var e : refused.entrySet()) {
      if (json.has(e.getKey())) throw new Refused(e.getKey(), e.getKey() + ": " + e.getValue());
    }
    AdminBody b = new AdminBody(json, "");
    b.onlyFields(accepted);
    return b;
  }

  /** For actions that take no body: accepts none (or only white space) or {@code {}}. */
  static void none(byte[] body, String action) throws Refused {
    if (new String(body, StandardCharsets.UTF_8).isBlank()) return;
    String usage = action + " takes no body: send none or {}";
    JsonNode json = parse(body, usage);
    if (json == null || !json.isObject()) throw new Refused(null, usage);
    if (json.size() > 0) {
      String field = json.fieldNames().next();
      throw new Refused(field, "unknown field " + quote(field) + ": " + usage);
    }
  }

  private static JsonNode parse(byte[] body, String usage) throws Refused {
    try {
      return body.length == 0 ? null : Json.MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      Matcher dup = DUPLICATE.matcher(String.valueOf(e.getOriginalMessage()));
      if (dup.find()) {
        throw new Refused(dup.group(1), "duplicate field " + quote(dup.group(1)) + ": send each field once");
      }
      // where, not Jackson's text: that quotes the input, which may be anything (a pasted token)
      var at = e.getLocation();
      throw new Refused(null, "the body is not valid JSON" + (at == null ? "" : " (line " + at.getLineNr()
          + ", column " + at.getColumnNr() + ")") + ": " + usage);
    } catch (IOException e) {
      throw new Refused(null, "the body could not be read: " + usage);
    }
  }

  /** Refuses the first field not in {@code accepted}, naming it and listing the accepted ones. */
  private void onlyFields(List<String> accepted) throws Refused {
    for (var it = json.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!accepted.contains(f)) {
        throw new Refused(prefix + f, "unknown field " + quote(prefix + f) + " (accepted"
            + (prefix.isEmpty() ? "" : " in " + path("")) + ": " + String.join(", ", accepted) + ")");
      }
    }
  }

  /** A copy of the whole object, to hand on to a parser with its own checks (a node: the config loader). */
  ObjectNode copy() {
    return ((ObjectNode) json).deepCopy();
  }

  /** A string of at most {@code maxChars}; a required one may not be blank; null when absent and optional. */
  String text(String field, boolean required, int maxChars, String what) throws Refused {
    JsonNode v = json.get(field);
    if (v == null) {
      if (required) throw new Refused(prefix + field, path(field) + ": missing; give " + what);
      return null;
    }
    if (!v.isTextual() || required && v.asText().isBlank()) {
      throw wrongType(field, v, (required ? "a non-empty string: " : "a string: ") + what);
    }
    if (v.asText().length() > maxChars) {
      throw new Refused(prefix + field, path(field) + ": " + v.asText().length() + " characters, at most " + maxChars
          + " accepted: " + what);
    }
    return v.asText();
  }

  /** An array of strings; null when absent. */
  List<String> texts(String field, String what) throws Refused {
    JsonNode v = json.get(field);
    if (v == null) return null;
    if (!v.isArray()) throw wrongType(field, v, "an array of strings: " + what);
    List<String> out = new ArrayList<>();
    for (int i = 0; i < v.size(); i++) {
      if (!v.get(i).isTextual()) throw wrongType(field + "[" + i + "]", v.get(i), "a string: " + what);
      out.add(v.get(i).asText());
    }
    return out;
  }

  /** A whole number from 0 to {@code max}; {@code absent} when the field is left out. */
  long nonNegative(String field, long max, long absent, String what) throws Refused {
    JsonNode v = json.get(field);
    if (v == null) return absent;
    if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0 || v.asLong() > max) {
      throw wrongType(field, v, "an integer from 0 to " + max + ": " + what);
    }
    return v.asLong();
  }

  /** A whole number from {@code min} to {@code max}; {@code absent} when the field is left out. */
  long between(String field, long min, long max, long absent, String what) throws Refused {
    JsonNode v = json.get(field);
    if (v == null) return absent;
    if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
      throw wrongType(field, v, "an integer from " + min + " to " + max + ": " + what);
    }
    return v.asLong();
  }

  /** One of the strings {@code accepted} (exactly as listed); null when absent. */
  String oneOf(String field, List<String> accepted, String what) throws Refused {
    JsonNode v = json.get(field);
    if (v == null) return null;
    if (!v.isTextual() || !accepted.contains(v.asText())) {
      List<String> quoted = accepted.stream().map(AdminBody::quote).toList();
      throw wrongType(field, v, String.join(" or ", quoted) + ": " + what);
    }
    return v.asText();
  }

  /** true or false; null when absent. */
  Boolean bool(String field, String what) throws Refused {
    JsonNode v = json.get(field);
    if (v == null) return null;
    if (!v.isBoolean()) throw wrongType(field, v, "true or false: " + what);
    return v.asBoolean();
  }

  /** An ISO-8601 instant such as {@code 2027-01-01T00:00:00Z}; null when absent. */
  Instant instant(String field) throws Refused {
    JsonNode v = json.get(field);
    if (v == null) return null;
    String expected = "an ISO-8601 instant like \"2027-01-01T00:00:00Z\"";
    if (!v.isTextual()) throw wrongType(field, v, expected);
    try {
      return Instant.parse(v.asText());
    } catch (DateTimeParseException e) {
      throw wrongType(field, v, expected);
    }
  }

  /** A nested object with no fields but {@code accepted}; null when absent. */
  AdminBody object(String field, List<String> accepted, String what) throws Refused {
    JsonNode v = json.get(field);
    if (v == null) return null;
    if (!v.isObject()) throw wrongType(field, v, "a JSON object " + what);
    AdminBody nested = new AdminBody(v, prefix + field + ".");
    nested.onlyFields(accepted);
    return nested;
  }

  private Refused wrongType(String field, JsonNode v, String expected) {
    return new Refused(prefix + field, path(field) + ": " + show(v) + " must be " + expected);
  }

  private String path(String field) {
    String p = prefix + field;
    return p.endsWith(".") ? p.substring(0, p.length() - 1) : p;
  }

  private static String show(JsonNode v) {
    return v.isTextual() ? quote(v.asText()) : cut(v.toString());
  }

  private static String quote(String s) {
    return Json.MAPPER.getNodeFactory().textNode(cut(s)).toString();
  }

  private static String cut(String s) {
    Objects.requireNonNull(s, "s");
    return s.length() <= MAX_SHOWN_CHARS ? s : s.substring(0, MAX_SHOWN_CHARS) + "...";
  }
}
