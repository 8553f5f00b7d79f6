/**
 * A simulated GPU node that speaks the Ollama and OpenAI-compatible (vLLM) HTTP APIs, with a continuous-batching
 * engine model ({@link dev.sluice.sim.BatchEngine}, pure Java, simulated time, calibrated per
 * {@link dev.sluice.sim.EngineProfile}), DCGM and vLLM telemetry, and injectable faults, for tests, benchmarks and
 * {@code sluice sim}. Start reading at {@link dev.sluice.sim.SimNode}, then BatchEngine.
 */
package dev.sluice.sim;
