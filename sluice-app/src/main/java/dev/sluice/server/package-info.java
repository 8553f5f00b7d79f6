/**
 * The HTTP server and the request flow: {@link dev.sluice.server.Gateway} (listener, wiring),
 * {@link dev.sluice.server.GatewayHandler} (one handler for every path), {@link dev.sluice.server.Exchange} (one
 * proxied request with lazy commit, failover before the first byte, and exactly one outcome). Start with Exchange.
 */
package dev.sluice.server;
