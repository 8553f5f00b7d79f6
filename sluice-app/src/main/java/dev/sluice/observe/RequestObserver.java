package dev.sluice.observe;

/** Told about every request when it ends, exactly once, on the event loop that served it: must not block. */
@FunctionalInterface
public interface RequestObserver {
  void onRequest(RequestRecord record);
}
