package dev.sluice.health;

import dev.sluice.support.Clock;
import java.util.Locale;
import java.util.Objects;

/**
 * The health state machine of one node: shallow probes, generation probes, warm-up, operator drain and live-traffic
 * outcomes go in; a {@link NodeState}, an ejection and {@link #eligible(long)} come out. No I/O: the gateway's prober
 * and data path feed it, the routing lab can drive it from simulated time.
 *
 * <p><b>Time</b> is the {@link Clock}'s non-negative milliseconds on one timeline (the gateway passes
 * {@link Clock#SYSTEM}, the lab its simulated time, tests a {@code FakeClock} or an {@code AtomicLong}). Only
 * differences matter; {@code 0} in {@link EjectionState#ejectedUntilMillis()} means never ejected.
 *
 * <p><b>Transitions</b> (N = {@code successesToRecover}, probe = shallow probe such as {@code GET /api/tags},
 * generation = a short real generation, streamed to its end):
 * <pre>
 * from                      input                                      to        reason (example)
 * STARTING                  probe passed                               WARMING   probe passed: reachable
 * WARMING                   no warm-up running, generation passed,     READY     warm-up done; probe and a generation
 *                           1 probe passed (N after DEGRADED/DOWN)               probe passed
 * DEGRADED                  N probes in a row + generation passed      READY     2 consecutive probes and a generation
 *                           (after the last failure), no warm-up                 probe passed
 * DEGRADED, DOWN            warm-up started (self-heal)                WARMING   warm-up started
 * DOWN                      probe passed                               WARMING   probe passed: reachable again
 * STARTING, WARMING, READY  failuresToDegrade probes failed in a row   DEGRADED  3 consecutive probe failures (connect refused)
 * STARTING, WARMING, READY  generation probe failed / warm-up failed   DEGRADED  generation probe failed (no first token in 20 s)
 * any but DOWN              failuresToDown probes failed in a row      DOWN      12 consecutive probe failures (connect refused)
 * any                       drain()                                    DRAINING  drained by operator
 * DRAINING                  undrain()                                  wherever the probes led meanwhile
 * </pre>
 * A shallow probe alone never re-admits a node (an engine can hang while {@code /api/tags} answers); at startup one
 * passed probe is enough, since nothing is distrusted yet. Inputs that fit no row change counters only. While drained,
 * the same machine runs underneath but no transition is visible until {@link #undrain()}.
 *
 * <p><b>Passive ejection</b> (Envoy-style outlier detection, RELIABILITY.md): live-traffic failures whose
 * {@link Failure.Kind#countsAgainstNode()} is true are counted; a success resets the count, other kinds (busy, client
 * cancelled) neither count nor reset. At {@code failuresToEject} in a row the node is ejected for
 * {@link HealthPolicy#ejectionTime(int)} (30 s, 60 s, 120 s, 240 s, then 300 s), unless the {@link EjectionGuard}
 * withholds it (last eligible node of a model). Ejection does not change the state; it expires by the clock alone.
 * Failures reported while ejected (requests sent before it) are ignored. A streak ends when a new ejection comes more
 * than {@code ejectionMemory} after the previous one ended: it starts again at 30 s.
 *
 * <p><b>Suspicion</b> ({@link #suspect(String)}): live traffic says a READY node stopped answering (a request past its
 * first-token deadline, or silence while it streams). It leaves rotation at once, without a state change, until a
 * generation probe passes or an answer completes ({@link #observeSuccess()}); a failed generation probe makes it
 * DEGRADED. The {@link EjectionGuard} may withhold it, as an ejection.
 *
 * <p><b>Threads</b>: inputs are serialised on this object; reads ({@link #snapshot()}, {@link #eligible(long)},
 * {@link #healthRatio()}) take no lock and see the last published immutable {@link HealthSnapshot}.
 */
public final class NodeHealth {
  private final String nodeId;
  private final HealthPolicy policy;
  private final Clock clock;
  private final EjectionGuard guard;
  private final HealthListener listener;

