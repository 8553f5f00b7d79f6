package dev.sluice.server;

import dev.sluice.api.ErrorKind;
import dev.sluice.config.ServerSettings;
import dev.sluice.limit.UploadBudget;
import dev.sluice.metrics.SluiceMetrics;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Reads a routed request's body into memory within its bounds: at most {@code server.maxBodyBytes} (413), bytes held
 * only as they arrive and counted against the {@link UploadBudget} of the caller's tenant and of the gateway (429 and
 * 503 with Retry-After past them), and complete within {@code server.bodyReadTimeout} of the head (408, through the
 * {@link ConnectionGuard}). Every refusal closes the connection, and no refused body reaches a node.
 *
 * <p>Only what has arrived is held: the chunks as they came (Vert.x hands each one over as a heap copy of its own; small
 * ones are copied together into {@value #OPEN_BUFFER_BYTES}-byte buffers), put together once when the body is
 * complete, so the length a client announces reserves nothing and a body costs one copy more than its chunks (none
 * when it came in one chunk, as small requests do). The budget is given back however
 * the body ends: complete, refused, timed out, or the connection gone.
 */
final class BodyReader {
  /** Chunks smaller than this are copied into a shared buffer rather than kept as objects of their own. */
  static final int COALESCE_BELOW_BYTES = 1024;
  /** The size of that buffer: small, since it is held before it is full (a body dribbled byte by byte holds one). */
  static final int OPEN_BUFFER_BYTES = 4096;

  private final UploadBudget budget = new UploadBudget();
  private final ConnectionGuard guard;
  /** The upload caps of the settings last seen (resolved once per config, not per request). */
  private volatile Resolved resolved;

  private record Resolved(ServerSettings settings, UploadBudget.Limits limits) {}

  BodyReader(ConnectionGuard guard, SluiceMetrics metrics) {
    this.guard = Objects.requireNonNull(guard, "guard");
    metrics.bindUploadBytes(budget::heldBytes);
  }

  /** Bytes held in bodies still arriving, all tenants. */
  long heldBytes() {
    return budget.heldBytes();
  }

  /**
   * Reads the body of {@code req} for {@code tenant}; then {@code onBody} with the whole body, or {@code onRefused}
   * with the error to answer (the response then carries {@code Connection: close}, and Retry-After when a retry can
   * succeed). Neither is called when the client goes away first.
   */
  void read(HttpServerRequest req, ServerSettings settings, String tenant, Consumer<Buffer> onBody,
      BiConsumer<ErrorKind, String> onRefused) {
    long max = settings.maxBodyBytes();
    String declared = req.getHeader(HttpHeaders.CONTENT_LENGTH);
    long announced = 0;
    if (declared != null) {
      try {
        announced = Long.parseLong(declared.trim());
      } catch (NumberFormatException e) {
        announced = -1;
      }
      if (announced < 0 || announced > max) {
        req.response().putHeader(HttpHeaders.CONNECTION, "close");
        req.endHandler(v -> req.connection().close()); // what still comes is read and dropped, then closed
        req.resume();
        onRefused.accept(ErrorKind.BODY_TOO_LARGE, announced < 0 ? "Content-Length is not a number"
            : tooLarge(announced, max));
        return;
      }
    }
    new Upload(req, settings, limits(settings), budget.open(tenant == null ? "" : tenant), onBody, onRefused)
        .start();
  }

  private UploadBudget.Limits limits(ServerSettings settings) {
    Resolved r = resolved;
    if (r != null && r.settings() == settings) return r.limits();
    UploadBudget.Limits limits = UploadBudget.Limits.resolve(settings.maxUploadBytesInProgress(),
        settings.maxUploadBytesInProgressPerTenant(), settings.maxBodyBytes(), Runtime.getRuntime().maxMemory());
    resolved = new Resolved(settings, limits);
    return limits;
  }

  static String tooLarge(long len, long max) {
    return "request body of " + len + " bytes is larger than the limit of " + max
        + " bytes (server.maxBodyBytes)";
  }

  /** One body being read: all its callbacks run on the request's event loop. */
  private final class Upload {
    private final HttpServerRequest req;
    private final ServerSettings settings;
    private final UploadBudget.Limits limits;
    private final UploadBudget.Upload counted;
    private final Consumer<Buffer> onBody;
    private final BiConsumer<ErrorKind, String> onRefused;
    /** The only chunk so far; then all of them in {@code more}, the small ones copied into {@code open}. */
    private Buffer first;
    private List<Buffer> more;
    private Buffer open;
    private long size;
    private boolean done;
    private boolean refused;

    Upload(HttpServerRequest req, ServerSettings settings, UploadBudget.Limits limits, UploadBudget.Upload counted,
        Consumer<Buffer> onBody, BiConsumer<ErrorKind, String> onRefused) {
      this.req = req;
      this.settings = settings;
      this.limits = limits;
      this.counted = counted;
      this.onBody = onBody;
      this.onRefused = onRefused;
    }

    void start() {
      req.handler(this::chunk);
      req.exceptionHandler(t -> finish()); // the client went away while sending: nothing was accepted
      req.endHandler(v -> {
        if (refused) req.connection().close();
        if (done) return;
        finish();
        onBody.accept(whole());
      });
      guard.onBodyTimeout(req, () -> {
        if (done) return;
        refuse(ErrorKind.BODY_TIMEOUT, ConnectionGuard.bodyTimeoutMessage(settings.bodyReadTimeout()), false);
      });
      req.resume();
    }

    private void chunk(Buffer chunk) {
      if (done) return;
      long next = size + chunk.length();
      if (next > settings.maxBodyBytes()) {
        refuse(ErrorKind.BODY_TOO_LARGE, tooLarge(next, settings.maxBodyBytes()), false);
        return;
      }
      switch (counted.add(chunk.length(), limits)) {
        case ACCEPTED -> keep(chunk);
        case TENANT_FULL -> refuse(ErrorKind.UPLOADS_TENANT_FULL, "this tenant's request bodies still arriving "
            + "hold its limit of " + limits.perTenantBytes() + " bytes (server.maxUploadBytesInProgressPerTenant): "
            + "retry in " + UploadBudget.RETRY_AFTER_SECONDS + " s, or send fewer large bodies at once", true);
        case TOTAL_FULL -> refuse(ErrorKind.UPLOADS_FULL, "request bodies still arriving hold the gateway's limit of "
            + limits.totalBytes() + " bytes (server.maxUploadBytesInProgress): retry in "
            + UploadBudget.RETRY_AFTER_SECONDS + " s", true);
      }
    }

    /**
     * Answers {@code kind} now; the rest of the body is read and dropped (a client still sending would otherwise see
     * a reset instead of the answer), then the connection is closed, at the latest at the body deadline.
     */
    private void refuse(ErrorKind kind, String message, boolean retry) {
      finish();
      refused = true;
      first = null;
      more = null;
      open = null;
      if (retry) req.response().putHeader(HttpHeaders.RETRY_AFTER, Long.toString(UploadBudget.RETRY_AFTER_SECONDS));
      req.response().putHeader(HttpHeaders.CONNECTION, "close");
      onRefused.accept(kind, message);
    }

    private void keep(Buffer chunk) {
      size += chunk.length();
      if (first == null && more == null) {
        first = chunk;
        return;
      }
      if (more == null) {
        more = new ArrayList<>();
        more.add(first);
        first = null;
      }
      if (chunk.length() >= COALESCE_BELOW_BYTES) {
        more.add(chunk);
        open = null;
        return;
      }
      // small chunks are copied together, so a client dribbling bytes cannot make each one cost an object
      if (open == null || open.length() + chunk.length() > OPEN_BUFFER_BYTES) {
        open = Buffer.buffer(OPEN_BUFFER_BYTES);
        more.add(open);
      }
      open.appendBuffer(chunk);
    }

    /** The body in one buffer: the only chunk itself, or all of them copied once into a buffer of their exact size. */
    private Buffer whole() {
      if (more == null) return first == null ? Buffer.buffer(0) : first;
      Buffer all = Buffer.buffer((int) size);
      for (Buffer b : more) all.appendBuffer(b);
      return all;
    }

    /** Ends the read: the budget is given back and the bytes are no longer held by the reader. */
    private void finish() {
      done = true;
      counted.close();
    }
  }
}
