package dev.sluice.sim;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

/**
 * One generation request in flight, on the node's event loop: a sequence in the node's {@link BatchEngine}, whose
 * token callbacks become writes in order; the final timings are the engine's simulated schedule. With time scale 0
 * the engine is bypassed and everything is written at once, with the timings of the request alone on an idle
 * engine. When the client leaves, the sequence is cancelled in the engine (its KV and slot are freed at once) and
 * the run counts as cancelled.
 */
final class GenerationRun implements BatchEngine.Listener {
  private final HttpServerRequest request;
  private final HttpServerResponse response;
  private final Generation generation;
  private final GenerationFormat format;
  private final EngineDriver engine;
  private final int writeSplitBytes;
  private final SimFault fault;
  private final SimStats stats;

  private int[] promptTokenIds = new int[0];
  private BatchEngine.Sequence sequence;
  private int emitted;
  private boolean ended;
  private boolean stalled;
  private Future<Void> lastWrite = Future.succeededFuture();

  GenerationRun(HttpServerRequest request, Generation generation, GenerationFormat format, SimNode node,
      SimFault fault) {
    this.request = request;
    this.response = request.response();
    this.generation = generation;
    this.format = format;
    this.engine = node.engine();
    this.writeSplitBytes = node.options().writeSplitBytes();
    this.fault = fault;
    this.stats = node.stats();
    this.startNanos = engine.clock().nanos();
  }

  private final long startNanos;

  /** The prompt's {@link PromptTokens}, so that the engine can reuse a cached prefix of it. */
  GenerationRun prompt(int[] tokenIds) {
    this.promptTokenIds = tokenIds;
    return this;
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
        default -> { } // token faults act after their token
      }
    }
    if (generation.stream()) {
      response.setChunked(true).putHeader("content-type", format.streamContentType());
    }
    if (engine.instant()) {
      runInstantly();
      return;
    }
    if (tokenFaultDue()) {
      applyTokenFault();
      return;
    }
    sequence = new BatchEngine.Sequence(generation.promptTokens(), promptTokenIds, generation.completionTokens(),
        this);
    engine.submit(sequence);
  }

  private void runInstantly() {
    int total = generation.completionTokens();
    long[] schedule = engine.engine().soloSchedule(generation.promptTokens(), total);
    engine.engine().recordInstant(generation.promptTokens(), total, schedule[0]);
    while (!ended) {
      if (tokenFaultDue()) {
        applyTokenFault();
        return;
      }
      if (emitted == total) {
        finish(Timings.solo(schedule));
        return;
      }
      emit();
    }
  }

  @Override
  public void token(BatchEngine.Sequence s, int index, long atNanos) {
    if (ended || stalled) {
      return;
    }
    emit();
    if (tokenFaultDue()) {
      applyTokenFault();
    }
  }

  @Override
  public void finished(BatchEngine.Sequence s, long atNanos) {
    if (ended || stalled) {
      return;
    }
    long firstToken = s.firstTokenNanos() < 0 ? atNanos : s.firstTokenNanos();
    finish(new Timings(s.arrivalNanos(), s.admittedNanos(), firstToken, atNanos));
  }

  private boolean tokenFaultDue() {
    return fault != null && emitted == Math.min(fault.afterTokens(), generation.completionTokens());
  }

  private void emit() {
    if (generation.stream()) {
      if (emitted == 0) {
        format.head(generation).forEach(this::write);
      }
      write(format.token(generation, emitted));
    }
    emitted++;
  }

  private void finish(Timings timings) {
    end(Outcome.COMPLETED);
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
    if (sequence != null) {
      engine.cancel(sequence); // the node stopped serving this request: free its KV and slot
    }
    if (fault.kind() == SimFault.Kind.STALL_AFTER_TOKENS) {
      stalled = true; // silent until the client leaves
      return;
    }
    end(Outcome.FAULTED);
    lastWrite.onComplete(written -> request.connection().close());
  }

  private void write(String event) {
    if (event.isEmpty()) {
      // a token without an event of its own (a piece of an Ollama tool call); an empty chunk would end the stream
      return;
    }
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
    if (sequence != null) {
      engine.cancel(sequence);
    }
  }

  private void end(Outcome outcome) {
    ended = true;
    switch (outcome) {
      case COMPLETED -> stats.recordCompleted(engine.clock().nanos() - startNanos);
      case CANCELLED -> stats.recordCancelled();
      case FAULTED -> stats.recordFaulted();
    }
  }

  private enum Outcome { COMPLETED, CANCELLED, FAULTED }
}
