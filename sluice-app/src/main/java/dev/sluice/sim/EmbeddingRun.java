package dev.sluice.sim;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import java.util.function.Supplier;

/** One embedding request in flight: answered after the prefill time of its input, cancelled if the client leaves. */
final class EmbeddingRun {
  private final Vertx vertx;
  private final HttpServerResponse response;
  private final SimStats stats;
  private long timerId = -1;
  private boolean ended;

  EmbeddingRun(Vertx vertx, HttpServerResponse response, SimStats stats) {
    this.vertx = vertx;
    this.response = response;
    this.stats = stats;
  }

  /** Answers {@code body} after {@code delayNanos} (0: at once); the caller has counted the request as started. */
  void start(long delayNanos, Supplier<String> body) {
    response.closeHandler(v -> cancel());
    response.exceptionHandler(e -> cancel());
    if (delayNanos == 0) {
      answer(body);
      return;
    }
    timerId = vertx.setTimer(Math.max(1, delayNanos / 1_000_000), id -> answer(body));
  }

  private void answer(Supplier<String> body) {
    ended = true;
    stats.recordCompleted();
    response.putHeader("content-type", SimNode.JSON).end(body.get());
  }

  private void cancel() {
    if (ended) {
      return;
    }
    ended = true;
    stats.recordCancelled();
    if (timerId >= 0) {
      vertx.cancelTimer(timerId);
    }
  }
}
