package dev.sluice.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.api.ApiFlavor;
import dev.sluice.support.Json;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a Sluice config file (Clawdbot's provider format plus {@code server}, {@code timeouts}, {@code upstream} and
 * per-provider {@code nodes}) into a validated {@link SluiceConfig}.
 *
 * <p>The JSON is walked by hand so that every problem names its exact key path, the offending value and the fix, and
 * all problems are reported at once: {@code config: providers.qwen.nodes[2].baseUrl: "10.0.0.5:11434" is not a URL
 * (expected http(s)://host:port)}. Unknown keys in Sluice's own blocks are errors; unknown keys in Clawdbot's provider
 * blocks and model entries are tolerated and reported as warnings.
 *
 * <p>Format: a top-level object with optional {@code server} ({@code host}, {@code port}, {@code maxBodyBytes},
 * {@code tls} with {@code certFile}, {@code keyFile}, {@code redirectHttpPort}; TLS file paths are relative to the
 * config file's directory), {@code timeouts} ({@code connect}, {@code firstToken}, {@code idle}, {@code total} as
 * "250ms"/"2s"/"5m"/"1h"), {@code upstream} ({@code maxConnectionsPerNode}, {@code maxWaitQueuePerNode},
 * {@code maxAttempts} 1..5, {@code tls} with {@code caFile}, {@code verifyHostname}) and a required {@code providers}
 * object (or Clawdbot's {@code models.providers}). A provider has {@code models[]}
 * ({@code id}, {@code name}, {@code contextWindow}, {@code maxTokens}, {@code gpuProfile}), an {@code api}
 * ("openai-completions" by default, "openai" or "ollama"), an {@code apiKey}, and either one {@code baseUrl} (one node
 * whose id is the provider name) or {@code nodes[]} ({@code id}, {@code baseUrl}, {@code api}, {@code gpuType},
 * {@code metricsUrl}, {@code labels}, {@code apiKey}). Defaults are the named constants of the settings records.
 */
public final class ConfigLoader {
  /** Node ids become metric labels: keep them short and free of characters that need escaping. */
  private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,63}");

  /** Beyond 5 attempts a request mostly waits on failing nodes; the client's own timeout fires first. */
  private static final int MAX_ATTEMPTS_LIMIT = 5;

  /** Offending values are quoted up to this many characters so one bad line stays readable. */
  private static final int MAX_VALUE_CHARS = 80;

  private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h)");
  private static final Pattern VRAM = Pattern.compile("\\d+(\\.\\d+)?\\s*[KMGT](i?B)?", Pattern.CASE_INSENSITIVE);

  private static final List<String> TOP_KEYS =
      List.of("server", "timeouts", "upstream", "routing", "health", "degradation", "cache", "limits", "auth", "admin",
          "shared", "providers", "models");
  private static final List<String> SHARED_KEYS = List.of("redis", "limits", "cache", "keyPrefix", "timeout");
  /** Redis keys are binary-safe, but a prefix is typed into redis-cli: printable ASCII without spaces, short. */
  private static final Pattern KEY_PREFIX = Pattern.compile("[!-~]{0,64}");
  private static final List<String> AUTH_KEYS = List.of("mode", "keysFile", "jwt");
  private static final List<String> JWT_KEYS = List.of("keys", "jwksUrl", "jwksRefresh", "jwksMinRefreshInterval",
      "issuer", "audience", "leeway", "claims");
  private static final List<String> JWT_KEY_KEYS = List.of("alg", "kid", "pem", "pemFile", "secret", "secretFile");
  private static final List<String> CLAIM_KEYS = List.of("tenant", "models", "limits");
  private static final List<String> ADMIN_KEYS = List.of("tokenSha256", "host", "port", "protectMetrics",
      "allowNodeNetworks");
  private static final Pattern CIDR = Pattern.compile("[0-9A-Fa-f:.]+/\\d{1,3}");
  /** Default keys file name, next to the config file. */
  public static final String DEFAULT_KEYS_FILE = "keys.json";
  private static final List<String> DEGRADATION_KEYS = List.of("enabled", "scope", "window", "minRequests",
      "thresholds", "dwell", "minEvidenceTime", "recoveryWindow", "probeShare", "fallbackOnFailure", "downgrade",
      "downgradeShare", "staticReply");
  private static final List<String> THRESHOLD_KEYS = List.of("cache", "downgrade", "static");
  private static final List<String> CACHE_KEYS = List.of("maxBytes", "maxEntryBytes", "freshTtl", "staleTtl", "models");
  private static final List<String> LIMITS_KEYS = List.of("perTenant", "tenants", "models", "overMaxTokens");
  private static final List<String> LIMIT_KEYS = List.of("requestsPerMinute", "tokensPerMinute", "concurrent");
  private static final List<String> ROUTING_KEYS = List.of("policy", "failover", "ttftBudget", "gpuBases");
  private static final List<String> HEALTH_KEYS =
      List.of("probeInterval", "probeTimeout", "failuresToDegrade", "successesToRecover", "failuresToEject");
  private static final List<String> SERVER_KEYS = List.of("host", "port", "maxBodyBytes", "maxJsonDepth", "maxHeaderBytes", "cors",
      "tls", "requestHeadTimeout", "keepAliveTimeout", "bodyReadTimeout", "maxConnectionsPerClient",
      "maxUploadBytesInProgress", "maxUploadBytesInProgressPerTenant", "trustedProxies", "failedCredentials");
  private static final List<String> SERVER_TLS_KEYS = List.of("certFile", "keyFile", "redirectHttpPort", "hstsMaxAge");
  private static final List<String> FAILED_CREDENTIALS_KEYS = List.of("failures", "window", "maxBackoff");
  private static final List<String> UPSTREAM_TLS_KEYS = List.of("caFile", "verifyHostname");
  private static final String TLS_DOC = "generate a test certificate: see docs/tls.md";
  private static final List<String> CORS_KEYS = List.of("allowedOrigins", "allowCredentials", "maxAge");
  private static final Pattern ORIGIN = Pattern.compile("https?://[A-Za-z0-9.-]+(:\\d{1,5})?|https?://\\[[0-9A-Fa-f:.]+\\](:\\d{1,5})?");
  private static final List<String> TIMEOUT_KEYS =
      List.of("connect", "firstToken", "idle", "total", "firstTokenFactor", "firstTokenFloor");
  private static final List<String> UPSTREAM_KEYS =
      List.of("maxConnectionsPerNode", "maxWaitQueuePerNode", "maxAttempts", "tls");
  private static final List<String> PROVIDER_KEYS = List.of("baseUrl", "apiKey", "api", "models", "nodes");
  private static final List<String> MODEL_KEYS = List.of("id", "name", "contextWindow", "maxTokens", "gpuProfile", "overflowModel");
  private static final List<String> GPU_PROFILE_KEYS = List.of("minVRAM", "prefetch", "warmupPrompt");
  private static final List<String> NODE_KEYS =
      List.of("id", "baseUrl", "api", "gpuType", "metricsUrl", "labels", "apiKey", "repair");
  private static final List<String> REPAIR_KEYS = List.of("command", "webhook");

  private static final String API_VALUES = "\"openai-completions\", \"openai\" or \"ollama\"";

  private ConfigLoader() {}

  /**
   * A loaded config and the notes about keys that were ignored.
   *
   * @param config the validated snapshot
   * @param warnings one line per tolerated but unused key, in file order, formatted like problems
   */
  public record Result(SluiceConfig config, List<String> warnings) {
    public Result {
      Objects.requireNonNull(config, "config");
      warnings = List.copyOf(warnings);
    }
  }

  /** Reads and validates {@code file}; I/O errors become a {@link ConfigException} naming the file. */
  public static SluiceConfig load(Path file) throws ConfigException {
    return loadDetailed(file).config();
  }

  /** Like {@link #load(Path)}, also returning the warnings. */
  public static Result loadDetailed(Path file) throws ConfigException {
    Objects.requireNonNull(file, "file");
    return parseDetailed(read(file), file.toString());
  }

  /**
   * Validates {@code json}.
   *
   * @param source where the text came from (a path), kept in {@link SluiceConfig#source()} and named in JSON syntax
   *     errors
   */
  public static SluiceConfig parse(String json, String source) throws ConfigException {
    return parseDetailed(json, source).config();
  }

  /** Like {@link #parse(String, String)}, also returning the warnings. */
  public static Result parseDetailed(String json, String source) throws ConfigException {
    Objects.requireNonNull(json, "json");
    String where = source == null ? "the config" : source;
    JsonNode root;
    try {
      root = Json.MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new ConfigException(List.of(syntaxProblem(e, where)));
    }
    if (root == null || root.isMissingNode()) {
      throw new ConfigException(List.of("config: " + where + " is empty (expected a JSON object with \"providers\")"));
    }
    Walk walk = new Walk();
    SluiceConfig config = walk.config(root, source);
    if (!walk.problems.isEmpty()) throw new ConfigException(walk.problems);
    return new Result(config, walk.warnings);
  }

  private static String read(Path file) throws ConfigException {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new ConfigException(List.of("config: " + file + ": no such file (check the path)"));
    } catch (AccessDeniedException e) {
      throw new ConfigException(
          List.of("config: " + file + ": permission denied (make the file readable by the gateway's user)"));
    } catch (CharacterCodingException e) {
      throw new ConfigException(List.of("config: " + file + ": not UTF-8 text (save the file as UTF-8)"));
    } catch (IOException e) {
      throw new ConfigException(List.of("config: " + file + ": cannot be read (" + e + "); check that it is a "
          + "readable regular file"));
    }
  }

  private static String syntaxProblem(JsonProcessingException e, String where) {
    String jackson = e.getOriginalMessage();
    String what;
    if (e instanceof StreamConstraintsException) {
      what = "nested deeper than " + Json.MAX_NESTING_DEPTH + " levels (flatten the structure)";
    } else if (jackson.startsWith("Duplicate field")) {
      what = jackson + " (each key may appear only once in an object; remove or rename one of them)";
    } else if (jackson.startsWith("Trailing token")) {
      what = "more content after the end of the top-level object (the file must hold exactly one JSON object; "
          + "remove what follows its closing '}')";
    } else if (jackson.contains("end-of-input")) {
      what = "the text ends too early (look for a missing '}', ']' or closing quote)";
    } else {
      int nl = jackson.indexOf('\n');
      what = (nl < 0 ? jackson : jackson.substring(0, nl))
          + " (look for a missing comma or quote, a trailing comma, or a comment: JSON allows none)";
    }
    JsonLocation at = e.getLocation();
    String position = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
    return "config: " + where + position + " is not valid JSON: " + what;
  }

  /** Renders a value for a message: JSON text, strings quoted, cut to {@link #MAX_VALUE_CHARS}. */
  private static String show(JsonNode value) {
    return value.isTextual() ? quote(value.asText()) : cut(value.toString());
  }

  private static String quote(String s) {
    return Json.MAPPER.getNodeFactory().textNode(cut(s)).toString();
  }

  private static String cut(String s) {
    return s.length() <= MAX_VALUE_CHARS ? s : s.substring(0, MAX_VALUE_CHARS) + "...";
  }

  /** Why a node added at run time may not carry {@code repair}: the admin API and parseNode say the same. */
  public static final String REPAIR_ONLY_FROM_CONFIG = "repair commands and webhooks run with the gateway's rights, so "
      + "they come only from the config file or etcd; see docs/security.md (\"What the run-time admin API cannot do\")";

  /** One validation pass: collects problems and warnings while building the snapshot. */
  /**
   * Validates one node given as JSON (the admin API's "add a node"), with the same keys and messages as a node in the
   * config file ({@code id}, {@code baseUrl}, {@code api}, {@code gpuType}, {@code metricsUrl}, {@code labels},
   * {@code apiKey}); {@code api} and {@code apiKey} default to those of the provider's first node. {@code repair} is
   * refused ({@link #REPAIR_ONLY_FROM_CONFIG}).
   *
   * @param existingIds node ids already in use
   */
  public static NodeSpec parseNode(JsonNode json, ProviderSpec provider, java.util.Collection<String> existingIds)
      throws ConfigException {
    if (json != null && json.has("repair")) {
      throw new ConfigException(List.of("node.repair: " + REPAIR_ONLY_FROM_CONFIG));
    }
    Walk walk = new Walk();
    for (String id : existingIds) walk.nodeIds.put(id, "a node of the running config");
    NodeSpec first = provider.nodes().isEmpty() ? null : provider.nodes().get(0);
    NodeSpec n = walk.node(json, "node", provider.name(), first == null ? ProviderSpec.DEFAULT_API : first.api(),
        first == null ? null : first.apiKey());
    if (!walk.problems.isEmpty() || n == null) {
      throw new ConfigException(walk.problems.isEmpty() ? List.of("node: must be a JSON object") : walk.problems);
    }
    return n;
  }

  private static final class Walk {
    final List<String> problems = new ArrayList<>();
    final List<String> warnings = new ArrayList<>();
    /** Node id → path of the key that defined it, to report duplicates across providers. */
    final Map<String, String> nodeIds = new HashMap<>();
    /** "providers" or, in Clawdbot's nesting, "models.providers". */
    String providersPath = "providers";
    /** Relative file paths in the config (TLS files) are resolved against the config file's directory. */
    Path baseDir = Path.of("");

    SluiceConfig config(JsonNode root, String source) {
      if (!root.isObject()) {
        problem("top level", show(root) + " must be a JSON object like {\"providers\": {...}}");
        return null;
      }
      rejectUnknown(root, "", TOP_KEYS);
      baseDir = directoryOf(source);
      ServerSettings server = server(root.get("server"));
      Timeouts timeouts = timeouts(root.get("timeouts"));
      UpstreamSettings upstream = upstream(root.get("upstream"));
      RoutingSettings routing = routing(root.get("routing"));
      dev.sluice.health.HealthPolicy health = health(root.get("health"));
      dev.sluice.degrade.DegradationSettings degradation = degradation(root.get("degradation"));
      dev.sluice.degrade.CacheSettings cache = cache(root.get("cache"));
      dev.sluice.limit.LimitSettings limits = limits(root.get("limits"));
      AuthSettings auth = auth(root.get("auth"), source);
      AdminSettings admin = admin(root.get("admin"));
      SharedSettings shared = shared(root.get("shared"));
      List<ProviderSpec> providers = providers(root);
      checkSharedModelsAgree(providers);
      checkModelReferences(providers, degradation, cache, limits);
      return problems.isEmpty()
          ? new SluiceConfig(server, timeouts, upstream, routing, health, degradation, cache, limits, auth, admin,
              shared, providers, source)
          : null;
    }

    AuthSettings auth(JsonNode node, String source) {
      Path keysFile = source == null ? null : relativeTo(source, DEFAULT_KEYS_FILE);
      if (node == null) return AuthSettings.defaults().withKeysFile(keysFile);
      if (!isObject(node, "auth")) return AuthSettings.defaults();
      rejectUnknown(node, "auth", AUTH_KEYS);
      dev.sluice.auth.AuthMode mode = AuthSettings.DEFAULT_MODE;
      String m = optionalString(node, "auth", "mode", "\"none\", \"tokens\", \"jwt\" or \"tokens+jwt\"");
      if (m != null) {
        try {
          mode = dev.sluice.auth.AuthMode.parse(m);
        } catch (IllegalArgumentException e) {
          problem("auth.mode", show(node.get("mode")) + " must be \"none\" (demo only), \"tokens\", \"jwt\" or "
              + "\"tokens+jwt\"");
        }
      }
      String kf = optionalString(node, "auth", "keysFile", "the path of the gateway tokens file");
      if (kf != null) keysFile = source == null ? Path.of(kf) : relativeTo(source, kf);
      dev.sluice.auth.JwtSettings jwt = null;
      JsonNode j = node.get("jwt");
      if (j != null) {
        jwt = jwt(j, source);
        if (!mode.acceptsJwt()) {
          warning("auth.jwt", "ignored because auth.mode is \"" + mode.configName()
              + "\"; use \"jwt\" or \"tokens+jwt\" to accept JWTs");
          jwt = null;
        }
      } else if (mode.acceptsJwt()) {
        problem("auth.jwt", "missing; auth.mode \"" + mode.configName() + "\" needs auth.jwt.keys or auth.jwt.jwksUrl "
            + "(Sluice refuses to start with JWT enabled and nothing to verify signatures with)");
        return AuthSettings.defaults();
      }
      try {
        return new AuthSettings(mode, keysFile, jwt);
      } catch (IllegalArgumentException e) {
        settingsProblem(e);
        return AuthSettings.defaults();
      }
    }

    dev.sluice.auth.JwtSettings jwt(JsonNode node, String source) {
      if (!isObject(node, "auth.jwt")) return null;
      rejectUnknown(node, "auth.jwt", JWT_KEYS);
      List<dev.sluice.auth.JwtKeySpec> keys = new ArrayList<>();
      JsonNode ks = node.get("keys");
      if (ks != null && isArray(ks, "auth.jwt.keys")) {
        for (int i = 0; i < ks.size(); i++) {
          dev.sluice.auth.JwtKeySpec k = jwtKey(ks.get(i), "auth.jwt.keys[" + i + "]", source);
          if (k != null) keys.add(k);
        }
      }
      java.net.URI jwks = null;
      String u = optionalString(node, "auth.jwt", "jwksUrl", "the URL of a JSON Web Key Set");
      if (u != null) {
        try {
          jwks = java.net.URI.create(u);
          if (!("https".equals(jwks.getScheme()) || "http".equals(jwks.getScheme())) || jwks.getHost() == null) {
            throw new IllegalArgumentException();
          }
        } catch (IllegalArgumentException e) {
          problem("auth.jwt.jwksUrl", quote(cut(u)) + " is not a URL (expected https://host/path/jwks.json)");
          jwks = null;
        }
      }
      if (keys.isEmpty() && jwks == null && ks == null && u == null) {
        problem("auth.jwt", "has no keys; set auth.jwt.keys or auth.jwt.jwksUrl (Sluice refuses to start with JWT "
            + "enabled and nothing to verify signatures with)");
      }
      List<String> audience = new ArrayList<>();
      JsonNode a = node.get("audience");
      if (a != null) {
        if (a.isTextual()) audience.add(a.asText());
        else if (isArray(a, "auth.jwt.audience")) {
          for (int i = 0; i < a.size(); i++) {
            if (a.get(i).isTextual()) audience.add(a.get(i).asText());
            else problem("auth.jwt.audience[" + i + "]", show(a.get(i)) + " must be a string");
          }
        }
      }
      String tenantClaim = null;
      String modelsClaim = null;
      String limitsClaim = null;
      JsonNode c = node.get("claims");
      if (c != null && isObject(c, "auth.jwt.claims")) {
        rejectUnknown(c, "auth.jwt.claims", CLAIM_KEYS);
        tenantClaim = optionalString(c, "auth.jwt.claims", "tenant", "the claim naming the tenant, e.g. \"sub\"");
        modelsClaim = optionalString(c, "auth.jwt.claims", "models", "the claim listing allowed models");
        limitsClaim = optionalString(c, "auth.jwt.claims", "limits", "the claim holding the tenant's limits");
      }
      try {
        return new dev.sluice.auth.JwtSettings(keys, jwks,
            durationOrNull(node, "auth.jwt", "jwksRefresh"), durationOrNull(node, "auth.jwt", "jwksMinRefreshInterval"),
            optionalString(node, "auth.jwt", "issuer", "the expected iss claim"), audience,
            durationOrNull(node, "auth.jwt", "leeway"), tenantClaim, modelsClaim, limitsClaim);
      } catch (IllegalArgumentException e) {
        settingsProblem(e);
        return null;
      }
    }

    Duration durationOrNull(JsonNode parent, String path, String key) {
      return parent.get(key) == null ? null : duration(parent, path, key, null);
    }

    /** One JWT verification key; the secret's value is never shown in a message. */
    dev.sluice.auth.JwtKeySpec jwtKey(JsonNode node, String path, String source) {
      if (!isObject(node, path)) return null;
      rejectUnknown(node, path, JWT_KEY_KEYS);
      String alg = optionalString(node, path, "alg", "\"RS256\", \"ES256\" or \"HS256\"");
      if (alg == null || !List.of("RS256", "ES256", "HS256").contains(alg)) {
        problem(path + ".alg", (alg == null ? "missing" : quote(cut(alg)) + " is not accepted")
            + "; use \"RS256\", \"ES256\" or \"HS256\"");
        return null;
      }
      String kid = optionalString(node, path, "kid", "the key id tokens name in their header");
      String pem = fileOrInline(node, path, "pem", "pemFile", source);
      String secret = fileOrInline(node, path, "secret", "secretFile", source);
      boolean hs = alg.equals("HS256");
      if (hs && secret == null) {
        problem(path, "HS256 needs \"secret\" or \"secretFile\" (at least 32 bytes)");
        return null;
      }
      if (!hs && pem == null) {
        problem(path, alg + " needs the public key as \"pem\" or \"pemFile\" (-----BEGIN PUBLIC KEY-----)");
        return null;
      }
      try {
        return new dev.sluice.auth.JwtKeySpec(alg, kid, hs ? null : pem, hs ? secret : null);
      } catch (IllegalArgumentException e) {
        problem(path, e.getMessage());
        return null;
      }
    }

    /** The text of {@code inlineKey}, or of the file named by {@code fileKey}; null when neither is set. */
    String fileOrInline(JsonNode node, String path, String inlineKey, String fileKey, String source) {
      JsonNode inline = node.get(inlineKey);
      String file = optionalString(node, path, fileKey, "a file path");
      if (inline != null && file != null) {
        problem(path, "set either \"" + inlineKey + "\" or \"" + fileKey + "\", not both");
        return null;
      }
      if (inline != null) {
        if (inline.isTextual() && !inline.asText().isBlank()) return inline.asText();
        problem(path + "." + inlineKey, "must be a non-empty string");
        return null;
      }
      if (file == null) return null;
      Path p = source == null ? Path.of(file) : relativeTo(source, file);
      try {
        return Files.readString(p, java.nio.charset.StandardCharsets.UTF_8).trim();
      } catch (java.io.IOException | RuntimeException e) {
        problem(path + "." + fileKey, quote(cut(p.toString())) + " cannot be read (" + e.getClass().getSimpleName()
            + "); check the path and its permissions");
        return null;
      }
    }

    AdminSettings admin(JsonNode node) {
      var d = AdminSettings.defaults();
      if (node == null || !isObject(node, "admin")) return d;
      rejectUnknown(node, "admin", ADMIN_KEYS);
      String token = optionalString(node, "admin", "tokenSha256", "the SHA-256 (hex) of the admin token");
      if (token != null && !token.matches("[0-9a-fA-F]{64}")) {
        problem("admin.tokenSha256", "is not a SHA-256 in hex (64 hex digits); `sluice keys admin-token` prints a new "
            + "admin token and the line to put here");
        token = null;
      }
      String host = d.host();
      String h = optionalString(node, "admin", "host", "the admin listener's bind address, e.g. \"127.0.0.1\"");
      if (h != null && !h.isBlank()) host = h;
      int port = d.port();
      JsonNode p = node.get("port");
      if (p != null) {
        if (p.isIntegralNumber() && p.canConvertToInt() && p.asInt() >= 0 && p.asInt() <= 65535) port = p.asInt();
        else problem("admin.port", show(p) + " must be a TCP port 0..65535 for a separate admin listener (leave it out "
            + "to serve /admin and /console on the main port)");
      }
      boolean protectMetrics = bool(node, "admin", "protectMetrics", d.protectMetrics());
      List<String> nets = new ArrayList<>();
      JsonNode n = node.get("allowNodeNetworks");
      if (n != null && isArray(n, "admin.allowNodeNetworks")) {
        for (int i = 0; i < n.size(); i++) {
          String v = n.get(i).isTextual() ? n.get(i).asText() : null;
          if (v != null && CIDR.matcher(v).matches() && dev.sluice.support.IpRange.valid(v)) nets.add(v);
          else problem("admin.allowNodeNetworks[" + i + "]", show(n.get(i)) + " is not a CIDR range like "
              + "\"169.254.0.0/16\"");
        }
      }
      return new AdminSettings(token, host, port, protectMetrics, nets);
    }

    /** {@code file} resolved against the directory of the config file {@code source}. */
    static Path relativeTo(String source, String file) {
      Path p = Path.of(file);
      if (p.isAbsolute()) return p;
      Path dir = Path.of(source).toAbsolutePath().getParent();
      return dir == null ? p : dir.resolve(p);
    }

    dev.sluice.degrade.DegradationSettings degradation(JsonNode node) {
      var d = dev.sluice.degrade.DegradationSettings.defaults();
      if (node == null || !isObject(node, "degradation")) return d;
      rejectUnknown(node, "degradation", DEGRADATION_KEYS);
      boolean enabled = bool(node, "degradation", "enabled", d.enabled());
      var scope = d.scope();
      String sc = optionalString(node, "degradation", "scope", "\"model\" or \"cluster\"");
      if (sc != null) {
        switch (sc) {
          case "model" -> scope = dev.sluice.degrade.DegradationSettings.Scope.MODEL;
          case "cluster" -> scope = dev.sluice.degrade.DegradationSettings.Scope.CLUSTER;
          default -> problem("degradation.scope", show(node.get("scope"))
              + " is not a scope (expected \"model\": each model degrades on its own error rate, or \"cluster\": "
              + "every model follows the cluster-wide rate)");
        }
      }
      Duration window = duration(node, "degradation", "window", d.window());
      int minRequests = positiveInt(node, "degradation", "minRequests", "requests", d.minRequests());
      double cacheT = d.cacheThreshold();
      double downT = d.downgradeThreshold();
      double staticT = d.staticThreshold();
      JsonNode t = node.get("thresholds");
      if (t != null && isObject(t, "degradation.thresholds")) {
        rejectUnknown(t, "degradation.thresholds", THRESHOLD_KEYS);
        cacheT = fraction(t, "degradation.thresholds", "cache", cacheT, false);
        downT = fraction(t, "degradation.thresholds", "downgrade", downT, false);
        staticT = fraction(t, "degradation.thresholds", "static", staticT, false);
      }
      Duration dwell = d.dwell();
      JsonNode dw = node.get("dwell");
      if (dw != null && dw.isTextual() && dw.asText().equals("0")) dwell = Duration.ZERO;
      else if (dw != null) dwell = duration(node, "degradation", "dwell", d.dwell());
      Duration minEvidenceTime = d.minEvidenceTime();
      JsonNode me = node.get("minEvidenceTime");
      if (me != null && me.isTextual() && me.asText().equals("0")) minEvidenceTime = Duration.ZERO;
      else if (me != null) minEvidenceTime = duration(node, "degradation", "minEvidenceTime", d.minEvidenceTime());
      Duration recoveryWindow = duration(node, "degradation", "recoveryWindow", d.recoveryWindow());
      double probeShare = fraction(node, "degradation", "probeShare", d.probeShare(), true);
      double downgradeShare = fraction(node, "degradation", "downgradeShare", d.downgradeShare(), false);
      boolean fallback = bool(node, "degradation", "fallbackOnFailure", d.fallbackOnFailure());
      Map<String, String> downgrade = new LinkedHashMap<>();
      JsonNode dg = node.get("downgrade");
      if (dg != null && isObject(dg, "degradation.downgrade")) {
        dg.properties().forEach(e -> {
          if (e.getValue().isTextual() && !e.getValue().asText().isBlank()) downgrade.put(e.getKey(), e.getValue().asText());
          else problem("degradation.downgrade." + e.getKey(), show(e.getValue())
              + " must be the id of a smaller configured model, e.g. \"qwen2:7b\"");
        });
      }
      String message = d.staticMessage();
      com.fasterxml.jackson.databind.node.ObjectNode reply = d.staticReply();
      JsonNode sr = node.get("staticReply");
      if (sr != null) {
        if (sr.isTextual() && !sr.asText().isBlank()) {
          message = sr.asText();
          reply = Json.MAPPER.createObjectNode().put("status", "degraded").put("message", message);
        } else if (sr.isObject() && sr.path("message").isTextual() && !sr.path("message").asText().isBlank()) {
          message = sr.path("message").asText();
          reply = (com.fasterxml.jackson.databind.node.ObjectNode) sr;
        } else {
          problem("degradation.staticReply", show(sr) + " must be a message string or an object with a \"message\" "
              + "string, e.g. {\"status\": \"degraded\", \"message\": \"High load, using fallback response\"}");
        }
      }
      try {
        return new dev.sluice.degrade.DegradationSettings(enabled, scope, window, minRequests, cacheT, downT, staticT,
            dwell, minEvidenceTime, recoveryWindow, probeShare, fallback, downgrade, downgradeShare, message, reply);
      } catch (IllegalArgumentException e) {
        settingsProblem(e);
        return d;
      }
    }

    dev.sluice.degrade.CacheSettings cache(JsonNode node) {
      var d = dev.sluice.degrade.CacheSettings.defaults();
      if (node == null || !isObject(node, "cache")) return d;
      rejectUnknown(node, "cache", CACHE_KEYS);
      long maxBytes = positiveLong(node, "cache", "maxBytes", "bytes", d.maxBytes());
      long maxEntry = positiveLong(node, "cache", "maxEntryBytes", "bytes", d.maxEntryBytes());
      Duration fresh = duration(node, "cache", "freshTtl", d.freshTtl());
      Duration stale = duration(node, "cache", "staleTtl", d.staleTtl());
      Set<String> models = new LinkedHashSet<>();
      JsonNode m = node.get("models");
      if (m != null && isArray(m, "cache.models")) {
        for (int i = 0; i < m.size(); i++) {
          if (m.get(i).isTextual()) models.add(m.get(i).asText());
          else problem("cache.models[" + i + "]", show(m.get(i)) + " must be a configured model id");
        }
      }
      try {
        return new dev.sluice.degrade.CacheSettings(maxBytes, maxEntry, fresh, stale, models);
      } catch (IllegalArgumentException e) {
        settingsProblem(e);
        return d;
      }
    }

    /** The {@code shared} section: Redis for rate-limit buckets and cached answers; absent = all local. */
    SharedSettings shared(JsonNode node) {
      SharedSettings d = SharedSettings.none();
      if (node == null || !isObject(node, "shared")) return d;
      rejectUnknown(node, "shared", SHARED_KEYS);
      URI redis = redisUrl(node.get("redis"));
      boolean limits = bool(node, "shared", "limits", true);
      boolean cache = bool(node, "shared", "cache", true);
      String prefix = optionalString(node, "shared", "keyPrefix", "the start of every Redis key, e.g. \"sluice:\"");
      if (prefix == null) prefix = SharedSettings.DEFAULT_KEY_PREFIX;
      else if (!KEY_PREFIX.matcher(prefix).matches()) {
        problem("shared.keyPrefix", quote(prefix) + " must be at most 64 printable ASCII characters without spaces "
            + "(e.g. \"sluice:\" or \"sluice:prod:\")");
        prefix = SharedSettings.DEFAULT_KEY_PREFIX;
      }
      Duration timeout = duration(node, "shared", "timeout", SharedSettings.DEFAULT_TIMEOUT);
      if (node.has("redis") && redis == null) return d; // the problem is recorded
      if (redis == null && (node.has("limits") || node.has("cache"))) {
        problem("shared.redis", "missing; shared.limits and shared.cache need a Redis URL (redis://host:port), or "
            + "remove the shared section to keep limits and cache in each gateway");
        return d;
      }
      try {
        return new SharedSettings(redis, limits, cache, prefix, timeout);
      } catch (IllegalArgumentException e) {
        settingsProblem(e);
        return d;
      }
    }

    /** {@code redis://[:password@]host[:port][/db]}; null (and a problem) when it is not one. */
    URI redisUrl(JsonNode v) {
      if (v == null) return null;
      String expected = " (expected redis://host:port)";
      if (!v.isTextual()) {
        problem("shared.redis", show(v) + " is not a Redis URL" + expected);
        return null;
      }
      URI uri;
      try {
        uri = new URI(v.asText());
      } catch (URISyntaxException e) {
        problem("shared.redis", "not a Redis URL" + expected);
        return null;
      }
      if ("rediss".equalsIgnoreCase(uri.getScheme())) {
        problem("shared.redis", "TLS to Redis (rediss://) is not supported yet" + expected
            + "; keep Redis on a private network or loopback");
        return null;
      }
      if (!"redis".equals(uri.getScheme()) || uri.isOpaque() || uri.getRawAuthority() == null) {
        problem("shared.redis", "not a Redis URL" + expected);
        return null;
      }
      if (uri.getHost() == null) {
        problem("shared.redis", "has no valid host" + expected);
        return null;
      }
      String path = uri.getRawPath();
      if (path != null && !path.isEmpty() && !path.matches("/\\d{1,2}")) {
        problem("shared.redis", "path " + quote(path) + " must be a database number like /0, or nothing"
            + expected);
        return null;
      }
      if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
        problem("shared.redis", "must not carry a query or fragment" + expected);
        return null;
      }
      return uri;
    }

    dev.sluice.limit.LimitSettings limits(JsonNode node) {
      var d = dev.sluice.limit.LimitSettings.defaults();
      if (node == null || !isObject(node, "limits")) return d;
      rejectUnknown(node, "limits", LIMITS_KEYS);
      dev.sluice.limit.Limits perTenant = limit(node.get("perTenant"), "limits.perTenant", d.perTenant());
      // a tenant's override inherits what it leaves out from perTenant; a model limit starts from "no limit"
      Map<String, dev.sluice.limit.Limits> tenants = limitMap(node.get("tenants"), "limits.tenants", perTenant);
      Map<String, dev.sluice.limit.Limits> models = limitMap(node.get("models"), "limits.models",
          dev.sluice.limit.Limits.unlimited());
      var over = d.overMaxTokens();
      String o = optionalString(node, "limits", "overMaxTokens", "\"reject\" or \"cap\"");
      if (o != null) {
        switch (o) {
          case "reject" -> over = dev.sluice.limit.LimitSettings.OverMaxTokens.REJECT;
          case "cap" -> over = dev.sluice.limit.LimitSettings.OverMaxTokens.CAP;
          default -> problem("limits.overMaxTokens", show(node.get("overMaxTokens"))
              + " must be \"reject\" (400 when max_tokens is above the model's maxTokens) or \"cap\" (lower it)");
        }
      }
      return new dev.sluice.limit.LimitSettings(perTenant, tenants, models, over);
    }

    Map<String, dev.sluice.limit.Limits> limitMap(JsonNode node, String path, dev.sluice.limit.Limits base) {
      Map<String, dev.sluice.limit.Limits> out = new LinkedHashMap<>();
      if (node == null || !isObject(node, path)) return out;
      node.properties().forEach(e -> {
        dev.sluice.limit.Limits l = limit(e.getValue(), path + "." + e.getKey(), base);
        if (l != null) out.put(e.getKey(), l);
      });
      return out;
    }

    /** A limits object; keys left out keep {@code base}'s values. */
    dev.sluice.limit.Limits limit(JsonNode node, String path, dev.sluice.limit.Limits base) {
      if (node == null || !isObject(node, path)) return base;
      rejectUnknown(node, path, LIMIT_KEYS);
      long rpm = nonNegativeLong(node, path, "requestsPerMinute", base.requestsPerMinute());
      long tpm = nonNegativeLong(node, path, "tokensPerMinute", base.tokensPerMinute());
      long conc = nonNegativeLong(node, path, "concurrent", base.concurrent());
      return new dev.sluice.limit.Limits(rpm, tpm, (int) Math.min(Integer.MAX_VALUE, conc));
    }

    long nonNegativeLong(JsonNode parent, String path, String key, long fallback) {
      JsonNode v = parent.get(key);
      if (v == null) return fallback;
      if (v.isIntegralNumber() && v.canConvertToLong() && v.asLong() >= 0) return v.asLong();
      problem(path + "." + key, show(v) + " must be a whole number ≥ 0 (0 = no limit)");
      return fallback;
    }

    long positiveLong(JsonNode parent, String path, String key, String unit, long fallback) {
      JsonNode v = parent.get(key);
      if (v == null) return fallback;
      if (v.isIntegralNumber() && v.canConvertToLong() && v.asLong() > 0) return v.asLong();
      problem(path + "." + key, show(v) + " must be a positive integer (" + unit + ")");
      return fallback;
    }

    boolean bool(JsonNode parent, String path, String key, boolean fallback) {
      JsonNode v = parent.get(key);
      if (v == null) return fallback;
      if (v.isBoolean()) return v.asBoolean();
      problem(path + "." + key, show(v) + " must be true or false");
      return fallback;
    }

    /** A share in [0, 1] (0 allowed only when {@code zeroAllowed}); "5%" strings are accepted too. */
    double fraction(JsonNode parent, String path, String key, double fallback, boolean zeroAllowed) {
      JsonNode v = parent.get(key);
      if (v == null) return fallback;
      double d = Double.NaN;
      if (v.isNumber()) d = v.asDouble();
      else if (v.isTextual() && v.asText().trim().matches("\\d+(\\.\\d+)?\\s*%")) {
        d = Double.parseDouble(v.asText().trim().replace("%", "").trim()) / 100.0;
      }
      if (!(d <= 1.0) || d < 0 || (d == 0 && !zeroAllowed)) {
        problem(path + "." + key, show(v) + " must be a share between " + (zeroAllowed ? "0" : "0 (exclusive)")
            + " and 1, e.g. 0.05 or \"5%\"");
        return fallback;
      }
      return d;
    }

    /** Model ids named outside providers (downgrade map, overflow models, cache and limit lists) must be configured. */
    void checkModelReferences(List<ProviderSpec> providers, dev.sluice.degrade.DegradationSettings degradation,
        dev.sluice.degrade.CacheSettings cache, dev.sluice.limit.LimitSettings limits) {
      Map<String, ModelSpec> models = new LinkedHashMap<>();
      for (ProviderSpec p : providers) for (ModelSpec m : p.models()) models.putIfAbsent(m.id(), m);
      if (models.isEmpty()) return; // providers already reported
      String known = " (configured models: " + String.join(", ", models.keySet()) + ")";
      degradation.downgrade().forEach((from, to) -> {
        if (!models.containsKey(from)) {
          problem("degradation.downgrade." + from, "\"" + from + "\" is not a configured model" + known);
        } else if (!models.containsKey(to)) {
          problem("degradation.downgrade." + from, "target \"" + to + "\" is not a configured model" + known);
        } else if (from.equals(to)) {
          problem("degradation.downgrade." + from, "downgrades to itself; name a smaller model");
        }
      });
      for (String m : cache.models()) {
        if (!models.containsKey(m)) problem("cache.models", "\"" + m + "\" is not a configured model" + known);
      }
      for (String m : limits.models().keySet()) {
        if (!models.containsKey(m)) problem("limits.models." + m, "\"" + m + "\" is not a configured model" + known);
      }
      for (ProviderSpec p : providers) {
        for (ModelSpec m : p.models()) {
          if (m.overflowModel() == null) continue;
          String at = providersPath + "." + p.name() + ".models[" + p.models().indexOf(m) + "].overflowModel";
          ModelSpec target = models.get(m.overflowModel());
          if (target == null) {
            problem(at, "\"" + m.overflowModel() + "\" is not a configured model" + known);
          } else if (target.id().equals(m.id())) {
            problem(at, "names the model itself; name a model with a larger contextWindow");
          } else if (m.contextWindowTokens() > 0 && target.contextWindowTokens() > 0
              && target.contextWindowTokens() <= m.contextWindowTokens()) {
            problem(at, "\"" + target.id() + "\" has contextWindow " + target.contextWindowTokens()
                + ", not larger than " + m.contextWindowTokens() + "; name a model with a larger contextWindow");
          }
        }
      }
    }

    RoutingSettings routing(JsonNode node) {
      if (node == null || !isObject(node, "routing")) return RoutingSettings.defaults();
      rejectUnknown(node, "routing", ROUTING_KEYS);
      String policy = optionalString(node, "routing", "policy", "a policy name");
      if (policy != null && !dev.sluice.routing.Policies.NAMES.contains(policy)) {
        problem("routing.policy", show(node.get("policy")) + " is not a routing policy (expected one of "
            + String.join(", ", dev.sluice.routing.Policies.NAMES) + ")");
      }
      String failover = optionalString(node, "routing", "failover", "a failover order");
      if (failover != null) {
        try {
          dev.sluice.routing.FailoverOrder.fromConfig(failover);
        } catch (IllegalArgumentException e) {
          problem("routing.failover", show(node.get("failover"))
              + " is not a failover order (expected same-gpu-class-first, same-gpu-class or any)");
        }
      }
      java.time.Duration budget = RoutingSettings.DEFAULT_TTFT_BUDGET;
      JsonNode b = node.get("ttftBudget");
      if (b != null && b.isTextual() && b.asText().equals("0")) {
        budget = java.time.Duration.ZERO;
      } else if (b != null) {
        budget = duration(node, "routing", "ttftBudget", RoutingSettings.DEFAULT_TTFT_BUDGET);
      }
      Map<String, Integer> bases = new LinkedHashMap<>(RoutingSettings.DEFAULT_GPU_BASES);
      JsonNode g = node.get("gpuBases");
      if (g != null && isObject(g, "routing.gpuBases")) {
        g.fields().forEachRemaining(e -> {
          if (e.getValue().isIntegralNumber() && e.getValue().asInt() > 0) {
            bases.put(e.getKey().toUpperCase(Locale.ROOT), e.getValue().asInt());
          } else {
            problem("routing.gpuBases." + e.getKey(), show(e.getValue()) + " must be a positive integer base score");
          }
        });
      }
      return new RoutingSettings(policy == null ? RoutingSettings.DEFAULT_POLICY : policy,
          failover == null ? RoutingSettings.DEFAULT_FAILOVER : failover, budget, bases);
    }

    dev.sluice.health.HealthPolicy health(JsonNode node) {
      dev.sluice.health.HealthPolicy d = dev.sluice.health.HealthPolicy.defaults();
      if (node == null || !isObject(node, "health")) return d;
      rejectUnknown(node, "health", HEALTH_KEYS);
      java.time.Duration interval = duration(node, "health", "probeInterval", d.probeInterval());
      java.time.Duration timeout = duration(node, "health", "probeTimeout", d.probeTimeout());
      int degrade = positiveInt(node, "health", "failuresToDegrade", "probes", d.failuresToDegrade());
      int recover = positiveInt(node, "health", "successesToRecover", "probes", d.successesToRecover());
      int eject = positiveInt(node, "health", "failuresToEject", "failures", d.failuresToEject());
      try {
        return new dev.sluice.health.HealthPolicy(interval, timeout, d.probeJitter(), degrade,
            Math.max(d.failuresToDown(), degrade), recover, d.healthWindowProbes(), eject, d.ejectionBase(),
            d.ejectionMax(), d.ejectionMemory());
      } catch (IllegalArgumentException e) {
        problem("health", e.getMessage());
        return d;
      }
    }

    ServerSettings server(JsonNode node) {
      if (!isObject(node, "server")) return ServerSettings.defaults();
      rejectUnknown(node, "server", SERVER_KEYS);
      String host = ServerSettings.DEFAULT_HOST;
      JsonNode h = node.get("host");
      if (h != null) {
        if (h.isTextual() && !h.asText().isBlank()) host = h.asText();
        else problem("server.host", show(h) + " must be a host name or IP address to bind, e.g. \"0.0.0.0\"");
      }
      int port = ServerSettings.DEFAULT_PORT;
      JsonNode p = node.get("port");
      if (p != null) {
        if (p.isIntegralNumber() && p.canConvertToInt() && p.asInt() >= 0 && p.asInt() <= 65535) port = p.asInt();
        else problem("server.port", show(p) + " must be a TCP port 0..65535 (0 = any free port)");
      }
      long maxBody = ServerSettings.DEFAULT_MAX_BODY_BYTES;
      JsonNode b = node.get("maxBodyBytes");
      if (b != null) {
        if (b.isIntegralNumber() && b.canConvertToLong() && b.asLong() > 0) maxBody = b.asLong();
        else problem("server.maxBodyBytes", show(b) + " must be a positive integer (bytes), e.g. 10485760");
      }
      int depth = ServerSettings.DEFAULT_MAX_JSON_DEPTH;
      JsonNode dp = node.get("maxJsonDepth");
      if (dp != null) {
        if (dp.isIntegralNumber() && dp.canConvertToInt() && dp.asInt() >= ServerSettings.MIN_JSON_DEPTH
            && dp.asInt() <= ServerSettings.MAX_JSON_DEPTH) {
          depth = dp.asInt();
        } else {
          problem("server.maxJsonDepth", show(dp) + " must be an integer " + ServerSettings.MIN_JSON_DEPTH + ".."
              + ServerSettings.MAX_JSON_DEPTH + " (nesting levels)");
        }
      }
      int headers = ServerSettings.DEFAULT_MAX_HEADER_BYTES;
      JsonNode hb = node.get("maxHeaderBytes");
      if (hb != null) {
        if (hb.isIntegralNumber() && hb.canConvertToInt() && hb.asInt() >= 1024 && hb.asInt() <= 1 << 20) {
          headers = hb.asInt();
        } else {
          problem("server.maxHeaderBytes", show(hb) + " must be an integer 1024..1048576 (bytes)");
        }
      }
      TlsSettings tls = serverTls(node.get("tls"), port);
      Duration head = duration(node, "server", "requestHeadTimeout", ServerSettings.DEFAULT_REQUEST_HEAD_TIMEOUT);
      Duration keepAlive = duration(node, "server", "keepAliveTimeout", ServerSettings.DEFAULT_KEEP_ALIVE_TIMEOUT);
      Duration bodyRead = duration(node, "server", "bodyReadTimeout", ServerSettings.DEFAULT_BODY_READ_TIMEOUT);
      int perClient = ServerSettings.DEFAULT_MAX_CONNECTIONS_PER_CLIENT;
      JsonNode pc = node.get("maxConnectionsPerClient");
      if (pc != null) {
        if (pc.isIntegralNumber() && pc.canConvertToInt() && pc.asInt() >= 0) {
          perClient = pc.asInt();
        } else {
          problem("server.maxConnectionsPerClient", show(pc) + " must be a whole number ≥ 0 (open connections from "
              + "one client address; 0 = no cap, the right choice behind a proxy)");
        }
      }
      // null or left out: derived from the heap when the gateway runs
      long uploads = node.path("maxUploadBytesInProgress").isNull() ? ServerSettings.DERIVED_FROM_HEAP
          : positiveLong(node, "server", "maxUploadBytesInProgress", "bytes; leave it out for an eighth of the heap",
              ServerSettings.DERIVED_FROM_HEAP);
      long uploadsPerTenant = node.path("maxUploadBytesInProgressPerTenant").isNull()
          ? ServerSettings.DERIVED_FROM_HEAP
          : positiveLong(node, "server", "maxUploadBytesInProgressPerTenant", "bytes; leave it out for a quarter of "
              + "maxUploadBytesInProgress", ServerSettings.DERIVED_FROM_HEAP);
      if (uploads > 0 && uploads < maxBody) {
        problem("server.maxUploadBytesInProgress", uploads + " is below server.maxBodyBytes (" + maxBody + "): a body "
            + "of the largest allowed size could never be read; raise it or lower maxBodyBytes");
      }
      if (uploadsPerTenant > 0 && uploadsPerTenant < maxBody) {
        problem("server.maxUploadBytesInProgressPerTenant", uploadsPerTenant + " is below server.maxBodyBytes ("
            + maxBody + "): a body of the largest allowed size could never be read; raise it or lower maxBodyBytes");
      }
      if (uploads > 0 && uploadsPerTenant > uploads) {
        problem("server.maxUploadBytesInProgressPerTenant", uploadsPerTenant + " is above "
            + "server.maxUploadBytesInProgress (" + uploads + "): one tenant cannot hold more than all tenants; lower "
            + "it or raise the total");
      }
      return new ServerSettings(host, port, maxBody, depth, headers, cors(node.get("cors")), tls, head, keepAlive,
          bodyRead, perClient, uploads, uploadsPerTenant, trustedProxies(node.get("trustedProxies")),
          failedCredentials(node.get("failedCredentials")));
    }

    /** {@code server.trustedProxies}: CIDR ranges (or single addresses) of proxies that report the client's address. */
    List<String> trustedProxies(JsonNode n) {
      List<String> ranges = new ArrayList<>();
      if (n == null || !isArray(n, "server.trustedProxies")) return ranges;
      for (int i = 0; i < n.size(); i++) {
        String v = n.get(i).isTextual() ? n.get(i).asText() : null;
        if (v != null && dev.sluice.support.IpRange.valid(v)) ranges.add(v);
        else problem("server.trustedProxies[" + i + "]", show(n.get(i)) + " is not an IP address or CIDR range like "
            + "\"10.0.0.5\" or \"10.0.0.0/8\" (the addresses your reverse proxies connect from)");
      }
      return ranges;
    }

    /** {@code server.failedCredentials}: the backoff for addresses that keep sending wrong credentials. */
    dev.sluice.auth.FailureBackoff.Settings failedCredentials(JsonNode node) {
      var d = dev.sluice.auth.FailureBackoff.Settings.defaults();
      if (node == null || !isObject(node, "server.failedCredentials")) return d;
      rejectUnknown(node, "server.failedCredentials", FAILED_CREDENTIALS_KEYS);
      int failures = d.failures();
      JsonNode f = node.get("failures");
      if (f != null) {
        if (f.isIntegralNumber() && f.canConvertToInt() && f.asInt() >= 0
            && f.asInt() <= dev.sluice.auth.FailureBackoff.Settings.MAX_FAILURES) {
          failures = f.asInt();
        } else {
          problem("server.failedCredentials.failures", show(f) + " must be an integer 0.."
              + dev.sluice.auth.FailureBackoff.Settings.MAX_FAILURES + " (failures per window; 0 = never throttle)");
        }
      }
      Duration window = duration(node, "server.failedCredentials", "window", d.window());
      Duration max = duration(node, "server.failedCredentials", "maxBackoff", d.maxBackoff());
      if (max.compareTo(dev.sluice.auth.FailureBackoff.FIRST_BACKOFF) < 0) {
        problem("server.failedCredentials.maxBackoff", show(node.get("maxBackoff")) + " must be at least \""
            + dev.sluice.auth.FailureBackoff.FIRST_BACKOFF.toSeconds() + "s\" (the first wait)");
        max = d.maxBackoff();
      }
      return new dev.sluice.auth.FailureBackoff.Settings(failures, window, max);
    }

    /** {@code server.tls}: certFile and keyFile together, both readable PEM files; the key's text is never shown. */
    TlsSettings serverTls(JsonNode node, int httpsPort) {
      if (node == null || !isObject(node, "server.tls")) return null;
      rejectUnknown(node, "server.tls", SERVER_TLS_KEYS);
      boolean hasCert = node.has("certFile");
      boolean hasKey = node.has("keyFile");
      if (!hasCert) {
        problem("server.tls.certFile", "missing; give the PEM certificate chain, e.g. \"/etc/sluice/tls/cert.pem\""
            + (hasKey ? ", to go with keyFile" : "") + " (" + TLS_DOC + ")");
      }
      if (!hasKey) {
        problem("server.tls.keyFile", "missing; give the PEM private key of the certificate, e.g. "
            + "\"/etc/sluice/tls/key.pem\"" + (hasCert ? ", to go with certFile" : "") + " (" + TLS_DOC + ")");
      }
      Path cert = hasCert ? pemFile(node, "server.tls", "certFile", Pem.CERTIFICATE) : null;
      Path key = hasKey ? pemFile(node, "server.tls", "keyFile", Pem.PRIVATE_KEY) : null;
      Integer redirect = null;
      JsonNode r = node.get("redirectHttpPort");
      if (r != null) {
        if (r.isIntegralNumber() && r.canConvertToInt() && r.asInt() >= 0 && r.asInt() <= 65535) {
          redirect = r.asInt();
          if (redirect != 0 && redirect == httpsPort) {
            problem("server.tls.redirectHttpPort", redirect + " is server.port, where HTTPS listens; give another "
                + "port (usually 80) or leave it out");
          }
        } else {
          problem("server.tls.redirectHttpPort", show(r) + " must be a TCP port 1..65535 (usually 80; 0 = any free "
              + "port, for tests)");
        }
      }
      Duration hsts = TlsSettings.DEFAULT_HSTS_MAX_AGE;
      JsonNode hm = node.get("hstsMaxAge");
      if (hm != null) {
        Matcher m = hm.isTextual() ? DURATION.matcher(hm.asText()) : null;
        if (hm.isTextual() && hm.asText().equals("0") || m != null && m.matches() && Long.parseLong(m.group(1)) == 0) {
          hsts = Duration.ZERO;
        } else if (m != null && m.matches() && !m.group(2).equals("ms")) {
          hsts = duration(node, "server.tls", "hstsMaxAge", hsts);
        } else {
          problem("server.tls.hstsMaxAge", show(hm) + " must be a duration in seconds, minutes or hours like \"8760h\" "
              + "(365 days, the default), or \"0\" to send no Strict-Transport-Security header");
        }
      }
      return cert == null || key == null ? null : new TlsSettings(cert, key, redirect, hsts);
    }

    /** {@code upstream.tls}: an optional CA bundle for https nodes and the host-name check. */
    UpstreamTls upstreamTls(JsonNode node) {
      if (node == null || !isObject(node, "upstream.tls")) return UpstreamTls.defaults();
      rejectUnknown(node, "upstream.tls", UPSTREAM_TLS_KEYS);
      Path ca = node.has("caFile") ? pemFile(node, "upstream.tls", "caFile", Pem.CERTIFICATE) : null;
      boolean verify = bool(node, "upstream.tls", "verifyHostname", true);
      return new UpstreamTls(ca, verify);
    }

    /** What a PEM file must hold. */
    enum Pem { CERTIFICATE, PRIVATE_KEY }

    /**
     * A PEM file named by {@code parent.key}, resolved against the config's directory; null (and a problem) when it is
     * missing, unreadable or holds no PEM block of the expected kind. Messages name the path, never the contents.
     */
    Path pemFile(JsonNode parent, String path, String key, Pem kind) {
      String at = path + "." + key;
      JsonNode v = parent.get(key);
      if (!v.isTextual() || v.asText().isBlank()) {
        problem(at, show(v) + " must be a file path (" + TLS_DOC + ")");
        return null;
      }
      Path file;
      try {
        file = baseDir.resolve(v.asText()).toAbsolutePath().normalize();
      } catch (java.nio.file.InvalidPathException e) {
        problem(at, show(v) + " is not a valid file path");
        return null;
      }
      String shown = file.toString();
      if (!Files.exists(file)) {
        problem(at, shown + " does not exist (" + TLS_DOC + ")");
        return null;
      }
      if (!Files.isRegularFile(file)) {
        problem(at, shown + " is not a regular file (expected a PEM file)");
        return null;
      }
      String text;
      try {
        text = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
      } catch (IOException e) {
        problem(at, shown + " is not readable (make it readable by the gateway's user)");
        return null;
      }
      if (kind == Pem.CERTIFICATE && !text.contains("-----BEGIN CERTIFICATE-----")) {
        problem(at, shown + " holds no PEM certificate (expected \"-----BEGIN CERTIFICATE-----\"; convert DER with "
            + "openssl x509 -inform der -in FILE -out FILE.pem)");
        return null;
      }
      if (kind == Pem.PRIVATE_KEY) {
        if (text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
          problem(at, shown + " is an encrypted key; Sluice reads unencrypted PEM keys (decrypt it with openssl pkey "
              + "-in FILE -out FILE.plain and keep that file readable by the gateway only)");
          return null;
        }
        if (!text.contains("-----BEGIN PRIVATE KEY-----") && !text.contains("-----BEGIN RSA PRIVATE KEY-----")
            && !text.contains("-----BEGIN EC PRIVATE KEY-----")) {
          problem(at, shown + " holds no PEM private key (expected \"-----BEGIN PRIVATE KEY-----\", or RSA/EC "
              + "PRIVATE KEY)");
          return null;
        }
      }
      return file;
    }

    CorsSettings cors(JsonNode node) {
      if (node == null || !isObject(node, "server.cors")) return CorsSettings.none();
      rejectUnknown(node, "server.cors", CORS_KEYS);
      List<String> origins = new ArrayList<>();
      JsonNode o = node.get("allowedOrigins");
      if (o != null && isArray(o, "server.cors.allowedOrigins")) {
        for (int i = 0; i < o.size(); i++) {
          String v = o.get(i).isTextual() ? o.get(i).asText() : null;
          if (v != null && (v.equals(CorsSettings.ANY) || ORIGIN.matcher(v).matches())) {
            origins.add(v);
            if (v.equals(CorsSettings.ANY)) {
              warning("server.cors.allowedOrigins", "\"*\" lets any web page call this gateway from a visitor's "
                  + "browser; list the origins that need it");
            }
          } else {
            problem("server.cors.allowedOrigins[" + i + "]", show(o.get(i)) + " is not an origin (expected "
                + "\"https://host[:port]\" without a path, or \"*\")");
          }
        }
      }
      boolean credentials = bool(node, "server.cors", "allowCredentials", false);
      Duration maxAge = duration(node, "server.cors", "maxAge", CorsSettings.DEFAULT_MAX_AGE);
      try {
        return new CorsSettings(origins, credentials, maxAge);
      } catch (IllegalArgumentException e) {
        settingsProblem(e);
        return CorsSettings.none();
      }
    }

    Timeouts timeouts(JsonNode node) {
      if (!isObject(node, "timeouts")) return Timeouts.defaults();
      rejectUnknown(node, "timeouts", TIMEOUT_KEYS);
      Timeouts base = new Timeouts(
          duration(node, "timeouts", "connect", Timeouts.DEFAULT_CONNECT),
          duration(node, "timeouts", "firstToken", Timeouts.DEFAULT_FIRST_TOKEN),
          duration(node, "timeouts", "idle", Timeouts.DEFAULT_IDLE),
          duration(node, "timeouts", "total", Timeouts.DEFAULT_TOTAL));
      double factor = base.firstTokenFactor();
      JsonNode f = node.get("firstTokenFactor");
      if (f != null) {
        if (f.isNumber() && f.asDouble() >= 1 && Double.isFinite(f.asDouble())) {
          factor = f.asDouble();
        } else {
          problem("timeouts.firstTokenFactor", show(f) + " must be a number of at least 1 (the first-token deadline "
              + "is this multiple of the node's own estimate), e.g. 3");
        }
      }
      Duration floor = duration(node, "timeouts", "firstTokenFloor", base.firstTokenFloor());
      if (floor.compareTo(base.firstToken()) > 0) {
        problem("timeouts.firstTokenFloor", floor.toMillis() + "ms is above timeouts.firstToken ("
            + base.firstToken().toMillis() + "ms): the floor of the first-token deadline must not exceed its ceiling");
        floor = base.firstTokenFloor();
      }
      return new Timeouts(base.connect(), base.firstToken(), base.idle(), base.total(), factor, floor);
    }

    Duration duration(JsonNode parent, String path, String key, Duration fallback) {
      JsonNode v = parent.get(key);
      if (v == null) return fallback;
      Matcher m = v.isTextual() ? DURATION.matcher(v.asText()) : null;
      if (m == null || !m.matches() || Long.parseLong(m.group(1)) == 0) {
        problem(path + "." + key, show(v) + " must be a positive duration like \"250ms\", \"2s\", \"5m\" or \"1h\"");
        return fallback;
      }
      long n = Long.parseLong(m.group(1));
      return switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        default -> Duration.ofHours(n);
      };
    }

    UpstreamSettings upstream(JsonNode node) {
      if (!isObject(node, "upstream")) return UpstreamSettings.defaults();
      rejectUnknown(node, "upstream", UPSTREAM_KEYS);
      int connections = positiveInt(node, "upstream", "maxConnectionsPerNode", "connections",
          UpstreamSettings.DEFAULT_MAX_CONNECTIONS_PER_NODE);
      int queue = positiveInt(node, "upstream", "maxWaitQueuePerNode", "requests",
          UpstreamSettings.DEFAULT_MAX_WAIT_QUEUE_PER_NODE);
      int attempts = UpstreamSettings.DEFAULT_MAX_ATTEMPTS;
      JsonNode a = node.get("maxAttempts");
      if (a != null) {
        if (a.isIntegralNumber() && a.canConvertToInt() && a.asInt() >= 1 && a.asInt() <= MAX_ATTEMPTS_LIMIT) {
          attempts = a.asInt();
        } else {
          problem("upstream.maxAttempts",
              show(a) + " must be an integer 1.." + MAX_ATTEMPTS_LIMIT + " (1 = no retry)");
        }
      }
      return new UpstreamSettings(connections, queue, attempts, upstreamTls(node.get("tls")));
    }

    /** Reads an optional positive int; {@code fallback} when absent or invalid (invalid is recorded). */
    int positiveInt(JsonNode parent, String path, String key, String unit, int fallback) {
      JsonNode v = parent.get(key);
      if (v == null) return fallback;
      if (v.isIntegralNumber() && v.canConvertToInt() && v.asInt() > 0) return v.asInt();
      problem(path + "." + key, show(v) + " must be a positive integer (" + unit + ")");
      return fallback;
    }

    List<ProviderSpec> providers(JsonNode root) {
      JsonNode top = root.get("providers");
      JsonNode wrapper = root.get("models");
      JsonNode block = top;
      if (wrapper != null) {
        if (top != null) {
          problem("models.providers", "given as well as top-level providers; keep only one of them");
          return List.of();
        }
        if (!isObject(wrapper, "models")) return List.of();
        tolerateUnknown(wrapper, "models", List.of("providers"));
        providersPath = "models.providers";
        block = wrapper.get("providers");
      }
      String path = providersPath;
      if (block == null) {
        problem(path, "missing; add at least one provider, e.g. \"providers\": {\"local\": {\"baseUrl\": "
            + "\"http://127.0.0.1:11434/v1\", \"models\": [{\"id\": \"qwen3:32b\"}]}}");
        return List.of();
      }
      if (!isObject(block, path)) return List.of();
      if (block.isEmpty()) {
        problem(path, "is empty; add at least one provider with a baseUrl and models");
        return List.of();
      }
      List<ProviderSpec> out = new ArrayList<>();
      block.properties().forEach(e -> {
        ProviderSpec p = provider(e.getKey(), e.getValue(), path + "." + e.getKey());
        if (p != null) out.add(p);
      });
      return out;
    }

    ProviderSpec provider(String name, JsonNode node, String path) {
      if (!isObject(node, path)) return null;
      tolerateUnknown(node, path, PROVIDER_KEYS);
      ApiFlavor api = api(node.get("api"), path + ".api", ProviderSpec.DEFAULT_API);
      String apiKey = apiKey(node.get("apiKey"), path + ".apiKey", null);
      List<ModelSpec> models = models(node.get("models"), path + ".models");
      JsonNode nodesNode = node.get("nodes");
      JsonNode baseUrl = node.get("baseUrl");
      List<NodeSpec> nodes = new ArrayList<>();
      if (nodesNode == null) {
        if (baseUrl == null) {
          problem(path + ".baseUrl", "missing; give the provider a baseUrl (e.g. \"http://127.0.0.1:11434/v1\") "
              + "or a nodes[] list");
          return null;
        }
        Endpoint endpoint = endpoint(baseUrl, path + ".baseUrl");
        if (!NODE_ID.matcher(name).matches()) {
          problem(path, "provider name " + quote(name) + " is used as the node id and must match "
              + NODE_ID.pattern() + " (it becomes a metric label); rename the provider or give it nodes[]");
        } else {
          claimNodeId(name, path);
        }
        if (endpoint != null) {
          nodes.add(new NodeSpec(name, endpoint.root, endpoint.openAiBase, api, null, null, Map.of(), apiKey, name));
        }
      } else {
        if (baseUrl != null) {
          endpoint(baseUrl, path + ".baseUrl");
          warning(path + ".baseUrl", "ignored because the provider lists nodes[]; each node has its own baseUrl");
        }
        if (nodesNode.isArray() && nodesNode.isEmpty()) {
          problem(path + ".nodes", "is empty; list at least one node, or remove nodes to use the provider's baseUrl");
        } else if (isArray(nodesNode, path + ".nodes")) {
          for (int i = 0; i < nodesNode.size(); i++) {
            NodeSpec n = node(nodesNode.get(i), path + ".nodes[" + i + "]", name, api, apiKey);
            if (n != null) nodes.add(n);
          }
        }
      }
      return new ProviderSpec(name, models, nodes);
    }

    List<ModelSpec> models(JsonNode node, String path) {
      if (node == null) {
        problem(path, "missing; list at least one model, e.g. \"models\": [{\"id\": \"qwen3:32b\"}]");
        return List.of();
      }
      if (!isArray(node, path)) return List.of();
      if (node.isEmpty()) {
        problem(path, "is empty; list at least one model, e.g. [{\"id\": \"qwen3:32b\"}]");
        return List.of();
      }
      List<ModelSpec> out = new ArrayList<>();
      Map<String, Integer> seen = new HashMap<>();
      for (int i = 0; i < node.size(); i++) {
        String at = path + "[" + i + "]";
        ModelSpec m = model(node.get(i), at);
        if (m == null) continue;
        Integer first = seen.putIfAbsent(m.id(), i);
        if (first != null) {
          problem(at + ".id", show(node.get(i).get("id")) + " is already listed at models[" + first
              + "]; list each model once per provider");
        } else {
          out.add(m);
        }
      }
      return out;
    }

    ModelSpec model(JsonNode node, String path) {
      if (!isObject(node, path)) return null;
      tolerateUnknown(node, path, MODEL_KEYS);
      String id = requiredString(node, path, "id", "a model id like \"qwen3:32b\"");
      String name = optionalString(node, path, "name", "a display name");
      int contextWindow = positiveInt(node, path, "contextWindow", "tokens", 0);
      int maxTokens = positiveInt(node, path, "maxTokens", "tokens", 0);
      if (contextWindow > 0 && maxTokens > contextWindow) {
        problem(path + ".maxTokens", maxTokens + " exceeds contextWindow " + contextWindow
            + "; lower maxTokens or raise contextWindow");
      }
      ModelSpec.GpuProfile gpuProfile = gpuProfile(node.get("gpuProfile"), path + ".gpuProfile");
      String overflow = optionalString(node, path, "overflowModel", "the id of a configured model with a larger "
          + "contextWindow");
      return id == null ? null : new ModelSpec(id, name, contextWindow, maxTokens, gpuProfile,
          overflow == null || overflow.isBlank() ? null : overflow);
    }

    ModelSpec.GpuProfile gpuProfile(JsonNode node, String path) {
      if (node == null || !isObject(node, path)) return null;
      tolerateUnknown(node, path, GPU_PROFILE_KEYS);
      String minVram = optionalString(node, path, "minVRAM", "a memory size like \"22G\"");
      if (minVram != null && !VRAM.matcher(minVram).matches()) {
        problem(path + ".minVRAM", show(node.get("minVRAM")) + " must be a memory size like \"22G\" or \"24GiB\"");
      }
      boolean prefetch = false;
      JsonNode p = node.get("prefetch");
      if (p != null) {
        if (p.isBoolean()) prefetch = p.asBoolean();
        else problem(path + ".prefetch", show(p) + " must be true or false");
      }
      String warmupPrompt = optionalString(node, path, "warmupPrompt", "the prompt sent once at start-up");
      return new ModelSpec.GpuProfile(minVram, prefetch, warmupPrompt);
    }

    NodeSpec node(JsonNode node, String path, String provider, ApiFlavor providerApi, String providerKey) {
      if (!isObject(node, path)) return null;
      rejectUnknown(node, path, NODE_KEYS);
      String id = requiredString(node, path, "id", "a node id like \"a10-01\"");
      if (id != null) {
        if (!NODE_ID.matcher(id).matches()) {
          problem(path + ".id", show(node.get("id")) + " must match " + NODE_ID.pattern()
              + " (letters, digits, '.', '_', ':', '-'; at most 64; it becomes a metric label)");
        } else {
          claimNodeId(id, path + ".id");
        }
      }
      Endpoint endpoint = null;
      JsonNode baseUrl = node.get("baseUrl");
      if (baseUrl == null) problem(path + ".baseUrl", "missing; give the node's URL, e.g. \"http://10.0.0.5:8000/v1\"");
      else endpoint = endpoint(baseUrl, path + ".baseUrl");
      ApiFlavor api = api(node.get("api"), path + ".api", providerApi);
      String gpuType = optionalString(node, path, "gpuType", "a GPU model like \"A10\" or \"H100\"");
      if (gpuType != null && gpuType.isBlank()) {
        problem(path + ".gpuType", "\"\" must be a GPU model like \"A10\" or \"H100\", or be left out");
      }
      URI metricsUrl = null;
      JsonNode m = node.get("metricsUrl");
      if (m != null) metricsUrl = url(m, path + ".metricsUrl", true);
      Map<String, String> labels = labels(node.get("labels"), path + ".labels");
      String apiKey = apiKey(node.get("apiKey"), path + ".apiKey", providerKey);
      RepairAction repair = repair(node.get("repair"), path + ".repair");
      if (id == null || endpoint == null) return null;
      String gpu = gpuType == null || gpuType.isBlank() ? null : gpuType.toUpperCase(Locale.ROOT);
      return new NodeSpec(id, endpoint.root, endpoint.openAiBase, api, gpu, metricsUrl, labels, apiKey, provider,
          repair);
    }

    RepairAction repair(JsonNode node, String path) {
      if (node == null || !isObject(node, path)) return null;
      rejectUnknown(node, path, REPAIR_KEYS);
      String command = optionalString(node, path, "command", "a shell command, e.g. \"/opt/sluice/healthcheck.sh\"");
      URI webhook = node.has("webhook") ? url(node.get("webhook"), path + ".webhook", true) : null;
      if (command == null && webhook == null) {
        problem(path, "needs \"command\" or \"webhook\" (or leave \"repair\" out)");
        return null;
      }
      return new RepairAction(command == null || command.isBlank() ? null : command, webhook);
    }

    Map<String, String> labels(JsonNode node, String path) {
      if (node == null || !isObject(node, path)) return Map.of();
      Map<String, String> out = new LinkedHashMap<>();
      node.properties().forEach(e -> {
        if (e.getValue().isTextual()) out.put(e.getKey(), e.getValue().asText());
        else problem(path + "." + e.getKey(), show(e.getValue()) + " must be a string (labels map names to strings)");
      });
      return out;
    }

    void claimNodeId(String id, String path) {
      String first = nodeIds.putIfAbsent(id, path);
      if (first != null) {
        problem(path, "node id \"" + id + "\" is already used by " + first
            + "; node ids must be unique across the whole config");
      }
    }

    ApiFlavor api(JsonNode v, String path, ApiFlavor fallback) {
      if (v == null) return fallback;
      String s = v.isTextual() ? v.asText() : "";
      switch (s) {
        case "openai-completions", "openai":
          return ApiFlavor.OPENAI;
        case "ollama":
          return ApiFlavor.OLLAMA;
        default:
          problem(path, show(v) + " is not a known api (expected " + API_VALUES + ")");
          return fallback;
      }
    }

    /** A key sent upstream; an empty string means send none. */
    String apiKey(JsonNode v, String path, String fallback) {
      if (v == null) return fallback;
      if (!v.isTextual()) {
        problem(path, show(v) + " must be a string (the key sent as Authorization: Bearer; \"\" to send none)");
        return fallback;
      }
      return v.asText().isEmpty() ? null : v.asText();
    }

    Endpoint endpoint(JsonNode v, String path) {
      URI url = url(v, path, false);
      if (url == null) return null;
      String s = v.asText().replaceAll("/+$", "");
      if (s.endsWith("/v1")) return new Endpoint(URI.create(s.substring(0, s.length() - 3)), URI.create(s));
      return new Endpoint(URI.create(s), URI.create(s + "/v1"));
    }

    /** Validates an absolute http(s) URL with a host; records a problem and returns null when it is not one. */
    URI url(JsonNode v, String path, boolean queryAllowed) {
      String expected = " is not a URL (expected http(s)://host:port)";
      if (!v.isTextual()) {
        problem(path, show(v) + expected);
        return null;
      }
      URI uri;
      try {
        uri = new URI(v.asText());
      } catch (URISyntaxException e) {
        problem(path, show(v) + expected);
        return null;
      }
      String scheme = uri.getScheme();
      boolean httpScheme = "http".equalsIgnoreCase(scheme) || "https".equalsIgnoreCase(scheme);
      if (!httpScheme || uri.isOpaque() || uri.getRawAuthority() == null) {
        problem(path, show(v) + expected);
      } else if (uri.getHost() == null) {
        problem(path, show(v) + " has no valid host (expected http(s)://host:port; host names may not contain '_')");
      } else if (uri.getRawUserInfo() != null) {
        problem(path, show(v) + " must not carry user:password@; put the key in apiKey");
      } else if (uri.getRawQuery() != null && !queryAllowed) {
        problem(path, show(v) + " must not carry a query (?...); give the base URL only");
      } else if (uri.getRawFragment() != null) {
        problem(path, show(v) + " must not carry a fragment (#...); remove it");
      } else {
        return uri;
      }
      return null;
    }

    String requiredString(JsonNode parent, String path, String key, String what) {
      JsonNode v = parent.get(key);
      if (v == null) {
        problem(path + "." + key, "missing; give " + what);
        return null;
      }
      if (!v.isTextual() || v.asText().isBlank()) {
        problem(path + "." + key, show(v) + " must be a non-empty string: " + what);
        return null;
      }
      return v.asText();
    }

    String optionalString(JsonNode parent, String path, String key, String what) {
      JsonNode v = parent.get(key);
      if (v == null) return null;
      if (v.isTextual()) return v.asText();
      problem(path + "." + key, show(v) + " must be a string: " + what);
      return null;
    }

    /** True when {@code node} is present and an object; records a problem when present and not an object. */
    boolean isObject(JsonNode node, String path) {
      if (node == null) return false;
      if (node.isObject()) return true;
      problem(path, show(node) + " must be a JSON object {...}");
      return false;
    }

    boolean isArray(JsonNode node, String path) {
      if (node.isArray()) return true;
      problem(path, show(node) + " must be a JSON array [...]");
      return false;
    }

    void rejectUnknown(JsonNode node, String path, List<String> known) {
      for (String key : unknownKeys(node, known)) {
        problem(join(path, key), "unknown key (known: " + String.join(", ", known) + ")");
      }
    }

    void tolerateUnknown(JsonNode node, String path, List<String> known) {
      for (String key : unknownKeys(node, known)) {
        warning(join(path, key), "unknown key, ignored (Sluice reads: " + String.join(", ", known) + ")");
      }
    }

    /**
     * A model listed by several providers is one route with one set of limits ({@link SluiceConfig#models()} keeps
     * the first spec), so the limits must agree or the context-window check would silently use one of them.
     */
    void checkSharedModelsAgree(List<ProviderSpec> providers) {
      Map<String, ProviderSpec> firstOwner = new HashMap<>();
      Map<String, ModelSpec> firstSpec = new HashMap<>();
      for (ProviderSpec p : providers) {
        for (ModelSpec m : p.models()) {
          ModelSpec prev = firstSpec.putIfAbsent(m.id(), m);
          firstOwner.putIfAbsent(m.id(), p);
          if (prev == null) continue;
          if (prev.contextWindowTokens() != m.contextWindowTokens() || prev.maxTokens() != m.maxTokens()) {
            problem(providersPath + "." + p.name() + ".models", "model \"" + m.id() + "\" is also listed by provider \""
                + firstOwner.get(m.id()).name() + "\" with a different contextWindow/maxTokens; a model has one "
                + "limit, make them equal");
          }
        }
      }
    }

    /** A settings record refused its values; its message already names the key and the fix. */
    void settingsProblem(IllegalArgumentException e) {
      problems.add(e.getMessage().startsWith("config: ") ? e.getMessage() : "config: " + e.getMessage());
    }

    void problem(String path, String message) {
      problems.add("config: " + path + ": " + message);
    }

    void warning(String path, String message) {
      warnings.add("config: " + path + ": " + message);
    }

    private static Set<String> unknownKeys(JsonNode node, List<String> known) {
      Set<String> unknown = new LinkedHashSet<>();
      node.fieldNames().forEachRemaining(k -> {
        if (!known.contains(k)) unknown.add(k);
      });
      return unknown;
    }

    /** The directory of the config file named by {@code source}; the working directory when it has none. */
    private static Path directoryOf(String source) {
      if (source == null) return Path.of("");
      try {
        Path parent = Path.of(source).toAbsolutePath().getParent();
        return parent != null && Files.isDirectory(parent) ? parent : Path.of("");
      } catch (java.nio.file.InvalidPathException e) {
        return Path.of("");
      }
    }

    private static String join(String path, String key) {
      return path.isEmpty() ? key : path + "." + key;
    }
  }

  /** The two bases derived from one baseUrl (see {@link NodeSpec}). */
  private record Endpoint(URI root, URI openAiBase) {}
}
