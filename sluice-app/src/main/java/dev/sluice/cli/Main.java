package dev.sluice.cli;

import dev.sluice.config.ConfigException;
import dev.sluice.support.Secrets;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code sluice.jar}: one command per job, each a thin shell over the packages that do the work. */
@Command(
    name = "sluice",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Sluice: an OpenAI- and Ollama-compatible gateway for a fleet of self-hosted GPU nodes.",
    subcommands = {ServeCommand.class, DemoCommand.class, DoctorCommand.class, BenchCommand.class, KeysCommand.class,
        OnboardCommand.class, ConfigCommand.class, SimCommand.class, LabCommand.class,
        CommandLine.HelpCommand.class})
public final class Main implements Runnable {
  /** Exit code for a config that cannot be used (so scripts can tell it from a crash). */
  public static final int EXIT_BAD_CONFIG = 2;
  /** Exit code when a production-readiness check failed ({@code sluice doctor}, {@code sluice serve --production}). */
  public static final int EXIT_CHECKS_FAILED = 3;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured picocli command line (also used by tests). */
  public static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new Main());
    CommandLine.IParameterExceptionHandler usage = cli.getParameterExceptionHandler();
    // picocli checks required options before it complains about unknown ones: `serve --confg x` would say "missing
    // --config"; the misspelt option is the real mistake, so it is reported instead (with picocli's suggestion)
    cli.setParameterExceptionHandler((e, args) -> usage.handleParseException(
        e instanceof CommandLine.MissingParameterException ? unknownOption(e.getCommandLine(), args, e) : e, args));
    return cli.setCaseInsensitiveEnumValuesAllowed(true)
        // a failed command says what failed, not a stack trace (unexpected bugs keep theirs, on stderr)
        .setExecutionExceptionHandler((e, cmd, parsed) -> {
          if (e instanceof ConfigException c) { // every problem names its key and the fix
            c.problems().forEach(cmd.getErr()::println);
            return EXIT_BAD_CONFIG;
          }
          boolean expected = e instanceof IOException || e instanceof IllegalArgumentException
              || e instanceof IllegalStateException;
          if (!expected) e.printStackTrace(cmd.getErr());
          cmd.getErr().println(cmd.getCommandSpec().qualifiedName(" ") + ": " + (e.getMessage() == null
              ? e.getClass().getSimpleName() : Secrets.redact(e.getMessage())));
          return 1;
        });
  }

  /** An "Unknown option" error for the first option in {@code args} that {@code cmd} does not know, else {@code e}. */
  private static CommandLine.ParameterException unknownOption(CommandLine cmd, String[] args,
      CommandLine.ParameterException e) {
    for (String arg : args) {
      if (arg.equals("--")) break;
      if (!arg.startsWith("-") || arg.equals("-")) continue;
      String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
      boolean known = false;
      for (CommandLine c = cmd; c != null && !known; c = c.getParent()) {
        known = c.getCommandSpec().findOption(name) != null;
      }
      if (!known && !name.startsWith("--") && name.length() > 2) known = true; // clustered short options: -hV
      if (!known) return new CommandLine.UnmatchedArgumentException(cmd, List.of(name));
    }
    return e;
  }

  /**
   * A secret from a file (trimmed) or else the environment variable {@code env}; null when neither is there. Secrets
   * never come from the command line, where ps and shell history would keep them.
   */
  static String secret(Path file, String env) throws IOException {
    if (file != null) return Files.readString(file).trim();
    String v = System.getenv(env);
    return v == null || v.isBlank() ? null : v.trim();
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /** The version the build wrote (the Maven project version), else the jar manifest's, else "dev". */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"sluice " + version()};
    }

    static String version() {
      try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
        if (in != null) {
          Properties p = new Properties();
          p.load(in);
          String v = p.getProperty("version", "");
          if (!v.isBlank() && !v.startsWith("${")) return v;
        }
      } catch (IOException e) {
        // fall back to the manifest
      }
      String v = Main.class.getPackage().getImplementationVersion();
      return v == null ? "dev" : v;
    }
  }
}
