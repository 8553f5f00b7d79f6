package dev.sluice.upstream;

import dev.sluice.config.NodeSpec;
import io.vertx.core.http.HttpClientAgent;
import java.util.concurrent.atomic.AtomicInteger;

/** A node's description, its HTTP client and its router-local count of requests in flight. */
public final class NodeClient {
  private final NodeSpec spec;
  private final HttpClientAgent http;
  private final AtomicInteger inFlight = new AtomicInteger();

  NodeClient(NodeSpec spec, HttpClientAgent http) {
    this.spec = spec;
    this.http = http;
  }

  public NodeSpec spec() { return spec; }

  public HttpClientAgent http() { return http; }

  /** Requests sent to this node whose response has not ended yet. */
  public int inFlight() { return inFlight.get(); }

  public void acquire() { inFlight.incrementAndGet(); }

  public void release() { inFlight.decrementAndGet(); }
}
