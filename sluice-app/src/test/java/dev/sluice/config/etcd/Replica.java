package dev.sluice.config.etcd;

import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigHolder;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.server.Gateway;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import io.vertx.core.Vertx;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One in-process gateway replica on an etcd config, wired as {@code sluice serve --config etcd://…} wires it: its own
 * metrics, Vert.x, config holder, gateway, config source and state directory. Records when each config was swapped in.
 */
final class Replica implements AutoCloseable {
  /** A config swapped in, and when (System.nanoTime). */
  record Swap(long nanos, SluiceConfig config) {}

  final String name;
  final Path stateDir;
  final SluiceMetrics metrics = new SluiceMetrics();
  final Vertx vertx = metrics.newVertx();
  final EtcdConfigSource source;
  final ConfigHolder holder;
  final Gateway gateway;
  final List<Swap> swaps = new CopyOnWriteArrayList<>();

  private Replica(String name, String etcdUrl, Path stateDir) throws ConfigException {
    this.name = name;
    this.stateDir = stateDir;
    EtcdUrl url = EtcdUrl.parse(etcdUrl);
    source = new EtcdConfigSource(vertx, url, stateDir);
    ConfigLoader.Result loaded;
    try {
      loaded = source.load();
    } catch (ConfigException e) {
      vertx.close();
      throw e;
    }
    holder = new ConfigHolder(loaded.config());
    holder.onSwap(c -> swaps.add(new Swap(System.nanoTime(), c)));
    metrics.bindConfigReloads(source::reloads, source::rejections);
    metrics.bindConfigSource("etcd", source::up, source::configRevision);
    gateway = new Gateway(vertx, holder, metrics, 1);
    gateway.sharedConfig(url.toString());
    TestCluster.await(gateway.start("127.0.0.1", 0));
    source.start(holder);
  }

  static Replica start(String name, String etcdUrl, Path stateDir) throws ConfigException {
    return new Replica(name, etcdUrl, stateDir);
  }

  SluiceConfig config() {
    return holder.current();
  }

  String url(String path) {
    return "http://127.0.0.1:" + gateway.port() + path;
  }

  /** A real chat completion through this replica. */
  HttpResponse<String> chat(String model) {
    return Http.post(url("/v1/chat/completions"), "{\"model\":\"" + model
        + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}],\"max_tokens\":8}");
  }

  /** When the first config whose routing ttftBudget is {@code marker} seconds was swapped in; -1 if not yet. */
  long swappedAt(long marker) {
    for (Swap s : swaps) {
      if (s.config().routing().ttftBudget().toSeconds() == marker) return s.nanos();
    }
    return -1;
  }

  @Override
  public void close() {
    source.close();
    TestCluster.await(gateway.close());
    TestCluster.await(vertx.close());
  }
}
