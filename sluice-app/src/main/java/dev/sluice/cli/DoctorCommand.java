package dev.sluice.cli;

import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import dev.sluice.doctor.Doctor;
import dev.sluice.doctor.DoctorReport;
import dev.sluice.doctor.DoctorSettings;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sluice doctor --config sluice.json}: the 12-point production-readiness checklist (BRIEF.md §5) against a
 * running gateway and its nodes. Exit 0 when no check FAILs (WARN and SKIP count as passed), 3 when one does, 2 when
 * the config is invalid or the gateway answering is not the config's (it serves other nodes).
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
    description = "Check a running gateway against the 12-point production checklist (exit 0: ready; 3: a check "
        + "failed; 2: bad config, or the gateway answering serves other nodes than the config names).")
public final class DoctorCommand implements Callable<Integer> {
  @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "The gateway's config file.")
  Path config;

  @Option(names = "--gateway", paramLabel = "URL",
      description = "The running gateway (default: server.host and server.port of the config).")
  URI gateway;

  @Option(names = "--admin-url", paramLabel = "URL",
      description = "The admin plane, when not on the gateway's port (default: the config's admin listener).")
  URI adminUrl;

  @Option(names = "--admin-token-file", paramLabel = "FILE",
      description = "File holding the admin token (default: the SLUICE_ADMIN_TOKEN environment variable).")
  Path adminTokenFile;

  @Option(names = "--token-file", paramLabel = "FILE",
      description = "File holding a gateway token for the load run (default: the SLUICE_TOKEN environment variable).")
  Path tokenFile;

  @Option(names = "--model-store", paramLabel = "PATH",
      description = "Model store mount to test for read and write (check 10; skipped when absent).")
  Path modelStore;

  @Option(names = "--repair-script", paramLabel = "PATH",
      description = "Repair script to test (check 11; default: the first word of each node's repair.command).")
  Path repairScript;

  @Option(names = "--concurrency", paramLabel = "N",
      description = "Concurrent requests per model in the load run (default: ${DEFAULT-VALUE}).")
  int concurrency = DoctorSettings.DEFAULT_CONCURRENCY;

  @Option(names = "--max-memory-percent", paramLabel = "P", description = "Check 3 limit (default: ${DEFAULT-VALUE}).")
  double maxMemoryPercent = DoctorSettings.DEFAULT_MEMORY_MAX_PERCENT;

  @Option(names = "--max-error-percent", paramLabel = "P", description = "Check 5 limit (default: ${DEFAULT-VALUE}).")
  double maxErrorPercent = DoctorSettings.DEFAULT_ERROR_RATE_MAX_PERCENT;

  @Option(names = "--p95-24gb", paramLabel = "SECONDS",
      description = "Check 6 limit on GPUs under 40 GB (default: ${DEFAULT-VALUE}).")
  double p95Small = DoctorSettings.DEFAULT_P95_SMALL_GPU.toMillis() / 1000.0;

  @Option(names = "--p95-40gb", paramLabel = "SECONDS",
      description = "Check 6 limit on GPUs of 40 GB and more (default: ${DEFAULT-VALUE}).")
  double p95Large = DoctorSettings.DEFAULT_P95_LARGE_GPU.toMillis() / 1000.0;

  @Option(names = "--json", description = "Print the results as JSON instead of a table.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    SluiceConfig c;
    try {
      c = ConfigLoader.loadDetailed(config).config();
    } catch (ConfigException e) {
      e.problems().forEach(System.err::println);
      System.err.println("sluice doctor: fix the config above (" + config + ")");
      return Main.EXIT_BAD_CONFIG;
    }
    DoctorSettings settings = settings(concurrency, maxMemoryPercent, maxErrorPercent, p95Small, p95Large);
    URI gw = gateway != null ? gateway : Doctor.gatewayOf(c);
    URI admin = adminUrl != null ? adminUrl : Doctor.adminOf(c, gw);
    System.err.println("sluice doctor: checking the gateway at " + gw + (admin.equals(gw) ? "" : " (admin " + admin
        + ")") + " and the nodes of " + config);
    DoctorReport report = new Doctor(settings).run(new Doctor.Target(c, gw, admin,
        Main.secret(adminTokenFile, "SLUICE_ADMIN_TOKEN"), Main.secret(tokenFile, "SLUICE_TOKEN"), modelStore, repairScript));
    if (report.refusal() != null) { // measuring another gateway than the config's would report on the wrong fleet
      if (json) System.out.println(report.json());
      System.err.println("sluice doctor: refusing to check: " + report.refusal());
      return Main.EXIT_BAD_CONFIG;
    }
    System.out.println(json ? report.json() : report.table());
    return report.passed() ? 0 : Main.EXIT_CHECKS_FAILED;
  }

  static DoctorSettings settings(int concurrency, double memory, double errors, double p95Small, double p95Large) {
    return DoctorSettings.defaults().withConcurrency(concurrency).withThresholds(memory, errors,
        Duration.ofMillis(Math.round(p95Small * 1000)), Duration.ofMillis(Math.round(p95Large * 1000)));
  }
}
