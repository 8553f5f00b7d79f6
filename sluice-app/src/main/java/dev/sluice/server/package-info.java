/**
 * The HTTP server and the request flow: {@link dev.sluice.server.Gateway} (listener, wiring),
 * {@link dev.sluice.server.GatewayHandler} (one handler for every data-plane path), {@code RoutedRequest} (one routed
 * request: context guard, limits, degradation, routing by the {@code ConfigSnapshot} it arrived with, then an
 * {@link dev.sluice.upstream.Exchange}). Start with GatewayHandler.
 */
package dev.sluice.server;
