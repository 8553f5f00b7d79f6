package dev.sluice.probe;

import dev.sluice.api.ApiFlavor;
import dev.sluice.config.ModelSpec;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.ProviderSpec;
import dev.sluice.config.RepairAction;
import dev.sluice.config.ServerSettings;
import dev.sluice.config.SluiceConfig;
import dev.sluice.config.Timeouts;
import dev.sluice.config.UpstreamSettings;
import dev.sluice.health.EjectionState;
import dev.sluice.health.HealthListener;
import dev.sluice.health.HealthPolicy;
import dev.sluice.health.NodeState;
import dev.sluice.node.NodeEntry;
import dev.sluice.node.NodeRegistry;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.support.Clock;
import dev.sluice.upstream.NodeClients;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/** One simulated node, a registry, clients and a prober over it, with short test timings. */
final class ProbeFixture implements AutoCloseable {
  static final String MODEL = "qwen3:32b";
  static final String NODE = "a10-01";

  /** Probe every 50 ms, 200 ms timeout, 3 failures → DEGRADED, 2 successes to recover, DOWN only after 1000. */
  static final HealthPolicy POLICY = new HealthPolicy(Duration.ofMillis(50), Duration.ofMillis(200), 0.1, 3, 1000, 2,
      10, 3, Duration.ofSeconds(30), Duration.ofSeconds(300), Duration.ofMinutes(10));

  /** A transition as the listener saw it, with the node's request counts at that moment. */
  record Seen(NodeState from, NodeState to, String reason, Map<String, Long> paths) {}

  final Vertx simVertx = Vertx.vertx();
  final Vertx vertx = Vertx.vertx();
  final SimNode sim;
  final SluiceConfig config;
  final NodeRegistry registry;
  final NodeClients clients;
  final Prober prober;
  final List<Seen> transitions = new CopyOnWriteArrayList<>();
  volatile Consumer<Seen> onTransition = s -> {};

  ProbeFixture(SimOptions sim, ModelSpec.GpuProfile gpu, RepairAction repair, RepairRunner.Settings repairs) {
    this(ApiFlavor.OLLAMA, sim, gpu, repair, repairs);
  }

  ProbeFixture(ApiFlavor api, SimOptions sim, ModelSpec.GpuProfile gpu, RepairAction repair,
      RepairRunner.Settings repairs) {
    this(api, sim, gpu, repair, repairs, UnaryOperator.identity());
  }

  /** {@code shape} changes the node as configured (its dialects, or another address than the simulated node's). */
  ProbeFixture(ApiFlavor api, SimOptions sim, ModelSpec.GpuProfile gpu, RepairAction repair,
      RepairRunner.Settings repairs, UnaryOperator<NodeSpec> shape) {
    this.sim = await(SimNode.start(simVertx, sim.withId(NODE).withModels(MODEL).withTimeScale(0)));
    NodeSpec node = shape.apply(new NodeSpec(NODE, URI.create(this.sim.baseUrl()),
        URI.create(this.sim.baseUrl() + "/v1"), api, "A10", URI.create(this.sim.baseUrl() + "/metrics"), Map.of(),
        null, "ollama", repair));
    config = new SluiceConfig(ServerSettings.defaults(), Timeouts.defaults(), UpstreamSettings.defaults(),
        List.of(new ProviderSpec("ollama", List.of(new ModelSpec(MODEL, MODEL, 24576, 4096, gpu)), List.of(node))),
        "test");
    Prober[] self = new Prober[1];
    registry = new NodeRegistry(POLICY, Clock.SYSTEM, new HealthListener() {
      @Override
      public void onTransition(String nodeId, NodeState from, NodeState to, String reason) {
        Seen s = new Seen(from, to, reason, ProbeFixture.this.sim.stats().paths());
        transitions.add(s);
        onTransition.accept(s);
        if (self[0] != null) self[0].onTransition(nodeId, from, to, reason);
      }

      @Override
      public void onEjected(String nodeId, EjectionState ejection, String reason) {
        if (self[0] != null) self[0].onEjected(nodeId);
      }
    });
    registry.apply(config);
    clients = new NodeClients(vertx);
    clients.apply(config);
    prober = new Prober(vertx, registry, clients, () -> config, POLICY, new SplittableRandom(42),
        new Prober.Settings(Duration.ofMillis(300), Duration.ofSeconds(2), 12), repairs);
    self[0] = prober;
  }

  ProbeFixture(ModelSpec.GpuProfile gpu) {
    this(SimOptions.defaults(), gpu, null, RepairRunner.Settings.defaults());
  }

  NodeEntry node() {
    return registry.get(NODE);
  }

  NodeState state() {
    return node().health().state();
  }

  Seen last(NodeState to) {
    Seen found = null;
    for (Seen s : transitions) if (s.to() == to) found = s;
    return found;
  }

  static <T> T await(Future<T> f) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    await(prober.stop());
    clients.close();
    await(sim.close());
    await(vertx.close());
    await(simVertx.close());
  }
}
