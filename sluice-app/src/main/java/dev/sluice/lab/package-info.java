/**
 * The routing lab ({@code sluice lab}): a discrete-event simulation in virtual time that runs the production
 * {@link dev.sluice.routing.RoutingPolicy} classes against one {@link dev.sluice.sim.BatchEngine} per simulated node,
 * and writes a markdown report and an SVG plot. Start reading at {@link dev.sluice.lab.LabSimulation} (one run), then
 * {@link dev.sluice.lab.RoutingLab} (the grid, seeds and the report).
 */
package dev.sluice.lab;
