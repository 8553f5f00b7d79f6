package dev.sluice.server;

import dev.sluice.api.ApiFlavor;
import dev.sluice.api.ErrorKind;
import dev.sluice.http.Responses;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.observe.RequestRecord;
import dev.sluice.support.Secrets;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;

/**
 * How a request the gateway answers itself ends, on either plane: the refusal in the client's API format, and the
 * record the metrics and observers get (no node, no attempt).
 */
final class Outcomes {
  private static final int MAX_MODEL_NAME_IN_MESSAGE = 100;

  private final Observers observers;
  private final SluiceMetrics metrics;

  Outcomes(Observers observers, SluiceMetrics metrics) {
    this.observers = observers;
    this.metrics = metrics;
  }

  void refuse(HttpServerRequest req, ApiFlavor flavor, String endpoint, ErrorKind kind, String message,
      Arrival start) {
    refuse(req, flavor, endpoint, kind, message, null, null, start);
  }

  /** An error answered before routing: counted, and told to the observers (no node, no attempt). */
  void refuse(HttpServerRequest req, ApiFlavor flavor, String endpoint, ErrorKind kind, String message,
      String param, String tenant, Arrival start) {
    Responses.error(req.response(), flavor, kind, message, param);
    observe(start, endpoint, SluiceMetrics.UNKNOWN, tenant, kind.status(),
        kind.status() < 500 ? "client_error" : "failed");
  }

  /** 429 + Retry-After for a credential not looked at because its address waits after too many wrong ones. */
  void throttled(HttpServerRequest req, ApiFlavor flavor, String label, AccessControl.Throttled t, Arrival start) {
    req.response().putHeader(HttpHeaders.RETRY_AFTER, Long.toString(t.retryAfterSeconds()));
    metrics.credentialThrottled(t.plane());
    refuse(req, flavor, label, ErrorKind.RATE_LIMITED, t.getMessage(), start);
  }

  /** The record of a request the gateway answered itself: metrics and observers see it like a routed one. */
  void observe(Arrival start, String endpoint, String model, String tenant, int status, String outcome) {
    long duration = start.elapsedNanos();
    observers.publish(new RequestRecord(start.startEpochMillis, start.requestId, start.trace.traceId(), tenant,
        endpoint, model, null, null, 0, outcome, status, -1, duration, duration, -1, -1, false));
  }

  /** A client's text quoted in a message: secrets redacted (a token pasted into the wrong field), and clipped. */
  static String clip(String s) {
    String shown = Secrets.redact(s);
    return shown.length() <= MAX_MODEL_NAME_IN_MESSAGE ? shown : shown.substring(0, MAX_MODEL_NAME_IN_MESSAGE) + "…";
  }
}
