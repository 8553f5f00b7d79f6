package dev.sluice.limit;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/** Epoch millis that move only when a test says so. */
final class FakeClock implements LongSupplier {
  private final AtomicLong now = new AtomicLong(1_700_000_000_000L);

  @Override
  public long getAsLong() {
    return now.get();
  }

  void advance(long millis) {
    now.addAndGet(millis);
  }
}
