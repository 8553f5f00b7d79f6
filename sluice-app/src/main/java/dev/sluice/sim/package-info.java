/**
 * A simulated GPU node that speaks the Ollama and OpenAI-compatible (vLLM) HTTP APIs, with GPU-like timing and
 * injectable faults, for tests, benchmarks and {@code sluice sim}. Start reading at {@link dev.sluice.sim.SimNode}.
 */
package dev.sluice.sim;
