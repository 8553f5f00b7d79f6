package dev.sluice.server;

import dev.sluice.config.ConfigHolder;
import dev.sluice.config.SluiceConfig;
import dev.sluice.health.NodeState;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.testkit.TestCluster;
import io.vertx.core.Vertx;
import java.time.Duration;

/**
 * One more gateway replica in the test JVM, with its own Vertx and metrics, in front of a {@link TestCluster}'s
 * simulated nodes: several of them share the nodes (and a Redis) as replicas behind a load balancer would.
 */
final class Replica implements AutoCloseable {
  final SluiceMetrics metrics = new SluiceMetrics();
  final Vertx vertx = metrics.newVertx();
  final ConfigHolder configs;
  final Gateway gateway;

  Replica(SluiceConfig config) {
    configs = new ConfigHolder(config);
    gateway = new Gateway(vertx, configs, metrics, 1);
    try {
      TestCluster.await(gateway.start("127.0.0.1", 0));
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() ->
          gateway.registry().all().stream().allMatch(e -> e.health().state() == NodeState.READY));
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    }
  }

  String url(String path) {
    return "http://127.0.0.1:" + gateway.port() + path;
  }

  /** The Prometheus text this replica serves on {@code /metrics}. */
  String scrape() {
    return metrics.scrape();
  }

  @Override
  public void close() {
    try {
      TestCluster.await(gateway.close());
    } finally {
      TestCluster.await(vertx.close());
    }
  }
}
