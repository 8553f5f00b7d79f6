package dev.sluice.degrade;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.ValueNode;
import dev.sluice.support.Json;
import dev.sluice.support.Sha256;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The cache key of a request: {@code tenant \n endpoint \n sha256(canonical body)}. The tenant comes first so two
 * tenants never share an entry. The canonical body has its object keys sorted at every depth (numbers as Jackson
 * prints them) and drops the {@link #VOLATILE_FIELDS} at the top level; everything else (messages, model, sampling
 * parameters, tools, options) is part of the key.
 */
public final class CacheKey {
  /**
   * Top-level request fields that change how or for whom an answer is delivered or booked, not the answer itself:
   * streaming and its options (a streamed and a whole answer are the same answer), end-user ids and metadata, OpenAI's
   * {@code store}/{@code service_tier}, Ollama's {@code keep_alive}, and request ids.
   */
  public static final Set<String> VOLATILE_FIELDS =
      Set.of("stream", "stream_options", "user", "metadata", "store", "keep_alive", "request_id", "service_tier");

  private CacheKey() {}

  /**
   * The key of {@code body} sent by {@code tenant} to {@code endpoint} (e.g. {@code /v1/chat/completions}).
   *
   * @throws IllegalArgumentException when tenant or endpoint contains a newline (the key's separator)
   */
  public static String of(String tenant, String endpoint, ObjectNode body) {
    Objects.requireNonNull(tenant, "tenant");
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(body, "body");
    if (tenant.indexOf('\n') >= 0 || endpoint.indexOf('\n') >= 0) {
      throw new IllegalArgumentException("cache key: tenant " + quote(tenant) + " or endpoint " + quote(endpoint)
          + " contains a newline (the key separator); use names without line breaks");
    }
    return tenant + '\n' + endpoint + '\n' + sha256Hex(body);
  }

  private static String sha256Hex(ObjectNode body) {
    MessageDigest digest = Sha256.digest();
    try (JsonGenerator gen = Json.MAPPER.getFactory()
        .createGenerator(new DigestOutputStream(OutputStream.nullOutputStream(), digest))) {
      writeCanonical(gen, body, true);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // cannot happen: the stream discards
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  private static void writeCanonical(JsonGenerator gen, JsonNode node, boolean top) throws IOException {
    if (node.isObject()) {
      List<String> names = new ArrayList<>();
      node.fieldNames().forEachRemaining(names::add);
      Collections.sort(names);
      gen.writeStartObject();
      for (String name : names) {
        if (top && VOLATILE_FIELDS.contains(name)) continue;
        gen.writeFieldName(name);
        writeCanonical(gen, node.get(name), false);
      }
      gen.writeEndObject();
    } else if (node.isArray()) {
      gen.writeStartArray();
      for (JsonNode item : node) writeCanonical(gen, item, false);
      gen.writeEndArray();
    } else if (node instanceof ValueNode value && !node.isPojo()
        && !node.isBinary()) {
      value.serialize(gen, null); // strings, numbers, booleans, null: straight to the generator, as Jackson prints them
    } else {
      Json.MAPPER.writeTree(gen, node);
    }
  }

  private static String quote(String s) {
    return '"' + s.replace("\n", "\\n") + '"';
  }
}
