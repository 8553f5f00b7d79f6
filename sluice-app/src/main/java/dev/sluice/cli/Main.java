package dev.sluice.cli;

import dev.sluice.config.ConfigException;
import dev.sluice.support.Secrets;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
    return new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true)
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

  /** Version from the jar manifest, or "dev" when run from classes. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"sluice " + (v == null ? "dev" : v)};
    }
  }
}
