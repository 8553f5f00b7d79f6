package dev.sluice.sim;

/**
 * Instants of a simulated run in the engine's simulated nanoseconds, reported by Ollama as durations in ns. They
 * come from the engine's schedule, not from the wall clock, so the same seed and the same requests give the same
 * durations; they are what the real GPU would take (the time scale does not shrink them).
 *
 * @param arrivalNanos request submitted to the engine
 * @param prefillStartNanos admitted to the running batch (after any wait in the FIFO)
 * @param firstTokenNanos first output token produced (end of prefill)
 * @param endNanos last output token produced
 */
record Timings(long arrivalNanos, long prefillStartNanos, long firstTokenNanos, long endNanos) {

  /** A run alone on an idle engine, from {@link BatchEngine#soloSchedule}: no wait, prefill from 0. */
  static Timings solo(long[] schedule) {
    return new Timings(0, 0, schedule[0], schedule[1]);
  }
}
