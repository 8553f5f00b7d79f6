/**
 * Talking to nodes: one bounded Vert.x HTTP client per node ({@link dev.sluice.upstream.NodeClients}) and the single
 * authority on what an upstream failure means ({@link dev.sluice.upstream.FailureClassifier}). Start with NodeClients.
 */
package dev.sluice.upstream;
