package dev.sluice.config.etcd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Request bodies and answers of etcd's v3 JSON gateway ({@code /v3/kv/range}, {@code /v3/kv/txn}, {@code /v3/watch}):
 * keys and values are base64, 64-bit numbers are JSON strings, fields at their default value are left out.
 */
final class EtcdJson {
  static final String RANGE = "/v3/kv/range";
  static final String TXN = "/v3/kv/txn";
  static final String WATCH = "/v3/watch";

  private EtcdJson() {}

  /** One key's value and revisions; {@code value} null for a deletion (watch events). */
  record KeyValue(String key, String value, long modRevision) {}

  /** A range answer: the store's revision when it was read and the keys found. */
  record Range(long revision, List<KeyValue> kvs) {
    KeyValue get(String key) {
      return kvs.stream().filter(kv -> kv.key().equals(key)).findFirst().orElse(null);
    }
  }

  /**
   * One message of a watch stream.
   *
   * @param created the watch was set up
   * @param canceled etcd ended the watch; {@code compactRevision} > 0 when it did because history was compacted
   * @param events changes, in revision order; a deletion has a null value
   */
  record WatchMessage(long revision, boolean created, boolean canceled, long compactRevision, String cancelReason,
      List<KeyValue> events) {}

  static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  static String unb64(String s) {
    return new String(Base64.getDecoder().decode(s), StandardCharsets.UTF_8);
  }

  /** The first key after every key starting with {@code prefix} (etcd's range_end for a prefix). */
  static String prefixEnd(String prefix) {
    byte[] b = prefix.getBytes(StandardCharsets.UTF_8);
    for (int i = b.length - 1; i >= 0; i--) {
      if ((b[i] & 0xff) < 0xff) {
        b[i]++;
        return new String(b, 0, i + 1, StandardCharsets.UTF_8);
      }
    }
    return "\0";
  }

  /** Every key under {@code prefix}, read linearizably (the member must have a quorum). */
  static String rangePrefix(String prefix) {
    return Json.MAPPER.createObjectNode().put("key", b64(prefix)).put("range_end", b64(prefixEnd(prefix))).toString();
  }

  /** Only the count of keys under {@code prefix}: a cheap linearizable read, the source's heartbeat. */
  static String countPrefix(String prefix) {
    return Json.MAPPER.createObjectNode().put("key", b64(prefix)).put("range_end", b64(prefixEnd(prefix)))
        .put("count_only", true).toString();
  }

  static String rangeKey(String key) {
    return Json.MAPPER.createObjectNode().put("key", b64(key)).toString();
  }

  /** A watch of every key under {@code prefix} from {@code startRevision} on. */
  static String watchPrefix(String prefix, long startRevision) {
    ObjectNode create = Json.MAPPER.createObjectNode();
    create.putObject("create_request").put("key", b64(prefix)).put("range_end", b64(prefixEnd(prefix)))
        .put("start_revision", Long.toString(startRevision));
    return create.toString();
  }

  /** A transaction that puts {@code puts} (key, value pairs) if every key's mod_revision is as given (0 = absent). */
  static String txn(List<String[]> compareModRevision, List<String[]> puts) {
    ObjectNode txn = Json.MAPPER.createObjectNode();
    ArrayNode compare = txn.putArray("compare");
    for (String[] c : compareModRevision) {
      compare.addObject().put("key", b64(c[0])).put("target", "MOD").put("result", "EQUAL").put("mod_revision", c[1]);
    }
    ArrayNode success = txn.putArray("success");
    for (String[] p : puts) success.addObject().putObject("request_put").put("key", b64(p[0])).put("value", b64(p[1]));
    return txn.toString();
  }

  static JsonNode parse(String body, String what) throws IOException {
    JsonNode n;
    try {
      n = Json.MAPPER.readTree(body);
    } catch (IOException e) {
      throw new IOException(what + ": not etcd's JSON (" + e.getMessage() + ")", e);
    }
    if (n == null || !n.isObject()) throw new IOException(what + ": not etcd's JSON: " + cut(body));
    if (n.has("error")) {
      throw new IOException(what + ": etcd error: " + n.path("message").asText(n.get("error").asText()));
    }
    return n;
  }

  static Range range(JsonNode n) {
    List<KeyValue> kvs = new ArrayList<>();
    for (JsonNode kv : n.path("kvs")) kvs.add(keyValue(kv, false));
    return new Range(revision(n), kvs);
  }

  /** Whether a txn's compares held (and its puts were done). */
  static boolean succeeded(JsonNode txn) {
    return txn.path("succeeded").asBoolean(false);
  }

  static long revision(JsonNode answer) {
    return answer.path("header").path("revision").asLong(0);
  }

  /** One line of a watch stream: {@code {"result": {...}}} or {@code {"error": {...}}}. */
  static WatchMessage watchMessage(String line) throws IOException {
    JsonNode n = parse(line, "watch stream");
    JsonNode r = n.get("result");
    if (r == null) throw new IOException("watch stream: no result in " + cut(line));
    List<KeyValue> events = new ArrayList<>();
    for (JsonNode e : r.path("events")) events.add(keyValue(e.path("kv"), "DELETE".equals(e.path("type").asText())));
    return new WatchMessage(revision(r), r.path("created").asBoolean(false), r.path("canceled").asBoolean(false),
        r.path("compact_revision").asLong(0), r.path("cancel_reason").asText(""), events);
  }

  private static KeyValue keyValue(JsonNode kv, boolean deleted) {
    String value = deleted ? null : unb64(kv.path("value").asText(""));
    return new KeyValue(unb64(kv.path("key").asText("")), value, kv.path("mod_revision").asLong(0));
  }

  static String cut(String s) {
    return s.length() <= 200 ? s : s.substring(0, 200) + "...";
  }
}
