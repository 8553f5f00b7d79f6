package dev.sluice.config;

import static dev.sluice.config.ConfigReader.quote;
import static dev.sluice.config.ConfigReader.show;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

/** The {@code shared} section: the Redis that gateways share rate-limit buckets and cached answers through. */
final class SharedSection {
  private static final List<String> SHARED_KEYS = List.of("redis", "limits", "cache", "keyPrefix", "timeout");
  /** Redis keys are binary-safe, but a prefix is typed into redis-cli: printable ASCII without spaces, short. */
  private static final Pattern KEY_PREFIX = Pattern.compile("[!-~]{0,64}");

  private final ConfigReader r;

  SharedSection(ConfigReader r) {
    this.r = r;
  }

  /** The {@code shared} section: Redis for rate-limit buckets and cached answers; absent = all local. */
  SharedSettings shared(JsonNode node) {
    SharedSettings d = SharedSettings.none();
    if (node == null || !r.isObject(node, "shared")) return d;
    r.rejectUnknown(node, "shared", SHARED_KEYS);
    URI redis = redisUrl(node.get("redis"));
    boolean limits = r.bool(node, "shared", "limits", true);
    boolean cache = r.bool(node, "shared", "cache", true);
    String prefix = r.optionalString(node, "shared", "keyPrefix", "the start of every Redis key, e.g. \"sluice:\"");
    if (prefix == null) prefix = SharedSettings.DEFAULT_KEY_PREFIX;
    else if (!KEY_PREFIX.matcher(prefix).matches()) {
      r.problem("shared.keyPrefix", quote(prefix) + " must be at most 64 printable ASCII characters without spaces "
          + "(e.g. \"sluice:\" or \"sluice:prod:\")");
      prefix = SharedSettings.DEFAULT_KEY_PREFIX;
    }
    Duration timeout = r.duration(node, "shared", "timeout", SharedSettings.DEFAULT_TIMEOUT);
    if (node.has("redis") && redis == null) return d; // the problem is recorded
    if (redis == null && (node.has("limits") || node.has("cache"))) {
      r.problem("shared.redis", "missing; shared.limits and shared.cache need a Redis URL (redis://host:port), or "
          + "remove the shared section to keep limits and cache in each gateway");
      return d;
    }
    try {
      return new SharedSettings(redis, limits, cache, prefix, timeout);
    } catch (IllegalArgumentException e) {
      r.settingsProblem(e);
      return d;
    }
  }

  /** {@code redis://[:password@]host[:port][/db]}; null (and a problem) when it is not one. */
  private URI redisUrl(JsonNode v) {
    if (v == null) return null;
    String expected = " (expected redis://host:port)";
    if (!v.isTextual()) {
      r.problem("shared.redis", show(v) + " is not a Redis URL" + expected);
      return null;
    }
    URI uri;
    try {
      uri = new URI(v.asText());
    } catch (URISyntaxException e) {
      r.problem("shared.redis", "not a Redis URL" + expected);
      return null;
    }
    if ("rediss".equalsIgnoreCase(uri.getScheme())) {
      r.problem("shared.redis", "TLS to Redis (rediss://) is not supported yet" + expected
          + "; keep Redis on a private network or loopback");
      return null;
    }
    if (!"redis".equals(uri.getScheme()) || uri.isOpaque() || uri.getRawAuthority() == null) {
      r.problem("shared.redis", "not a Redis URL" + expected);
      return null;
    }
    if (uri.getHost() == null) {
      r.problem("shared.redis", "has no valid host" + expected);
      return null;
    }
    String path = uri.getRawPath();
    if (path != null && !path.isEmpty() && !path.matches("/\\d{1,2}")) {
      r.problem("shared.redis", "path " + quote(path) + " must be a database number like /0, or nothing"
          + expected);
      return null;
    }
    if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
      r.problem("shared.redis", "must not carry a query or fragment" + expected);
      return null;
    }
    return uri;
  }
}
