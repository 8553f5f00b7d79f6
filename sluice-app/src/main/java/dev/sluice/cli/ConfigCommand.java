package dev.sluice.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.auth.KeyFile;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.etcd.EtcdConfigStore;
import dev.sluice.support.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sluice config push|pull|diff}: move a config between a JSON file and etcd, where replicas started with
 * {@code sluice serve --config etcd://…} watch it. A push is validated first: an invalid config is never written.
 */
@Command(name = "config", mixinStandardHelpOptions = true,
    description = "Move the shared config between a JSON file and etcd (replicas watch it): push, pull, diff.",
    subcommands = {ConfigCommand.Push.class, ConfigCommand.Pull.class, ConfigCommand.Diff.class})
public final class ConfigCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /** Exit code of {@code diff} when the two differ, as diff(1). */
  static final int EXIT_DIFFERENT = 1;
  /** Exit code of {@code diff} when it could not compare, as diff(1). */
  static final int EXIT_TROUBLE = 2;

  @Command(name = "push", mixinStandardHelpOptions = true,
      description = "Validate a config file and write it to <prefix>/config in etcd (with --keys-file, the keys to "
          + "<prefix>/keys in the same transaction). An invalid config prints its problems, exits 2, writes nothing.")
  static final class Push implements Callable<Integer> {
    @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE", description = "The config (JSON).")
    Path file;

    @Option(names = "--etcd", required = true, paramLabel = "etcd://HOST:PORT,…/PREFIX", description = "Where.")
    String etcd;

    @Option(names = "--keys-file", paramLabel = "FILE",
        description = "A keys file (sluice keys create --keys-file …) to push as the gateway tokens too.")
    Path keysFile;

    @Override
    public Integer call() throws Exception {
      String text = readConfig(file);
      ConfigLoader.Result checked = ConfigLoader.loadDetailed(file); // problems: Main prints them, exit 2
      checked.warnings().forEach(w -> System.err.println("note: " + w));
      if (Json.MAPPER.readTree(text).path("auth").has("keysFile")) {
        System.err.println("note: auth.keysFile is not used with etcd: replicas read the tokens from <prefix>/keys "
            + "(sluice keys create --etcd " + etcd + ")");
      }
      String keysText = null;
      if (keysFile != null) {
        if (!Files.exists(keysFile)) throw new NoSuchFileException(keysFile + " (--keys-file: no such file)");
        keysText = KeyFile.toText(KeyFile.read(keysFile));
      }
      try (EtcdConfigStore store = EtcdConfigStore.open(etcd)) {
        long revision = store.push(text, keysText);
        System.out.println("pushed " + file + (keysText == null ? "" : " and " + keysFile) + " to " + store.url()
            + " at revision " + revision + "; replicas apply it within a moment");
      }
      return 0;
    }
  }

  @Command(name = "pull", mixinStandardHelpOptions = true,
      description = "Print the config in etcd (or write it to --out), exactly as pushed.")
  static final class Pull implements Callable<Integer> {
    @Option(names = "--etcd", required = true, paramLabel = "etcd://HOST:PORT,…/PREFIX", description = "Where.")
    String etcd;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE", description = "Write here instead of standard output.")
    Path out;

    @Override
    public Integer call() throws Exception {
      try (EtcdConfigStore store = EtcdConfigStore.open(etcd)) {
        EtcdConfigStore.Document d = required(store);
        if (out == null) {
          System.out.print(d.text().endsWith("\n") ? d.text() : d.text() + "\n");
        } else {
          Files.writeString(out, d.text(), StandardCharsets.UTF_8);
          System.err.println("wrote " + store.url().configKey() + " (revision " + d.modRevision() + ") to " + out);
        }
      }
      return 0;
    }
  }

  @Command(name = "diff", mixinStandardHelpOptions = true,
      description = "Show how a config file differs from the config in etcd (both as sorted, pretty JSON). "
          + "Exit 0: the same; 1: different; 2: trouble (etcd unreachable, no config there, an invalid file), "
          + "like diff(1).")
  static final class Diff implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE", description = "The config (JSON).")
    Path file;

    @Option(names = "--etcd", required = true, paramLabel = "etcd://HOST:PORT,…/PREFIX", description = "Where.")
    String etcd;

    @Override
    public Integer call() throws Exception {
      List<String> local = normalized(readConfig(file), file.toString());
      try (EtcdConfigStore store = EtcdConfigStore.open(etcd)) {
        return diff(store, local);
      } catch (IOException e) { // not "different": scripts checking for drift must tell trouble apart
        spec.commandLine().getErr().println(spec.qualifiedName(" ") + ": " + e.getMessage());
        return EXIT_TROUBLE;
      }
    }

    private int diff(EtcdConfigStore store, List<String> local) throws Exception {
      EtcdConfigStore.Document d = required(store);
      List<String> remote = normalized(d.text(), store.url().configKey());
      String diff = TextDiff.unified(remote, local,
          store.url().configKey() + " (revision " + d.modRevision() + ")", file.toString());
      System.out.print(diff);
      return diff.isEmpty() ? 0 : EXIT_DIFFERENT;
    }
  }

  private static String readConfig(Path file) throws ConfigException {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new ConfigException(List.of("config: " + file + ": no such file (check the path)"));
    } catch (IOException e) {
      throw new ConfigException(List.of("config: " + file + ": cannot be read (" + e.getMessage() + ")"));
    }
  }

  private static EtcdConfigStore.Document required(EtcdConfigStore store) throws IOException {
    Optional<EtcdConfigStore.Document> d = store.read();
    if (d.isEmpty()) {
      throw new IllegalStateException("no config at " + store.url().configKey() + " in " + store.url()
          + " (push one: sluice config push --file sluice.json --etcd " + store.url() + ")");
    }
    return d.get();
  }

  /** {@code text} as JSON with every object's keys sorted, pretty-printed, as lines. */
  static List<String> normalized(String text, String where) throws ConfigException {
    JsonNode tree;
    try {
      tree = Json.MAPPER.readTree(text);
    } catch (IOException e) {
      throw new ConfigException(List.of("config: " + where + " is not valid JSON (" + e.getMessage().lines()
          .findFirst().orElse("") + ")"));
    }
    try {
      String pretty = Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(sorted(tree));
      return new ArrayList<>(pretty.lines().toList());
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode sorted(JsonNode n) {
    if (n == null) return Json.MAPPER.nullNode();
    if (n.isObject()) {
      TreeMap<String, JsonNode> fields = new TreeMap<>();
      n.fields().forEachRemaining(e -> fields.put(e.getKey(), sorted(e.getValue())));
      ObjectNode o = Json.MAPPER.createObjectNode();
      fields.forEach(o::set);
      return o;
    }
    if (n.isArray()) {
      var a = Json.MAPPER.createArrayNode();
      n.forEach(x -> a.add(sorted(x)));
      return a;
    }
    return n;
  }
}
