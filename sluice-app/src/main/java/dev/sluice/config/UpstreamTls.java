package dev.sluice.config;

import java.nio.file.Path;

/**
 * How the gateway checks the certificates of {@code https://} nodes.
 *
 * @param caFile PEM bundle of the CAs trusted for nodes; when set, only these are trusted; null = the JVM's default
 *     trust store (absolute: the loader resolves relative paths)
 * @param verifyHostname whether the node certificate must name the host of its baseUrl; off only for tests and
 *     lab setups (the gateway warns at start)
 */
public record UpstreamTls(Path caFile, boolean verifyHostname) {
  /** The JVM's trust store, host names checked. */
  public static UpstreamTls defaults() {
    return new UpstreamTls(null, true);
  }
}
