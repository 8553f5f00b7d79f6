package dev.sluice.sim;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node-level faults of one {@link SimNode} ({@link SimFault.Kind#persistent()}), on until cleared. Turns them
 * into engine knobs ({@link EngineControl}: speed factor, hung) and into the per-request fault each new generation
 * request gets (error-rate, die-after-chunks, stall), so the engine needs no hook of its own. Thread-safe; logs every
 * change once.
 */
final class NodeFaults {
  private static final Logger LOG = LoggerFactory.getLogger(NodeFaults.class);
  /** Share of the model's weights left in VRAM under cpu-offload (size_vram / size). */
  static final double CPU_OFFLOAD_VRAM_SHARE = 0.6;
  /** Retry-After of error-rate 429 and 503 answers, in seconds. */
  static final int RETRY_AFTER_SECONDS = 1;

  private final EngineControl control;
  private final SplittableRandom random;
  private final Map<SimFault.Kind, SimFault> active = new EnumMap<>(SimFault.Kind.class);
  private String nodeId;

  NodeFaults(String nodeId, EngineControl control, long seed) {
    this.nodeId = nodeId;
    this.control = Objects.requireNonNull(control, "control");
    this.random = new SplittableRandom(seed ^ 0x5DEECE66DL);
  }

  synchronized void nodeId(String nodeId) {
    this.nodeId = nodeId;
  }

  /** Turns a node-level fault on, replacing one of the same kind; returns false when it was already on as is. */
  synchronized boolean set(SimFault fault) {
    Objects.requireNonNull(fault, "fault");
    if (!fault.kind().persistent()) {
      throw new IllegalArgumentException(fault.kind().wireName() + " is a per-request fault, not a node fault");
    }
    SimFault previous = active.put(fault.kind(), fault);
    if (fault.equals(previous)) {
      return false;
    }
    LOG.info("sim {}: fault on: {}{}", nodeId, fault.describe(), previous == null ? "" : " (was " + previous.describe()
        + ")");
    applyControl();
    return true;
  }

  /** Turns one kind off; returns whether it was on. */
  synchronized boolean clear(SimFault.Kind kind) {
    SimFault removed = active.remove(kind);
    if (removed == null) {
      return false;
    }
    LOG.info("sim {}: fault cleared: {}", nodeId, removed.describe());
    applyControl();
    return true;
  }

  /** Turns every node-level fault off; returns whether any was on. */
  synchronized boolean clearAll() {
    if (active.isEmpty()) {
      return false;
    }
    LOG.info("sim {}: faults cleared: {}", nodeId,
        String.join(", ", active.values().stream().map(SimFault::describe).toList()));
    active.clear();
    applyControl();
    return true;
  }

  synchronized boolean isOn(SimFault.Kind kind) {
    return active.containsKey(kind);
  }

  synchronized SimFault get(SimFault.Kind kind) {
    return active.get(kind);
  }

  synchronized List<SimFault> active() {
    return List.copyOf(active.values());
  }

  /**
   * The per-request fault a new generation request gets from the node-level ones, or {@code null}: an error-rate hit
   * (seeded draw), else die-after-chunks, else stall.
   */
  synchronized SimFault requestFault() {
    SimFault errorRate = active.get(SimFault.Kind.ERROR_RATE);
    if (errorRate != null && random.nextDouble() * 100 < errorRate.percent()) {
      return SimFault.status(errorRate.status(), errorBody(errorRate.status()), 1);
    }
    SimFault die = active.get(SimFault.Kind.DIE_AFTER_CHUNKS);
    if (die != null) {
      return SimFault.resetAfterTokens(die.afterTokens(), 1);
    }
    SimFault stall = active.get(SimFault.Kind.STALL);
    return stall == null ? null : SimFault.stallAfterTokens(stall.afterTokens(), 1);
  }

  /** The {@code size_vram} {@code /api/ps} reports for a model of {@code sizeBytes}. */
  synchronized long vramBytes(long sizeBytes) {
    return active.containsKey(SimFault.Kind.CPU_OFFLOAD) ? Math.round(sizeBytes * CPU_OFFLOAD_VRAM_SHARE) : sizeBytes;
  }

  /** Ollama-style error bodies of error-rate answers. */
  static String errorBody(int status) {
    return switch (status) {
      case 503 -> SimFault.OLLAMA_BUSY_BODY;
      case 429 -> "{\"error\":\"too many requests, please try again later\"}";
      default -> "{\"error\":\"an internal error occurred\"}";
    };
  }

  private void applyControl() {
    double speed = 1.0;
    SimFault slow = active.get(SimFault.Kind.SLOW);
    if (slow != null) {
      speed /= slow.factor();
    }
    if (active.containsKey(SimFault.Kind.THERMAL_THROTTLE)) {
      speed *= SimFault.THERMAL_THROTTLE_SPEED;
    }
    if (active.containsKey(SimFault.Kind.CPU_OFFLOAD)) {
      speed *= SimFault.CPU_OFFLOAD_SPEED;
    }
    control.speedFactor(speed);
    control.hung(active.containsKey(SimFault.Kind.HUNG_ENGINE));
  }
}
