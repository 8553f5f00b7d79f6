package dev.sluice.config;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The current {@link SluiceConfig} snapshot. Reads are lock-free; a request calls {@link #current()} once and uses
 * that snapshot from start to end.
 */
public final class ConfigHolder {
  private static final Logger log = LoggerFactory.getLogger(ConfigHolder.class);

  private final AtomicReference<SluiceConfig> current;
  private final List<Consumer<SluiceConfig>> listeners = new CopyOnWriteArrayList<>();
  /** The last config given to {@link #swap}, before run-time changes are applied on top. */
  private SluiceConfig base;
  /** Run-time changes (nodes added through the admin API), applied on top of every config swapped in. */
  private UnaryOperator<SluiceConfig> overlay = c -> c;

  public ConfigHolder(SluiceConfig initial) {
    current = new AtomicReference<>(Objects.requireNonNull(initial, "initial"));
    base = initial;
  }

  public SluiceConfig current() {
    return current.get();
  }

  /**
   * Installs {@code next} and then calls every listener with it, in registration order, on the calling thread. A
   * listener that throws is logged and does not stop the others. Swaps are serialised so listeners see them in order.
   *
   * @return the snapshot that was replaced
   */
  public synchronized SluiceConfig swap(SluiceConfig next) {
    Objects.requireNonNull(next, "next");
    base = next;
    return install(overlay.apply(next));
  }

  /**
   * Adds a run-time change that stays in force across later swaps (a config reload keeps nodes added through the
   * admin API) and installs it now. {@code change} must return its input unchanged when it no longer applies.
   */
  public synchronized SluiceConfig amend(UnaryOperator<SluiceConfig> change) {
    Objects.requireNonNull(change, "change");
    UnaryOperator<SluiceConfig> before = overlay;
    overlay = c -> change.apply(before.apply(c));
    return install(overlay.apply(base));
  }

  private SluiceConfig install(SluiceConfig next) {
    SluiceConfig previous = current.getAndSet(next);
    for (Consumer<SluiceConfig> listener : listeners) {
      try {
        listener.accept(next);
      } catch (RuntimeException e) {
        log.error("config swap listener {} failed; the new config is installed regardless", listener, e);
      }
    }
    return previous;
  }

  /** Registers {@code listener} to be called after each future {@link #swap}. */
  public void onSwap(Consumer<SluiceConfig> listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }
}