  // The machine underneath (what probes say), and what is visible (DRAINING overlays it).
  private NodeState health = NodeState.STARTING;
  private String healthReason = "registered";
  private boolean drained;
  private long visibleSince;
  private String visibleReason = "registered";

  private int probeFailures;
  private int probeSuccesses;
  private int successesNeeded = 1;
  private boolean generationPassed;
  private boolean warmingUp;
  private boolean warmedUp;

  private final boolean[] window;
  private int windowSize;
  private int windowNext;
  private int windowPassed;

  private int nodeFailures;
  /** Why live traffic suspects the node (null: it does not); see {@link #suspect(String)}. */
  private String suspicion;
  private int ejectionCount;
  private long ejectedUntil;

  private volatile HealthSnapshot snapshot;

  /**
   * @param nodeId node id, used in events
   * @param policy thresholds
   * @param clock the health clock (see the class comment)
   * @param guard decides whether a due ejection takes effect; share one among all nodes
   * @param listener receives transitions and ejections
   */
  public NodeHealth(
      String nodeId, HealthPolicy policy, Clock clock, EjectionGuard guard, HealthListener listener) {
    this.nodeId = Objects.requireNonNull(nodeId, "nodeId");
    this.policy = Objects.requireNonNull(policy, "policy");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.guard = Objects.requireNonNull(guard, "guard");
    this.listener = Objects.requireNonNull(listener, "listener");
    this.window = new boolean[policy.healthWindowProbes()];
    this.visibleSince = clock.millis();
    publish();
  }

  /** A node with every ejection allowed and no listener. */
  public NodeHealth(String nodeId, HealthPolicy policy, Clock clock) {
    this(nodeId, policy, clock, EjectionGuard.allowAll(), HealthListener.none());
  }

  public String nodeId() {
    return nodeId;
  }

  // ---- active probes ----

  /** A shallow probe (Ollama {@code GET /api/tags}, vLLM {@code /health}) answered in time. */
  public synchronized void probeSucceeded() {
    record(true);
    probeFailures = 0;
    probeSuccesses++;
    if (health == NodeState.STARTING) {
      move(NodeState.WARMING, "probe passed: reachable");
    } else if (health == NodeState.DOWN) {
      move(NodeState.WARMING, "probe passed: reachable again");
    }
    maybeReady();
    publish();
  }

  /**
   * A shallow probe failed.
   *
   * @param why short cause for the reason text, e.g. {@code connect refused}, {@code HTTP 500}, {@code timeout after 2 s}
   */
  public synchronized void probeFailed(String why) {
    Objects.requireNonNull(why, "why");
    record(false);
    probeSuccesses = 0;
    probeFailures++;
    // The generation probe that re-admits a node must have passed after its last failed probe.
    if (health != NodeState.READY) generationPassed = false;
    String cause = probeFailures + " consecutive probe failures (" + why + ")";
    if (probeFailures >= policy.failuresToDown() && health != NodeState.DOWN) {
      fail(NodeState.DOWN, cause);
    } else if (probeFailures >= policy.failuresToDegrade() && inService()) {
      fail(NodeState.DEGRADED, cause);
    }
    publish();
  }

  /** The real generation passed: the engine works, not only its HTTP front. Ends a suspicion. */
  public synchronized void generationProbeSucceeded() {
    generationPassed = true;
    suspicion = null;
    maybeReady();
    publish();
  }

  /**
   * The real generation failed, stalled or timed out (an engine hung while {@code /api/tags} answers).
   *
   * @param why short cause, e.g. {@code no first token in 20 s}
   */
  public synchronized void generationProbeFailed(String why) {
    Objects.requireNonNull(why, "why");
    generationPassed = false;
    if (inService()) fail(NodeState.DEGRADED, "generation probe failed (" + why + ")");
    publish();
  }

  // ---- warm-up (self-heal) ----

