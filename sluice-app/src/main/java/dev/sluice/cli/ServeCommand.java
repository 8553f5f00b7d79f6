package dev.sluice.cli;

import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigHolder;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.FileConfigWatcher;
import dev.sluice.config.SluiceConfig;
import dev.sluice.config.etcd.EtcdConfigSource;
import dev.sluice.config.etcd.EtcdUrl;
import dev.sluice.doctor.Doctor;
import dev.sluice.doctor.DoctorReport;
import dev.sluice.doctor.DoctorSettings;
import dev.sluice.doctor.Status;
import dev.sluice.health.NodeState;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.server.Gateway;
import dev.sluice.support.Clock;
import io.vertx.core.Vertx;
import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sluice serve --config sluice.json}: the gateway on a file config, reloaded when the file changes; or
 * {@code --config etcd://h1:2379,h2:2379/sluice}: on a config shared by replicas through etcd (see docs/etcd.md).
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Run the gateway on a JSON config file (hot-reloaded on change; an invalid file exits with code 2) "
        + "or on a config in etcd shared by several replicas (--config etcd://host:2379,host2:2379/sluice).")
public final class ServeCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

  @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE|etcd://HOST:PORT,…/PREFIX",
      description = "Config file (JSON), or an etcd URL: the config at <prefix>/config, watched for changes.")
  String config;

  @Option(names = "--state-dir", paramLabel = "DIR",
      description = "With an etcd config: where the last-known-good config and the gateway tokens are kept "
          + "(default: ${DEFAULT-VALUE}).")
  Path stateDir = Path.of("sluice-state");

  @Option(names = "--host", paramLabel = "ADDR", description = "Bind address (overrides server.host).")
  String host;

  @Option(names = {"-p", "--port"}, paramLabel = "PORT", description = "Port (overrides server.port; 0 = any free port).")
  Integer port;

  @Option(names = "--event-loops", paramLabel = "N",
      description = "Event loops serving requests (default: number of CPUs).")
  int eventLoops = Runtime.getRuntime().availableProcessors();

  @Option(names = "--production",
      description = "After start-up run the 12-point checklist (sluice doctor) against this gateway; when a check "
          + "fails, print the table, stop and exit with code 3.")
  boolean production;

  @Option(names = "--ready-wait", paramLabel = "SECONDS",
      description = "With --production: how long to wait for every node to turn READY first (default: ${DEFAULT-VALUE}).")
  int readyWaitSeconds = 60;

  @Option(names = "--admin-token-file", paramLabel = "FILE",
      description = "With --production: the admin token (default: the SLUICE_ADMIN_TOKEN environment variable).")
  Path adminTokenFile;

  @Option(names = "--token-file", paramLabel = "FILE",
      description = "With --production: a gateway token for the load run (default: SLUICE_TOKEN).")
  Path tokenFile;

  @Option(names = "--model-store", paramLabel = "PATH", description = "With --production: check 10's model store.")
  Path modelStore;

  @Option(names = "--repair-script", paramLabel = "PATH", description = "With --production: check 11's script.")
  Path repairScript;

  @Override
  public Integer call() throws Exception {
    if (EtcdUrl.isEtcd(config)) return callOnEtcd();
    Path file = Path.of(config);
    ConfigLoader.Result loaded;
    try {
      loaded = ConfigLoader.loadDetailed(file);
    } catch (ConfigException e) {
      e.problems().forEach(System.err::println);
      System.err.println("sluice: refusing to start: fix the config above (" + config + ")");
      return Main.EXIT_BAD_CONFIG;
    }
    loaded.warnings().forEach(w -> log.warn("{}", w));
    Running running;
    try {
      running = start(loaded, file, host, port, eventLoops);
    } catch (Exception e) {
      System.err.println(cannotStart(address(loaded.config(), host, port), e));
      return 1;
    }
    return serve(running, loaded.config());
  }

  /** {@code --config etcd://…}: start from etcd (or the last-known-good config), then follow etcd's changes. */
  private Integer callOnEtcd() throws Exception {
    EtcdUrl url;
    try {
      url = EtcdUrl.parse(config);
    } catch (IllegalArgumentException e) {
      System.err.println("sluice: --config " + e.getMessage());
      return Main.EXIT_BAD_CONFIG;
    }
    Running running;
    try {
      running = startOnEtcd(url, stateDir, host, port, eventLoops);
    } catch (ConfigException e) {
      e.problems().forEach(System.err::println);
      System.err.println("sluice: refusing to start: nothing to serve from " + url + " (see above)");
      return Main.EXIT_BAD_CONFIG;
    } catch (Exception e) {
      System.err.println(cannotStart(host != null || port != null ? (host != null ? host : "the config's host") + ":"
          + (port != null ? port : "the config's port") : "the config's server.host:server.port", e));
      return 1;
    }
    return serve(running, running.configs().current());
  }

  /** Runs the production checks when asked, then serves until the process is stopped. */
  private Integer serve(Running running, SluiceConfig config) throws Exception {
    if (production) {
      DoctorReport report = productionChecks(running, config);
      if (!report.passed()) {
        System.err.print(report.table());
        System.err.println("sluice: refusing production mode: fix the FAILed checks above");
        running.stop();
        return Main.EXIT_CHECKS_FAILED;
      }
      log.info("production mode: {}/{} checks passed ({})", report.results().size() - report.count(
          Status.FAIL), report.results().size(), report.summary());
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      running.stop();
      stopped.countDown();
    }, "sluice-shutdown"));
    stopped.await();
    return 0;
  }

  /** Waits (up to --ready-wait) for every node to be READY, then runs the doctor against this very gateway. */
  private DoctorReport productionChecks(Running running, SluiceConfig c)
      throws Exception {
    long deadline = Clock.SYSTEM.nanos() + TimeUnit.SECONDS.toNanos(readyWaitSeconds);
    while (Clock.SYSTEM.nanos() < deadline && !running.gateway().registry().all().stream()
        .allMatch(e -> e.health().snapshot().state() == NodeState.READY)) {
      Thread.sleep(200);
    }
    URI self = URI.create((c.server().tls() != null ? "https" : "http") + "://127.0.0.1:"
        + running.port());
    URI admin = c.admin().separateListener()
        ? URI.create("http://127.0.0.1:" + running.gateway().adminPort()) : self;
    return new Doctor(DoctorSettings.defaults()).run(
        new Doctor.Target(c, self, admin,
            Main.secret(adminTokenFile, "SLUICE_ADMIN_TOKEN"), Main.secret(tokenFile, "SLUICE_TOKEN"),
            modelStore, repairScript));
  }

  /** A started gateway with its config watcher (file or etcd); {@link #stop} undoes both. */
  record Running(Vertx vertx, Gateway gateway, ConfigHolder configs, Runnable stopWatching, int port) {
    void stop() {
      stopWatching.run();
      try {
        gateway.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
      } catch (Exception e) {
        log.warn("shutdown did not complete cleanly: {}", e.toString());
      }
    }
  }

  /** Starts a gateway on an already loaded config, watching {@code file} for changes. */
  static Running start(ConfigLoader.Result loaded, Path file, String hostOverride, Integer portOverride, int eventLoops)
      throws Exception {
    SluiceMetrics metrics = new SluiceMetrics();
    Vertx vertx = metrics.newVertx();
    ConfigHolder holder = new ConfigHolder(loaded.config());
    FileConfigWatcher watcher = new FileConfigWatcher(vertx, file, holder);
    metrics.bindConfigReloads(watcher::reloads, watcher::rejections);
    Gateway gateway = new Gateway(vertx, holder, metrics, eventLoops);
    int bound = listen(vertx, gateway, loaded.config(), hostOverride, portOverride);
    watcher.start();
    log.info("config {}: {} providers, {} nodes, {} models; watching it for changes", file,
        loaded.config().providers().size(), loaded.config().nodes().size(), loaded.config().models().size());
    return new Running(vertx, gateway, holder, watcher::stop, bound);
  }

  /**
   * Starts a gateway on the config in etcd at {@code url} (or, with etcd unreachable, the last-known-good config in
   * {@code stateDir}) and follows etcd's changes.
   *
   * @throws ConfigException naming the fix when there is no config to serve
   */
  static Running startOnEtcd(EtcdUrl url, Path stateDir, String hostOverride, Integer portOverride, int eventLoops)
      throws Exception {
    SluiceMetrics metrics = new SluiceMetrics();
    Vertx vertx = metrics.newVertx();
    EtcdConfigSource source = new EtcdConfigSource(vertx, url, stateDir);
    ConfigLoader.Result loaded;
    try {
      loaded = source.load();
    } catch (ConfigException e) {
      vertx.close();
      throw e;
    }
    loaded.warnings().forEach(w -> log.warn("{}", w));
    ConfigHolder holder = new ConfigHolder(loaded.config());
    metrics.bindConfigReloads(source::reloads, source::rejections);
    metrics.bindConfigSource("etcd", source::up, source::configRevision);
    Gateway gateway = new Gateway(vertx, holder, metrics, eventLoops);
    gateway.sharedConfig(url.toString());
    int bound = listen(vertx, gateway, loaded.config(), hostOverride, portOverride);
    source.start(holder);
    log.info("config from {} (state in {}): {} providers, {} nodes, {} models; watching it for changes", url,
        stateDir.toAbsolutePath(), loaded.config().providers().size(), loaded.config().nodes().size(),
        loaded.config().models().size());
    return new Running(vertx, gateway, holder, source::close, bound);
  }

  private static int listen(Vertx vertx, Gateway gateway, SluiceConfig config, String hostOverride,
      Integer portOverride) throws Exception {
    String host = hostOverride != null ? hostOverride : config.server().host();
    int port = portOverride != null ? portOverride : config.server().port();
    try {
      return gateway.start(host, port).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      vertx.close(); // nothing may keep running after a failed start
      throw e;
    }
  }

  /** Where the gateway listens: --host/--port over server.host/server.port ("127.0.0.1:8080"). */
  static String address(SluiceConfig config, String hostOverride, Integer portOverride) {
    return (hostOverride != null ? hostOverride : config.server().host()) + ":"
        + (portOverride != null ? portOverride : config.server().port());
  }

  /**
   * Why the gateway did not start, naming the address: "sluice: cannot start the gateway on 127.0.0.1:8080: Address
   * already in use (another process listens there: stop it, or pick another port with --port)".
   */
  static String cannotStart(String address, Exception e) {
    String why = rootMessage(e);
    String hint = why.startsWith("server.tls") ? ""
        : why.toLowerCase(Locale.ROOT).contains("in use")
            ? " (another process listens there: stop it, or pick another port with --port)"
            : " (check --host/--port or server.host/server.port)";
    return "sluice: cannot start the gateway on " + address + ": " + why + hint;
  }

  /** The innermost cause's message: what a user needs to read ("Address already in use"). */
  static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null) t = t.getCause();
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }
}
