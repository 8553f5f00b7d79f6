package dev.sluice.probe;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.RepairAction;
import dev.sluice.support.Clock;
import dev.sluice.support.Durations;
import dev.sluice.support.Json;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Self-healing: when a node turns DEGRADED, runs its {@link RepairAction} (a shell command with {@code /bin/sh -c} on a
 * worker thread, and/or a JSON webhook) at most once per DEGRADED episode, then hands the node back to the warm-up
 * path. An episode lasts from turning DEGRADED until READY again (DEGRADED → WARMING → DEGRADED is one episode).
 *
 * <p>Backoff per node: the first repair of a streak runs at once; each further one waits at least
 * {@link Settings#minGap()} after the previous one, doubling up to {@link Settings#maxGap()} (a repair due earlier is
 * deferred to then, and dropped if the node is READY meanwhile). A node READY for {@link Settings#forgiveAfter()}
 * starts a new streak.
 */
public final class RepairRunner {
  private static final Logger log = LoggerFactory.getLogger(RepairRunner.class);

  /** The brief's script restarts Ollama, waits for it and warms a model: a minute or two; longer means it hangs. */
  public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(120);
  /** A restart takes ~30 s to show effect (the brief: mean recovery 23 s); repairing again sooner only thrashes. */
  public static final Duration DEFAULT_MIN_GAP = Duration.ofSeconds(30);
  /** A node that keeps failing is still repaired every 10 minutes, in case its cause went away. */
  public static final Duration DEFAULT_MAX_GAP = Duration.ofMinutes(10);
  /** 10 minutes READY: whatever was wrong is fixed, a new failure starts a new streak at once. */
  public static final Duration DEFAULT_FORGIVE_AFTER = Duration.ofMinutes(10);
  /** A webhook receiver only enqueues the event; 10 s is generous. */
  public static final Duration DEFAULT_WEBHOOK_TIMEOUT = Duration.ofSeconds(10);
  /** Repair commands running at once (one per node; a whole rack failing must not exhaust the worker pool). */
  static final int MAX_CONCURRENT_COMMANDS = 4;
  /** Command output kept for the log. */
  static final int MAX_OUTPUT_CHARS = 2_000;

  /**
   * @param commandTimeout a repair command still running after this is killed (with its children)
   * @param minGap least time between two repairs of one node in a streak (doubles per repair)
   * @param maxGap cap on that gap
   * @param forgiveAfter time READY after which the next failure starts a new streak
   * @param webhookTimeout the webhook POST must complete within this
   */
  public record Settings(Duration commandTimeout, Duration minGap, Duration maxGap, Duration forgiveAfter,
      Duration webhookTimeout) {
    public Settings {
      Objects.requireNonNull(commandTimeout, "commandTimeout");
      Objects.requireNonNull(minGap, "minGap");
      Objects.requireNonNull(maxGap, "maxGap");
      Objects.requireNonNull(forgiveAfter, "forgiveAfter");
      Objects.requireNonNull(webhookTimeout, "webhookTimeout");
    }

    public static Settings defaults() {
      return new Settings(DEFAULT_COMMAND_TIMEOUT, DEFAULT_MIN_GAP, DEFAULT_MAX_GAP, DEFAULT_FORGIVE_AFTER,
          DEFAULT_WEBHOOK_TIMEOUT);
    }

    /** Gap required before the next repair after {@code runs} repairs in the streak (runs ≥ 1). */
    public Duration gapAfter(int runs) {
      Duration d = minGap;
      for (int i = 1; i < runs && d.compareTo(maxGap) < 0; i++) d = d.multipliedBy(2);
      return d.compareTo(maxGap) > 0 ? maxGap : d;
    }
  }

  private final Vertx vertx;
  private final Clock clock;
  private final Settings settings;
  private final Consumer<String> afterRepair;
  private final Map<String, NodeRepairs> byNode = new HashMap<>();
  private WorkerExecutor workers;
  private HttpClient webhooks;

  /**
   * @param clock the health clock
   * @param afterRepair called with the node id once a repair finished (whatever its outcome): start the warm-up
   */
  public RepairRunner(Vertx vertx, Clock clock, Settings settings, Consumer<String> afterRepair) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.afterRepair = Objects.requireNonNull(afterRepair, "afterRepair");
  }

  /** Repairs started for {@code nodeId} since it was registered. */
  public synchronized int runs(String nodeId) {
    NodeRepairs r = byNode.get(nodeId);
    return r == null ? 0 : r.total;
  }

  /** The node turned DEGRADED: repair it now, later (backoff), or not (already repaired in this episode). */
  public synchronized void onDegraded(NodeSpec spec, String reason) {
    if (spec.repair() == null) return;
    NodeRepairs r = byNode.computeIfAbsent(spec.id(), k -> new NodeRepairs());
    if (r.inEpisode) return;
    long now = clock.millis();
    r.inEpisode = true;
    if (r.readySince > 0 && now - r.readySince >= settings.forgiveAfter().toMillis()) r.streak = 0;
    r.readySince = 0;
    if (r.streak == 0) {
      run(spec, reason, r);
      return;
    }
    long due = r.lastRunAt + settings.gapAfter(r.streak).toMillis();
    if (now >= due) {
      run(spec, reason, r);
      return;
    }
    log.info("repair of {} deferred by {} s (backoff after {} repair(s) in a row)", spec.id(),
        Durations.ceilSeconds(due - now), r.streak);
    r.deferTimer = vertx.setTimer(due - now, id -> {
      synchronized (this) {
        r.deferTimer = -1;
        if (r.inEpisode && byNode.get(spec.id()) == r) run(spec, reason, r);
      }
    });
  }

  /** The node is READY: its episode ends (a deferred repair is dropped). */
  public synchronized void onReady(String nodeId) {
    NodeRepairs r = byNode.get(nodeId);
    if (r == null) return;
    r.inEpisode = false;
    r.readySince = Math.max(1, clock.millis());
    if (r.deferTimer >= 0) vertx.cancelTimer(r.deferTimer);
    r.deferTimer = -1;
  }

  /** The node was removed from the config. */
  public synchronized void forget(String nodeId) {
    NodeRepairs r = byNode.remove(nodeId);
    if (r != null && r.deferTimer >= 0) vertx.cancelTimer(r.deferTimer);
  }

  private void run(NodeSpec spec, String reason, NodeRepairs r) {
    r.streak++;
    r.total++;
    r.lastRunAt = clock.millis();
    RepairAction a = spec.repair();
    Future<Void> cmd = a.command() == null || a.command().isBlank() ? Future.succeededFuture() : command(spec, reason);
    Future<Void> hook = a.webhook() == null ? Future.succeededFuture() : webhook(spec, reason);
    Future.join(cmd, hook).onComplete(x -> afterRepair.accept(spec.id()));
  }

  private synchronized WorkerExecutor workers() {
    if (workers == null) {
      workers = vertx.createSharedWorkerExecutor("sluice-repair", MAX_CONCURRENT_COMMANDS,
          settings.commandTimeout().toMillis() + 10_000, TimeUnit.MILLISECONDS);
    }
    return workers;
  }

  private Future<Void> command(NodeSpec spec, String reason) {
    String command = spec.repair().command();
    long timeoutMs = settings.commandTimeout().toMillis();
    return workers().executeBlocking(() -> {
      long started = clock.nanos();
      File out = File.createTempFile("sluice-repair-", ".log");
      try {
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", command).redirectErrorStream(true)
            .redirectOutput(out).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("SLUICE_NODE_ID", spec.id());
        pb.environment().put("SLUICE_NODE_URL", spec.root().toString());
        pb.environment().put("SLUICE_NODE_REASON", reason == null ? "" : reason);
        Process p = pb.start();
        boolean done = p.waitFor(timeoutMs, TimeUnit.MILLISECONDS);
        if (!done) {
          p.descendants().forEach(ProcessHandle::destroyForcibly);
          p.destroyForcibly();
          p.waitFor(5, TimeUnit.SECONDS);
        }
        double secs = (clock.nanos() - started) / 1e9;
        String output = tail(out);
        String outcome = done ? "exit " + p.exitValue()
            : String.format(Locale.ROOT, "killed at its %.1f s timeout", timeoutMs / 1000.0);
        String line = String.format(Locale.ROOT, "repair of %s ran \"%s\": %s in %.1f s", spec.id(),
            ProbeHttp.truncate(command, 200), outcome, secs);
        if (done && p.exitValue() == 0) {
          log.info("{}{}", line, output.isEmpty() ? "" : "; output: " + output);
        } else {
          log.warn("{}{}", line, output.isEmpty() ? "" : "; output: " + output);
        }
        return null;
      } finally {
        Files.deleteIfExists(out.toPath());
      }
    }, false).<Void>mapEmpty().onFailure(e -> log.warn("repair of {} could not run \"{}\": {}", spec.id(),
        ProbeHttp.truncate(command, 200), e.toString()));
  }

  private static String tail(File f) throws IOException {
    String s = Files.readString(f.toPath(), StandardCharsets.UTF_8).strip();
    if (s.length() > MAX_OUTPUT_CHARS) s = "…" + s.substring(s.length() - MAX_OUTPUT_CHARS);
    return s;
  }

  private Future<Void> webhook(NodeSpec spec, String reason) {
    ObjectNode event = Json.MAPPER.createObjectNode()
        .put("node", spec.id())
        .put("url", spec.root().toString())
        .put("state", "DEGRADED")
        .put("reason", reason)
        .put("time", Instant.ofEpochMilli(clock.millis()).toString());
    long timeoutMs = settings.webhookTimeout().toMillis();
    HttpClient client;
    synchronized (this) {
      if (webhooks == null) webhooks = vertx.createHttpClient();
      client = webhooks;
    }
    return ProbeHttp.call(vertx, client, HttpMethod.POST, spec.repair().webhook(), null, event.toString(), timeoutMs)
        .transform(ar -> {
          if (ar.succeeded() && ar.result().ok()) {
            log.info("repair webhook of {} posted to {}: HTTP {}", spec.id(), safe(spec.repair().webhook()),
                ar.result().status());
          } else {
            log.warn("repair webhook of {} to {} failed: {}", spec.id(), safe(spec.repair().webhook()),
                ar.succeeded() ? ProbeHttp.httpWhy(ar.result()) : ProbeHttp.why(ar.cause(), timeoutMs));
          }
          return Future.succeededFuture();
        });
  }

  /** The webhook's scheme, host and port only: its path or query may carry a token. */
  private static String safe(URI u) {
    return u.getScheme() + "://" + u.getHost() + (u.getPort() > 0 ? ":" + u.getPort() : "");
  }

  private static final class NodeRepairs {
    boolean inEpisode;
    int streak;
    int total;
    long lastRunAt;
    long readySince;
    long deferTimer = -1;
  }
}
