/**
 * Routing policies (pure Java: no Vert.x, no Micrometer, no clock reads): given a request and snapshots of the
 * candidate nodes, an ordered attempt plan or a rejection. Start with {@link dev.sluice.routing.RoutingPolicy}, then
 * the default {@link dev.sluice.routing.LeastDelayPolicy} and the brief's {@link dev.sluice.routing.GpuWeightedPolicy}.
 */
package dev.sluice.routing;
