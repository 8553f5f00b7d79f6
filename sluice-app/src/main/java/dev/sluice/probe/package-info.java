/**
 * Active health checking and self-healing (BRIEF §3, RELIABILITY.md "Active"): the I/O around the pure state machine
 * in {@link dev.sluice.health}. {@link dev.sluice.probe.Prober} runs each node's shallow probe (Ollama
 * {@code GET /api/tags}, OpenAI/vLLM {@code GET /health}) on its own jittered schedule, discovers the models a node
 * serves, warms nodes up and runs the generation probe (a short streamed generation, to its end) that alone re-admits
 * a node; all of it on each node's own small probe pool, never behind traffic;
 * {@link dev.sluice.probe.RepairRunner} runs a node's repair command or webhook once per DEGRADED episode with backoff;
 * {@link dev.sluice.probe.TelemetryScraper} reads DCGM and vLLM gauges from each node's {@code metricsUrl}.
 */
package dev.sluice.probe;
