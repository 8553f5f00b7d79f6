package dev.sluice.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PathNormalizerTest {
  @ParameterizedTest(name = "{0} → {1}")
  @CsvSource(nullValues = "NULL", value = {
      "/v1/chat/completions, /v1/chat/completions",
      "/v1/chat/completions/, /v1/chat/completions",
      "//v1//models, /v1/models",
      "/v1/./models, /v1/models",
      "/v1/../api/delete, /api/delete",
      "/../../api/tags, /api/tags",
      "/api/%2e%2e/api/pull, /api/pull",
      "/api/%63hat, /api/chat",
      "/api/chat%2fpull, NULL",
      "/api/chat%5cpull, NULL",
      "/api%00/chat, NULL",
      "/api\\chat, NULL",
      "/api/chat%zz, NULL",
      "/api/chat%2, NULL",
      "api/chat, NULL",
  })
  void normalisesOrRefuses(String raw, String expected) {
    assertThat(PathNormalizer.normalise(raw)).isEqualTo(expected);
  }
}
