package dev.sluice.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.auth.ApiKey;
import dev.sluice.auth.ApiKeys;
import dev.sluice.auth.KeyFile;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import dev.sluice.config.etcd.EtcdConfigStore;
import dev.sluice.flow.Band;
import dev.sluice.limit.Limits;
import dev.sluice.support.Clock;
import dev.sluice.support.Json;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code sluice keys create|list|revoke|admin-token}: gateway tokens, either in the keys file named by a config
 * ({@code --config}, the running gateway picks changes up within a second) or through a running gateway's admin API
 * ({@code --gateway}, with the admin token from {@code SLUICE_ADMIN_TOKEN} or {@code --admin-token-file}), or in
 * etcd for replicas sharing a config ({@code --etcd}, changed by compare-and-swap).
 */
@Command(name = "keys", mixinStandardHelpOptions = true,
    description = "Create, list and revoke gateway tokens (API keys); make an admin token.",
    subcommands = {KeysCommand.Create.class, KeysCommand.ListKeys.class, KeysCommand.Revoke.class,
        KeysCommand.AdminToken.class})
public final class KeysCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /** Where the keys are: a keys file (directly or through a config) or a running gateway. */
  static final class Target {
    /** The command this mixin is part of: usage errors name it ("sluice keys create"), not "<main class>". */
    @CommandLine.Spec(CommandLine.Spec.Target.MIXEE) CommandLine.Model.CommandSpec mixee;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
        description = "Gateway config; its auth.keysFile (default: keys.json next to it) is changed.")
    Path config;

    @Option(names = "--keys-file", paramLabel = "FILE", description = "The keys file itself.")
    Path keysFile;

    @Option(names = "--gateway", paramLabel = "URL",
        description = "A running gateway's admin base URL (e.g. http://127.0.0.1:9090); the admin token comes from "
            + "the SLUICE_ADMIN_TOKEN environment variable or --admin-token-file.")
    URI gateway;

    @Option(names = "--admin-token-file", paramLabel = "FILE", description = "File holding the admin token.")
    Path adminTokenFile;

    @Option(names = "--etcd", paramLabel = "etcd://HOST:PORT,…/PREFIX",
        description = "The shared config in etcd: the tokens at <prefix>/keys are changed (every replica started with "
            + "--config etcd://… picks them up within a second or two).")
    String etcd;

    SluiceConfig loadedConfig;
    /** Set by {@link #file} when the keys are in etcd. */
    EtcdConfigStore store;

    /** The keys file to change, or null when the target is a gateway or etcd ({@link #store} set). */
    Path file() throws ConfigException, IOException {
      int chosen = (config != null ? 1 : 0) + (keysFile != null ? 1 : 0) + (gateway != null ? 1 : 0)
          + (etcd != null ? 1 : 0);
      if (chosen != 1) {
        throw new CommandLine.ParameterException(mixee.commandLine(),
            "say where the keys are: exactly one of --config FILE, --keys-file FILE, --gateway URL or --etcd URL");
      }
      if (keysFile != null) return keysFile;
      if (gateway != null) return null;
      if (etcd != null) {
        try {
          store = EtcdConfigStore.open(etcd);
        } catch (IllegalArgumentException e) {
          throw new CommandLine.ParameterException(mixee.commandLine(), "--etcd " + e.getMessage());
        }
        return null;
      }
      loadedConfig = ConfigLoader.load(config);
      Path f = loadedConfig.auth().keysFile();
      if (f == null) throw new ConfigException(List.of("auth.keysFile: not set in " + config));
      return f;
    }

    String adminToken() throws IOException {
      String token = Main.secret(adminTokenFile, "SLUICE_ADMIN_TOKEN");
      if (token == null) {
        throw new CommandLine.ParameterException(mixee.commandLine(), "--gateway needs the admin token: set "
            + "SLUICE_ADMIN_TOKEN or pass --admin-token-file (never on the command line, where ps and shell history "
            + "would keep it)");
      }
      return token;
    }

    JsonNode call(String method, String path, String body) throws Exception {
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      HttpRequest.Builder b = HttpRequest.newBuilder(gateway.resolve(path)).timeout(Duration.ofSeconds(10))
          .header("Authorization", "Bearer " + adminToken()).header("Content-Type", "application/json");
      b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
      HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
      JsonNode json = Json.MAPPER.readTree(r.body().isEmpty() ? "{}" : r.body());
      if (r.statusCode() >= 300) {
        throw new IllegalStateException(gateway + path + " answered " + r.statusCode() + ": "
            + json.path("error").path("message").asText(r.body()));
      }
      return json;
    }
  }

  @Command(name = "create", mixinStandardHelpOptions = true,
      description = "Create a gateway token; its secret is printed once (only its hash is stored).")
  static final class Create implements Callable<Integer> {
    @Mixin Target target;

    @Option(names = "--tenant", required = true, paramLabel = "ID",
        description = "Tenant the token belongs to (rate limits and the response cache are per tenant).")
    String tenant;

    @Option(names = "--model", paramLabel = "ID", description = "A model the token may use (repeat; default: all).")
    List<String> models = List.of();

    @Option(names = "--rpm", paramLabel = "N", description = "Requests per minute (0 = the config's limits).")
    long rpm;

    @Option(names = "--tpm", paramLabel = "N", description = "Tokens per minute (0 = the config's limits).")
    long tpm;

    @Option(names = "--concurrent", paramLabel = "N", description = "Requests in flight (0 = the config's limits).")
    int concurrent;

    @Option(names = "--weight", paramLabel = "N",
        description = "Fair-share weight of the token's requests in the queue, 1 to " + ApiKey.MAX_WEIGHT
            + " (default: the tenant's in routing.flow.tenants, else routing.flow.defaultWeight).")
    Integer weight;

    @Option(names = "--max-priority", paramLabel = "BAND",
        description = "Highest priority band the token's requests may ask for: interactive or batch (default: the "
            + "tenant's in routing.flow.tenants, else interactive).")
    String maxPriority;

    @Option(names = "--expires", paramLabel = "WHEN",
        description = "Expiry: a duration from now (90d, 12h, 30m) or an instant (2027-01-01T00:00:00Z).")
    String expires;

    @Option(names = "--note", paramLabel = "TEXT", description = "A note shown by list (who, what for).")
    String note;

    @Option(names = "--json", description = "Print the new token as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
      Path file = target.file(); // a bad config: Main's handler prints its problems, exit 2
      Limits limits = rpm > 0 || tpm > 0 || concurrent > 0 ? new Limits(rpm, tpm, concurrent) : null;
      Instant expiresAt;
      Band maxBand;
      try {
        if (weight != null && !ApiKey.isWeight(weight)) {
          throw new IllegalArgumentException("--weight " + weight + ": expected " + ApiKey.WEIGHT_RULE
              + " (leave it out for the tenant's weight in routing.flow)");
        }
        maxBand = maxPriority == null ? null : parseBand(maxPriority);
        expiresAt = expires == null ? null : parseExpiry(expires, Instant.now());
      } catch (IllegalArgumentException e) {
        System.err.println("sluice keys: " + e.getMessage());
        return Main.EXIT_BAD_CONFIG;
      }
      Set<String> allowed = new LinkedHashSet<>(models);
      if (target.store != null && !allowed.isEmpty()) {
        var doc = target.store.read();
        if (doc.isPresent()) target.loadedConfig = target.store.validate(doc.get().text()).config();
      }
      if (target.loadedConfig != null) {
        for (String m : allowed) {
          if (target.loadedConfig.model(m).isEmpty()) {
            System.err.println("sluice keys: --model " + m + " is not a model of "
                + (target.store != null ? target.store.url() : target.config) + " (configured: "
                + String.join(", ", target.loadedConfig.models().keySet()) + ")");
            return Main.EXIT_BAD_CONFIG;
          }
        }
      }
      String secret;
      ApiKey key;
      if (file == null && target.store == null) {
        ObjectNode body = Json.MAPPER.createObjectNode().put("tenant", tenant);
        allowed.forEach(body.putArray("models")::add);
        if (limits != null) body.set("limits", Json.MAPPER.valueToTree(limits));
        if (weight != null) body.put("weight", weight);
        if (maxBand != null) body.put("maxPriority", maxBand.label());
        if (expiresAt != null) body.put("expiresAt", expiresAt.toString());
        if (note != null) body.put("note", note);
        JsonNode r = target.call("POST", "/admin/keys", body.toString());
        secret = r.path("key").asText();
        print(System.out, r.path("id").asText(), secret, tenant, expiresAt);
        return 0;
      }
      KeyGenerator.Created created = KeyGenerator.create(tenant, allowed, limits, weight == null ? 0 : weight,
          maxBand, expiresAt, note, Instant.now());
      if (target.store != null) {
        long revision = target.store.updateKeys(current -> current.with(created.key()));
        print(System.out, created.key().id(), created.secret(), tenant, expiresAt);
        System.err.println("saved to " + target.store.url().keysKey() + " at revision " + revision
            + " (every replica picks it up within a second or two)");
        return 0;
      }
      ApiKeys current = KeyFile.read(file);
      KeyFile.write(file, current.with(created.key()));
      secret = created.secret();
      key = created.key();
      print(System.out, key.id(), secret, tenant, expiresAt);
      System.err.println("saved to " + file + " (a running gateway picks it up within a second)");
      return 0;
    }

    private void print(PrintStream out, String id, String secret, String tenant, Instant expiresAt) {
      if (json) {
        ObjectNode n = Json.MAPPER.createObjectNode().put("id", id).put("key", secret).put("tenant", tenant);
        if (expiresAt != null) n.put("expiresAt", expiresAt.toString());
        out.println(n);
        return;
      }
      out.println(secret);
      System.err.println("gateway token " + id + "… for tenant " + tenant
          + (expiresAt == null ? "" : ", expires " + expiresAt)
          + ": shown this once; send it as Authorization: Bearer <token>");
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List gateway tokens (never their secrets).")
  static final class ListKeys implements Callable<Integer> {
    @Mixin Target target;

    @Option(names = "--json", description = "JSON output.")
    boolean json;

    @Override
    public Integer call() throws Exception {
      Path file = target.file(); // a bad config: Main's handler prints its problems, exit 2
      JsonNode keys;
      if (target.store != null) {
        var arr = Json.MAPPER.createArrayNode();
        long now = Clock.SYSTEM.millis();
        for (ApiKey k : target.store.keys().all()) arr.add(KeyFile.publicView(k, now));
        keys = arr;
      } else if (file == null) {
        keys = target.call("GET", "/admin/keys", null).path("keys");
      } else {
        var arr = Json.MAPPER.createArrayNode();
        long now = Clock.SYSTEM.millis();
        for (ApiKey k : KeyFile.read(file).all()) arr.add(KeyFile.publicView(k, now));
        keys = arr;
      }
      if (json) {
        System.out.println(keys);
        return 0;
      }
      String row = "%-20s %-16s %-8s %-22s %-6s %-11s %-24s %s%n";
      System.out.printf(row, "ID", "TENANT", "STATUS", "MODELS", "WEIGHT", "MAXPRIORITY", "EXPIRES", "NOTE");
      for (JsonNode k : keys) {
        String status = k.has("revokedAt") ? "revoked" : k.path("active").asBoolean() ? "active" : "expired";
        List<String> ms = new ArrayList<>();
        k.path("models").forEach(m -> ms.add(m.asText()));
        // "-": the key carries none, the tenant's in routing.flow applies
        System.out.printf(row, k.path("id").asText(), k.path("tenant").asText(), status,
            ms.isEmpty() ? "(all)" : String.join(",", ms), k.path("weight").asText("-"),
            k.path("maxPriority").asText("-"), k.path("expiresAt").asText("never"), k.path("note").asText(""));
      }
      return 0;
    }
  }

  @Command(name = "revoke", mixinStandardHelpOptions = true,
      description = "Revoke a gateway token by its id (sk-sluice-XXXXXXXX); effective within a second.")
  static final class Revoke implements Callable<Integer> {
    @Mixin Target target;

    @Parameters(paramLabel = "ID", description = "The token's id as list shows it, or the token itself.")
    String id;

    @Override
    public Integer call() throws Exception {
      Path file = target.file(); // a bad config: Main's handler prints its problems, exit 2
      String keyId = KeyGenerator.idOf(id) != null ? KeyGenerator.idOf(id) : id;
      if (target.store != null) {
        if (target.store.keys().byId(keyId) == null) {
          System.err.println("sluice keys: no token with id " + keyId + " in " + target.store.url().keysKey()
              + " (`sluice keys list --etcd " + target.store.url() + "` shows them)");
          return 1;
        }
        target.store.updateKeys(
            current -> current.byId(keyId) == null ? current : current.revoke(keyId, Instant.now()));
      } else if (file == null) {
        target.call("DELETE", "/admin/keys/" + keyId, null);
      } else {
        ApiKeys current = KeyFile.read(file);
        if (current.byId(keyId) == null) {
          System.err.println("sluice keys: no token with id " + keyId + " in " + file + " (`sluice keys list` shows them)");
          return 1;
        }
        KeyFile.write(file, current.revoke(keyId, Instant.now()));
      }
      System.out.println("revoked " + keyId);
      return 0;
    }
  }

  @Command(name = "admin-token", mixinStandardHelpOptions = true,
      description = "Make a new admin token: prints the token (keep it secret) and the admin.tokenSha256 config line.")
  static final class AdminToken implements Callable<Integer> {
    @Override
    public Integer call() {
      String token = KeyGenerator.newAdminToken();
      System.out.println(token);
      System.err.println("put its hash in the config: \"admin\": {\"tokenSha256\": \"" + KeyGenerator.sha256Hex(token)
          + "\"}; use the token as Authorization: Bearer for /admin, /console and /metrics");
      return 0;
    }
  }

  /** {@code interactive} or {@code batch} (any case), for {@code --max-priority}. */
  static Band parseBand(String s) {
    try {
      return Band.parse(s);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--max-priority " + s + ": expected " + ApiKey.BAND_RULE
          + " (leave it out for the tenant's band in routing.flow)");
    }
  }

  private static final Pattern RELATIVE = Pattern.compile("(\\d{1,6})([dhm])");

  /** "90d", "12h", "30m" from {@code now}, or an ISO instant. */
  static Instant parseExpiry(String s, Instant now) {
    Matcher m = RELATIVE.matcher(s.trim());
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      return now.plus(switch (m.group(2)) {
        case "d" -> Duration.ofDays(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofMinutes(n);
      });
    }
    try {
      return Instant.parse(s.trim());
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("--expires " + s + ": expected a duration like 90d, 12h, 30m or an instant "
          + "like 2027-01-01T00:00:00Z");
    }
  }
}