  /** The warm-up prompt was sent; READY waits for {@link #warmupFinished(boolean)}. Ignored while READY. */
  public synchronized void warmupStarted() {
    if (health == NodeState.READY) return;
    warmingUp = true;
    if (health == NodeState.DEGRADED || health == NodeState.DOWN) move(NodeState.WARMING, "warm-up started");
    publish();
  }

  /** The warm-up prompt finished; a failed warm-up counts as a failed generation. Ignored when none was started. */
  public synchronized void warmupFinished(boolean ok) {
    if (!warmingUp) return;
    warmingUp = false;
    if (ok) {
      warmedUp = true;
      maybeReady();
    } else {
      generationPassed = false;
      if (inService()) fail(NodeState.DEGRADED, "warm-up failed");
    }
    publish();
  }

  // ---- operator ----

  /** Take the node out of rotation for maintenance: no new requests, in-flight ones finish. */
  public void drain() {
    drain("drained by operator");
  }

  /** {@link #drain()} with the operator's reason. */
  public synchronized void drain(String reason) {
    Objects.requireNonNull(reason, "reason");
    if (drained) return;
    drained = true;
    announce(health, NodeState.DRAINING, reason);
    publish();
  }

  /** End a drain: the node shows whatever state the probes led it to meanwhile. */
  public synchronized void undrain() {
    if (!drained) return;
    drained = false;
    announce(NodeState.DRAINING, health, health == NodeState.READY ? "undrained" : "undrained; " + healthReason);
    publish();
  }

  // ---- live traffic (passive outlier detection) ----

  /** An attempt failed as classified by {@code FailureClassifier}; only kinds that count against the node matter. */
  public void observe(Failure.Kind kind) {
    Objects.requireNonNull(kind, "kind");
    observe(new Failure(kind, kind.name().toLowerCase(Locale.ROOT).replace('_', ' ')));
  }

  /** {@link #observe(Failure.Kind)} with the failure's detail for the reason text. */
  public synchronized void observe(Failure failure) {
    Objects.requireNonNull(failure, "failure");
    if (!failure.kind().countsAgainstNode()) return;
    long now = clock.millis();
    if (now < ejectedUntil) return;
    nodeFailures++;
    if (nodeFailures < policy.failuresToEject()) {
      publish();
      return;
    }
    String cause = nodeFailures + " consecutive node failures (last: " + describe(failure) + ")";
    nodeFailures = 0;
    EjectionDecision decision;
    synchronized (guard) {
      decision = Objects.requireNonNull(guard.decide(nodeId, now), "guard decision");
      if (decision.eject()) {
        if (ejectionCount > 0 && now - ejectedUntil >= policy.ejectionMemory().toMillis()) ejectionCount = 0;
        ejectionCount++;
        ejectedUntil = now + policy.ejectionTime(ejectionCount).toMillis();
      }
      publish();
    }
    if (decision.eject()) {
      listener.onEjected(nodeId, snapshot.ejection(),
          "ejected for " + policy.ejectionTime(ejectionCount).toSeconds() + " s: " + cause);
    } else {
      listener.onEjectionWithheld(nodeId, "not ejected after " + cause + ": " + decision.reason());
    }
  }

  /** An attempt succeeded: the count of consecutive node failures starts again, and a suspicion ends. */
  public void observeSuccess() {
    HealthSnapshot s = snapshot;
    if (s.ejection().consecutiveFailures() == 0 && s.suspicion() == null) return; // the common case, without the lock
    synchronized (this) {
      nodeFailures = 0;
      suspicion = null;
      publish();
    }
  }

