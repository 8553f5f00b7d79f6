package dev.sluice.node;

import dev.sluice.config.NodeSpec;
import dev.sluice.config.SluiceConfig;
import dev.sluice.health.EjectionGuard;
import dev.sluice.health.HealthListener;
import dev.sluice.health.HealthPolicy;
import dev.sluice.health.HealthSnapshot;
import dev.sluice.health.NodeHealth;
import dev.sluice.routing.SpeedEstimator;
import dev.sluice.support.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The live node table: one {@link NodeEntry} per configured node, kept across config reloads while the node's id and
 * address stay the same (so its health and learned speed survive a reload), with one shared last-node ejection guard.
 */
public final class NodeRegistry {
  private final HealthPolicy policy;
  private final Clock clock;
  private final HealthListener listener;
  private final EjectionGuard guard;
  private volatile Map<String, NodeEntry> byId = Map.of();
  private volatile SluiceConfig config;

  public NodeRegistry(HealthPolicy policy, Clock clock, HealthListener listener) {
    this.policy = policy;
    this.clock = Objects.requireNonNull(clock, "clock");
    this.listener = listener;
    this.guard = EjectionGuard.lastNode(this::snapshotsByModel);
  }

  /** Matches the table to a config snapshot: new nodes start in STARTING, unchanged ones keep their state. */
  public synchronized void apply(SluiceConfig next) {
    Map<String, NodeEntry> out = new LinkedHashMap<>();
    for (NodeSpec n : next.nodes()) {
      NodeEntry old = byId.get(n.id());
      if (old != null && old.spec().root().equals(n.root()) && old.spec().api() == n.api()) {
        out.put(n.id(), old.spec().equals(n) ? old : rebind(old, n));
      } else {
        out.put(n.id(), new NodeEntry(n, new NodeHealth(n.id(), policy, clock, guard, listener),
            new SpeedEstimator(GpuDefaults.expectedSpeed(n.gpuType())), clock));
      }
    }
    byId = Collections.unmodifiableMap(out);
    config = next;
  }

  private static NodeEntry rebind(NodeEntry old, NodeSpec spec) {
    NodeEntry e = new NodeEntry(spec, old.health(), old.speed(), old.clock());
    e.telemetry(old.telemetry());
    e.servedModels(old.servedModels());
    e.discoveredDialects(old.discoveredDialects()); // the same node at the same address: it still serves them
    return e;
  }

  public NodeEntry get(String id) {
    return byId.get(id);
  }

  public Collection<NodeEntry> all() {
    return byId.values();
  }

  public long nowMillis() {
    return clock.millis();
  }

  /** The clock of every node's health and timings. */
  public Clock clock() {
    return clock;
  }

  private Map<String, List<HealthSnapshot>> snapshotsByModel() {
    SluiceConfig c = config;
    Map<String, List<HealthSnapshot>> out = new LinkedHashMap<>();
    if (c == null) return out;
    Map<String, NodeEntry> nodes = byId;
    c.models().forEach((model, route) -> {
      List<HealthSnapshot> snaps = new ArrayList<>();
      for (NodeSpec n : route.nodes()) {
        NodeEntry e = nodes.get(n.id());
        if (e != null) snaps.add(e.health().snapshot());
      }
      out.put(model, snaps);
    });
    return out;
  }
}
