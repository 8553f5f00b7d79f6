package dev.sluice.server;

import dev.sluice.config.NodeSpec;
import dev.sluice.config.SluiceConfig;
import dev.sluice.node.GpuDefaults;
import dev.sluice.routing.Affinity;
import dev.sluice.support.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's one {@link Affinity} (session pins and prefix index), kept across config swaps the way the node table
 * is: the {@link Router} is rebuilt on every swap, the memory of where sessions are warm is not. It is rebuilt only
 * when its settings change ({@code routing.affinity}, or the node count the index memory is divided over). It forgets
 * a node that leaves rotation or is removed from the config, and one whose telemetry says its cache was reset; each
 * node's capacity is its reported KV cache size, else its GPU type's guess ({@link GpuDefaults#kvCacheTokens}), else
 * unknown (the per-node entry cap alone bounds it).
 */
final class AffinityKeeper {
  private static final Logger log = LoggerFactory.getLogger(AffinityKeeper.class);

  private volatile Affinity affinity;
  /** Node id → GPU type of the config in force. */
  private Map<String, String> gpuTypes = Map.of();
  /** Node id → KV cache tokens its telemetry reported (0 or absent: not reported). */
  private final Map<String, Long> reportedKvTokens = new ConcurrentHashMap<>();
  /** Node id → cache resets its telemetry counted when last looked at. */
  private final Map<String, Integer> resetsSeen = new ConcurrentHashMap<>();

  private final Clock clock;

  AffinityKeeper(SluiceConfig initial) {
    this(initial, Clock.SYSTEM);
  }

  /** @param clock what session idleness is measured by */
  AffinityKeeper(SluiceConfig initial, Clock clock) {
    this.clock = clock;
    apply(initial);
  }

  /** The affinity in force; a request keeps the one its router was built with. */
  Affinity current() {
    return affinity;
  }

  /** Matches a config swap: rebuilt when the settings changed, removed nodes forgotten, capacities set. */
  synchronized void apply(SluiceConfig config) {
    Map<String, String> types = new HashMap<>();
    for (NodeSpec n : config.nodes()) types.put(n.id(), n.gpuType() == null ? "" : n.gpuType());
    Affinity.Settings settings = config.routing().affinity().settings(types.size());
    Affinity a = affinity;
    boolean rebuilt = a == null || !a.settings().equals(settings);
    if (rebuilt) a = new Affinity(settings, clock::millis);
    for (String gone : gpuTypes.keySet()) {
      if (!types.containsKey(gone)) {
        a.drop(gone);
        reportedKvTokens.remove(gone);
        resetsSeen.remove(gone);
      }
    }
    for (Map.Entry<String, String> e : types.entrySet()) {
      String previous = gpuTypes.get(e.getKey());
      if (rebuilt || !e.getValue().equals(previous)) a.capacity(e.getKey(), capacity(e.getKey(), e.getValue()));
    }
    gpuTypes = Map.copyOf(types);
    affinity = a;
  }

  /** {@code nodeId} left rotation (DEGRADED, DOWN, DRAINING, ejected, ...): its pins and prefixes are forgotten. */
  void leftRotation(String nodeId) {
    affinity.drop(nodeId);
  }

  /**
   * What a node's telemetry says about its cache, after each scrape: {@code kvCacheTokens} its KV cache size (0 =
   * not reported), {@code cacheResets} how many times its prefix-cache counters went down (a restart: its cache is
   * empty). A new reset forgets the node; a reported size replaces the GPU type's guess.
   */
  void observeTelemetry(String nodeId, long kvCacheTokens, int cacheResets) {
    Affinity a = affinity;
    Integer before = resetsSeen.put(nodeId, cacheResets);
    if (before != null && cacheResets > before) {
      log.info("node {}: its prefix cache was reset (its telemetry counters restarted): the sessions pinned to it and "
          + "its prefixes are forgotten", nodeId);
      a.drop(nodeId);
    }
    if (kvCacheTokens > 0) {
      Long was = reportedKvTokens.put(nodeId, kvCacheTokens);
      if (was == null || was != kvCacheTokens) a.capacity(nodeId, kvCacheTokens);
    }
  }

  /** A node's prefix cache in tokens: as reported, else its GPU type's guess, else 0 (unknown). */
  private long capacity(String nodeId, String gpuType) {
    Long reported = reportedKvTokens.get(nodeId);
    if (reported != null && reported > 0) return reported;
    return GpuDefaults.kvCacheTokens(gpuType.isEmpty() ? null : gpuType);
  }
}
