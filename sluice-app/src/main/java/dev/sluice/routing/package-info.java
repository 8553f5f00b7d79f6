/**
 * Routing policies (pure Java: no Vert.x, no Micrometer, no clock reads): given a request and snapshots of the
 * candidate nodes, an ordered attempt plan or a rejection. Start with {@link dev.sluice.routing.RoutingPolicy}.
 */
package dev.sluice.routing;
