package dev.sluice.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
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
  void generatesTheSameTokensFromTheSameSeedIncludingMultiByteText() {
    String a = String.join("", TextGenerator.tokens(new SplittableRandom(3), 500));
    String b = String.join("", TextGenerator.tokens(new SplittableRandom(3), 500));

    assertThat(a).isEqualTo(b).contains("日本語", "🚀", "café");
  }
}
