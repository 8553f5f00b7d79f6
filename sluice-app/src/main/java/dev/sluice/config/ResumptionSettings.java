package dev.sluice.config;

import dev.sluice.resume.StreamSplice;
import java.util.Set;

/**
 * Stream resumption ({@code upstream.resumption}): a stream that breaks after its first byte is continued on another
 * node of its model (docs/stream-resumption.md).
 *
 * @param enabled on for every model unless listed in {@code offModels} (default on)
 * @param maxPerStream continuations of one stream, 0 to {@link StreamSplice#MAX_RESUMPTIONS} (default the maximum)
 * @param offModels models whose streams are never continued (clients that need strict provenance)
 */
public record ResumptionSettings(boolean enabled, int maxPerStream, Set<String> offModels) {
  public ResumptionSettings {
    offModels = offModels == null ? Set.of() : Set.copyOf(offModels);
    if (maxPerStream < 0 || maxPerStream > StreamSplice.MAX_RESUMPTIONS) {
      throw new IllegalArgumentException("maxPerStream: " + maxPerStream + " (expected 0.."
          + StreamSplice.MAX_RESUMPTIONS + ")");
    }
  }

  public static ResumptionSettings defaults() {
    return new ResumptionSettings(true, StreamSplice.MAX_RESUMPTIONS, Set.of());
  }

  /** Resumption off everywhere. */
  public static ResumptionSettings off() {
    return new ResumptionSettings(false, 0, Set.of());
  }

  /** Continuations a stream of {@code model} may have: 0 when off for it. */
  public int maxFor(String model) {
    return enabled && !offModels.contains(model) ? maxPerStream : 0;
  }
}
