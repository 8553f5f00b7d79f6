package dev.sluice.degrade;

import java.util.Objects;

/**
 * What to do with one request of a model, from {@link DegradationController#decide}.
 *
 * @param level the model's effective level
 * @param probe true when this request should still go to the model's nodes although the level is above NORMAL, so
 *     recovery is seen (never at NORMAL, never under an operator override)
 * @param downgradeTo the smaller model configured for this model, or null when none is (the server uses it at
 *     DOWNGRADE)
 */
public record DegradationDecision(DegradationLevel level, boolean probe, String downgradeTo) {
  /** Requires a level. */
  public DegradationDecision {
    Objects.requireNonNull(level, "level");
  }
}
