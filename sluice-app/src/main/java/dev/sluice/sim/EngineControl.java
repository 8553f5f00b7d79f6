package dev.sluice.sim;

/**
 * Run-time knobs of a node's engine that faults turn: a speed factor (slow, thermal throttle, CPU offload) and a hung
 * flag (the HTTP server answers, the engine never starts a step). Written by fault handling, read by the engine at
 * every step; safe to change from any thread.
 */
public final class EngineControl {
  private volatile double speedFactor = 1.0;
  private volatile boolean hung;

  /** Multiplier on engine speed: 1 = the profile's speed, 0.55 = thermal throttle, 0.2 = CPU offload. */
  public double speedFactor() {
    return speedFactor;
  }

  public void speedFactor(double factor) {
    if (!(factor > 0) || Double.isInfinite(factor)) {
      throw new IllegalArgumentException("speedFactor: " + factor + " (expected > 0; 1 = full speed)");
    }
    this.speedFactor = factor;
  }

  /** While true no engine step starts: requests wait forever (health and /api/tags still answer). */
  public boolean hung() {
    return hung;
  }

  public void hung(boolean hung) {
    this.hung = hung;
  }
}
