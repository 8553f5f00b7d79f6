package dev.sluice.lab;

import dev.sluice.health.EjectionGuard;
import dev.sluice.health.EjectionState;
import dev.sluice.health.HealthListener;
import dev.sluice.health.HealthPolicy;
import dev.sluice.health.HealthSnapshot;
import dev.sluice.health.NodeHealth;
import dev.sluice.health.NodeState;
import dev.sluice.health.ProbeSchedule;
import dev.sluice.sim.Admission;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.random.RandomGenerator;

/**
 * The gateway's active health checking ({@code probe.Prober}) in simulated time, feeding the production
 * {@link NodeHealth} of each node with the default {@link HealthPolicy} and the gateway's last-node
 * {@link EjectionGuard} (one model, every node serves it):
 *
 * <ul>
 *   <li>a shallow probe per node on the production {@link ProbeSchedule} (5 s ± 10 %): passes unless the node is down
 *       (a hung engine still answers {@code /health});
 *   <li>a generation probe when a node enters WARMING (the lab's nodes have no warm-up prompt), in WARMING or DEGRADED
 *       after {@code successesToRecover} passed probes, after a passive ejection and when live traffic suspects the
 *       node: fails at once on a down node (connect refused) or a full Ollama queue (HTTP 503), after the
 *       {@link HealthPolicy#GENERATION_PROBE_TIMEOUT} on a hung one, and passes otherwise (its own engine time is not
 *       modelled);
 *   <li>listener calls (made under the node's lock in the gateway, handed to the prober's context) run as events at
 *       the same simulated instant.
 * </ul>
 *
 * Not modelled: repair actions on DEGRADED, warm-up prompts, model discovery.
 */
final class LabProber implements HealthListener {
  /** The gateway's defaults: every threshold and window of the health model. */
  static final HealthPolicy POLICY = HealthPolicy.defaults();
  static final long GENERATION_TIMEOUT_NANOS = HealthPolicy.GENERATION_PROBE_TIMEOUT.toNanos();
  /** Prompt tokens of the generation probe ("ping"). */
  private static final int PROBE_PROMPT_TOKENS = 1;

  private final EventQueue events;
  private final ProbeSchedule schedule;
  private final BooleanSupplier running;
  private final EjectionGuard guard = EjectionGuard.lastNode(this::snapshotsByModel);
  private final Map<String, Track> tracks = new LinkedHashMap<>();
  private boolean started;

  /**
   * @param events the run's time and events
   * @param jitter draws the gaps between probes
   * @param running whether the run still has work (probes stop once it has none)
   */
  LabProber(EventQueue events, RandomGenerator jitter, BooleanSupplier running) {
    this.events = events;
    this.schedule = new ProbeSchedule(POLICY, jitter);
    this.running = running;
  }

  /** The health model of a new node, on the run's clock, sharing the run's ejection guard. */
  NodeHealth newHealth(String nodeId) {
    return new NodeHealth(nodeId, POLICY, events::millis, guard, this);
  }

  /**
   * Adds a node READY, as in a gateway that has been running before the measured window: one probe and one generation
   * probe passed.
   */
  void add(LabNode node) {
    tracks.put(node.id(), new Track(node));
    node.health.probeSucceeded();
    node.health.generationProbeSucceeded();
  }

  /**
   * Starts probing: each node's first probe uniformly within one interval, drawn from {@code firstPhase} in node
   * order (the draws interleave with the first DCGM scrapes', as they always did).
   */
  void start(LabNode node, RandomGenerator firstPhase) {
    started = true;
    long first = new ProbeSchedule(POLICY, firstPhase).firstProbeAt(0);
    events.at(first * 1_000_000, () -> probe(tracks.get(node.id())));
  }

  // ---- shallow probes ----

  private void probe(Track t) {
    long start = events.millis();
    if (running.getAsBoolean()) {
      events.at(schedule.nextProbeAt(start) * 1_000_000, () -> probe(t));
    }
    NodeHealth h = t.node.health;
    if (t.node.down) {
      t.passedSinceGeneration = 0;
      h.probeFailed("connect refused");
      return;
    }
    h.probeSucceeded();
    t.passedSinceGeneration++;
    HealthSnapshot s = h.snapshot();
    if (s.state() == NodeState.WARMING && !t.warmupHandled) {
      warmUp(t);
    } else if ((s.state() == NodeState.WARMING || s.state() == NodeState.DEGRADED) && !t.generating
        && s.consecutiveProbeSuccesses() >= POLICY.successesToRecover()
        && t.passedSinceGeneration >= POLICY.successesToRecover()) {
      generationProbe(t);
    }
  }

  // ---- warm-up (none configured) and generation probes ----

  private void warmUp(Track t) {
    t.warmupHandled = true;
    generationProbe(t);
  }

  private void generationProbe(Track t) {
    if (t.generating) {
      return;
    }
    t.generating = true;
    t.passedSinceGeneration = 0;
    LabNode node = t.node;
    if (node.down) {
      events.at(events.now(), () -> generationDone(t, "connect refused"));
    } else if (node.engine.admission(PROBE_PROMPT_TOKENS, HealthPolicy.GENERATION_PROBE_TOKENS) instanceof Admission.Refused r) {
      events.at(events.now(), () -> generationDone(t, "HTTP " + r.status()));
    } else if (node.control.hung()) {
      events.at(events.now() + GENERATION_TIMEOUT_NANOS, () -> generationDone(t,
          node.control.hung() || node.down ? "no first token in " + GENERATION_TIMEOUT_NANOS / 1_000_000_000 + " s"
              : null));
    } else {
      events.at(events.now(), () -> generationDone(t, null));
    }
  }

  private void generationDone(Track t, String failure) {
    t.generating = false;
    if (failure == null) {
      t.node.health.generationProbeSucceeded();
    } else {
      t.node.health.generationProbeFailed(failure);
    }
  }

  // ---- listener: handed on, as the gateway hands it to the prober's context ----

  @Override
  public void onTransition(String nodeId, NodeState from, NodeState to, String reason) {
    if (!started) {
      return;
    }
    Track t = tracks.get(nodeId);
    events.at(events.now(), () -> {
      if (to == NodeState.WARMING) {
        t.warmupHandled = false;
        if (t.node.health.state() == NodeState.WARMING) {
          warmUp(t);
        }
      } else if (to == NodeState.READY) {
        t.warmupHandled = false;
      }
    });
  }

  @Override
  public void onEjected(String nodeId, EjectionState ejection, String reason) {
    Track t = tracks.get(nodeId);
    events.at(events.now(), () -> generationProbe(t));
  }

  @Override
  public void onSuspected(String nodeId, String reason) {
    Track t = tracks.get(nodeId);
    events.at(events.now(), () -> generationProbe(t));
  }

  private Map<String, List<HealthSnapshot>> snapshotsByModel() {
    List<HealthSnapshot> snapshots = new ArrayList<>(tracks.size());
    for (Track t : tracks.values()) {
      snapshots.add(t.node.health.snapshot());
    }
    return Map.of(LabSimulation.MODEL, snapshots);
  }

  /** The prober's per-node state. */
  private static final class Track {
    final LabNode node;
    boolean generating;
    boolean warmupHandled;
    int passedSinceGeneration;

    Track(LabNode node) {
      this.node = node;
    }
  }
}
