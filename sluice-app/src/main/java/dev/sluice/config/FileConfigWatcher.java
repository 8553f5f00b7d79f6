package dev.sluice.config;

import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hot reload: polls a config file and swaps the {@link ConfigHolder}'s snapshot when the file's content changes to a
 * valid config. An invalid or unreadable file keeps the running config and is logged once per distinct content.
 *
 * <p>Compares content rather than modification time: editors that write in place within one mtime tick would
 * otherwise be missed. Reading and parsing run on a worker thread, so swap listeners run there too.
 */
public final class FileConfigWatcher {
  /** 1 s: a reload is a human action; a one-second delay is unnoticeable and re-reading a small file is free. */
  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);

  private static final Logger log = LoggerFactory.getLogger(FileConfigWatcher.class);

  private final Vertx vertx;
  private final Path file;
  private final ConfigHolder holder;
  private final Duration pollInterval;
  private final AtomicLong reloads = new AtomicLong();
  private final AtomicLong rejections = new AtomicLong();
  /** Set while a poll runs, so a slow disk never stacks up polls. */
  private final AtomicBoolean polling = new AtomicBoolean();

  // Touched only by the poll in flight (one at a time, guarded by `polling`); volatile for visibility across workers.
  private volatile String lastSeen;
  private volatile boolean unreadableReported;
  private long timerId = -1;

  public FileConfigWatcher(Vertx vertx, Path file, ConfigHolder holder) {
    this(vertx, file, holder, DEFAULT_POLL_INTERVAL);
  }

  public FileConfigWatcher(Vertx vertx, Path file, ConfigHolder holder, Duration pollInterval) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.file = Objects.requireNonNull(file, "file");
    this.holder = Objects.requireNonNull(holder, "holder");
    this.pollInterval = Objects.requireNonNull(pollInterval, "pollInterval");
    if (pollInterval.toMillis() < 1) throw new IllegalArgumentException("pollInterval must be at least 1 ms");
  }

  /**
   * Remembers the file's current content as the one the running config came from, then starts polling. Call it
   * right after loading the config from the same file. The one read here is a small local file.
   */
  public synchronized void start() {
    if (timerId >= 0) return;
    lastSeen = readOrNull();
    timerId = vertx.setPeriodic(pollInterval.toMillis(), id -> pollAsync());
  }

  /** Stops polling; a poll already running finishes. Idempotent. */
  public synchronized void stop() {
    if (timerId < 0) return;
    vertx.cancelTimer(timerId);
    timerId = -1;
  }

  /** Valid changes applied since start. */
  public long reloads() {
    return reloads.get();
  }

  /** Changes not applied since start: invalid content, or the file becoming unreadable (counted once each). */
  public long rejections() {
    return rejections.get();
  }

  private void pollAsync() {
    if (!polling.compareAndSet(false, true)) return;
    vertx.executeBlocking(() -> {
          poll();
          return null;
        })
        .onComplete(ar -> {
          polling.set(false);
          if (ar.failed()) log.error("config poll of {} failed unexpectedly", file, ar.cause());
        });
  }

  private void poll() {
    String content;
    try {
      content = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      if (!unreadableReported) {
        unreadableReported = true;
        rejections.incrementAndGet();
        log.warn("config file {} cannot be read ({}), keeping the previous config", file, e.toString());
      }
      return;
    }
    unreadableReported = false;
    if (content.equals(lastSeen)) return;
    lastSeen = content;
    ConfigLoader.Result result;
    try {
      result = ConfigLoader.parseDetailed(content, file.toString());
    } catch (ConfigException e) {
      rejections.incrementAndGet();
      log.warn("config reload rejected, keeping the previous config:\n  {}", String.join("\n  ", e.problems()));
      return;
    }
    SluiceConfig next = result.config();
    holder.swap(next);
    reloads.incrementAndGet();
    log.info("config reloaded from {}: {} providers, {} nodes, {} models",
        file, next.providers().size(), next.nodes().size(), next.models().size());
    result.warnings().forEach(w -> log.info("{}", w));
  }

  private String readOrNull() {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return null;
    }
  }
}
