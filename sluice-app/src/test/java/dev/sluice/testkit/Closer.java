package dev.sluice.testkit;

import java.util.ArrayList;
import java.util.List;

/**
 * What a test started (etcd members, replicas, stores), closed in reverse order by {@link #close}, every one even when
 * an earlier one fails to close.
 */
public final class Closer implements AutoCloseable {
  private final List<AutoCloseable> open = new ArrayList<>();

  /** Remembers {@code c} for {@link #close}; returns it. */
  public synchronized <T extends AutoCloseable> T add(T c) {
    open.add(c);
    return c;
  }

  /** Forgets {@code c} (the test closed it itself). */
  public synchronized void remove(AutoCloseable c) {
    open.remove(c);
  }

  @Override
  public synchronized void close() {
    for (int i = open.size() - 1; i >= 0; i--) {
      try {
        open.get(i).close();
      } catch (Exception e) {
        // keep closing the rest
      }
    }
    open.clear();
  }
}
