package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileConfigWatcherTest {
  private static final Duration POLL = Duration.ofMillis(50);
  /** Several poll intervals: long enough that a repeated reload or log would have happened. */
  private static final Duration QUIET = Duration.ofMillis(300);

  private static final String ONE_PROVIDER =
      "{\"providers\": {\"a\": {\"baseUrl\": \"http://a:1\", \"models\": [{\"id\": \"m\"}]}}}";
  private static final String TWO_PROVIDERS = "{\"providers\": {"
      + "\"a\": {\"baseUrl\": \"http://a:1\", \"models\": [{\"id\": \"m\"}]},"
      + "\"b\": {\"baseUrl\": \"http://b:1\", \"models\": [{\"id\": \"m\"}]}}}";
  private static final String INVALID = "{\"providers\": {\"a\": {\"baseUrl\": \"a:1\", \"models\": [{\"id\": \"m\"}]}}}";

  @TempDir Path dir;
  private Vertx vertx;
  private Path file;
  private ConfigHolder holder;
  private FileConfigWatcher watcher;

  @BeforeEach
  void startWatching() throws Exception {
    vertx = Vertx.vertx();
    file = dir.resolve("sluice.json");
    write(ONE_PROVIDER);
    holder = new ConfigHolder(ConfigLoader.load(file));
    watcher = new FileConfigWatcher(vertx, file, holder, POLL);
    watcher.start();
  }

  @AfterEach
  void stopWatching() {
    watcher.stop();
    vertx.close().await();
  }

  @Test
  void swapsTheConfigWhenTheFileChangesToAValidOne() throws Exception {
    write(TWO_PROVIDERS);

    await().atMost(Duration.ofSeconds(5)).until(() -> holder.current().providers().size() == 2);
    assertThat(watcher.reloads()).isEqualTo(1);
    assertThat(watcher.rejections()).isZero();
    assertThat(holder.current().source()).isEqualTo(file.toString());
  }

  @Test
  void keepsThePreviousConfigWhenTheFileChangesToAnInvalidOneAndCountsItOnce() throws Exception {
    SluiceConfig before = holder.current();

    write(INVALID);

    await().atMost(Duration.ofSeconds(5)).until(() -> watcher.rejections() == 1);
    await().during(QUIET).atMost(QUIET.multipliedBy(3)).until(() -> watcher.rejections() == 1);
    assertThat(holder.current()).isSameAs(before);
    assertThat(watcher.reloads()).isZero();

    write(TWO_PROVIDERS);

    await().atMost(Duration.ofSeconds(5)).until(() -> holder.current().providers().size() == 2);
    assertThat(watcher.reloads()).isEqualTo(1);
  }

  @Test
  void doesNotReloadWhenTheFileIsRewrittenWithTheSameContent() throws Exception {
    SluiceConfig before = holder.current();

    write(ONE_PROVIDER);

    await().during(QUIET).atMost(QUIET.multipliedBy(3)).until(() -> watcher.reloads() == 0);
    assertThat(holder.current()).isSameAs(before);
  }

  @Test
  void keepsThePreviousConfigWhileTheFileIsMissingAndReloadsWhenItReturns() throws Exception {
    SluiceConfig before = holder.current();

    Files.delete(file);

    await().atMost(Duration.ofSeconds(5)).until(() -> watcher.rejections() == 1);
    await().during(QUIET).atMost(QUIET.multipliedBy(3)).until(() -> watcher.rejections() == 1);
    assertThat(holder.current()).isSameAs(before);

    write(TWO_PROVIDERS);

    await().atMost(Duration.ofSeconds(5)).until(() -> holder.current().providers().size() == 2);
  }

  @Test
  void stopsReloadingAfterStop() throws Exception {
    watcher.stop();

    write(TWO_PROVIDERS);

    await().during(QUIET).atMost(QUIET.multipliedBy(3)).until(() -> holder.current().providers().size() == 1);
    assertThat(watcher.reloads()).isZero();
  }

  private void write(String content) throws Exception {
    Files.writeString(file, content, StandardCharsets.UTF_8);
  }
}
