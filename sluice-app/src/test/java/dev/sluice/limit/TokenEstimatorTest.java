package dev.sluice.limit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TokenEstimatorTest {
  static String sample(String name) throws IOException {
    try (InputStream in = TokenEstimatorTest.class.getResourceAsStream("/limit/" + name)) {
      assertThat(in).as("sample " + name).isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @ParameterizedTest(name = "{0}: estimate within 0.9–1.6 × the cl100k count")
  @ValueSource(strings = {"english.txt", "chinese.txt", "java.txt", "python.txt", "json.txt"})
  void theEstimateNeverUndercountsByMoreThanTenPercentNorOvercountsWildly(String name) throws IOException {
    String text = sample(name);

    int exact = TokenEstimator.count(text);
    int estimate = TokenEstimator.estimate(text);

    System.out.printf("estimator %-12s chars %5d exact %5d estimate %5d ratio %.2f%n", name, text.length(), exact,
        estimate, (double) estimate / exact);
    assertThat(exact).isGreaterThan(300);
    assertThat((double) estimate).isGreaterThanOrEqualTo(0.9 * exact).isLessThanOrEqualTo(1.6 * exact);
  }

  @ParameterizedTest(name = "each paragraph of {0} on its own is within 0.9–1.6 ×")
  @ValueSource(strings = {"english.txt", "chinese.txt"})
  void holdsForSingleParagraphsToo(String name) throws IOException {
    for (String paragraph : sample(name).split("\n\n")) {
      int exact = TokenEstimator.count(paragraph);
      assertThat((double) TokenEstimator.estimate(paragraph)).as(paragraph)
          .isGreaterThanOrEqualTo(0.9 * exact).isLessThanOrEqualTo(1.6 * exact);
    }
  }

  @Test
  void countsWithCl100k() {
    assertThat(TokenEstimator.count("hello world")).isEqualTo(2);
    assertThat(TokenEstimator.count("")).isZero();
  }

  @Test
  void specialTokenTextIsCountedAsPlainTextInsteadOfFailing() {
    assertThat(TokenEstimator.count("<|endoftext|>")).isGreaterThan(1);
  }

  @Test
  void emptyAndBlankTextsEstimateAlmostNothing() {
    assertThat(TokenEstimator.estimate("")).isZero();
    assertThat(TokenEstimator.estimate(" ")).isZero();
    assertThat(TokenEstimator.estimate("\n\n")).isEqualTo(1);
  }

  @Test
  void randomLookingTextIsNotUndercounted() {
    String base64 = "QmFzZTY0IGJsb2JzIHNwbGl0IGludG8gbWFueSBzbWFsbCB0b2tlbnMsIHNvIHRoZSBlc3RpbWF0ZSBtdXN0IG5vdCB0cnVzdCB3b3Jk"
        + "IGxlbmd0aHMgaGVyZTsgZXZlcnkgdGhyZWUgb3IgZm91ciBjaGFyYWN0ZXJzIGFyZSBhbm90aGVyIHRva2VuIGF0IGxlYXN0Lg==";
    String hex = "3f9a1c2e7b4d0a6f 9c1e2b3a4d5f6e70 a1b2c3d4e5f60718 0f1e2d3c4b5a6978";

    assertThat((double) TokenEstimator.estimate(base64)).isGreaterThanOrEqualTo(0.9 * TokenEstimator.count(base64));
    assertThat((double) TokenEstimator.estimate(hex)).isGreaterThanOrEqualTo(0.9 * TokenEstimator.count(hex));
  }
}
