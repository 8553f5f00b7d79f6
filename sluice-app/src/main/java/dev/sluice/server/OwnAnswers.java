package dev.sluice.server;

import dev.sluice.api.Answer;
import dev.sluice.api.Dialect;
import dev.sluice.api.ParsedRequest;
import dev.sluice.degrade.CachedAnswer;
import dev.sluice.degrade.ResponseCache;
import dev.sluice.support.Clock;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Answers the gateway writes itself for a routed request, in the client's format: a cached answer replayed, and the
 * static reply of the degradation ladder.
 */
final class OwnAnswers {
  private OwnAnswers() {}

  /** Endpoints whose answer Sluice can write itself (a cached answer in another shape, the static reply). */
  static boolean renderable(ParsedRequest parsed) {
    return parsed.endpoint().dialect().renders();
  }

  /** Replays a cached answer; false when it no longer parses (nothing was sent). */
  static boolean replay(HttpServerResponse resp, ParsedRequest parsed, ResponseCache.Lookup hit, Clock clock) {
    CachedAnswer cached = hit.answer();
    resp.headers().remove(HttpHeaders.RETRY_AFTER);
    if (!renderable(parsed)) { // embeddings: the body as it came
      resp.putHeader(RoutedRequest.CACHE_HEADER, hit.fresh() ? "hit" : "stale")
          .putHeader(HttpHeaders.AGE, Long.toString(hit.ageMillis() / 1000));
      resp.putHeader(HttpHeaders.CONTENT_TYPE, cached.contentType() == null ? "application/json" : cached.contentType());
      resp.end(Buffer.buffer(cached.body()));
      return true;
    }
    Answer answer = parsed.endpoint().dialect().parse(cached.stream(), cached.body());
    if (answer == null) return false;
    resp.putHeader(RoutedRequest.CACHE_HEADER, hit.fresh() ? "hit" : "stale")
        .putHeader(HttpHeaders.AGE, Long.toString(hit.ageMillis() / 1000));
    send(resp, parsed, answer, clock);
    return true;
  }

  /** The configured static reply, as a normal answer of the requested model. */
  static void staticReply(HttpServerResponse resp, ParsedRequest parsed, String message, Clock clock) {
    resp.headers().remove(HttpHeaders.RETRY_AFTER);
    resp.putHeader(RoutedRequest.DEGRADED_HEADER, "static");
    send(resp, parsed, new Answer(message, parsed.model(), "stop", 0, 0), clock);
  }

  private static void send(HttpServerResponse resp, ParsedRequest parsed, Answer answer, Clock clock) {
    if (resp.closed() || resp.ended()) return;
    Dialect dialect = parsed.endpoint().dialect();
    boolean stream = parsed.stream();
    String id = "sluice-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
    List<Buffer> parts = dialect.render(parsed.json(), stream, answer, id, clock.millis() / 1000);
    resp.setStatusCode(200).putHeader(HttpHeaders.CONTENT_TYPE, dialect.contentType(stream));
    if (!stream) {
      resp.end(parts.get(0));
      return;
    }
    resp.setChunked(true);
    dialect.streamHeaders().forEach(resp::putHeader);
    for (Buffer part : parts) resp.write(part);
    resp.end();
  }
}
