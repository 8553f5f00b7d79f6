package dev.sluice.lab;

import dev.sluice.sim.GpuProfile;
import java.util.List;

/** The clusters of the lab (design/ROUTING.md): node ids, GPU profiles and the GPU class label the router sees. */
public enum LabCluster {
  /** The brief's bench: three A10s running vLLM with a 4-bit model. */
  C1("3×A10 (vLLM 4-bit)", List.of(
      node("a10-1", GpuProfile.A10), node("a10-2", GpuProfile.A10), node("a10-3", GpuProfile.A10))),
  /** Heterogeneous: three A10s, two A100s and one H100, all vLLM. */
  C2("3×A10 + 2×A100 + 1×H100 (vLLM)", List.of(
      node("a10-1", GpuProfile.A10), node("a10-2", GpuProfile.A10), node("a10-3", GpuProfile.A10),
      node("a100-1", GpuProfile.A100), node("a100-2", GpuProfile.A100), node("h100-1", GpuProfile.H100))),
  /** C2 with the A10s running Ollama (one slot, queue 512). */
  C3("C2 with the A10s on Ollama (parallel 1)", List.of(
      node("a10-1", GpuProfile.A10_OLLAMA), node("a10-2", GpuProfile.A10_OLLAMA),
      node("a10-3", GpuProfile.A10_OLLAMA), node("a100-1", GpuProfile.A100), node("a100-2", GpuProfile.A100),
      node("h100-1", GpuProfile.H100)));

  private final String description;
  private final List<NodeSpec> nodes;

  LabCluster(String description, List<NodeSpec> nodes) {
    this.description = description;
    this.nodes = nodes;
  }

  public String description() {
    return description;
  }

  public List<NodeSpec> nodes() {
    return nodes;
  }

  private static NodeSpec node(String id, GpuProfile gpu) {
    return new NodeSpec(id, gpu);
  }

  /**
   * One simulated node.
   *
   * @param id node id
   * @param gpu its profile
   */
  public record NodeSpec(String id, GpuProfile gpu) {
    /** The GPU class label the router is configured with (A10, A100, H100): the profile name up to "_". */
    public String gpuLabel() {
      String name = gpu.name();
      int cut = name.indexOf('_');
      return cut < 0 ? name : name.substring(0, cut);
    }
  }
}
