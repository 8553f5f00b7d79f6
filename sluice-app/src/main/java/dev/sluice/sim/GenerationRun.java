package dev.sluice.sim;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

/**
 * One generation request in flight, on its connection's event loop: prefill wait, then one token per decode
 * interval, with at most one timer pending. Token due times are absolute, so timer granularity (1 ms) never changes
 * the average speed; with time scale 0 everything is written at once without timers. When the client leaves, the
 * pending timer is cancelled and the run counts as cancelled.
 */
final class GenerationRun {
  private final Vertx vertx;
  private final HttpServerRequest request;
  private final HttpServerResponse response;
  private final Generation generation;
  private final GenerationFormat format;
  private final PerformanceModel performance;
  private final double timeScale;
  private final int writeSplitBytes;
  private final SimFault fault;
  private final SimStats stats;
  private final long arrivalNanos;

  private long prefillStartNanos;
  private long firstTokenNanos;
  private long nextTokenDueNanos;
  private int emitted;
  private long timerId = -1;
  private boolean ended;
  private Future<Void> lastWrite = Future.succeededFuture();

  GenerationRun(Vertx vertx, HttpServerRequest request, Generation generation, GenerationFormat format,
      SimNode node, SimFault fault, long arrivalNanos) {
    this.vertx = vertx;
    this.request = request;
    this.response = request.response();
    this.generation = generation;
    this.format = format;
    this.performance = node.performance();
    this.timeScale = node.options().timeScale();
    this.writeSplitBytes = node.options().writeSplitBytes();
    this.fault = fault;
    this.stats = node.stats();
    this.arrivalNanos = arrivalNanos;
  }

  /** Starts the run; the caller has counted it as started. */
  void start() {
    response.closeHandler(v -> cancel());
    response.exceptionHandler(e -> cancel());
    if (fault != null) {
      switch (fault.kind()) {
        case STATUS -> {
          end(Outcome.FAULTED);
          response.setStatusCode(fault.status()).putHeader("content-type", SimNode.JSON).end(fault.body());
          return;
        }
        case RESET_BEFORE_FIRST_BYTE -> {
          end(Outcome.FAULTED);
          request.connection().close();
          return;
        }
        case HANG_BEFORE_FIRST_BYTE -> {
          return;
        }
        default -> { } // token faults act in step()
      }
    }
    if (generation.stream()) {
      response.setChunked(true).putHeader("content-type", format.streamContentType());
    }
    prefillStartNanos = System.nanoTime();
    nextTokenDueNanos = prefillStartNanos + scaled(performance.prefillNanos(generation.promptTokens()));
    step();
  }

  private void step() {
    timerId = -1;
    long now = System.nanoTime();
    int total = generation.completionTokens();
    while (!ended) {
      if (fault != null && emitted == Math.min(fault.afterTokens(), total)) {
        applyTokenFault();
        return;
      }
      if (emitted == total) {
        finish();
        return;
      }
      if (timeScale > 0 && nextTokenDueNanos > now) {
        long delayMillis = Math.max(1, (nextTokenDueNanos - now + 999_999) / 1_000_000);
        timerId = vertx.setTimer(delayMillis, id -> step());
        return;
      }
      emit();
    }
  }

  private void emit() {
    if (emitted == 0) {
      firstTokenNanos = System.nanoTime();
    }
    if (generation.stream()) {
      if (emitted == 0) {
        format.head(generation).forEach(this::write);
      }
      write(format.token(generation, emitted));
    }
    emitted++;
    nextTokenDueNanos += scaled(performance.decodeNanos(emitted));
  }

  private void finish() {
    end(Outcome.COMPLETED);
    Timings timings = new Timings(arrivalNanos, prefillStartNanos, firstTokenNanos, System.nanoTime());
    if (generation.stream()) {
      format.tail(generation, timings).forEach(this::write);
      response.end();
      return;
    }
    Buffer body = Buffer.buffer(format.whole(generation, timings).toString());
    response.putHeader("content-type", SimNode.JSON);
    if (writeSplitBytes == 0) {
      response.end(body);
      return;
    }
    response.putHeader("content-length", Integer.toString(body.length()));
    write(body);
    response.end();
  }

  private void applyTokenFault() {
    if (fault.kind() == SimFault.Kind.STALL_AFTER_TOKENS) {
      return; // silent until the client leaves
    }
    end(Outcome.FAULTED);
    lastWrite.onComplete(written -> request.connection().close());
  }

  private void write(String event) {
    write(Buffer.buffer(event));
  }

  private void write(Buffer bytes) {
    if (writeSplitBytes == 0) {
      lastWrite = response.write(bytes);
      return;
    }
    for (int from = 0; from < bytes.length(); from += writeSplitBytes) {
      lastWrite = response.write(bytes.getBuffer(from, Math.min(from + writeSplitBytes, bytes.length())));
    }
  }

  private void cancel() {
    if (ended) {
      return;
    }
    end(Outcome.CANCELLED);
    if (timerId >= 0) {
      vertx.cancelTimer(timerId);
      timerId = -1;
    }
  }

  private void end(Outcome outcome) {
    ended = true;
    switch (outcome) {
      case COMPLETED -> stats.recordCompleted();
      case CANCELLED -> stats.recordCancelled();
      case FAULTED -> stats.recordFaulted();
    }
  }

  private long scaled(long nanos) {
    return timeScale == 0 ? 0 : (long) (nanos / timeScale);
  }

  private enum Outcome { COMPLETED, CANCELLED, FAULTED }
}
