/**
 * The live node table ({@link dev.sluice.node.NodeRegistry}): per node its config, health model, learned speed,
 * router-local load counters and telemetry. Start with NodeEntry.
 */
package dev.sluice.node;
