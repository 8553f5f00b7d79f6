package dev.sluice.upstream;

import dev.sluice.config.NodeSpec;
import io.vertx.core.http.HttpClientAgent;

/** A node's description and its HTTP client. */
public final class NodeClient {
  private final NodeSpec spec;
  private final HttpClientAgent http;

  NodeClient(NodeSpec spec, HttpClientAgent http) {
    this.spec = spec;
    this.http = http;
  }

  public NodeSpec spec() { return spec; }

  public HttpClientAgent http() { return http; }
}
