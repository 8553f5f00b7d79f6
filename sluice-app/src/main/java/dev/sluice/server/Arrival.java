package dev.sluice.server;

import dev.sluice.observe.TraceContext;
import dev.sluice.support.Clock;
import dev.sluice.support.Ids;
import dev.sluice.support.Secrets;
import dev.sluice.upstream.Exchange;
import dev.sluice.upstream.ForwardedHeaders;
import io.vertx.core.http.HttpServerRequest;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * What the gateway knows about a request from its first byte: when it came, its id (the client's {@code X-Request-Id}
 * when well-formed and not credential-like, else a new one; returned on every response) and its trace (see
 * {@link TraceContext}).
 */
final class Arrival {
  static final String REQUEST_ID_HEADER = ForwardedHeaders.REQUEST_ID_HEADER;
  /** A client's request id is echoed only in this shape: it reaches logs and nodes, so nothing else gets through. */
  static final Pattern CLIENT_REQUEST_ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  /**
   * Prefixes of Sluice's credentials (gateway token, admin token): a request id containing one is a token pasted into
   * the wrong header, and ids are logged in full, so it is replaced. Compared without case: nothing legitimate has
   * them. JWTs and registered secrets (node API keys) are caught by {@link Secrets#redact}.
   */
  private static final String[] CREDENTIAL_PREFIXES = {"sk-sluice-", "sluice-admin-"};

  private final Clock clock;
  /** {@link Clock#nanos} at arrival. */
  final long startNanos;
  final long startEpochMillis;
  final String requestId;
  final TraceContext trace;

  private Arrival(Clock clock, String requestId, TraceContext trace) {
    this.clock = clock;
    this.startNanos = clock.nanos();
    this.startEpochMillis = clock.millis();
    this.requestId = requestId;
    this.trace = trace;
  }

  /** Reads the ids from the request's headers and sets {@code X-Request-Id} on its response. */
  static Arrival of(HttpServerRequest req, Clock clock) {
    String given = req.getHeader(REQUEST_ID_HEADER);
    String id = given != null && CLIENT_REQUEST_ID.matcher(given).matches() && !credentialLike(given) ? given
        : Ids.hex16();
    Arrival a = new Arrival(clock, id, TraceContext.continueOrStart(req.getHeader("traceparent"), req.getHeader("tracestate")));
    req.response().putHeader(REQUEST_ID_HEADER, id);
    return a;
  }

  /** Whether a well-formed request id looks like a credential: a token's start, or anything redaction would change. */
  static boolean credentialLike(String id) {
    String lower = id.toLowerCase(Locale.ROOT);
    for (String prefix : CREDENTIAL_PREFIXES) {
      if (lower.contains(prefix)) return true;
    }
    return !Secrets.redact(id).equals(id);
  }

  long elapsedNanos() {
    return clock.nanos() - startNanos;
  }

  /** What an exchange forwards of the arrival: the ids, and when it came (its total timeout runs from there). */
  Exchange.Origin origin() {
    return new Exchange.Origin(requestId, trace, startNanos);
  }
}
