package dev.sluice.node;

import dev.sluice.api.ApiFlavor;
import dev.sluice.config.FlowSettings;
import dev.sluice.flow.NodeCap;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.SluiceConfig;
import dev.sluice.health.EjectionGuard;
import dev.sluice.health.EjectionState;
import dev.sluice.health.HealthListener;
import dev.sluice.health.HealthPolicy;
import dev.sluice.health.HealthSnapshot;
import dev.sluice.health.NodeHealth;
import dev.sluice.health.NodeState;
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
    this.listener = new CapReset(listener == null ? HealthListener.none() : listener);
    this.guard = EjectionGuard.lastNode(this::snapshotsByModel);
  }

  /** Matches the table to a config snapshot: new nodes start in STARTING, unchanged ones keep their state. */
  public synchronized void apply(SluiceConfig next) {
    Map<String, NodeEntry> out = new LinkedHashMap<>();
    for (NodeSpec n : next.nodes()) {
      NodeEntry old = byId.get(n.id());
      NodeCap cap = cap(n, next.routing().flow());
      if (old != null && old.spec().root().equals(n.root()) && old.spec().api() == n.api()) {
        // a learned cap keeps what it learned; a configured one follows the config, and another GPU type is another
        // base (its KV guess and default concurrency)
        boolean sameBase = Objects.equals(old.spec().gpuType(), n.gpuType());
        NodeCap kept = old.cap().isConfigured() || cap.isConfigured() || !sameBase ? cap : old.cap();
        out.put(n.id(), old.spec().equals(n) && kept == old.cap() ? old : rebind(old, n, kept));
      } else {
        out.put(n.id(), new NodeEntry(n, new NodeHealth(n.id(), policy, clock, guard, listener),
            GpuDefaults.hasProfile(n.gpuType()) ? new SpeedEstimator(GpuDefaults.expectedSpeed(n.gpuType()))
                : SpeedEstimator.unprofiled(GpuDefaults.expectedSpeed(n.gpuType())), clock, cap));
      }
    }
    byId = Collections.unmodifiableMap(out);
    config = next;
  }

  /**
   * A node's cap as configured: its own {@code maxConcurrent}, else {@code routing.flow.maxConcurrent} for its GPU
   * type, else learned. A learned cap of an Ollama node starts from {@link GpuDefaults#OLLAMA_SLOTS} (Ollama runs a
   * fixed number of slots and tells nobody how many); of any other node from its GPU type's KV guess
   * ({@link GpuDefaults#kvCacheTokens}) until its telemetry reports the real figure. A node the gateway knows nothing
   * about (no GPU type it has figures for, no telemetry yet) is not capped ({@link NodeCap#MAX_LEARNED}) until its
   * telemetry reports a KV size or it answers busy: a guess would hold back a node that may run hundreds (flow control
   * then changes nothing for it, as before it existed).
   */
  private NodeCap cap(NodeSpec n, FlowSettings flow) {
    if (n.maxConcurrent() > 0) return NodeCap.configured(n.maxConcurrent(), "nodes[" + n.id() + "].maxConcurrent");
    int byGpu = flow.gpuMaxConcurrent(n.gpuType());
    if (byGpu > 0) return NodeCap.configured(byGpu, "routing.flow.maxConcurrent." + n.gpuType());
    if (n.api() == ApiFlavor.OLLAMA) {
      return NodeCap.learned(clock, GpuDefaults.OLLAMA_SLOTS, "Ollama guess of " + GpuDefaults.OLLAMA_SLOTS
          + " parallel slots (OLLAMA_NUM_PARALLEL)");
    }
    long guess = GpuDefaults.kvCacheTokens(n.gpuType());
    if (guess <= 0) {
      return NodeCap.learned(clock, NodeCap.MAX_LEARNED, "not capped: no KV figure for GPU type "
          + (n.gpuType() == null ? "(none)" : n.gpuType()) + " and no telemetry yet (give metricsUrl, or maxConcurrent)");
    }
    String gpu = n.gpuType();
    NodeCap cap = NodeCap.learned(clock, GpuDefaults.concurrency(gpu), gpu + " default concurrency");
    cap.kvCapacity(guess, gpu + " guess");
    return cap;
  }

  private static NodeEntry rebind(NodeEntry old, NodeSpec spec, NodeCap cap) {
    NodeEntry e = new NodeEntry(spec, old.health(), old.speed(), old.clock(), cap);
    e.keepTelemetry(old.telemetry());
    e.servedModels(old.servedModels());
    e.discoveredDialects(old.discoveredDialects()); // the same node at the same address: it still serves them
    return e;
  }

  /**
   * The registry's health listener: passes every event on, and gives a node's learned cap a fresh start when the node
   * comes back from DOWN (a node that was down was restarted or repaired: what its cap learned before is stale).
   */
  private final class CapReset implements HealthListener {
    private final HealthListener next;

    CapReset(HealthListener next) {
      this.next = next;
    }

    @Override
    public void onTransition(String nodeId, NodeState from, NodeState to, String reason) {
      if (from == NodeState.DOWN && to != NodeState.DOWN) {
        NodeEntry e = byId.get(nodeId);
        if (e != null) e.cap().reset();
      }
      next.onTransition(nodeId, from, to, reason);
    }

    @Override
    public void onEjected(String nodeId, EjectionState ejection, String reason) {
      next.onEjected(nodeId, ejection, reason);
    }

    @Override
    public void onSuspected(String nodeId, String reason) {
      next.onSuspected(nodeId, reason);
    }

    @Override
    public void onEjectionWithheld(String nodeId, String reason) {
      next.onEjectionWithheld(nodeId, reason);
    }
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
