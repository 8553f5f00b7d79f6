package dev.sluice.config;

import java.util.Objects;

/**
 * A model as a provider lists it (Clawdbot's {@code models[]} entry).
 *
 * @param id model id clients send, e.g. {@code qwen3:32b}
 * @param name display name (defaults to the id)
 * @param contextWindowTokens context window in tokens; 0 when not configured
 * @param maxTokens largest output a request may ask for; 0 when not configured
 * @param gpuProfile optional warm-up and placement hints; null when absent
 * @param overflowModel Sluice's addition: a configured model with a larger context window that takes requests too
 *     long for this one (instead of a 400); null when absent
 */
public record ModelSpec(String id, String name, int contextWindowTokens, int maxTokens, GpuProfile gpuProfile,
    String overflowModel) {
  public ModelSpec {
    Objects.requireNonNull(id, "id");
    if (name == null) name = id;
  }

  /** A model without an overflow model. */
  public ModelSpec(String id, String name, int contextWindowTokens, int maxTokens, GpuProfile gpuProfile) {
    this(id, name, contextWindowTokens, maxTokens, gpuProfile, null);
  }

  /** Clawdbot's {@code gpuProfile}: {@code minVRAM} (e.g. "22G"), {@code prefetch}, {@code warmupPrompt}. */
  public record GpuProfile(String minVram, boolean prefetch, String warmupPrompt) {}
}
