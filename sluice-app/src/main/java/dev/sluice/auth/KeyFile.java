package dev.sluice.auth;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.flow.Band;
import dev.sluice.limit.Limits;
import dev.sluice.support.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The keys file: ids and SHA-256 hashes of gateway keys as JSON, written atomically and readable by the owner only.
 * <pre>{"keys":[{"id":"sk-sluice-AbCd1234","sha256":"…","tenant":"acme","models":["qwen3:32b"],
 *   "limits":{"requestsPerMinute":60,"tokensPerMinute":0,"concurrent":0},"weight":4,"maxPriority":"batch",
 *   "createdAt":"2026-01-01T00:00:00Z","note":"…"}]}</pre>
 * Null fields (and a weight of 0: none) are left out on write and accepted on read, so files written before keys
 * carried a weight and band read as keys without them.
 */
public final class KeyFile {
  private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

  private KeyFile() {}

  /** The keys in {@code file}; empty when it does not exist. IOException naming the file, key and field when bad. */
  public static ApiKeys read(Path file) throws IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return ApiKeys.empty();
    }
    return parse(bytes, "keys file " + file + ": ");
  }

  /**
   * The keys in {@code text} (a keys file's content kept elsewhere, e.g. in etcd); IOException starting with
   * {@code where} and naming the key and field when bad.
   */
  public static ApiKeys parse(String text, String where) throws IOException {
    return parse(text.getBytes(StandardCharsets.UTF_8), where);
  }

  /** {@code keys} as a keys file's text (pretty JSON), as {@link #write} stores it. */
  public static String toText(ApiKeys keys) throws IOException {
    return Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(toJson(keys));
  }

  private static ApiKeys parse(byte[] bytes, String where) throws IOException {
    JsonNode root;
    try {
      root = Json.MAPPER.readTree(bytes);
    } catch (JsonProcessingException e) {
      throw new IOException(where + "not valid JSON (" + e.getOriginalMessage() + ")", e);
    }
    if (root == null || !root.isObject()) throw new IOException(where + "expected an object {\"keys\":[…]}");
    JsonNode keys = root.get("keys");
    if (keys == null || keys.isNull()) return ApiKeys.empty();
    if (!keys.isArray()) throw new IOException(where + "keys: expected an array");
    List<ApiKey> out = new ArrayList<>(keys.size());
    for (int i = 0; i < keys.size(); i++) {
      String at = where + "keys[" + i + "].";
      try {
        out.add(parseKey(keys.get(i), at));
      } catch (IllegalArgumentException e) {
        throw new IOException(at + e.getMessage(), e);
      }
    }
    try {
      return ApiKeys.of(out);
    } catch (IllegalArgumentException e) {
      throw new IOException(where + e.getMessage(), e);
    }
  }

  private static ApiKey parseKey(JsonNode k, String at) throws IOException {
    if (!k.isObject()) throw new IOException(at.substring(0, at.length() - 1) + ": expected an object");
    for (Iterator<String> names = k.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!FIELDS.contains(name)) {
        throw new IOException(at + name + ": unknown field (expected one of " + String.join(", ", FIELDS) + ")");
      }
    }
    return new ApiKey(text(k, "id", at, true), text(k, "sha256", at, true), text(k, "tenant", at, true),
        models(k, at), limits(k, at), weight(k, at), band(k, at), instant(k, "createdAt", at, true),
        instant(k, "expiresAt", at, false), instant(k, "revokedAt", at, false), text(k, "note", at, false),
        resume(k, at));
  }

  private static final Set<String> FIELDS = new LinkedHashSet<>(List.of("id", "sha256", "tenant", "models", "limits",
      "weight", "maxPriority", "createdAt", "expiresAt", "revokedAt", "note", "resume"));

  /** {@code "resume": false}: the key's streams are never continued on another node; absent or true: they may be. */
  private static boolean resume(JsonNode k, String at) throws IOException {
    JsonNode v = k.get("resume");
    if (v == null || v.isNull()) return true;
    if (!v.isBoolean()) {
      throw new IOException(at + "resume: " + v + " must be true or false (false: this key's streams are never"
          + " continued on another node)");
    }
    return v.asBoolean();
  }

  private static int weight(JsonNode k, String at) throws IOException {
    JsonNode v = k.get("weight");
    if (v == null || v.isNull()) return 0;
    if (!v.isIntegralNumber() || !v.canConvertToLong() || !ApiKey.isWeight(v.longValue())) {
      throw new IOException(at + "weight: " + v + " is not a weight (expected " + ApiKey.WEIGHT_RULE
          + ", or no weight field for the tenant's)");
    }
    return v.intValue();
  }

  private static Band band(JsonNode k, String at) throws IOException {
    String s = text(k, "maxPriority", at, false);
    if (s == null) return null;
    try {
      return Band.parse(s);
    } catch (IllegalArgumentException e) {
      throw new IOException(at + "maxPriority: \"" + s + "\" is not a priority band (expected " + ApiKey.BAND_RULE
          + ", or no maxPriority field for the tenant's)");
    }
  }

  private static String text(JsonNode k, String field, String at, boolean required) throws IOException {
    JsonNode v = k.get(field);
    if (v == null || v.isNull()) {
      if (required) throw new IOException(at + field + ": missing");
      return null;
    }
    if (!v.isTextual()) throw new IOException(at + field + ": expected a string");
    return v.textValue();
  }

  private static Instant instant(JsonNode k, String field, String at, boolean required) throws IOException {
    String s = text(k, field, at, required);
    if (s == null) return null;
    try {
      return Instant.parse(s);
    } catch (DateTimeParseException e) {
      throw new IOException(at + field + ": \"" + s + "\" is not an instant (expected e.g. 2026-01-31T12:00:00Z)");
    }
  }

  private static Set<String> models(JsonNode k, String at) throws IOException {
    JsonNode v = k.get("models");
    if (v == null || v.isNull()) return Set.of();
    if (!v.isArray()) throw new IOException(at + "models: expected an array of model names");
    Set<String> models = new LinkedHashSet<>();
    for (int i = 0; i < v.size(); i++) {
      if (!v.get(i).isTextual()) throw new IOException(at + "models[" + i + "]: expected a string");
      models.add(v.get(i).textValue());
    }
    return models;
  }

  private static Limits limits(JsonNode k, String at) throws IOException {
    JsonNode v = k.get("limits");
    if (v == null || v.isNull()) return null;
    if (!v.isObject()) throw new IOException(at + "limits: expected an object");
    for (Iterator<String> names = v.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!name.equals("requestsPerMinute") && !name.equals("tokensPerMinute") && !name.equals("concurrent")) {
        throw new IOException(at + "limits." + name
            + ": unknown field (expected requestsPerMinute, tokensPerMinute, concurrent)");
      }
    }
    try {
      return new Limits(count(v, "requestsPerMinute", at), count(v, "tokensPerMinute", at),
          Math.toIntExact(count(v, "concurrent", at)));
    } catch (ArithmeticException e) {
      throw new IOException(at + "limits.concurrent: out of range");
    } catch (IllegalArgumentException e) {
      throw new IOException(at + e.getMessage(), e); // Limits says "limits.<field>: …"
    }
  }

  private static long count(JsonNode limits, String field, String at) throws IOException {
    JsonNode v = limits.get(field);
    if (v == null || v.isNull()) return 0;
    if (!v.isIntegralNumber() || !v.canConvertToLong()) {
      throw new IOException(at + "limits." + field + ": expected a whole number (0 for unlimited)");
    }
    return v.longValue();
  }

  /**
   * Writes {@code keys} to {@code file}: a temp file in the same directory, flushed to disk, then moved over the old
   * file atomically, so a reader sees the old or the new file, never half of one. Owner-only (rw-------) where the file
   * system has POSIX permissions.
   */
  public static void write(Path file, ApiKeys keys) throws IOException {
    Path abs = file.toAbsolutePath();
    Path dir = abs.getParent();
    Files.createDirectories(dir);
    boolean posix = Files.getFileStore(dir).supportsFileAttributeView("posix");
    FileAttribute<?>[] attrs = posix
        ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_ONLY)}
        : new FileAttribute<?>[0];
    Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp", attrs);
    try {
      ByteBuffer bytes = ByteBuffer.wrap(
          Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(toJson(keys)));
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        while (bytes.hasRemaining()) ch.write(bytes);
        ch.force(true);
      }
      try {
        Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException("keys file " + abs + ": the file system cannot replace it atomically", e);
      }
      if (posix) Files.setPosixFilePermissions(abs, OWNER_ONLY);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  static ObjectNode toJson(ApiKeys keys) {
    ObjectNode root = Json.MAPPER.createObjectNode();
    ArrayNode arr = root.putArray("keys");
    for (ApiKey k : keys.all()) {
      ObjectNode o = arr.addObject();
      o.put("id", k.id());
      o.put("sha256", k.sha256Hex());
      o.put("tenant", k.tenant());
      ArrayNode models = o.putArray("models");
      k.models().stream().sorted().forEach(models::add);
      if (k.limits() != null) {
        o.putObject("limits")
            .put("requestsPerMinute", k.limits().requestsPerMinute())
            .put("tokensPerMinute", k.limits().tokensPerMinute())
            .put("concurrent", k.limits().concurrent());
      }
      flow(o, k);
      o.put("createdAt", k.createdAt().toString());
      if (k.expiresAt() != null) o.put("expiresAt", k.expiresAt().toString());
      if (k.revokedAt() != null) o.put("revokedAt", k.revokedAt().toString());
      if (k.note() != null) o.put("note", k.note());
    }
    return root;
  }

  /**
   * What may be shown of a key (admin API, {@code sluice keys list}): id, tenant, models, limits, weight, highest band,
   * dates, note and whether it is active at {@code nowMillis}; never its hash.
   */
  public static ObjectNode publicView(ApiKey k, long nowMillis) {
    ObjectNode n = Json.MAPPER.createObjectNode();
    n.put("id", k.id()).put("tenant", k.tenant());
    ArrayNode models = n.putArray("models");
    k.models().forEach(models::add);
    if (k.limits() != null) n.set("limits", Json.MAPPER.valueToTree(k.limits()));
    flow(n, k);
    n.put("createdAt", String.valueOf(k.createdAt()));
    if (k.expiresAt() != null) n.put("expiresAt", k.expiresAt().toString());
    if (k.revokedAt() != null) n.put("revokedAt", k.revokedAt().toString());
    if (k.note() != null) n.put("note", k.note());
    n.put("active", k.active(nowMillis));
    return n;
  }

  /** The key's weight and highest band, when it carries them ({@code "weight": 4, "maxPriority": "batch"}). */
  private static void flow(ObjectNode o, ApiKey k) {
    if (k.weight() != 0) o.put("weight", k.weight());
    if (k.maxBand() != null) o.put("maxPriority", k.maxBand().label());
    if (!k.resumeStreams()) o.put("resume", false);
  }
}
