package dev.sluice.degrade;

import java.util.Locale;

/**
 * The three-level degradation ladder of the brief, plus normal service. Declaration order is severity order:
 * {@code compareTo} and {@code ordinal()} rank levels, and each level serves less of the real model than the one above.
 */
public enum DegradationLevel {
  /** Requests go to the model's nodes as usual. */
  NORMAL,
  /** Answer an identical recent prompt from the response cache; only a cache miss goes to the nodes. */
  CACHE,
  /** Send the request to the model's configured smaller model (header {@code X-Model-Downgraded}). */
  DOWNGRADE,
  /** Answer with the preset static reply; the nodes see only probe requests. */
  STATIC;

  private final String label = name().toLowerCase(Locale.ROOT);

  /** The lower-case name used in config, reasons, headers and metrics labels, e.g. {@code "downgrade"}. */
  public String label() {
    return label;
  }

  /** The next milder level; NORMAL stays NORMAL. */
  DegradationLevel milder() {
    return this == NORMAL ? NORMAL : values()[ordinal() - 1];
  }
}
