package dev.sluice.sim;

/**
 * Wall-clock instants ({@link System#nanoTime()}) of a simulated run, reported by Ollama as durations in ns.
 *
 * @param arrivalNanos request head received
 * @param prefillStartNanos body parsed, prefill started
 * @param firstTokenNanos first output token produced
 * @param endNanos last output token produced
 */
record Timings(long arrivalNanos, long prefillStartNanos, long firstTokenNanos, long endNanos) {}
