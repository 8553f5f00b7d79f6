/**
 * Flow control (pure Java: no Vert.x, no Micrometer, time only through {@link dev.sluice.support.Clock}): how many
 * requests each node may run at once ({@link dev.sluice.flow.NodeCap}: configured or learned) and the waiting room a
 * request enters when no eligible node is below its cap ({@link dev.sluice.flow.FlowQueue}: one per model, priority
 * {@link dev.sluice.flow.Band}s served highest first, tenants within a band in deficit round-robin by weight, counted
 * in estimated GPU time). The gateway ({@code server}) and the routing lab ({@code lab}) run the same classes.
 */
package dev.sluice.flow;
