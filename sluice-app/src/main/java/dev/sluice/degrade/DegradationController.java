package dev.sluice.degrade;

import dev.sluice.degrade.DegradationSettings.Scope;
import dev.sluice.degrade.ErrorRateWindow.Counts;
import dev.sluice.support.Clock;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The degradation state machines: one per model and one for the cluster, each fed by a sliding window of request
 * outcomes, plus operator overrides. Pure and thread-safe: time comes from the injected clock, whether a model can
 * answer from the injected {@link ModelHealth}, each scope has its own lock, and a request costs one {@link #decide}
 * and one {@link #record}.
 *
 * <p>Semantics:
 * <ul>
 *   <li><b>Evidence</b> of a scope is the samples in its window since max(now − window, the scope's last automatic
 *       transition). A transition either way resets the evidence, so old failures never push a recovered scope
 *       straight back up, and every level needs fresh evidence.
 *   <li><b>Escalate</b> when a sample arrives and the evidence has at least {@code minRequests} samples, reaches back
 *       at least {@code minEvidenceTime} (from its earliest sample, at bucket granularity: a burst after a quiet
 *       period is not evidence over time, however many requests it has) and its error rate reaches the threshold of a
 *       higher level: go to the highest level whose threshold the rate reaches (NORMAL → STATIC in one step is
 *       allowed). A model with steady traffic has evidence over the whole window, so sustained failure escalates at
 *       once; after a transition the next level comes {@code minEvidenceTime} later at the earliest.
 *   <li><b>Never STATIC while the downgrade model can answer</b>: a model whose evidence says STATIC, with a
 *       downgrade target that is {@linkplain ModelHealth#servable servable} and whose own effective level is below
 *       DOWNGRADE, goes to DOWNGRADE instead (the reason says so). A model at STATIC whose target turns servable (or
 *       falls below DOWNGRADE) moves to DOWNGRADE as soon as its level is next read ({@link #decide}, {@link #level},
 *       {@link #snapshot}), without waiting for the dwell; if the target stops being servable, STATIC needs new
 *       evidence. The cap is on a model's own level: with scope CLUSTER every model follows the cluster's level as
 *       the brief words it.
 *   <li><b>Step down</b> once the level has been held for at least {@code dwell}, judged on the recent period only
 *       (the last {@code recoveryWindow}, not before the transition): with no failure in it (no requests at all
 *       included: a model without traffic decays on the clock), to NORMAL; otherwise, with at least max(3,
 *       minRequests / 4) samples in it (but never more than one per second of the recovery window, which a raised
 *       level's probes alone provide) and an error rate below half the current level's threshold, straight to the
 *       highest level whose half threshold the rate still reaches (hysteresis: at CACHE 3 % errors stay, below 2.5 %
 *       leaves). So a recovered model is back to NORMAL one recovery window after its last failure once the dwell
 *       has passed, not one level per dwell, and not once the outage's failures have aged out of the window.
 *   <li>Escalation is evaluated on {@link #record} (it needs a new sample). Stepping down and the downgrade cap
 *       change with time and the target's health alone, so they are also evaluated whenever a raised level is read:
 *       {@link #decide}, {@link #level}, {@link #clusterLevel} and {@link #snapshot} (the level gauge reads
 *       {@link #level}, so a decayed model shows NORMAL without traffic). At NORMAL nothing is scanned.
 *   <li><b>Effective level</b> of a model: its operator override if any; else NORMAL when the settings are disabled;
 *       else the cluster's level with scope CLUSTER, the model's own level with scope MODEL. {@link #clusterLevel()}
 *       always follows the cluster window, whatever the scope.
 *   <li><b>Probes</b>: above NORMAL a request is a probe (still sent to the model's nodes) when {@code random <
 *       probeShare} or the model's last probe was at least 1 s ago, so a quiet model still tests its nodes. NORMAL and
 *       overridden levels never probe.
 *   <li><b>Disabled</b> settings keep recording windows (for display) but never evaluate; disabling resets every
 *       automatic level to NORMAL.
 *   <li>The {@link Listener} is called outside the locks, once per transition: automatic transitions report the
 *       scope's automatic level (reason: the error rate against the threshold, or what capped or decayed it);
 *       override changes report the effective level before and after (reason {@code operator override} /
 *       {@code operator override cleared}).
 * </ul>
 */
public final class DegradationController {
  /** The scope name of the cluster-wide state in transitions and snapshots. */
  public static final String CLUSTER = "cluster";
  /** Transitions kept for the admin view, newest last. */
  static final int RECENT_TRANSITIONS = 50;
  /** A quiet model at a degraded level still sends one request per second to its nodes. */
  static final long PROBE_INTERVAL_MILLIS = 1000;
  /** Ratios such as 3 of 20 must reach a 15 % threshold despite binary rounding. */
  private static final double RATE_EPSILON = 1e-9;
  private static final DegradationLevel[] LEVELS = DegradationLevel.values();

  /** Told about every level change, outside the controller's locks. */
  public interface Listener {
    /**
     * One transition.
     *
     * @param scope a model id or {@value DegradationController#CLUSTER}
     */
    void onTransition(String scope, DegradationLevel from, DegradationLevel to, String reason);

    /** A listener that ignores everything. */
    static Listener none() {
      return (scope, from, to, reason) -> { };
    }
  }

  /**
   * Whether a model can answer right now (the server: at least one of its nodes is in rotation). Called under the
   * controller's locks, when a level is evaluated: it must be cheap and must not call the controller.
   */
  @FunctionalInterface
  public interface ModelHealth {
    /** True when {@code model} has a node that can take its requests. */
    boolean servable(String model);

    /** Every model can always answer: the downgrade cap depends on the target's level alone. */
    static ModelHealth always() {
      return model -> true;
    }
  }

  /** One past level change, for the admin view. */
  public record Transition(long atMillis, String scope, DegradationLevel from, DegradationLevel to, String reason) {
  }

  /**
   * The state of one scope (a model or the cluster) at snapshot time.
   *
   * @param scope model id or {@value DegradationController#CLUSTER}
   * @param level effective level (override first)
   * @param automatic the level the error rate alone gives
   * @param override the operator's level, null when automatic
   * @param windowRequests requests in the whole window
   * @param windowFailures node failures in the whole window
   * @param errorRate windowFailures / windowRequests, 0 without requests
   * @param sinceMillis epoch millis of the scope's last transition (or of its creation)
   */
  public record ScopeState(String scope, DegradationLevel level, DegradationLevel automatic,
      DegradationLevel override, long windowRequests, long windowFailures, double errorRate, long sinceMillis) {
  }

  /**
   * Everything the admin endpoint and the console show; plain records, serialisable by Jackson as they are.
   *
   * @param enabled whether automatic degradation is on
   * @param mode which error rate decides a model's level
   * @param cluster the cluster-wide state
   * @param models every known model, by id
   * @param recent the last {@value DegradationController#RECENT_TRANSITIONS} transitions across scopes, newest last
   */
  public record Snapshot(boolean enabled, Scope mode, ScopeState cluster, List<ScopeState> models,
      List<Transition> recent) {
  }

  private final Clock clock;
  private final ModelHealth health;
  private final Listener listener;
  private volatile DegradationSettings settings;
  private final State cluster;
  private final ConcurrentHashMap<String, State> models = new ConcurrentHashMap<>();
  /** The override given for every model; models created later start with it. */
  private volatile DegradationLevel globalOverride;
  /** Serialises override changes so their before/after levels are consistent. */
  private final Object overrideLock = new Object();
  /** Guarded by itself. */
  private final ArrayDeque<Transition> recent = new ArrayDeque<>(RECENT_TRANSITIONS);

  /**
   * A controller that takes every model as servable ({@link ModelHealth#always()}).
   *
   * @param settings the initial settings
   * @param clock epoch millis, the only time source
   * @param listener told about every transition
   */
  public DegradationController(DegradationSettings settings, Clock clock, Listener listener) {
    this(settings, clock, ModelHealth.always(), listener);
  }

  /**
   * @param settings the initial settings
   * @param clock epoch millis, the only time source
   * @param health whether a downgrade target can answer (a model is never STATIC while its target can)
   * @param listener told about every transition
   */
  public DegradationController(DegradationSettings settings, Clock clock, ModelHealth health,
      Listener listener) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.health = Objects.requireNonNull(health, "health");
    this.listener = Objects.requireNonNull(listener, "listener");
    this.cluster = new State(CLUSTER, settings, clock.millis(), null);
  }

  /**
   * One finished request of a model that reached (or tried to reach) the model's nodes. {@code nodeFailure}: failed
   * because of the nodes (the server decides what counts). Updates the model's and the cluster's windows and
   * re-evaluates both.
   */
  public void record(String model, boolean nodeFailure) {
    Objects.requireNonNull(model, "model");
    long now = clock.millis();
    DegradationSettings cfg = settings;
    State m = state(model, cfg, now);
    Transition modelChange;
    Transition clusterChange;
    synchronized (m) {
      m.window.record(nodeFailure, now);
      modelChange = worthEvaluating(m, nodeFailure, cfg, now) ? evaluate(m, cfg, now, true) : null;
    }
    synchronized (cluster) {
      cluster.window.record(nodeFailure, now);
      clusterChange = worthEvaluating(cluster, nodeFailure, cfg, now) ? evaluate(cluster, cfg, now, true) : null;
    }
    publish(modelChange);
    publish(clusterChange);
  }

  /**
   * The decision for one request of {@code model}: the effective level, whether this request is a probe that should
   * still go to the model's nodes, and the downgrade target (from settings, null when none). {@code random} is in
   * [0,1). Re-evaluates the transitions that time and the downgrade target's health alone make due (step down, cap)
   * before answering.
   */
  public DegradationDecision decide(String model, double random) {
    Objects.requireNonNull(model, "model");
    long now = clock.millis();
    DegradationSettings cfg = settings;
    State m = state(model, cfg, now);
    refreshModel(m, cfg, now);
    refresh(cluster, cfg, now);
    String downgradeTo = cfg.downgradeTarget(model);
    DegradationLevel override = override(m, cfg);
    if (override != null) {
      return new DegradationDecision(override, false, downgradeTo);
    }
    DegradationLevel level = automaticLevel(m, cfg);
    if (level == DegradationLevel.NORMAL) {
      return new DegradationDecision(level, false, downgradeTo);
    }
    boolean probe;
    synchronized (m) {
      probe = random < cfg.probeShare() || m.lastProbeMillis == Long.MIN_VALUE
          || now - m.lastProbeMillis >= PROBE_INTERVAL_MILLIS;
      if (probe) {
        m.lastProbeMillis = now;
      }
    }
    return new DegradationDecision(level, probe, downgradeTo);
  }

  /**
   * The effective level of {@code model}: override first, then the level of the configured scope, after the step down
   * or cap that time and the target's health alone make due (a model without traffic decays here too).
   */
  public DegradationLevel level(String model) {
    Objects.requireNonNull(model, "model");
    long now = clock.millis();
    DegradationSettings cfg = settings;
    State m = state(model, cfg, now);
    refreshModel(m, cfg, now);
    if (cfg.scope() == Scope.CLUSTER) {
      refresh(cluster, cfg, now);
    }
    return effective(m, cfg);
  }

  /**
   * The cluster's effective level: its override, else the level of the cluster window (NORMAL when disabled), after
   * any step down time alone makes due.
   */
  public DegradationLevel clusterLevel() {
    DegradationSettings cfg = settings;
    refresh(cluster, cfg, clock.millis());
    return effective(cluster, cfg);
  }

  /**
   * Operator override: {@code model} null = every model (also those seen later) and the cluster; {@code level} null
   * clears the override (back to automatic).
   */
  public void override(String model, DegradationLevel level) {
    long now = clock.millis();
    DegradationSettings cfg = settings;
    String reason = level == null ? "operator override cleared" : "operator override";
    List<Transition> changes = new ArrayList<>();
    synchronized (overrideLock) {
      List<State> targets = new ArrayList<>();
      if (model == null) {
        globalOverride = level;
        targets.add(cluster);
        targets.addAll(models.values());
      } else {
        targets.add(state(model, cfg, now));
      }
      List<DegradationLevel> before = new ArrayList<>(targets.size());
      for (State s : targets) {
        before.add(effective(s, cfg));
      }
      boolean[] changed = new boolean[targets.size()];
      for (int i = 0; i < targets.size(); i++) {
        State s = targets.get(i);
        if (s.override != level) {
          s.override = level;
          s.changedAtMillis = now;
          changed[i] = true;
        }
      }
      for (int i = 0; i < targets.size(); i++) {
        State s = targets.get(i);
        if (changed[i]) {
          changes.add(new Transition(now, s.name, before.get(i), effective(s, cfg), reason));
        }
      }
    }
    changes.forEach(this::publish);
  }

  /**
   * Config reload: windows and levels are kept, the new thresholds apply from now on. A new window length re-files the
   * recorded samples; disabling resets every automatic level to NORMAL.
   */
  public void apply(DegradationSettings newSettings) {
    Objects.requireNonNull(newSettings, "settings");
    long now = clock.millis();
    settings = newSettings;
    List<Transition> changes = new ArrayList<>();
    List<State> all = new ArrayList<>();
    all.add(cluster);
    all.addAll(models.values());
    for (State s : all) {
      synchronized (s) {
        if (!s.window.window().equals(newSettings.window())) {
          ErrorRateWindow resized = s.window.resized(newSettings.window());
          if (resized.bucketMillis() != s.window.bucketMillis()) {
            s.baseline = Counts.NONE; // the old bucket is gone: its earlier samples count as evidence again
          }
          s.window = resized;
        }
        if (!newSettings.enabled() && s.automatic != DegradationLevel.NORMAL) {
          changes.add(move(s, DegradationLevel.NORMAL, now, "degradation disabled"));
        }
      }
    }
    changes.forEach(this::publish);
  }

  /** The settings in use. */
  public DegradationSettings settings() {
    return settings;
  }

  /** The cluster, every known model (by id) and the recent transitions, for GET /admin/degradation and the console. */
  public Snapshot snapshot() {
    long now = clock.millis();
    DegradationSettings cfg = settings;
    for (State m : models.values()) {
      refreshModel(m, cfg, now);
    }
    refresh(cluster, cfg, now);
    List<ScopeState> entries = new ArrayList<>(models.size());
    for (State m : models.values()) {
      entries.add(scopeState(m, cfg, now));
    }
    entries.sort(Comparator.comparing(ScopeState::scope));
    List<Transition> last;
    synchronized (recent) {
      last = List.copyOf(recent);
    }
    return new Snapshot(cfg.enabled(), cfg.scope(), scopeState(cluster, cfg, now), List.copyOf(entries), last);
  }

  private ScopeState scopeState(State s, DegradationSettings cfg, long now) {
    Counts counts;
    synchronized (s) {
      counts = s.window.counts(now - cfg.window().toMillis(), now);
    }
    return new ScopeState(s.name, effective(s, cfg), s.automatic, s.override, counts.requests(), counts.failures(),
        counts.rate(), s.changedAtMillis);
  }

  private State state(String model, DegradationSettings cfg, long now) {
    State s = models.get(model);
    return s != null ? s : models.computeIfAbsent(model, id -> new State(id, cfg, now, globalOverride));
  }

  /** The operator's level for a model or the cluster; with scope CLUSTER a model follows the cluster's override. */
  private DegradationLevel override(State s, DegradationSettings cfg) {
    DegradationLevel own = s.override;
    if (own != null || s == cluster || cfg.scope() != Scope.CLUSTER) {
      return own;
    }
    return cluster.override;
  }

  private DegradationLevel automaticLevel(State s, DegradationSettings cfg) {
    if (!cfg.enabled()) {
      return DegradationLevel.NORMAL;
    }
    return cfg.scope() == Scope.CLUSTER ? cluster.automatic : s.automatic;
  }

  private DegradationLevel effective(State s, DegradationSettings cfg) {
    DegradationLevel override = override(s, cfg);
    return override != null ? override : automaticLevel(s, cfg);
  }

  /**
   * Whether {@link #evaluate} can change anything after this sample: not at NORMAL when no failure is in the window
   * (the healthy steady state, where evaluating on every request would cost a window scan each). Caller holds the
   * lock.
   */
  private static boolean worthEvaluating(State s, boolean failure, DegradationSettings cfg, long now) {
    if (failure) s.lastFailureMillis = now;
    return s.automatic != DegradationLevel.NORMAL || now - s.lastFailureMillis <= cfg.window().toMillis();
  }

  /**
   * Evaluates what time and health alone can change for a model at a raised level: first its downgrade target's level
   * (the cap reads it), then its own.
   */
  private void refreshModel(State m, DegradationSettings cfg, long now) {
    if (m.automatic == DegradationLevel.STATIC && cfg.scope() == Scope.MODEL) {
      String target = cfg.downgradeTarget(m.name);
      if (target != null) {
        refresh(state(target, cfg, now), cfg, now);
      }
    }
    refresh(m, cfg, now);
  }

  /** Evaluates a raised scope without a new sample (step down, cap); nothing at NORMAL or when disabled. */
  private void refresh(State s, DegradationSettings cfg, long now) {
    if (!cfg.enabled() || s.automatic == DegradationLevel.NORMAL) {
      return;
    }
    Transition change;
    synchronized (s) {
      change = evaluate(s, cfg, now, false);
    }
    publish(change);
  }

  /**
   * Moves one scope's automatic level: to DOWNGRADE when it is at STATIC and its downgrade target can answer; up when
   * {@code sampled} (a new sample arrived) and the evidence says so; else down when the recent period says so.
   * Caller holds {@code s}'s lock.
   */
  private Transition evaluate(State s, DegradationSettings cfg, long now, boolean sampled) {
    if (!cfg.enabled()) {
      return null;
    }
    if (s.automatic == DegradationLevel.STATIC) {
      String target = downgradeCap(s, cfg, now);
      if (target != null) {
        return move(s, DegradationLevel.DOWNGRADE, now, capReason(target));
      }
    }
    Transition up = sampled ? escalate(s, cfg, now) : null;
    return up != null ? up : stepDown(s, cfg, now);
  }

  /** The move to the highest level the evidence reaches, if it is enough and spans enough time; else null. */
  private Transition escalate(State s, DegradationSettings cfg, long now) {
    long from = Math.max(now - cfg.window().toMillis(), s.sinceMillis);
    Counts evidence = s.window.counts(from, now);
    if (s.window.sameBucket(from, s.sinceMillis)) {
      evidence = evidence.minus(s.baseline); // samples of the transition's bucket from before the transition
    }
    if (evidence.requests() < cfg.minRequests()
        || evidenceStart(s, from, now) > now - Math.min(cfg.minEvidenceTime().toMillis(), cfg.window().toMillis())) {
      return null;
    }
    double rate = evidence.rate();
    DegradationLevel current = s.automatic;
    for (int i = LEVELS.length - 1; i > current.ordinal(); i--) {
      double threshold = cfg.threshold(LEVELS[i]);
      if (rate >= threshold - RATE_EPSILON) {
        String reason = String.format(Locale.ROOT, "error rate %s (%d of %d requests in %s) ≥ %s threshold %s",
            rate(rate), evidence.failures(), evidence.requests(), seconds(now - from), LEVELS[i].label(),
            percent(threshold));
        DegradationLevel to = LEVELS[i];
        String target = to == DegradationLevel.STATIC ? downgradeCap(s, cfg, now) : null;
        if (target != null) {
          to = DegradationLevel.DOWNGRADE;
          reason += "; " + capReason(target);
        }
        return to.compareTo(current) > 0 ? move(s, to, now, reason) : null;
      }
    }
    return null;
  }

  /**
   * When the evidence of {@code s} begins: its earliest sample's bucket, not before {@code from} (the transition
   * itself when samples of its bucket came before it).
   */
  private static long evidenceStart(State s, long from, long now) {
    long first = s.window.firstSampleMillis(from, now);
    if (first != Long.MAX_VALUE && s.window.sameBucket(first, s.sinceMillis)
        && s.window.bucketCounts(first).minus(s.baseline).requests() == 0) {
      first = s.window.firstSampleMillis(first + s.window.bucketMillis(), now); // only pre-transition samples there
    }
    return Math.max(first, from);
  }

  /**
   * The move down that the recent period (the last {@code recoveryWindow}, not before the transition) justifies once
   * the level has been held for the dwell: to NORMAL without a failure in it, else to the highest level whose half
   * threshold its rate still reaches, when that is lower; null otherwise.
   */
  private static Transition stepDown(State s, DegradationSettings cfg, long now) {
    DegradationLevel current = s.automatic;
    if (current == DegradationLevel.NORMAL || now - s.sinceMillis < cfg.dwell().toMillis()) {
      return null;
    }
    // Only the recent period counts: the outage's failures earlier at this level say nothing about the nodes now.
    long recentFrom = Math.max(now - cfg.recoveryWindow().toMillis(), s.sinceMillis);
    Counts recent = s.window.counts(recentFrom, now);
    if (s.window.sameBucket(recentFrom, s.sinceMillis)) {
      recent = recent.minus(s.baseline);
    }
    String period = seconds(now - recentFrom);
    if (recent.failures() == 0) {
      return move(s, DegradationLevel.NORMAL, now, recent.requests() == 0 ? "no requests for " + period
          : String.format(Locale.ROOT, "no failures (0 of %d) for %s", recent.requests(), period));
    }
    if (recent.requests() < minRecoverySamples(cfg)) {
      return null;
    }
    double rate = recent.rate();
    double half = cfg.threshold(current) / 2;
    if (rate >= half) {
      return null;
    }
    DegradationLevel to = DegradationLevel.NORMAL;
    for (int i = current.ordinal() - 1; i > DegradationLevel.NORMAL.ordinal(); i--) {
      if (rate >= cfg.threshold(LEVELS[i]) / 2) {
        to = LEVELS[i];
        break;
      }
    }
    String reason = String.format(Locale.ROOT, "error rate %s (%d of %d) < half the %s threshold (%s) for %s",
        rate(rate), recent.failures(), recent.requests(), current.label(), percent(half), period);
    if (to != DegradationLevel.NORMAL) {
      reason += String.format(Locale.ROOT, ", ≥ half the %s threshold (%s)", to.label(),
          percent(cfg.threshold(to) / 2));
    }
    return move(s, to, now, reason);
  }

  /**
   * Samples a recent period with failures needs before a step down: max(3, minRequests / 4), but never more than one
   * per second of the recovery window, so a raised model's probes (at least one a second) can always provide them.
   */
  static int minRecoverySamples(DegradationSettings cfg) {
    long perSecond = Math.max(1, cfg.recoveryWindow().toSeconds());
    return (int) Math.min(Math.max(3, cfg.minRequests() / 4), perSecond);
  }

  /**
   * The downgrade target that keeps model {@code s} below STATIC: configured, servable and itself below DOWNGRADE;
   * null when there is none (and always for the cluster). Caller holds {@code s}'s lock; the target's level is read
   * without its lock.
   */
  private String downgradeCap(State s, DegradationSettings cfg, long now) {
    if (s == cluster) {
      return null;
    }
    String target = cfg.downgradeTarget(s.name);
    if (target == null || effective(state(target, cfg, now), cfg).compareTo(DegradationLevel.DOWNGRADE) >= 0) {
      return null;
    }
    return health.servable(target) ? target : null;
  }

  private static String capReason(String target) {
    return "downgrade instead of static: " + target + " can answer";
  }

  /** Sets a new automatic level and starts fresh evidence; caller holds {@code s}'s lock. */
  private static Transition move(State s, DegradationLevel to, long now, String reason) {
    DegradationLevel from = s.automatic;
    s.automatic = to;
    s.sinceMillis = now;
    s.changedAtMillis = now;
    s.baseline = s.window.bucketCounts(now);
    return new Transition(now, s.name, from, to, reason);
  }

  private void publish(Transition t) {
    if (t == null) {
      return;
    }
    synchronized (recent) {
      if (recent.size() == RECENT_TRANSITIONS) {
        recent.removeFirst();
      }
      recent.addLast(t);
    }
    listener.onTransition(t.scope(), t.from(), t.to(), t.reason());
  }

  /** {@code 0.34 → "34.0 %"}. */
  private static String rate(double rate) {
    return String.format(Locale.ROOT, "%.1f %%", rate * 100);
  }

  /** {@code 0.075 → "7.5 %"}, {@code 0.3 → "30 %"}. */
  private static String percent(double share) {
    return BigDecimal.valueOf(share * 100).setScale(3, RoundingMode.HALF_UP).stripTrailingZeros().toPlainString()
        + " %";
  }

  /** {@code 60000 → "60 s"}, {@code 2500 → "2.5 s"}. */
  private static String seconds(long millis) {
    if (millis >= 10_000) {
      return millis / 1000 + " s";
    }
    return String.format(Locale.ROOT, "%.1f s", Math.max(0, millis) / 1000.0);
  }

  /** The mutable state of one scope; fields without volatile are guarded by the object's own lock. */
  private static final class State {
    final String name;
    ErrorRateWindow window;
    volatile DegradationLevel automatic = DegradationLevel.NORMAL;
    volatile DegradationLevel override;
    /** Last automatic transition (none yet: the minimum): start of the dwell and of the evidence. */
    long sinceMillis = Long.MIN_VALUE;
    /** The samples of the bucket holding {@code sinceMillis} recorded before it: not part of the evidence. */
    Counts baseline = Counts.NONE;
    /** Last transition of any kind (or creation), for the snapshot. */
    volatile long changedAtMillis;
    long lastProbeMillis = Long.MIN_VALUE;
    /** The last recorded failure: at NORMAL with none in the window, nothing can escalate. */
    long lastFailureMillis = Long.MIN_VALUE / 2;

    State(String name, DegradationSettings cfg, long now, DegradationLevel override) {
      this.name = name;
      this.window = new ErrorRateWindow(cfg.window());
      this.changedAtMillis = now;
      this.override = override;
    }
  }
}
