package dev.sluice.server;

import dev.sluice.api.Endpoint;
import dev.sluice.api.ErrorKind;
import dev.sluice.config.CorsSettings;
import dev.sluice.http.Responses;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Browser requests ({@code Origin} present): the gateway's own origin and the configured origins pass, with
 * {@code Access-Control-Allow-Origin} for the configured ones (the origin itself, or {@code *} when every origin is
 * allowed, never {@code *} with credentials); every other origin gets 403 and no CORS header, so a page elsewhere can
 * neither read answers nor spend GPU time. Preflights ({@code OPTIONS} + {@code Access-Control-Request-Method}) are
 * answered here with 204.
 */
final class Cors {
  /** Request headers a browser may send: header-name tokens, never Sluice's own control headers. */
  private static final Pattern HEADER_NAME = Pattern.compile("[a-z0-9-]{1,64}");
  private static final int MAX_REQUESTED_HEADERS = 32;

  private Cors() {}

  /** Applies the policy; true when the request was answered here (a preflight or a refusal). */
  static boolean handle(HttpServerRequest req, CorsSettings cors) {
    String origin = req.getHeader(HttpHeaders.ORIGIN);
    if (origin == null) return false;
    HttpServerResponse resp = req.response();
    boolean listed = cors.allows(origin);
    if (!listed && !sameOrigin(origin, req.getHeader(HttpHeaders.HOST))) {
      Responses.error(resp, Endpoint.flavorOf(req.path()), ErrorKind.ORIGIN_NOT_ALLOWED,
          "this origin may not call the gateway from a browser: add it to server.cors.allowedOrigins", null);
      return true;
    }
    resp.putHeader(HttpHeaders.VARY, "Origin");
    if (listed) {
      resp.putHeader(HttpHeaders.ACCESS_CONTROL_ALLOW_ORIGIN, cors.anyOrigin() ? CorsSettings.ANY : origin);
      if (cors.allowCredentials()) resp.putHeader(HttpHeaders.ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
      resp.putHeader(HttpHeaders.ACCESS_CONTROL_EXPOSE_HEADERS, "x-request-id, x-sluice-node, x-sluice-cache, "
          + "x-sluice-degraded, x-model-downgraded, retry-after, x-ratelimit-limit-requests, "
          + "x-ratelimit-remaining-requests, x-ratelimit-reset-requests, x-ratelimit-limit-tokens, "
          + "x-ratelimit-remaining-tokens, x-ratelimit-reset-tokens");
    }
    if (req.method() != HttpMethod.OPTIONS || req.getHeader(HttpHeaders.ACCESS_CONTROL_REQUEST_METHOD) == null) {
      return false;
    }
    resp.putHeader(HttpHeaders.ACCESS_CONTROL_ALLOW_METHODS, "GET, POST");
    String allowed = allowedHeaders(req.getHeader(HttpHeaders.ACCESS_CONTROL_REQUEST_HEADERS));
    if (!allowed.isEmpty()) resp.putHeader(HttpHeaders.ACCESS_CONTROL_ALLOW_HEADERS, allowed);
    resp.putHeader(HttpHeaders.ACCESS_CONTROL_MAX_AGE, Long.toString(cors.maxAge().toSeconds()));
    resp.setStatusCode(204).end();
    return true;
  }

  /** The requested header names that are plain tokens and not Sluice's own {@code x-sluice-*} headers. */
  private static String allowedHeaders(String requested) {
    if (requested == null) return "";
    List<String> out = new ArrayList<>();
    for (String h : requested.split(",")) {
      String name = h.trim().toLowerCase(Locale.ROOT);
      if (out.size() < MAX_REQUESTED_HEADERS && HEADER_NAME.matcher(name).matches() && !name.startsWith("x-sluice-")) {
        out.add(name);
      }
    }
    return String.join(", ", out);
  }

  /** The page was served by this gateway: the origin's host:port is the Host the browser sent. */
  private static boolean sameOrigin(String origin, String host) {
    if (host == null) return false;
    try {
      URI o = URI.create(origin);
      if (o.getHost() == null) return false;
      int port = o.getPort() >= 0 ? o.getPort() : "https".equalsIgnoreCase(o.getScheme()) ? 443 : 80;
      String h = host.toLowerCase(Locale.ROOT);
      String expected = o.getHost().toLowerCase(Locale.ROOT);
      return h.equals(expected + ":" + port) || (h.equals(expected) && (port == 80 || port == 443));
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}
