package dev.sluice.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The engine's prefix cache in virtual time: vLLM's block cache (what a cached prefix saves, LRU eviction under KV
 * pressure, shared blocks counted once) and Ollama's per-slot reuse of the last prompt.
 */
class PrefixCachingTest {
  private static final double TOLERANCE = 0.15;
  private static final int BLOCK = PrefixCache.BLOCK_TOKENS;

  @Test
  void aTwentyThousandTokenPromptWithNineteenThousandCachedStartsLikeAThousandTokenPromptOnEveryProfile() {
    int cached = 19_000;
    int prompt = 20_000;
    for (GpuProfile gpu : GpuProfile.values()) {
      EngineProfile profile = roomFor(gpu, prompt + 2);
      String text = text(1, prompt);

      BatchEngine engine = new BatchEngine(profile, new EngineControl());
      run(engine, sequence(engine, text.substring(0, cached * 4), 2)); // the previous turn: the first 19k tokens
      BatchEngine.Sequence turn = sequence(engine, text, 2);
      long submitted = engine.simNowNanos();
      run(engine, turn);
      double ttftMillis = (turn.firstTokenNanos() - submitted) / 1e6;

      double thousandMillis = lone(profile, text(2, 1_000)).firstTokenNanos() / 1e6;
      double uncachedMillis = lone(profile, text).firstTokenNanos() / 1e6;

      // vLLM caches whole 16-token blocks (1,187 of them); Ollama's slot reuses every common token
      assertThat(turn.cachedTokens()).as(gpu + " cached").isEqualTo(gpu.ollama() ? cached : cached / BLOCK * BLOCK);
      assertThat(ttftMillis).as(gpu + " TTFT with 19k cached vs 1k prompt")
          .isCloseTo(thousandMillis, within(thousandMillis * TOLERANCE));
      assertThat(thousandMillis).as(gpu + " 1k prompt vs configured prefill rate")
          .isCloseTo(1_000 * 1_000 / profile.prefillTokensPerSecond(), within(thousandMillis * TOLERANCE));
      assertThat(uncachedMillis).as(gpu + " uncached").isGreaterThan(ttftMillis * 15);
    }
  }

  @Test
  void underKvPressureANewSessionEvictsTheOldestSessionsTailAndItsHitsFallAsTheCapacityPredicts() {
    int capacity = 1_600;
    int promptTokens = 640;
    int output = 16;
    EngineProfile profile = EngineProfile.of(GpuProfile.A10, Map.of("kvCapacityTokens", (double) capacity));
    BatchEngine engine = new BatchEngine(profile, new EngineControl());
    String s1 = text(11, promptTokens);
    String s2 = text(12, promptTokens);
    String s3 = text(13, promptTokens);

    int capacityBlocks = capacity / BLOCK; // 100
    int promptBlocks = promptTokens / BLOCK; // 40, all full
    int runningBlocks = (promptTokens + output) / BLOCK; // 41: a running session's reservation
    int room = capacityBlocks - runningBlocks; // 59 free blocks may stay cached while one session runs
    int maxHits = (promptTokens - 1) / BLOCK; // 39: the last token is always computed

    run(engine, sequence(engine, s1, output));
    run(engine, sequence(engine, s2, output));
    assertThat(engine.cachedFreeBlocks()).isEqualTo(2 * promptBlocks); // 80 <= 59 + 41 pinned by nobody: all kept

    BatchEngine.Sequence third = sequence(engine, s3, output);
    engine.submit(third, engine.simNowNanos());
    int evicted = 2 * promptBlocks - room; // 21, the oldest freed: session 1's last blocks
    assertThat(engine.cachedFreeBlocks()).isEqualTo(room);
    drain(engine);
    assertThat(engine.cachedFreeBlocks()).isEqualTo(3 * promptBlocks - evicted); // 99
    assertThat(engine.kvUsedTokens()).isZero();

    long hitsBefore = engine.prefixCacheHitsTotal();
    BatchEngine.Sequence again = sequence(engine, s1, output);
    run(engine, again);
    int expectedHits = Math.min(maxHits, promptBlocks - evicted) * BLOCK; // 19 blocks, 304 tokens
    assertThat(again.cachedTokens()).isEqualTo(expectedHits).isEqualTo(304);
    assertThat(engine.prefixCacheHitsTotal() - hitsBefore).isEqualTo(expectedHits);
    // its admission evicted as many again, now the oldest free ones: session 2's tail
    BatchEngine.Sequence second = sequence(engine, s2, output);
    run(engine, second);
    assertThat(second.cachedTokens()).isEqualTo(expectedHits);
    // and session 2's admission evicted session 3's tail: cycling three sessions through a cache that holds two and
    // a half, each finds the same 19 blocks
    BatchEngine.Sequence thirdAgain = sequence(engine, s3, output);
    run(engine, thirdAgain);
    assertThat(thirdAgain.cachedTokens()).isEqualTo(expectedHits);
    assertThat(engine.prefixCacheQueriesTotal()).isEqualTo(6L * promptTokens);
  }

