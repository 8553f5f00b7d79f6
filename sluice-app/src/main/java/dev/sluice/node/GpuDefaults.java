package dev.sluice.node;

import dev.sluice.routing.NodeSpeed;
import java.util.Locale;
import java.util.Map;

/**
 * The speed a node is expected to have before the router has observed it, by GPU type: the 32B-class figures of
 * UPSTREAMS.md (prefill tok/s, decode ms/token at batch 1). The router's speed estimator starts from these and learns
 * the real speed from traffic, so a wrong guess only costs the first requests.
 */
public final class GpuDefaults {
  /** Unknown GPU type: a mid-range guess between A10 and A100. */
  static final NodeSpeed UNKNOWN = new NodeSpeed(1_000, 40, 1.0);

  private static final Map<String, NodeSpeed> BY_TYPE = Map.of(
      "A10", new NodeSpeed(760, 48, 1.0),
      "A100", new NodeSpeed(2_400, 19, 1.0),
      "H100", new NodeSpeed(12_000, 15, 1.0));

  /**
   * Requests a node of each class runs well at once before its KV cache or batch makes everyone slower: a guess from
   * UPSTREAMS.md's 32B-class KV capacity at chat sizes (an A10 holds a handful of chats, an A100 tens), until per-node
   * caps are configured or learned. Used to size the share of a model that downgraded traffic may take.
   */
  private static final Map<String, Integer> CONCURRENCY = Map.of("A10", 8, "A100", 32, "H100", 64);
  /** Unknown GPU type: as an A10, the cautious guess. */
  static final int UNKNOWN_CONCURRENCY = 8;

  /**
   * Requests an Ollama node is assumed to run at once until its cap is configured ({@code maxConcurrent}, set to its
   * {@code OLLAMA_NUM_PARALLEL}) or learned: Ollama shows no slot count and no queue, so a learned cap shrinks on 503
   * "server busy" or first tokens far later than estimated (requests queue behind busy slots) and grows, up to 4 ×
   * this, while first tokens come on time at the cap ({@code NodeCap.firstTokenCame}). 4 is the larger figure of
   * Ollama's automatic choice (4 slots where memory allows, else 1) and a common serving setting; a node with fewer
   * slots shows it within a few first tokens.
   */
  public static final int OLLAMA_SLOTS = 4;

  /**
   * Prompt tokens a node of each class holds in its KV cache (prefix cache included), for the router's prefix index
   * until the node's telemetry says (vLLM's cache_config_info): UPSTREAMS.md's 32B-class figures, taking the smaller
   * where the weights' precision is unknown, since an index that forgets too early only routes a request by load as
   * if nothing were cached, while one that remembers too long keeps sessions on a node that evicted their prefix. A10
   * 24 GB (4-bit, the only fit): 5,700; A100 80 GB: 35,000 (BF16; 4-bit weights leave 210,000); H100 80 GB: 35,000
   * (BF16; FP8 leaves 160,000).
   */
  private static final Map<String, Long> KV_CACHE_TOKENS = Map.of("A10", 5_700L, "A100", 35_000L, "H100", 35_000L);

  private GpuDefaults() {}

  /** Prompt tokens a node of this GPU type is assumed to hold in its KV cache; 0 when the type is unknown. */
  public static long kvCacheTokens(String gpuType) {
    if (gpuType == null) return 0;
    return KV_CACHE_TOKENS.getOrDefault(gpuType.toUpperCase(Locale.ROOT), 0L);
  }

  /** Requests a node of this GPU type is assumed to run well at once (null or unknown type: the A10's figure). */
  public static int concurrency(String gpuType) {
    if (gpuType == null) return UNKNOWN_CONCURRENCY;
    return CONCURRENCY.getOrDefault(gpuType.toUpperCase(Locale.ROOT), UNKNOWN_CONCURRENCY);
  }

  /** Whether the GPU type has a speed profile here (null or an unknown type: its expected speed is a guess). */
  public static boolean hasProfile(String gpuType) {
    return gpuType != null && BY_TYPE.containsKey(gpuType.toUpperCase(Locale.ROOT));
  }

  /** The expected speed of a node of this GPU type (null or unknown type: {@link #UNKNOWN}). */
  public static NodeSpeed expectedSpeed(String gpuType) {
    if (gpuType == null) return UNKNOWN;
    return BY_TYPE.getOrDefault(gpuType.toUpperCase(Locale.ROOT), UNKNOWN);
  }
}
