package dev.sluice.upstream;

import dev.sluice.config.NodeSpec;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import java.net.InetAddress;
import java.net.URI;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * A node's description and its two HTTP clients, and the one owner of where a connection to the node goes: every
 * request to a node (data path, probes, warm-ups, /api/tags aggregation, telemetry scrapes) passes its options through
 * {@link #target(NodeSpec, RequestOptions)}.
 */
public final class NodeClient {
  private final NodeSpec spec;
  private final HttpClientAgent http;
  private final HttpClientAgent probeHttp;

  NodeClient(NodeSpec spec, HttpClientAgent http, HttpClientAgent probeHttp) {
    this.spec = spec;
    this.http = http;
    this.probeHttp = probeHttp;
  }

  public NodeSpec spec() { return spec; }

  /** The client for traffic (clients' requests), bounded by {@code upstream.maxConnectionsPerNode}. */
  public HttpClientAgent http() { return http; }

  /**
   * The client for the prober (shallow probes, model lists, warm-ups, generation probes): its own small pool
   * ({@link NodeClients#PROBE_CONNECTIONS_PER_NODE}), so a node whose traffic pool is full of long streams is still
   * probed at once; it is busy, not broken.
   */
  public HttpClientAgent probeHttp() { return probeHttp; }

  /** Shuts both clients down, letting requests in flight finish for up to {@code graceMs}. */
  void shutdown(long graceMs) {
    http.shutdown(graceMs, TimeUnit.MILLISECONDS);
    probeHttp.shutdown(graceMs, TimeUnit.MILLISECONDS);
  }

  /** Closes both clients at once. */
  void close() {
    http.close();
    probeHttp.close();
  }

  /** {@code options} aimed at this node: see {@link #target(NodeSpec, RequestOptions)}. */
  public RequestOptions target(RequestOptions options) {
    return target(spec, options);
  }

  /**
   * {@code options} (an absolute URI of {@code node}'s, or a path on the node client's default host, the node's root)
   * aimed at where {@code node} may be reached. A node added at run time connects to the address its host name
   * resolved to and was checked against when it was added ({@link NodeSpec#pinnedAddresses()}, see
   * {@link AddressPolicy}), never to what the name resolves to later; the Host header, TLS SNI and the certificate's
   * host name check keep the name. Nodes from the config file or etcd: {@code options} unchanged (Vert.x resolves
   * the name at each connection, as the operator configured it).
   */
  public static RequestOptions target(NodeSpec node, RequestOptions options) {
    if (node == null || node.pinnedAddresses().isEmpty()) return options;
    String host = options.getHost() != null ? options.getHost() : node.root().getHost();
    InetAddress pinned = node.pinnedAddresses().get(host.toLowerCase(Locale.ROOT));
    if (pinned == null) return options;
    int port = options.getPort() != null ? options.getPort() : port(node.root());
    return options.setHost(host).setPort(port)
        .setServer(SocketAddress.inetSocketAddress(port, pinned.getHostAddress()));
  }

  /** The port of {@code uri}, or its scheme's default. */
  static int port(URI uri) {
    if (uri.getPort() > 0) return uri.getPort();
    return "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
  }
}
