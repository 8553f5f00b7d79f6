package dev.sluice.http;

import dev.sluice.api.ApiFlavor;
import dev.sluice.api.ErrorKind;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;

/** Writing complete responses that Sluice itself produces. */
public final class Responses {
  private Responses() {}

  /** An error in the client's API format; a no-op when the response has already started or the client left. */
  public static void error(HttpServerResponse resp, ApiFlavor flavor, ErrorKind kind, String message, String param) {
    if (resp.headWritten() || resp.closed() || resp.ended()) return;
    Buffer body = flavor.errorBody(kind, message, param);
    resp.setStatusCode(kind.status())
        .putHeader(HttpHeaders.CONTENT_TYPE, flavor.errorContentType())
        .end(body);
  }

  public static void json(HttpServerResponse resp, int status, String json) {
    if (resp.closed() || resp.ended()) return;
    resp.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json; charset=utf-8").end(json);
  }
}
