package dev.sluice.server;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import java.util.concurrent.CompletionStage;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A routed request's waits on the shared store (Redis: admission, a cache lookup after a local miss), without blocking
 * its event loop: once the store answers, the request goes on on the context it arrived on; if the client leaves
 * meanwhile, it ends as cancelled at once.
 */
final class SharedWait {
  private final HttpServerResponse resp;
  /** The context the request arrived on: every step after a wait runs there. */
  private final Context context = Vertx.currentContext();
  private final BooleanSupplier done;
  private final Runnable cancelled;
  private final Consumer<RuntimeException> bug;

  /**
   * @param done whether the request has ended (its one outcome counted)
   * @param cancelled ends the request as cancelled (the client left)
   * @param bug ends the request after a step that threw (a bug: the request still ends, with one outcome)
   */
  SharedWait(HttpServerResponse resp, BooleanSupplier done, Runnable cancelled, Consumer<RuntimeException> bug) {
    this.resp = resp;
    this.done = done;
    this.cancelled = cancelled;
    this.bug = bug;
  }

  /**
   * Continues with {@code then} on the request's context once {@code stage} completes. If the client leaves meanwhile
   * the request ends as cancelled at once, and {@code abandoned} (when given) gets the value that came too late.
   */
  <T> void await(CompletionStage<T> stage, BiConsumer<T, Throwable> then, Consumer<T> abandoned) {
    resp.closeHandler(v -> {
      if (!done.getAsBoolean()) cancelled.run();
    });
    stage.whenComplete((value, error) -> onContext(() -> {
      if (done.getAsBoolean() || resp.closed()) {
        if (!done.getAsBoolean()) cancelled.run();
        if (abandoned != null && value != null) abandoned.accept(value);
        return;
      }
      try {
        then.accept(value, error);
      } catch (RuntimeException e) {
        bug.accept(e);
      }
    }));
  }

  private void onContext(Runnable step) {
    if (context == null || Vertx.currentContext() == context) step.run();
    else context.runOnContext(v -> step.run());
  }
}
