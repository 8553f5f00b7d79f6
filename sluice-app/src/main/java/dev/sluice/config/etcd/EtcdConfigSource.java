package dev.sluice.config.etcd;

import dev.sluice.auth.ApiKeys;
import dev.sluice.auth.KeyFile;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigHolder;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import dev.sluice.support.Clock;
import dev.sluice.support.Json;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A gateway's config from etcd ({@code sluice serve --config etcd://h1:2379,h2:2379/sluice}).
 *
 * <p>{@link #load} reads {@code <prefix>/config} and {@code <prefix>/keys} once, blocking, for start-up: the config is
 * validated with {@link ConfigLoader}, the keys are mirrored into {@code <state-dir>/keys.json} (which the config's
 * {@code auth.keysFile} is pointed at, so the gateway's keys-file polling picks tokens up) and the config is saved as
 * {@code <state-dir>/etcd-last-known-good.json}. With etcd unreachable the saved config is served instead.
 *
 * <p>{@link #start} then watches the prefix from the revision read on. Each change is validated and swapped into the
 * {@link ConfigHolder} atomically; an invalid one is rejected with one WARN line naming its revision and problems and
 * the previous config keeps serving. A heartbeat (a linearizable count every second) checks that the watched member
 * still has a quorum. When the watch or the heartbeat fails, the source re-reads the whole prefix from the next member
 * that answers and watches again from there; while no member answers it serves what it has, logs one WARN per outage,
 * retries with a backoff from 250 ms doubling to 2 s, and logs INFO when etcd is back. A watch cancelled because its
 * start revision was compacted also leads to a full re-read.
 *
 * <p>Threading: the watch, heartbeat and reconnects run on one Vert.x context; validation, file writes and swaps run
 * on worker threads, one at a time in arrival order, so swap listeners run there.
 */
public final class EtcdConfigSource implements AutoCloseable {
  public static final String LAST_KNOWN_GOOD_FILE = "etcd-last-known-good.json";
  public static final String KEYS_FILE = "keys.json";
  /** The first retry comes quickly: a killed member's clients usually find another one at once. */
  static final Duration BACKOFF_START = Duration.ofMillis(250);
  /** Retries at least every 2 s, so the gateway is back on etcd within seconds of a quorum returning (RTO < 10 s). */
  static final Duration BACKOFF_MAX = Duration.ofSeconds(2);
  /** A member that lost its quorum keeps its watch streams open but silent: a read each second notices. */
  static final Duration HEARTBEAT = Duration.ofSeconds(1);

  private static final Logger log = LoggerFactory.getLogger(EtcdConfigSource.class);
  private static final String EMPTY_KEYS = "{\"keys\":[]}";

  private final Vertx vertx;
  private final Clock clock;
  private final EtcdUrl url;
  private final Path stateDir;
  private final Path keysFile;
  private final Path lastKnownGoodFile;
  private final AtomicLong reloads = new AtomicLong();
  private final AtomicLong rejections = new AtomicLong();

  // Touched on the context only.
  private EtcdClient client;
  private Context context;
  private ConfigHolder holder;
  private EtcdClient.Watch watch;
  /** Bumped by every (re)connect: callbacks of an older connection are ignored. */
  private long generation;
  /** etcd's state as last read or watched: the two keys (null = absent) and the store revision it reflects. */
  private EtcdJson.KeyValue etcdConfig;
  private EtcdJson.KeyValue etcdKeys;
  private volatile long watchedRevision;
  private long backoffMillis = BACKOFF_START.toMillis();
  private boolean heartbeatInFlight;
  private long heartbeatTimer = -1;
  private boolean suspended;
  private volatile boolean closed;

  // Written by the apply step (one at a time on workers), read by gauges and tests.
  private volatile boolean up;
  private volatile long configRevision;
  private volatile String appliedConfigText;
  private volatile String rejectedConfigText;
  private volatile String appliedKeysText;
  /** Set from the first failure of an outage to the reconnect, so the outage is logged once. */
  private volatile long outageSinceNanos = -1;

  public EtcdConfigSource(Vertx vertx, EtcdUrl url, Path stateDir) {
    this(vertx, url, stateDir, Clock.SYSTEM);
  }

  /** As above, with {@code clock} timing outages and stamping the last-known-good file. */
  EtcdConfigSource(Vertx vertx, EtcdUrl url, Path stateDir, Clock clock) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.url = Objects.requireNonNull(url, "url");
    this.stateDir = Objects.requireNonNull(stateDir, "stateDir").toAbsolutePath();
    this.keysFile = this.stateDir.resolve(KEYS_FILE);
    this.lastKnownGoodFile = this.stateDir.resolve(LAST_KNOWN_GOOD_FILE);
  }

  /** The source name of configs from {@code url}: named in messages; relative paths resolve from the working dir. */
  public static String sourceName(EtcdUrl url) {
    return url + "/config";
  }

  /**
   * Reads the config for start-up, blocking: from etcd when a member answers, else from the last-known-good file.
   *
   * @throws ConfigException naming the fix when there is nothing to serve: no config in etcd, an invalid one and no
   *     saved one, or etcd unreachable and no saved one
   */
  public ConfigLoader.Result load() throws ConfigException {
    try {
      Files.createDirectories(stateDir);
    } catch (IOException e) {
      throw new ConfigException(List.of("--state-dir " + stateDir + ": cannot be created (" + e.getMessage()
          + "); choose a writable directory"));
    }
    EtcdJson.Range range;
    try (EtcdConfigStore store = EtcdConfigStore.open(url)) {
      range = store.snapshot();
    } catch (EtcdUnavailableException e) {
      return fromLastKnownGood("etcd unreachable (" + e.reasons() + ")");
    } catch (IOException e) {
      return fromLastKnownGood("etcd answered unexpectedly (" + e.getMessage() + ")");
    }
    up = true;
    etcdConfig = range.get(url.configKey());
    etcdKeys = range.get(url.keysKey());
    watchedRevision = range.revision();
    if (etcdConfig == null) {
      throw new ConfigException(List.of("etcd: no config at " + url.configKey() + " in " + url + " (push one: "
          + "sluice config push --file sluice.json --etcd " + url + ")"));
    }
    applyKeys(etcdKeys, range.revision());
    ConfigLoader.Result result;
    try {
      result = parse(etcdConfig.value());
    } catch (ConfigException e) {
      rejectedConfigText = etcdConfig.value();
      return fromLastKnownGood("the config at revision " + etcdConfig.modRevision() + " in etcd is invalid ("
          + String.join("; ", e.problems()) + ")");
    }
    accepted(etcdConfig, result.config());
    log.info("config revision {} from {}: {} providers, {} nodes, {} models", etcdConfig.modRevision(), url,
        result.config().providers().size(), result.config().nodes().size(), result.config().models().size());
    return result;
  }

  private ConfigLoader.Result fromLastKnownGood(String why) throws ConfigException {
    Optional<LastKnownGood.Saved> saved;
    try {
      saved = LastKnownGood.read(lastKnownGoodFile);
    } catch (IOException e) {
      throw new ConfigException(List.of(why + " and the last-known-good config cannot be used: " + e.getMessage()));
    }
    if (saved.isEmpty()) {
      throw new ConfigException(List.of(why + ", and no last-known-good config in " + lastKnownGoodFile
          + ": start etcd and push a config (sluice config push --file sluice.json --etcd " + url + ")"));
    }
    ConfigLoader.Result result;
    try {
      result = parse(saved.get().text());
    } catch (ConfigException e) {
      List<String> problems = new ArrayList<>(e.problems());
      problems.add(why + ", and the last-known-good config in " + lastKnownGoodFile + " is no longer valid (above); "
          + "start etcd with a valid config (sluice config push --file sluice.json --etcd " + url + ")");
      throw new ConfigException(problems);
    }
    appliedConfigText = saved.get().text();
    configRevision = saved.get().revision();
    if (!up) outageSinceNanos = clock.nanos();
    log.warn("{}: serving last-known-good config from revision {} (saved {}) in {}", why, saved.get().revision(),
        saved.get().savedAt(), lastKnownGoodFile);
    return result;
  }

  /** The config in {@code text} with its tokens read from the mirrored keys file. */
  private ConfigLoader.Result parse(String text) throws ConfigException {
    ConfigLoader.Result r = ConfigLoader.parseDetailed(text, sourceName(url));
    SluiceConfig c = r.config();
    return new ConfigLoader.Result(c.withAuth(c.auth().withKeysFile(keysFile)), r.warnings());
  }

  /**
   * Starts watching etcd and applying changes to {@code holder} (which serves the config {@link #load} returned).
   * Returns at once; the first connection is made in the background when etcd was down at load.
   */
  public synchronized void start(ConfigHolder holder) {
    Objects.requireNonNull(holder, "holder");
    if (this.holder != null) throw new IllegalStateException("already started");
    this.holder = holder;
    this.client = new EtcdClient(vertx, url);
    this.context = vertx.getOrCreateContext();
    context.runOnContext(v -> {
      heartbeatTimer = vertx.setPeriodic(HEARTBEAT.toMillis(), id -> heartbeat());
      if (up) {
        startWatch(++generation, watchedRevision + 1);
      } else {
        connect(++generation);
      }
    });
  }

  // ------------------------------------------------------------------ on the context

  /** A full read of the prefix (failing over across members), then a watch from the revision read. */
  private void connect(long gen) {
    if (closed || suspended || gen != generation) return;
    cancelWatch();
    client.post(EtcdJson.RANGE, EtcdJson.rangePrefix(url.keyPrefix())).onComplete(ar -> {
      if (closed || gen != generation) return;
      if (ar.failed()) {
        down(ar.cause() instanceof EtcdUnavailableException u ? u.reasons() : ar.cause().getMessage());
        long delay = backoffMillis;
        backoffMillis = Math.min(backoffMillis * 2, BACKOFF_MAX.toMillis());
        vertx.setTimer(delay, id -> connect(gen));
        return;
      }
      backoffMillis = BACKOFF_START.toMillis();
      EtcdJson.Range range = EtcdJson.range(ar.result());
      etcdConfig = range.get(url.configKey());
      etcdKeys = range.get(url.keysKey());
      watchedRevision = range.revision();
      submit(range.revision());
      reachable();
      startWatch(gen, range.revision() + 1);
    });
  }

  private void startWatch(long gen, long fromRevision) {
    if (closed || suspended || gen != generation) return;
    cancelWatch();
    watch = client.watch(url.keyPrefix(), fromRevision, m -> {
      if (gen == generation) onWatchMessage(gen, m);
    }, e -> {
      if (closed || gen != generation) return;
      log.info("etcd watch on {} ended ({}): re-reading {}", EtcdConfigStore.hostPort(client.current()),
          e.getMessage(), url.keyPrefix());
      connect(++generation);
    });
  }

  private void onWatchMessage(long gen, EtcdJson.WatchMessage m) {
    if (m.canceled()) {
      if (m.compactRevision() > 0) {
        log.info("etcd watch from revision {} cancelled: history compacted up to revision {}; re-reading {}",
            watchedRevision + 1, m.compactRevision(), url.keyPrefix());
      } else {
        log.info("etcd watch cancelled ({}); re-reading {}", m.cancelReason(), url.keyPrefix());
      }
      connect(++generation);
      return;
    }
    if (m.events().isEmpty()) return;
    boolean changed = false;
    for (EtcdJson.KeyValue kv : m.events()) {
      if (kv.modRevision() <= watchedRevision) continue; // already seen in a read
      if (kv.key().equals(url.configKey())) {
        etcdConfig = kv.value() == null ? null : kv;
        changed = true;
      } else if (kv.key().equals(url.keysKey())) {
        etcdKeys = kv.value() == null ? null : kv;
        changed = true;
      }
    }
    watchedRevision = Math.max(watchedRevision, m.revision());
    if (changed) submit(watchedRevision);
  }

  private void heartbeat() {
    if (closed || suspended || watch == null || heartbeatInFlight) return;
    long gen = generation;
    heartbeatInFlight = true;
    client.postCurrent(EtcdJson.RANGE, EtcdJson.countPrefix(url.keyPrefix())).onComplete(ar -> {
      heartbeatInFlight = false;
      if (ar.succeeded() || closed || gen != generation) return;
      log.info("etcd member {} does not answer reads {}: trying the others",
          EtcdConfigStore.hostPort(client.current()), EtcdClient.reason(ar.cause()));
      connect(++generation);
    });
  }

  private void cancelWatch() {
    if (watch != null) watch.cancel();
    watch = null;
  }

  /** Applies etcd's state as now known, on a worker, after every apply submitted before it. */
  private void submit(long revision) {
    EtcdJson.KeyValue config = etcdConfig;
    EtcdJson.KeyValue keys = etcdKeys;
    context.executeBlocking(() -> {
      apply(config, keys, revision);
      return null;
    }, true).onFailure(e -> log.error("applying etcd revision {} failed unexpectedly", revision, e));
  }

  private void down(String reason) {
    up = false;
    if (outageSinceNanos >= 0) return;
    outageSinceNanos = clock.nanos();
    log.warn("etcd unreachable ({}): serving last-known-good config from revision {}; retrying every {} ms at most",
        reason, configRevision, BACKOFF_MAX.toMillis());
  }

  private void reachable() {
    up = true;
    long since = outageSinceNanos;
    if (since < 0) return;
    outageSinceNanos = -1;
    log.info("etcd reachable again at {} after {} ms; re-read {} at revision {}",
        EtcdConfigStore.hostPort(client.current()), (clock.nanos() - since) / 1_000_000, url.keyPrefix(),
        watchedRevision);
  }

  // ------------------------------------------------------------------ on a worker, one at a time

  private synchronized void apply(EtcdJson.KeyValue config, EtcdJson.KeyValue keys, long revision) {
    if (closed) return;
    applyKeys(keys, revision);
    if (config == null) {
      if (rejectedConfigText != null && rejectedConfigText.isEmpty()) return;
      rejectedConfigText = "";
      rejections.incrementAndGet();
      log.warn("etcd: {} was deleted (revision {}); keeping config revision {} (push one: sluice config push --file "
          + "sluice.json --etcd {})", url.configKey(), revision, configRevision, url);
      return;
    }
    String text = config.value();
    if (sameJson(text, appliedConfigText)) {
      configRevision = config.modRevision();
      return;
    }
    if (text.equals(rejectedConfigText)) return;
    ConfigLoader.Result result;
    try {
      result = parse(text);
    } catch (ConfigException e) {
      rejectedConfigText = text;
      rejections.incrementAndGet();
      log.warn("etcd config change at revision {} rejected, keeping revision {}: {}", config.modRevision(),
          configRevision, String.join("; ", e.problems()));
      return;
    }
    accepted(config, result.config());
    holder.swap(result.config());
    reloads.incrementAndGet();
    SluiceConfig c = result.config();
    log.info("config revision {} from {} applied: {} providers, {} nodes, {} models", config.modRevision(), url,
        c.providers().size(), c.nodes().size(), c.models().size());
    result.warnings().forEach(w -> log.info("{}", w));
  }

  /** Whether two config texts hold the same JSON (the last-known-good file keeps it re-formatted). */
  private static boolean sameJson(String a, String b) {
    if (a.equals(b)) return true;
    if (b == null) return false;
    try {
      return Json.MAPPER.readTree(a).equals(Json.MAPPER.readTree(b));
    } catch (IOException e) {
      return false;
    }
  }

  /** Records {@code kv} as the config in force and saves it as the last-known-good. */
  private void accepted(EtcdJson.KeyValue kv, SluiceConfig config) {
    appliedConfigText = kv.value();
    rejectedConfigText = null;
    configRevision = kv.modRevision();
    try {
      LastKnownGood.write(lastKnownGoodFile, url.toString(), kv.value(), kv.modRevision(),
          Instant.ofEpochMilli(clock.millis()));
    } catch (IOException e) {
      log.warn("could not save the last-known-good config to {} ({}): a restart without etcd would not find it",
          lastKnownGoodFile, e.getMessage());
    }
  }

  /** Mirrors etcd's keys into the keys file when they changed; invalid keys keep the tokens in force. */
  private void applyKeys(EtcdJson.KeyValue keys, long revision) {
    String text = keys == null ? EMPTY_KEYS : keys.value();
    if (text.equals(appliedKeysText)) return;
    appliedKeysText = text;
    ApiKeys parsed;
    try {
      parsed = KeyFile.parse(text, "etcd " + url.keysKey() + " at revision " + revision + ": ");
    } catch (IOException e) {
      rejections.incrementAndGet();
      log.warn("{}; keeping the gateway tokens in force (fix it with sluice keys … --etcd {})", e.getMessage(), url);
      return;
    }
    try {
      KeyFile.write(keysFile, parsed);
    } catch (IOException e) {
      appliedKeysText = null; // try again with the next change or re-read
      log.warn("could not write the gateway tokens from etcd to {} ({}); keeping those in force", keysFile,
          e.getMessage());
    }
  }

  // ------------------------------------------------------------------ state

  /** Valid config changes applied since start. */
  public long reloads() {
    return reloads.get();
  }

  /** Changes not applied since start: invalid configs or keys, a deleted config. */
  public long rejections() {
    return rejections.get();
  }

  /** Whether the last contact with etcd succeeded. */
  public boolean up() {
    return up;
  }

  /** The etcd mod_revision of the config in force (from the last-known-good file while etcd was never reached). */
  public long configRevision() {
    return configRevision;
  }

  public EtcdUrl url() {
    return url;
  }

  /** The gateway tokens file this source mirrors etcd's keys into. */
  public Path keysFile() {
    return keysFile;
  }

  public Path lastKnownGoodFile() {
    return lastKnownGoodFile;
  }

  /** For tests: stops watching, as a replica cut off from etcd (no reconnects until {@link #resumeFrom}). */
  Future<Void> suspend() {
    Promise<Void> done = Promise.promise();
    context.runOnContext(v -> {
      suspended = true;
      generation++;
      cancelWatch();
      done.complete();
    });
    return done.future();
  }

  /** For tests: watches again from {@code revision}, as a replica whose watch stream resumed where it left off. */
  void resumeFrom(long revision) {
    context.runOnContext(v -> {
      suspended = false;
      startWatch(++generation, revision);
    });
  }

  /** The revision the watch has seen up to. */
  long watchedRevision() {
    return watchedRevision;
  }

  /** Stops watching and closes the client; the config in force stays. Idempotent. */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    if (context == null) return;
    context.runOnContext(v -> {
      cancelWatch();
      if (heartbeatTimer >= 0) vertx.cancelTimer(heartbeatTimer);
      client.close();
    });
  }
}