  /**
   * Live traffic says the node stopped answering: a request passed its first-token deadline, or the node sent
   * nothing for a while although it was streaming answers. A READY node is taken out of rotation at once (no new
   * requests) and {@link HealthListener#onSuspected} asks for a generation probe: its pass (or any answer that
   * completes) ends the suspicion, its failure makes the node DEGRADED. Like an ejection, the {@link EjectionGuard}
   * may withhold it (the last eligible node of a model stays in rotation). Ignored when the node is not READY, is
   * already suspected, ejected or drained.
   *
   * @param why e.g. {@code no first token within 1500 ms (3 × its estimate of 12 ms)}
   */
  public synchronized void suspect(String why) {
    Objects.requireNonNull(why, "why");
    long now = clock.millis();
    if (suspicion != null || health != NodeState.READY || drained || now < ejectedUntil) return;
    EjectionDecision decision;
    synchronized (guard) {
      decision = Objects.requireNonNull(guard.decide(nodeId, now), "guard decision");
      if (decision.eject()) {
        suspicion = why;
        publish();
      }
    }
    if (decision.eject()) {
      listener.onSuspected(nodeId, why);
    } else {
      listener.onEjectionWithheld(nodeId, "not suspected after " + why + ": " + decision.reason());
    }
  }

  // ---- reads (lock-free) ----

  /** READY and not ejected at {@code nowMillis}: may receive new requests. */
  public boolean eligible(long nowMillis) {
    return snapshot.eligible(nowMillis);
  }

  /** Visible state. */
  public NodeState state() {
    return snapshot.state();
  }

  /** Passive outlier detection state. */
  public EjectionState ejection() {
    return snapshot.ejection();
  }

  /** Share of the last {@link HealthPolicy#healthWindowProbes()} shallow probes passed; 1.0 before any probe. */
  public double healthRatio() {
    return snapshot.healthRatio();
  }

  /** Everything above at one moment, for the admin API, routing views and the ejection guard. */
  public HealthSnapshot snapshot() {
    return snapshot;
  }

  // ---- machinery (callers hold the lock) ----

  private boolean inService() {
    return health == NodeState.STARTING || health == NodeState.WARMING || health == NodeState.READY;
  }

  private void fail(NodeState to, String reason) {
    suspicion = null; // out of rotation by its state now
    probeSuccesses = 0;
    successesNeeded = policy.successesToRecover();
    generationPassed = false;
    warmedUp = false;
    move(to, reason);
  }

  private void maybeReady() {
    if (health != NodeState.WARMING && health != NodeState.DEGRADED) return;
    if (warmingUp || !generationPassed || probeSuccesses < successesNeeded) return;
    String probes = successesNeeded == 1 ? "probe" : successesNeeded + " consecutive probes";
    // A real generation just passed: a passive ejection from the outage ends here rather than at its timer (Envoy's
    // successful_active_health_check_uneject_host). The count stays, so a relapse is ejected for longer.
    long now = clock.millis();
    boolean wasEjected = now < ejectedUntil;
    if (wasEjected) ejectedUntil = now;
    nodeFailures = 0;
    move(NodeState.READY, (warmedUp ? "warm-up done; " : "") + probes + " and a generation probe passed"
        + (wasEjected ? " (passive ejection lifted)" : ""));
  }

  private void move(NodeState to, String reason) {
    NodeState from = health;
    if (from == to) return;
    health = to;
    healthReason = reason;
    if (!drained) announce(from, to, reason);
  }

  private void announce(NodeState from, NodeState to, String reason) {
    visibleSince = clock.millis();
    visibleReason = reason;
    publish();
    listener.onTransition(nodeId, from, to, reason);
  }

  private void record(boolean passed) {
    if (windowSize == window.length) {
      if (window[windowNext]) windowPassed--;
    } else {
      windowSize++;
    }
    window[windowNext] = passed;
    if (passed) windowPassed++;
    windowNext = (windowNext + 1) % window.length;
  }

  private void publish() {
    snapshot = new HealthSnapshot(nodeId, drained ? NodeState.DRAINING : health, visibleSince, visibleReason,
        probeFailures, probeSuccesses, windowSize == 0 ? 1.0 : (double) windowPassed / windowSize,
        new EjectionState(nodeFailures, ejectionCount, ejectedUntil), suspicion);
  }

  private static String describe(Failure f) {
    String d = f.detail();
    return d == null || d.isBlank() ? f.kind().name() : d;
  }
}
