package dev.sluice.upstream;

import io.vertx.core.buffer.Buffer;

/**
 * What an exchange keeps of the answer it relays: a copy of the whole body for the response cache and token usage
 * (up to a limit; past it, nothing), and always its last bytes, where a node reports usage.
 */
final class AnswerCapture {
  /** Bytes of the end of an answer kept for its token usage, which nodes report last. */
  static final int USAGE_TAIL_BYTES = 2048;

  private final int limit;
  /** The bytes relayed so far; null when not wanted, too big, or dropped (a broken or cancelled answer). */
  private Buffer captured;
  /** The last bytes relayed (at most twice {@link #USAGE_TAIL_BYTES}). */
  private Buffer tail;

  /** {@code limit} 0: keep only the tail. */
  AnswerCapture(int limit) {
    this.limit = limit;
    this.captured = limit > 0 ? Buffer.buffer(512) : null;
  }

  /** Keeps a copy of what reaches the client, up to the capture limit; past it, the tail only. */
  void add(Buffer data) {
    keepTail(data);
    if (captured == null || data.length() == 0) return;
    if (captured.length() + data.length() > limit) captured = null;
    else captured.appendBuffer(data);
  }

  private void keepTail(Buffer data) {
    int n = data.length();
    if (n == 0) return;
    if (n >= USAGE_TAIL_BYTES) {
      tail = data.getBuffer(n - USAGE_TAIL_BYTES, n);
      return;
    }
    if (tail == null) tail = Buffer.buffer(USAGE_TAIL_BYTES * 2);
    if (tail.length() + n > USAGE_TAIL_BYTES * 2) tail = tail.getBuffer(tail.length() - USAGE_TAIL_BYTES, tail.length());
    tail.appendBuffer(data);
  }

  /** The answer is not whole (broken, cancelled): nothing of it may be cached. */
  void drop() {
    captured = null;
  }

  /** The complete relayed body when it was wanted and fitted; else null. */
  Buffer body() {
    return captured;
  }

  /** The last bytes relayed to the client (where usage is reported); null when nothing was. */
  byte[] tail() {
    return tail == null ? null : tail.getBytes();
  }
}
