/**
 * {@code sluice onboard}: check a new GPU node (reachable, serves the model), register it (a {@link
 * dev.sluice.onboard.NodeRegistrar}: admin API or config file) and follow it on the gateway until READY. Start with
 * {@link dev.sluice.cli.OnboardCommand}, which runs the five steps over {@link dev.sluice.onboard.NodeCheck},
 * {@link dev.sluice.onboard.NodeRegistrar} and {@link dev.sluice.onboard.ReadyWatch}.
 */
package dev.sluice.onboard;
