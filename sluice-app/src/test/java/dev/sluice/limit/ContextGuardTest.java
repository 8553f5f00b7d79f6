package dev.sluice.limit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.limit.ContextGuard.Fits;
import dev.sluice.limit.ContextGuard.Overflow;
import dev.sluice.limit.ContextGuard.Reject;
import dev.sluice.limit.ContextGuard.Verdict;
import dev.sluice.limit.LimitSettings.OverMaxTokens;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ContextGuardTest {
  private static final String MODEL = "qwen3:32b";
  private static final String BIG = "qwen3:32b-128k";

  /** A prompt of {@code words} copies of " word" (one cl100k token each) in one message. */
  private static PromptText prompt(int words) {
    return PromptText.ofText("word" + " word".repeat(words - 1));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', nullValues = "-", textBlock = """
      fits with room, no max_tokens      | 100  | 0    | 24576 | 4096 | -   | 0      | REJECT | Fits[promptTokens=P, maxTokens=0, capped=false]
      fits with max_tokens               | 100  | 4096 | 24576 | 4096 | -   | 0      | REJECT | Fits[promptTokens=P, maxTokens=4096, capped=false]
      unknown window always fits         | 9000 | 0    | 0     | 0    | -   | 0      | REJECT | Fits[promptTokens=P, maxTokens=0, capped=false]
      max_tokens over the model's: cap   | 100  | 8000 | 24576 | 4096 | -   | 0      | CAP    | Fits[promptTokens=P, maxTokens=4096, capped=true]
      max_tokens over the model's: reject| 100  | 8000 | 24576 | 4096 | -   | 0      | REJECT | Reject[message=max_tokens 8,000 is above the model's maxTokens 4,096 for qwen3:32b: ask for at most 4,096 (or set limits.overMaxTokens to "cap"), param=max_tokens, code=max_tokens_too_large]
      unknown model maxTokens: no cap    | 100  | 8000 | 24576 | 0    | -   | 0      | REJECT | Fits[promptTokens=P, maxTokens=8000, capped=false]
      too long: overflow model fits      | 3000 | 1000 | 2048  | 4096 | BIG | 131072 | REJECT | Overflow[toModel=qwen3:32b-128k, promptTokens=X]
      too long: overflow window unknown  | 3000 | 1000 | 2048  | 4096 | BIG | 0      | REJECT | Overflow[toModel=qwen3:32b-128k, promptTokens=X]
      too long, no overflow model        | 3000 | 1000 | 2048  | 4096 | -   | 0      | REJECT | Reject[message=context length exceeded: prompt 3,007 + max_tokens 1,000 tokens > contextWindow 2,048 for qwen3:32b, param=messages, code=context_length_exceeded]
      too long, no max_tokens            | 3000 | 0    | 2048  | 4096 | -   | 0      | REJECT | Reject[message=context length exceeded: prompt 3,007 tokens > contextWindow 2,048 for qwen3:32b, param=messages, code=context_length_exceeded]
      too long for the overflow too      | 3000 | 1000 | 2048  | 4096 | BIG | 3500   | REJECT | Reject[message=context length exceeded: prompt 3,007 + max_tokens 1,000 tokens > contextWindow 2,048 for qwen3:32b (overflow model qwen3:32b-128k is too small as well), param=messages, code=context_length_exceeded]
      capped max_tokens still too long   | 3000 | 8000 | 6000  | 4096 | -   | 0      | CAP    | Reject[message=context length exceeded: prompt 3,007 + max_tokens 4,096 tokens > contextWindow 6,000 for qwen3:32b, param=messages, code=context_length_exceeded]
      """)
  void decidesEachBranch(String what, int words, int maxTokens, int window, int modelMax, String overflow,
      int overflowWindow, OverMaxTokens over, String expected) {
    PromptText prompt = prompt(words);
    String overflowModel = "BIG".equals(overflow) ? BIG : null;

    Verdict verdict = ContextGuard.check(MODEL, prompt, maxTokens, window, modelMax, overflowModel, overflowWindow,
        over);

    assertThat(verdict.toString()).isEqualTo(expected.replace("promptTokens=P", "promptTokens="
        + prompt.estimatedTokens()).replace("promptTokens=X", "promptTokens=" + prompt.exactTokens()));
  }

  @Test
  void aPromptThatExactlyFillsTheWindowPassesAndOneTokenMoreIsRejected() {
    PromptText prompt = prompt(20_000);
    int exact = prompt.exactTokens();
    assertThat(exact).isEqualTo(20_000 + PromptText.TOKENS_PER_MESSAGE + PromptText.TOKENS_PER_REQUEST);

    Verdict justFits = ContextGuard.check(MODEL, prompt, 4_096, exact + 4_096, 4_096, null, 0, OverMaxTokens.REJECT);
    Verdict oneOver = ContextGuard.check(MODEL, prompt, 4_096, exact + 4_095, 4_096, null, 0, OverMaxTokens.REJECT);
    Verdict noMaxFits = ContextGuard.check(MODEL, prompt, 0, exact + 1, 0, null, 0, OverMaxTokens.REJECT);
    Verdict noMaxOver = ContextGuard.check(MODEL, prompt, 0, exact, 0, null, 0, OverMaxTokens.REJECT);

    assertThat(justFits).isEqualTo(new Fits(exact, 4_096, false));
    assertThat(oneOver).isInstanceOf(Reject.class);
    assertThat(((Reject) oneOver).message()).isEqualTo("context length exceeded: prompt 20,007 + max_tokens 4,096"
        + " tokens > contextWindow 24,102 for qwen3:32b");
    assertThat(noMaxFits).isEqualTo(new Fits(exact, 0, false));
    assertThat(noMaxOver).isInstanceOf(Reject.class);
  }

  @Test
  void theOverflowModelFollowsTheSameRuleAtItsBoundary() {
    PromptText prompt = prompt(5_000);
    int exact = prompt.exactTokens();

    Verdict fits = ContextGuard.check(MODEL, prompt, 100, 4_096, 0, BIG, exact + 100, OverMaxTokens.REJECT);
    Verdict over = ContextGuard.check(MODEL, prompt, 100, 4_096, 0, BIG, exact + 99, OverMaxTokens.REJECT);

    assertThat(fits).isEqualTo(new Overflow(BIG, exact));
    assertThat(over).isInstanceOf(Reject.class);
  }

  @Test
  void theFastPathNeverRunsTheBpe() {
    PromptText prompt = prompt(1_000);

    Verdict verdict = ContextGuard.check(MODEL, prompt, 4_096, 24_576, 4_096, null, 0, OverMaxTokens.REJECT);

    assertThat(verdict).isEqualTo(new Fits(prompt.estimatedTokens(), 4_096, false));
    assertThat(prompt.exactComputed()).isFalse();
  }

  @Test
  void nearTheWindowTheExactCountDecides() {
    PromptText prompt = prompt(1_000);
    int window = prompt.estimatedTokens() + 10;

    Verdict verdict = ContextGuard.check(MODEL, prompt, 0, window, 0, null, 0, OverMaxTokens.REJECT);

    assertThat(prompt.exactComputed()).isTrue();
    assertThat(verdict).isEqualTo(new Fits(prompt.exactTokens(), 0, false));
  }

  @Test
  void aPromptWithoutMessagesNamesThePromptParameter() {
    PromptText prompt = PromptText.of(PromptTextTest.body("{'prompt':'" + "word ".repeat(200) + "'}"));

    Verdict verdict = ContextGuard.check(MODEL, prompt, 0, 100, 0, null, 0, OverMaxTokens.REJECT);

    assertThat(verdict).isInstanceOf(Reject.class);
    assertThat(((Reject) verdict).param()).isEqualTo("prompt");
  }
}