  @Test
  void withoutPressureTheSameSessionReusesAllButItsLastBlockAndItsTtftFalls() {
    BatchEngine engine = new BatchEngine(EngineProfile.of(GpuProfile.A100), new EngineControl());
    String prompt = text(21, 4_000);

    BatchEngine.Sequence first = sequence(engine, prompt, 1);
    long at = engine.simNowNanos();
    run(engine, first);
    long firstTtft = first.firstTokenNanos() - at;
    BatchEngine.Sequence second = sequence(engine, prompt, 1);
    at = engine.simNowNanos();
    run(engine, second);

    assertThat(first.cachedTokens()).isZero();
    assertThat(second.cachedTokens()).isEqualTo((4_000 - 1) / BLOCK * BLOCK); // 3,984: the last block recomputed
    assertThat(second.firstTokenNanos() - at).isEqualTo(engine.soloSchedule(4_000 - 3_984, 1)[0]);
    assertThat(second.firstTokenNanos() - at).isLessThan(firstTtft / 20);
    assertThat(engine.prefixCacheQueriesTotal()).isEqualTo(8_000);
    assertThat(engine.prefixCacheHitsTotal()).isEqualTo(3_984);
    assertThat(engine.promptTokensTotal()).as("vLLM counts cached prompt tokens as prompt tokens").isEqualTo(8_000);
  }

  @Test
  void cachedPrefixTokensTellsWhatAdmissionWouldFindWithoutTouchingTheCache() {
    for (GpuProfile gpu : List.of(GpuProfile.A100, GpuProfile.A10_OLLAMA)) {
      BatchEngine engine = new BatchEngine(EngineProfile.of(gpu), new EngineControl());
      String prompt = text(41, 2_000);
      int[] ids = PromptTokens.of(prompt);
      int[] other = PromptTokens.of(text(42, 2_000));
      assertThat(engine.cachedPrefixTokens(ids)).as(gpu + " before").isZero();

      run(engine, sequence(engine, prompt, 1));
      int expected = gpu.ollama() ? 1_999 : (2_000 - 1) / BLOCK * BLOCK;

      assertThat(engine.cachedPrefixTokens(ids)).as(gpu + " after").isEqualTo(expected);
      assertThat(engine.cachedPrefixTokens(other)).as(gpu + " another prompt").isZero();
      BatchEngine.Sequence again = sequence(engine, prompt, 1);
      run(engine, again);
      assertThat(again.cachedTokens()).as(gpu + " admission found").isEqualTo(expected);
    }
  }

  @Test
  void runningSequencesSharingAPrefixPinItsBlocksAndHoldItsKvOnce() {
    BatchEngine engine = new BatchEngine(EngineProfile.of(GpuProfile.A100), new EngineControl());
    String prefix = text(31, 1_600);
    BatchEngine.Sequence parent = sequence(engine, prefix + text(32, 400), 500);
    engine.submit(parent, 0);
    engine.advanceTo(parent.promptTokens() * 1_000_000_000L / 2_000); // past its prefill (2,048-token steps)
    assertThat(parent.firstTokenNanos()).isPositive();
    assertThat(engine.kvUsedTokens()).isEqualTo(2_500);

    BatchEngine.Sequence child = sequence(engine, prefix + text(33, 400), 500);
    engine.submit(child, engine.simNowNanos());
    engine.advanceTo(engine.nextEventAt()); // admitted when the running decode step ends

    assertThat(child.cachedTokens()).isEqualTo(1_600);
    assertThat(engine.kvUsedTokens()).isEqualTo(2_500 + 2_500 - 1_600);
    engine.cancel(parent, engine.simNowNanos());
    assertThat(engine.kvUsedTokens()).as("the shared blocks stay pinned by the child").isEqualTo(2_500);
    assertThat(engine.cachedFreeBlocks()).isEqualTo(400 / BLOCK); // the parent's own blocks, now free
  }

