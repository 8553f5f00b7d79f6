package dev.sluice.upstream;

import dev.sluice.config.NodeSpec;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import java.net.InetAddress;
import java.net.URI;
import java.util.Locale;

/**
 * A node's description and its HTTP client, and the one owner of where a connection to the node goes: every request
 * to a node (data path, probes, warm-ups, /api/tags aggregation, telemetry scrapes) passes its options through
 * {@link #target(NodeSpec, RequestOptions)}.
 */
public final class NodeClient {
  private final NodeSpec spec;
  private final HttpClientAgent http;

  NodeClient(NodeSpec spec, HttpClientAgent http) {
    this.spec = spec;
    this.http = http;
  }

  public NodeSpec spec() { return spec; }

  public HttpClientAgent http() { return http; }

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
