package dev.sluice.upstream;

import dev.sluice.api.ApiFlavor;
import dev.sluice.api.Endpoint;
import dev.sluice.api.ParsedRequest;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.Timeouts;
import dev.sluice.observe.TraceContext;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.util.Locale;
import java.util.Set;

/**
 * Which headers cross the gateway: what of the client's request a node sees (and what the gateway adds: the node's
 * API key, the request id, its span of the trace), and what of the node's answer the client sees (and the
 * {@value #NODE_HEADER} header naming the node).
 */
public final class ForwardedHeaders {
  /** The response header naming the node whose answer reached the client. */
  public static final String NODE_HEADER = "x-sluice-node";
  /**
   * On an answer the gateway translated from the node's chat completions (the node does not speak the client's
   * dialect): {@value #TRANSLATED_VALUE}. Absent when the node's answer passed through unchanged.
   */
  public static final String TRANSLATED_HEADER = "x-sluice-translated";
  static final String TRANSLATED_VALUE = "chat-completions";
  /** The request id the gateway returns to the client and forwards to the node. */
  public static final String REQUEST_ID_HEADER = "X-Request-Id";
  /** Request headers never forwarded: hop-by-hop, credentials meant for Sluice, and Sluice's own control headers. */
  static final Set<String> DROP_REQUEST_HEADERS = Set.of(
      "host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
      "proxy-authorization", "proxy-connection", "authorization", "x-api-key", "cookie", "accept-encoding", "expect",
      // where a request came from is the gateway's to say, not the client's
      "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "x-real-ip", "via",
      // the gateway sends its own: the request id it returned, and its span of the client's trace
      "x-request-id", "traceparent", "tracestate");
  /** Response headers not copied to the client: hop-by-hop, and length/encoding which Vert.x sets itself. */
  static final Set<String> DROP_RESPONSE_HEADERS = Set.of(
      "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection",
      "content-length",
      // the client gets the gateway's request id, not the node's
      "x-request-id");

  private ForwardedHeaders() {}

  /**
   * The request to {@code node} for {@code request}: its path on the node, its deadlines and its headers.
   * {@code overChat}: the request goes translated, to the node's chat completions.
   */
  static RequestOptions toNode(NodeSpec node, ParsedRequest request, boolean overChat, MultiMap clientHeaders,
      Timeouts timeouts, String requestId, TraceContext trace) {
    URI baseUri = request.endpoint().flavor() == ApiFlavor.OLLAMA ? node.root() : node.openAiBase();
    String base = baseUri.getRawPath();
    String path = overChat ? Endpoint.OPENAI_CHAT.upstreamPath() : request.endpoint().upstreamPath();
    RequestOptions o = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setURI((base == null ? "" : base) + path)
        .setConnectTimeout(NodeClients.acquireTimeoutMillis(timeouts)) // busy pool vs hung connect
        .setFollowRedirects(false);
    MultiMap h = o.getHeaders() == null ? MultiMap.caseInsensitiveMultiMap() : o.getHeaders();
    for (var e : clientHeaders) {
      String name = e.getKey().toLowerCase(Locale.ROOT);
      if (DROP_REQUEST_HEADERS.contains(name) || name.startsWith("x-sluice-")) continue;
      h.add(e.getKey(), e.getValue());
    }
    if (!h.contains(HttpHeaders.CONTENT_TYPE)) h.set(HttpHeaders.CONTENT_TYPE, "application/json");
    if (overChat) h.set(HttpHeaders.CONTENT_TYPE, "application/json");
    if (node.apiKey() != null && !node.apiKey().isEmpty()) {
      h.set(HttpHeaders.AUTHORIZATION, "Bearer " + node.apiKey());
      // Anthropic's API (and proxies in front of it) take the key as x-api-key
      if (!overChat && request.endpoint().flavor() == ApiFlavor.ANTHROPIC) h.set("x-api-key", node.apiKey());
    }
    h.set(REQUEST_ID_HEADER, requestId);
    h.set("traceparent", trace.traceparent());
    if (trace.tracestate() != null) h.set("tracestate", trace.tracestate());
    o.setHeaders(h);
    return o;
  }

  /**
   * The node's status and headers onto the client's response. A plain body keeps the node's length; a stream (or a
   * body without one) is sent chunked. {@code translated}: the gateway writes the client's dialect from the node's
   * chat completions, so the node's length does not hold (a translated plain body is written whole, its length set
   * then).
   */
  static void toClient(HttpClientResponse from, HttpServerResponse to, boolean stream, String nodeId,
      boolean translated) {
    to.setStatusCode(from.statusCode());
    for (var e : from.headers()) {
      if (!DROP_RESPONSE_HEADERS.contains(e.getKey().toLowerCase(Locale.ROOT))) to.headers().add(e.getKey(), e.getValue());
    }
    String len = from.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (translated) {
      to.putHeader(TRANSLATED_HEADER, TRANSLATED_VALUE);
      if (stream) to.setChunked(true);
    } else if (!stream && len != null) {
      to.putHeader(HttpHeaders.CONTENT_LENGTH, len);
    } else {
      to.setChunked(true);
    }
    to.putHeader(NODE_HEADER, nodeId);
  }
}
