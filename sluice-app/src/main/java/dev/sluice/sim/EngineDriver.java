package dev.sluice.sim;

import dev.sluice.support.Clock;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.util.function.LongConsumer;

/**
 * Drives a node's {@link BatchEngine} from Vert.x: simulated time is the real time since the node started times the
 * time scale, and one timer is armed for the engine's next event (re-armed when that moves), never one per token.
 * Timers that fire late only deliver late: the engine's event times, and so every duration a response reports, stay
 * those of the simulated schedule. With time scale 0 the engine is bypassed ({@link #instant()}).
 *
 * <p>The engine lives on one Vert.x context, the first one that calls the driver: a Vert.x HTTP server handles all
 * its connections on the context that started it, so requests, timers and the engine normally share one thread.
 * Calls from another context (a server started again after a refuse-connections fault) hop to the engine's.
 */
final class EngineDriver {
  /** How often a hung engine with work is checked for release (real time). */
  private static final long HUNG_POLL_MILLIS = 10;

  private final Vertx vertx;
  private final BatchEngine engine;
  private final EngineControl control;
  private final double timeScale;
  private final Clock clock;
  private final long startNanos;
  private final EngineState state;
  private long timerId = -1;
  private long timerTarget = Long.MIN_VALUE;
  private Context context;

  EngineDriver(Vertx vertx, EngineProfile profile, EngineControl control, double timeScale, Clock clock) {
    this.vertx = vertx;
    this.clock = clock;
    this.startNanos = clock.nanos();
    this.control = control;
    this.engine = new BatchEngine(profile, control);
    this.timeScale = timeScale;
    this.state = new State();
  }

  /** Whether the node answers at once (time scale 0) without running the engine. */
  boolean instant() {
    return timeScale == 0;
  }

  EngineProfile profile() {
    return engine.profile();
  }

  BatchEngine engine() {
    return engine;
  }

  /** The real time the engine is driven by. */
  Clock clock() {
    return clock;
  }

  /** Simulated nanoseconds since the node started. */
  long simNow() {
    return (long) ((clock.nanos() - startNanos) * timeScale);
  }

  Admission admission(int promptTokens, int maxTokens) {
    return engine.admission(promptTokens, maxTokens);
  }

  void submit(BatchEngine.Sequence sequence) {
    onEngineContext(() -> {
      engine.submit(sequence, simNow());
      rearm();
    });
  }

  void cancel(BatchEngine.Sequence sequence) {
    onEngineContext(() -> {
      engine.cancel(sequence, simNow());
      rearm();
    });
  }

  private void onEngineContext(Runnable action) {
    Context current = Vertx.currentContext();
    if (context == null) {
      context = current != null ? current : vertx.getOrCreateContext();
    }
    if (current == context) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }

  /** The engine for telemetry, with the clock and busy time read at the current simulated time. */
  EngineState state() {
    return state;
  }

  private void fire() {
    timerId = -1;
    timerTarget = Long.MIN_VALUE;
    engine.advanceTo(simNow());
    rearm();
  }

  private void rearm() {
    if (instant()) {
      return;
    }
    long next = engine.nextEventAt();
    if (next == Long.MAX_VALUE) {
      if (engine.hasWork() && control.hung()) {
        arm(Long.MAX_VALUE, HUNG_POLL_MILLIS);
      } else {
        disarm();
      }
      return;
    }
    if (timerId >= 0 && timerTarget == next) {
      return;
    }
    long realNanos = (long) Math.ceil((next - simNow()) / timeScale);
    arm(next, Math.max(1, (realNanos + 999_999) / 1_000_000));
  }

  private void arm(long target, long delayMillis) {
    if (timerId >= 0 && timerTarget == target) {
      return;
    }
    disarm();
    timerTarget = target;
    timerId = vertx.setTimer(delayMillis, id -> fire());
  }

  private void disarm() {
    if (timerId >= 0) {
      vertx.cancelTimer(timerId);
      timerId = -1;
      timerTarget = Long.MIN_VALUE;
    }
  }

  /** The engine's view with {@code simNowNanos} and busy time at the real current time. */
  private final class State implements EngineState {
    @Override
    public long simNowNanos() {
      return Math.max(simNow(), engine.simNowNanos());
    }

    @Override
    public int running() {
      return engine.running();
    }

    @Override
    public int waiting() {
      return engine.waiting();
    }

    @Override
    public long kvUsedTokens() {
      return engine.kvUsedTokens();
    }

    @Override
    public long kvCapacityTokens() {
      return engine.kvCapacityTokens();
    }

    @Override
    public long busySimNanosTotal() {
      return engine.busySimNanosAt(simNowNanos());
    }

    @Override
    public long promptTokensTotal() {
      return engine.promptTokensTotal();
    }

    @Override
    public long generationTokensTotal() {
      return engine.generationTokensTotal();
    }

    @Override
    public long prefixCacheQueriesTotal() {
      return engine.prefixCacheQueriesTotal();
    }

    @Override
    public long prefixCacheHitsTotal() {
      return engine.prefixCacheHitsTotal();
    }

    @Override
    public long preemptionsTotal() {
      return engine.preemptionsTotal();
    }

    @Override
    public int drainTtftSamples(int fromIndex, LongConsumer sink) {
      return engine.drainTtftSamples(fromIndex, sink);
    }
  }
}
