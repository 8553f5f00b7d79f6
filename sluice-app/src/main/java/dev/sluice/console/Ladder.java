package dev.sluice.console;

import dev.sluice.degrade.DegradationController;
import dev.sluice.degrade.ResponseCache;
import dev.sluice.degrade.SharedCache;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The degradation ladder as the admin plane shows and steers it: the degradation controller (levels, overrides), the
 * local response cache and the shared cache tier (null without shared state; it changes with the config).
 */
public record Ladder(DegradationController degradation, ResponseCache cache, Supplier<SharedCache> sharedCache) {
  public Ladder {
    Objects.requireNonNull(degradation, "degradation");
    Objects.requireNonNull(cache, "cache");
    Objects.requireNonNull(sharedCache, "sharedCache");
  }
}
