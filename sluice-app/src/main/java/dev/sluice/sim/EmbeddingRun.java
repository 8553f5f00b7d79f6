package dev.sluice.sim;

import io.vertx.core.http.HttpServerResponse;
import java.util.function.Function;

/**
 * One embedding request in flight: a prefill-only sequence in the node's {@link BatchEngine} (it shares steps with
 * the generations), answered when its prefill ends; cancelled in the engine if the client leaves. With time scale 0
 * it is answered at once with the timings of the input alone on an idle engine.
 */
final class EmbeddingRun implements BatchEngine.Listener {
  private final HttpServerResponse response;
  private final SimStats stats;
  private final EngineDriver engine;
  private Function<Timings, String> body;
  private BatchEngine.Sequence sequence;
  private boolean ended;

  EmbeddingRun(HttpServerResponse response, SimStats stats, EngineDriver engine) {
    this.response = response;
    this.stats = stats;
    this.engine = engine;
  }

  /** Answers {@code body} of the run's timings once {@code promptTokens} are prefilled; the caller counted it. */
  void start(int promptTokens, Function<Timings, String> body) {
    this.body = body;
    response.closeHandler(v -> cancel());
    response.exceptionHandler(e -> cancel());
    if (engine.instant()) {
      long[] schedule = engine.engine().soloSchedule(promptTokens, 0);
      engine.engine().recordInstant(promptTokens, 0, 0);
      answer(Timings.solo(schedule));
      return;
    }
    sequence = new BatchEngine.Sequence(promptTokens, 0, this);
    engine.submit(sequence);
  }

  @Override
  public void finished(BatchEngine.Sequence s, long atNanos) {
    if (!ended) {
      answer(new Timings(s.arrivalNanos(), s.admittedNanos(), atNanos, atNanos));
    }
  }

  private void answer(Timings timings) {
    ended = true;
    stats.recordCompleted();
    response.putHeader("content-type", SimNode.JSON).end(body.apply(timings));
  }

  private void cancel() {
    if (ended) {
      return;
    }
    ended = true;
    stats.recordCancelled();
    if (sequence != null) {
      engine.cancel(sequence);
    }
  }
}
