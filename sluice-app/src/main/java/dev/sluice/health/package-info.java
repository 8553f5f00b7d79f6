/**
 * The health model of upstream nodes (pure Java: no I/O, no Vert.x, no Micrometer, no clock reads): active probes and
 * live traffic go in, a {@link dev.sluice.health.NodeState}, an ejection and an eligibility come out. Start with
 * {@link dev.sluice.health.NodeHealth}; {@link dev.sluice.health.HealthPolicy} holds every threshold and its reason.
 */
package dev.sluice.health;
