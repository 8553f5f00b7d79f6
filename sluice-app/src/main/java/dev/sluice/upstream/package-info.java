/**
 * Talking to nodes: the failover loop of one proxied request ({@link dev.sluice.upstream.Exchange}: lazy commit,
 * failover before the first byte, exactly one outcome; one try on one node is an {@code Attempt}), which headers cross
 * ({@link dev.sluice.upstream.ForwardedHeaders}), one bounded Vert.x HTTP client per node
 * ({@link dev.sluice.upstream.NodeClients}) and the single authority on what an upstream failure means
 * ({@link dev.sluice.upstream.FailureClassifier}); where nodes added at run time may point and connect
 * ({@link dev.sluice.upstream.AddressPolicy}, {@link dev.sluice.upstream.NodeClient#target}). Start with Exchange.
 */
package dev.sluice.upstream;
