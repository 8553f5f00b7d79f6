package dev.sluice.bench;

import dev.sluice.routing.Affinity;
import dev.sluice.routing.PrefixChain;
import dev.sluice.routing.PrefixIndex;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.List;
import java.util.Locale;

/**
 * The heap that affinity holds at 100,000 sessions, measured (heap used after full GCs, before and after): the
 * default {@link Affinity.Settings} over six nodes, 100,000 sessions each sent one 40-chunk prompt (40 KB; sessions
 * share the first 8 chunks, as agents share a system prompt and tools) to a node in turn, so the pins are full and
 * every node's index is at its entry cap. Prints the measured bytes beside {@link Affinity#memoryBytes()}'s estimate.
 *
 * <p>Run: {@code java -cp sluice-bench/target/benchmarks.jar dev.sluice.bench.AffinityMemory [sessions]}
 */
public final class AffinityMemory {
  private AffinityMemory() {}

  public static void main(String[] args) {
    int sessions = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    List<String> nodes = List.of("h100-01", "a100-01", "a100-02", "a10-01", "a10-02", "a10-03");
    byte[] prompt = new byte[40 * PrefixChain.CHUNK_BYTES];
    for (int i = 0; i < prompt.length; i++) prompt[i] = (byte) ('a' + i % 23);
    long before = usedAfterGc();
    Affinity affinity = new Affinity(Affinity.Settings.DEFAULT);
    for (int s = 0; s < sessions; s++) {
      int tail = 8 * PrefixChain.CHUNK_BYTES;
      for (int b = 0; b < 8; b++) prompt[tail + b] = (byte) (s >>> (b * 4));
      PrefixChain chain = PrefixChain.of("qwen3:32b", prompt, prompt.length);
      long key = Affinity.sessionKey("qwen3:32b", "session-" + s);
      String node = nodes.get(s % nodes.size());
      affinity.sent(affinity.warmth(key, chain, 10_000, nodes), chain, node);
    }
    long after = usedAfterGc();
    System.out.printf(Locale.ROOT, "sessions %,d pinned %,d, index entries %,d (cap %,d per node × %d nodes)%n",
        sessions, affinity.sessions(), affinity.indexEntries(), Affinity.Settings.DEFAULT.indexEntriesPerNode(),
        nodes.size());
    System.out.printf(Locale.ROOT, "measured heap %,d bytes (%.1f MB); estimate %,d bytes (%d per index entry)%n",
        after - before, (after - before) / 1e6, affinity.memoryBytes(), PrefixIndex.BYTES_PER_ENTRY);
    if (affinity.sessions() < 0) System.out.println(affinity); // keep it reachable until here
  }

  private static long usedAfterGc() {
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    for (int i = 0; i < 3; i++) System.gc();
    return memory.getHeapMemoryUsage().getUsed();
  }
}
