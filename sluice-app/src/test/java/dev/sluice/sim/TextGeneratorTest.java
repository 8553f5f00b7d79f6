package dev.sluice.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TextGeneratorTest {

  @Test
  void estimatesPromptTokensAsCodePointsOverFourRoundedUp() {
    assertThat(TextGenerator.promptTokens("")).isEqualTo(1);
    assertThat(TextGenerator.promptTokens("abcd")).isEqualTo(1);
    assertThat(TextGenerator.promptTokens("abcde")).isEqualTo(2);
    assertThat(TextGenerator.promptTokens("🚀🚀🚀🚀🚀")).isEqualTo(2);
  }

  @Test
  void samplesChatLikeOutputLengths() {
    SplittableRandom random = new SplittableRandom(1);
    int[] lengths = new int[100_000];
    Arrays.setAll(lengths, i -> TextGenerator.sampleOutputTokens(random));
    Arrays.sort(lengths);

    assertThat(lengths[lengths.length / 2]).isBetween(120, 138);
    assertThat(Arrays.stream(lengths).average().orElseThrow()).isBetween(200.0, 222.0);
    assertThat(lengths[lengths.length - 1]).isLessThanOrEqualTo(600);
    assertThat(lengths[0]).isGreaterThanOrEqualTo(8);
  }

  @Test
  void generatesTheSameTokensFromTheSameSeedAndConversationIncludingMultiByteText() {
    String a = String.join("", TextGenerator.answer(3, 11, "", 500).tokens());
    String b = String.join("", TextGenerator.answer(3, 11, "", 500).tokens());
    String otherConversation = String.join("", TextGenerator.answer(3, 12, "", 500).tokens());
    String otherSeed = String.join("", TextGenerator.answer(4, 11, "", 500).tokens());

    assertThat(a).isEqualTo(b).contains("日本語", "🚀", "café").isNotEqualTo(otherConversation).isNotEqualTo(otherSeed);
  }

  @Test
  void aLimitGivesExactlyThatManyTokensAndALongerLimitTheSameStart() {
    List<String> short20 = TextGenerator.answer(3, 11, "", 20).tokens();
    List<String> long50 = TextGenerator.answer(3, 11, "", 50).tokens();

    assertThat(short20).hasSize(20);
    assertThat(long50).hasSize(50).startsWith(short20.toArray(String[]::new));
    assertThat(TextGenerator.answer(3, 11, "", 20).finished()).isFalse();
  }

  @Test
  void continuesAPartialAnswerCutAnywhereWithExactlyTheRestOfIt() {
    TextGenerator.Answer whole = TextGenerator.answer(5, 99, "", 0);
    String text = String.join("", whole.tokens());
    assertThat(whole.finished()).isTrue();

    for (int cut : new int[] {0, 1, 7, text.length() / 2, text.length() - 1, text.length()}) {
      TextGenerator.Answer rest = TextGenerator.answer(5, 99, text.substring(0, cut), 0);
      assertThat(text.substring(0, cut) + String.join("", rest.tokens())).as("cut at %d", cut).isEqualTo(text);
      assertThat(rest.finished()).isTrue();
    }
  }

  @Test
  void countsOnlyNewTokensAgainstTheLimitOfAContinuation() {
    List<String> whole = TextGenerator.answer(5, 99, "", 30).tokens();
    String partial = String.join("", whole.subList(0, 12));

    assertThat(TextGenerator.answer(5, 99, partial, 18).tokens()).isEqualTo(whole.subList(12, 30));
  }

  @Test
  void continuesTextThatIsNotItsOwnFromItsEstimatedLength() {
    List<String> whole = TextGenerator.answer(5, 99, "", 40).tokens();

    // 16 code points are about 4 tokens: the answer goes on from position 4
    assertThat(TextGenerator.answer(5, 99, "{\"answer\": \"yes", 5).tokens()).isEqualTo(whole.subList(4, 9));
  }
}