  @Test
  void ollamaReusesThePrefixOfTheLastPromptOnTheSameSlotButNotOnAnotherSlot() {
    EngineProfile profile = EngineProfile.of(GpuProfile.A10_OLLAMA,
        Map.of("parallel", 2.0, "contextPerSlot", 3_000.0));
    BatchEngine engine = new BatchEngine(profile, new EngineControl());
    String prefix = text(41, 2_000);

    // two at once: the shared-prefix one takes slot 0, an unrelated one slot 1
    BatchEngine.Sequence a = sequence(engine, prefix + text(42, 400), 5);
    BatchEngine.Sequence unrelated = sequence(engine, text(43, 2_400), 5);
    engine.submit(a, 0);
    engine.submit(unrelated, 0);
    drain(engine);
    assertThat(a.slot()).isZero();
    assertThat(unrelated.slot()).isEqualTo(1);

    // the next turn goes to the slot holding its prefix and prefills only its new tokens
    BatchEngine.Sequence next = sequence(engine, prefix + text(44, 400), 200);
    long at = engine.simNowNanos();
    engine.submit(next, at);
    engine.advanceTo(at + engine.soloSchedule(400, 1)[0]);
    assertThat(next.slot()).isZero();
    assertThat(next.cachedTokens()).isEqualTo(2_000);
    assertThat(next.firstTokenNanos() - at).isEqualTo(engine.soloSchedule(400, 1)[0]);

    // while it decodes on slot 0, another turn of the same session only finds slot 1: no reuse, full prefill
    BatchEngine.Sequence other = sequence(engine, prefix + text(45, 400), 5);
    long otherAt = engine.simNowNanos();
    engine.submit(other, otherAt);
    drain(engine);
    assertThat(other.slot()).isEqualTo(1);
    assertThat(other.cachedTokens()).isZero();
    assertThat(other.firstTokenNanos() - otherAt).isGreaterThan(engine.soloSchedule(2_400, 1)[0]);
    assertThat(engine.prefixCacheHitsTotal()).isEqualTo(2_000);
  }

  @Test
  void theTokeniserCutsFourCodePointsPerTokenSoACommonTextPrefixIsACommonTokenPrefix() {
    int[] a = PromptTokens.of("The system prompt. 日本語🚀 then turn one");
    int[] b = PromptTokens.of("The system prompt. 日本語🚀 then turn two, longer");

    assertThat(a).hasSize((int) Math.ceil("The system prompt. 日本語🚀 then turn one".codePoints().count() / 4.0));
    assertThat(a.length).isEqualTo(TextGenerator.promptTokens("The system prompt. 日本語🚀 then turn one"));
    int common = 0;
    while (a[common] == b[common]) {
      common++;
    }
    assertThat(common).isEqualTo("The system prompt. 日本語🚀 then turn ".codePoints().count() / 4);
    assertThat(PromptTokens.of("")).isEmpty();
    assertThat(PromptTokens.of("abcdefgh")).hasSize(2).startsWith(PromptTokens.of("abcd"));
    assertThat(PromptTokens.of("abc")[0]).isNotEqualTo(PromptTokens.of("abcd")[0]);
  }

  /** The profile with its KV (or Ollama's slot context) raised where it cannot hold {@code tokens}. */
  private static EngineProfile roomFor(GpuProfile gpu, int tokens) {
    EngineProfile profile = EngineProfile.of(gpu);
    Map<String, Double> overrides = new HashMap<>();
    if (gpu.ollama() && profile.contextPerSlot() < tokens) {
      overrides.put("contextPerSlot", (double) tokens);
    } else if (!gpu.ollama() && profile.maxModelLenTokens() < tokens) {
      overrides.put("kvCapacityTokens", (double) Math.max(tokens, EngineProfile.MODEL_CONTEXT_TOKENS));
    }
    return EngineProfile.of(gpu, overrides);
  }

  /** {@code tokens} tokens of seeded text (4 letters each, so texts concatenate on token boundaries). */
  private static String text(long seed, int tokens) {
    SplittableRandom random = new SplittableRandom(seed);
    StringBuilder text = new StringBuilder(tokens * 4);
    for (int i = 0; i < tokens * 4; i++) {
      text.append((char) ('a' + random.nextInt(26)));
    }
    return text.toString();
  }

  /** A sequence for {@code text}, as the node builds it: admitted length and token ids. */
  private static BatchEngine.Sequence sequence(BatchEngine engine, String text, int output) {
    Admission.Accepted accepted = (Admission.Accepted) engine.admission(TextGenerator.promptTokens(text), output);
    return new BatchEngine.Sequence(accepted.promptTokens(), PromptTokens.of(text), output,
        new BatchEngine.Listener() {});
  }

  /** A sequence alone on a fresh engine, run to the end. */
  private static BatchEngine.Sequence lone(EngineProfile profile, String text) {
    BatchEngine engine = new BatchEngine(profile, new EngineControl());
    BatchEngine.Sequence sequence = sequence(engine, text, 2);
    engine.submit(sequence, 0);
    drain(engine);
    return sequence;
  }

  /** Submits {@code sequence} now and runs the engine until it is idle. */
  private static void run(BatchEngine engine, BatchEngine.Sequence sequence) {
    engine.submit(sequence, engine.simNowNanos());
    drain(engine);
  }

  private static void drain(BatchEngine engine) {
    while (engine.nextEventAt() != Long.MAX_VALUE) {
      engine.advanceTo(engine.nextEventAt());
    }
  }
}
