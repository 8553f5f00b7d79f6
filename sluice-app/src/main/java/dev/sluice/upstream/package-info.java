/**
 * Talking to nodes: one bounded Vert.x HTTP client per node ({@link dev.sluice.upstream.NodeClients}) and the single
 * authority on what an upstream failure means ({@link dev.sluice.upstream.FailureClassifier}); where nodes added at run
 * time may point and connect ({@link dev.sluice.upstream.AddressPolicy}, {@link dev.sluice.upstream.NodeClient#target}).
 * Start with NodeClients.
 */
package dev.sluice.upstream;
