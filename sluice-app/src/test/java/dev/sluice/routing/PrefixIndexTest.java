package dev.sluice.routing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PrefixIndexTest {
  private static final int CHUNK = PrefixChain.CHUNK_BYTES;

  private static PrefixChain chain(String text) {
    return PrefixChain.of("m", text);
  }

  @Test
  void aNodeHoldsTheLongestPrefixItWasSentAndNothingElse() {
    PrefixIndex index = new PrefixIndex(1_000);
    String turn1 = PrefixChainTest.text(20 * CHUNK, 'a');
    String turn2 = turn1 + PrefixChainTest.text(5 * CHUNK, 'b');

    index.sent("gpu-1", chain(turn1));

    assertThat(index.cachedChunks("gpu-1", chain(turn2))).isEqualTo(20);
    assertThat(index.cachedChunks("gpu-2", chain(turn2))).isZero();
    assertThat(index.cachedChunks("gpu-1", chain(PrefixChainTest.text(20 * CHUNK, 'z')))).isZero();
  }

  @Test
  void aSmallKvCacheKeepsTheFirstChunksOfWhatItWasSentAsVllmDoes() {
    PrefixIndex index = new PrefixIndex(1_000);
    index.capacity("a10", 8L * PrefixIndex.TOKENS_PER_CHUNK); // 8 chunks of KV
    PrefixChain big = chain(PrefixChainTest.text(30 * CHUNK, 'a'));

    index.sent("a10", big);

    assertThat(index.entries("a10")).isEqualTo(8);
    assertThat(index.cachedChunks("a10", big)).isEqualTo(8);
  }

  @Test
  void theLeastRecentlySentPrefixIsEvictedFirst() {
    PrefixIndex index = new PrefixIndex(10);
    PrefixChain old = chain(PrefixChainTest.text(6 * CHUNK, 'o'));
    PrefixChain fresh = chain(PrefixChainTest.text(6 * CHUNK, 'f'));

    index.sent("n", old);
    index.sent("n", fresh);

    assertThat(index.entries("n")).isEqualTo(10);
    assertThat(index.cachedChunks("n", fresh)).isEqualTo(6);
    assertThat(index.cachedChunks("n", old)).isEqualTo(4); // its last two chunks went first
  }

  @Test
  void aDroppedNodeHoldsNothing() {
    PrefixIndex index = new PrefixIndex(100);
    PrefixChain c = chain(PrefixChainTest.text(4 * CHUNK, 'a'));
    index.sent("n", c);

    index.drop("n");

    assertThat(index.cachedChunks("n", c)).isZero();
    assertThat(index.entries()).isZero();
  }

  @Test
  void theMemoryBoundCapsANodeWhateverItsKvCapacity() {
    PrefixIndex index = new PrefixIndex(5);
    index.capacity("h100", 1_000_000);

    index.sent("h100", chain(PrefixChainTest.text(40 * CHUNK, 'a')));

    assertThat(index.entries("h100")).isEqualTo(5);
  }
}
