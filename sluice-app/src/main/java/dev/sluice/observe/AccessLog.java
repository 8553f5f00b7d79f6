package dev.sluice.observe;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One JSON line per request on the logger {@value #LOGGER} (logback.xml sends it to stdout, message only; set
 * {@code SLUICE_ACCESS_LOG=off} to silence it, or route the logger elsewhere). Fields: time (arrival, UTC), requestId,
 * traceId, tenant, endpoint, model (requested), modelServed, node, attempts, outcome, status, ttftMs, durationMs,
 * overheadMs, promptTokens, completionTokens, stream, cachedTokens, affinity (hit, miss, moved), cachedTokensEstimate,
 * queuedMs (time waited in the flow-control queue), band (interactive, batch), cache (hit, stale, miss: what the
 * response-cache lookup found) and, with {@code routing.explain} on, route (as the {@code x-sluice-route} header);
 * unknown values are null. Never the prompt, the answer or a
 * credential: everything here is a {@link RequestRecord} field, and those hold none.
 */
public final class AccessLog implements RequestObserver {
  public static final String LOGGER = "sluice.access";
  private static final Logger log = LoggerFactory.getLogger(LOGGER);
  /** One builder per event loop thread, reused: a line costs its string and nothing else of note. */
  private static final ThreadLocal<StringBuilder> BUFFER = ThreadLocal.withInitial(() -> new StringBuilder(512));

  @Override
  public void onRequest(RequestRecord r) {
    if (!log.isInfoEnabled()) return;
    log.info(line(r));
  }

  /** The JSON line of one record (no trailing newline). */
  public static String line(RequestRecord r) {
    StringBuilder b = BUFFER.get();
    b.setLength(0);
    b.append("{\"time\":\"").append(Instant.ofEpochMilli(r.startEpochMillis())).append('"');
    string(b, "requestId", r.requestId());
    string(b, "traceId", r.traceId());
    string(b, "tenant", r.tenant());
    string(b, "endpoint", r.endpoint());
    string(b, "model", r.modelRequested());
    string(b, "modelServed", r.modelServed());
    string(b, "node", r.node());
    b.append(",\"attempts\":").append(r.attempts());
    string(b, "outcome", r.outcome());
    b.append(",\"status\":").append(r.status());
    millis(b, "ttftMs", r.ttftNanos());
    millis(b, "durationMs", r.durationNanos());
    millis(b, "overheadMs", r.overheadNanos());
    count(b, "promptTokens", r.promptTokens());
    count(b, "completionTokens", r.completionTokens());
    b.append(",\"stream\":").append(r.stream());
    count(b, "cachedTokens", r.cachedTokens());
    string(b, "affinity", r.affinity());
    count(b, "cachedTokensEstimate", r.cachedTokensEstimate());
    millis(b, "queuedMs", r.queuedNanos());
    string(b, "band", r.band());
    string(b, "cache", r.cache());
    if (r.route() != null) string(b, "route", r.route());
    b.append('}');
    String out = b.toString();
    if (b.capacity() > 4096) BUFFER.remove(); // an odd long tenant id does not keep a big buffer alive
    return out;
  }

  private static void string(StringBuilder b, String name, String value) {
    b.append(",\"").append(name).append("\":");
    if (value == null) {
      b.append("null");
      return;
    }
    b.append('"');
    JsonStringEncoder.getInstance().quoteAsString(value, b);
    b.append('"');
  }

  private static void millis(StringBuilder b, String name, long nanos) {
    b.append(",\"").append(name).append("\":");
    if (nanos < 0) b.append("null");
    else {
      long micros = (nanos + 500) / 1000;
      long frac = micros % 1000;
      b.append(micros / 1000).append('.').append(frac < 100 ? (frac < 10 ? "00" : "0") : "").append(frac);
    }
  }

  private static void count(StringBuilder b, String name, long value) {
    b.append(",\"").append(name).append("\":");
    if (value < 0) b.append("null");
    else b.append(value);
  }
}
