/**
 * Three-level degradation (pure Java: no I/O, no Vert.x, no Micrometer, no clock reads): request outcomes go into
 * sliding error-rate windows per model and for the cluster, and a level (NORMAL, CACHE, DOWNGRADE, STATIC) comes out
 * for each request, with probes so recovery is seen. Start with {@link dev.sluice.degrade.DegradationController};
 * {@link dev.sluice.degrade.DegradationSettings} holds every threshold and its reason, and {@code ResponseCache} with
 * its {@code CacheKey} serves the CACHE level.
 */
package dev.sluice.degrade;
