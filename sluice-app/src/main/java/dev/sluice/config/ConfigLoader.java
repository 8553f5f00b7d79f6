package dev.sluice.config;

import static dev.sluice.config.ConfigReader.show;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.degrade.CacheSettings;
import dev.sluice.degrade.DegradationSettings;
import dev.sluice.health.HealthPolicy;
import dev.sluice.limit.LimitSettings;
import dev.sluice.support.Json;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

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
 *
 * <p>This class reads the file, reports JSON syntax errors and reads the sections in order. Each section's keys and
 * rules live in its own class, so a new key is added in one place: {@code ServerSection} (server, admin),
 * {@code TrafficSection} (timeouts, upstream, routing, health), {@code AuthSection}, {@code ProtectionSection}
 * (degradation, cache, limits), {@code SharedSection} and {@code ProvidersSection}; the checks across sections are in
 * {@code ModelReferences}, and the typed reads and the problem list they share in {@code ConfigReader}.
 */
public final class ConfigLoader {
  /** The top-level sections, in the order they are read and their problems reported. */
  private static final List<String> TOP_KEYS =
      List.of("server", "timeouts", "upstream", "routing", "health", "degradation", "cache", "limits", "auth", "admin",
          "shared", "providers", "models");
  /** Default keys file name, next to the config file. */
  public static final String DEFAULT_KEYS_FILE = "keys.json";

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
    ConfigReader reader = new ConfigReader(source);
    SluiceConfig config = config(reader, root, source);
    if (!reader.problems().isEmpty()) throw new ConfigException(reader.problems());
    return new Result(config, reader.warnings());
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

  /** Why a node added at run time may not carry {@code repair}: the admin API and parseNode say the same. */
  public static final String REPAIR_ONLY_FROM_CONFIG = "repair commands and webhooks run with the gateway's rights, so "
      + "they come only from the config file or etcd; see docs/security.md (\"What the run-time admin API cannot do\")";

  /**
   * Validates one node given as JSON (the admin API's "add a node"), with the same keys and messages as a node in the
   * config file ({@code id}, {@code baseUrl}, {@code api}, {@code dialects}, {@code gpuType}, {@code metricsUrl},
   * {@code labels}, {@code apiKey}); {@code api}, {@code dialects} and {@code apiKey} default to those of the provider's
   * first node. {@code repair} is refused ({@link #REPAIR_ONLY_FROM_CONFIG}).
   *
   * @param existingIds node ids already in use
   */
  public static NodeSpec parseNode(JsonNode json, ProviderSpec provider, Collection<String> existingIds)
      throws ConfigException {
    if (json != null && json.has("repair")) {
      throw new ConfigException(List.of("node.repair: " + REPAIR_ONLY_FROM_CONFIG));
    }
    ConfigReader reader = new ConfigReader(null);
    ProvidersSection providers = new ProvidersSection(reader);
    for (String id : existingIds) providers.reserveNodeId(id, "a node of the running config");
    NodeSpec n = providers.nodeOf(json, "node", provider);
    if (!reader.problems().isEmpty() || n == null) {
      throw new ConfigException(reader.problems().isEmpty() ? List.of("node: must be a JSON object")
          : reader.problems());
    }
    return n;
  }

  /**
   * Reads every section of {@code root} in file-format order (so problems are reported in that order), then the checks
   * across sections; null when there were problems.
   */
  private static SluiceConfig config(ConfigReader r, JsonNode root, String source) {
    if (!root.isObject()) {
      r.problem("top level", show(root) + " must be a JSON object like {\"providers\": {...}}");
      return null;
    }
    r.rejectUnknown(root, "", TOP_KEYS);
    ServerSection serverSection = new ServerSection(r);
    TrafficSection traffic = new TrafficSection(r);
    ProtectionSection protection = new ProtectionSection(r);
    ServerSettings server = serverSection.server(root.get("server"));
    Timeouts timeouts = traffic.timeouts(root.get("timeouts"));
    UpstreamSettings upstream = traffic.upstream(root.get("upstream"));
    RoutingSettings routing = traffic.routing(root.get("routing"));
    HealthPolicy health = traffic.health(root.get("health"));
    DegradationSettings degradation = protection.degradation(root.get("degradation"));
    CacheSettings cache = protection.cache(root.get("cache"));
    LimitSettings limits = protection.limits(root.get("limits"));
    AuthSettings auth = new AuthSection(r).auth(root.get("auth"), source);
    AdminSettings admin = serverSection.admin(root.get("admin"));
    SharedSettings shared = new SharedSection(r).shared(root.get("shared"));
    ProvidersSection providersSection = new ProvidersSection(r);
    List<ProviderSpec> providers = providersSection.providers(root);
    ModelReferences references = new ModelReferences(r, providersSection.providersPath());
    references.checkSharedModelsAgree(providers);
    references.checkModelReferences(providers, degradation, cache, limits);
    return r.problems().isEmpty()
        ? new SluiceConfig(server, timeouts, upstream, routing, health, degradation, cache, limits, auth, admin,
            shared, providers, source)
        : null;
  }
}
