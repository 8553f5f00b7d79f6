package dev.sluice.config;

import static dev.sluice.config.ConfigTexts.OK_PROVIDER;
import static dev.sluice.config.ConfigTexts.problems;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Model ids named outside a provider must be configured; a model listed twice has one set of limits. */
class ModelReferencesTest {
  @ParameterizedTest(name = "{1}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      {'degradation': {'downgrade': {'m': 'qwen2:7b'}}, 'providers': {OK}} | config: degradation.downgrade.m: target "qwen2:7b" is not a configured model (configured models: m)
      {'degradation': {'downgrade': {'x': 'm'}}, 'providers': {OK}} | config: degradation.downgrade.x: "x" is not a configured model
      {'cache': {'models': ['nope']}, 'providers': {OK}}          | config: cache.models: "nope" is not a configured model
      {'limits': {'models': {'nope': {'concurrent': 2}}}, 'providers': {OK}} | config: limits.models.nope: "nope" is not a configured model
      {'providers': {'p': {'baseUrl': 'http://h:1', 'models': [{'id': 'm', 'contextWindow': 100, 'overflowModel': 'big'}]}}} | config: providers.p.models[0].overflowModel: "big" is not a configured model
      {'providers': {'p': {'baseUrl': 'http://h:1', 'models': [{'id': 'm', 'contextWindow': 100, 'overflowModel': 'n'}, {'id': 'n', 'contextWindow': 50}]}}} | config: providers.p.models[0].overflowModel: "n" has contextWindow 50, not larger than 100
      {'providers': {'a': {'baseUrl': 'http://h:1', 'models': [{'id': 'm', 'contextWindow': 8}]}, 'b': {'baseUrl': 'http://h:2', 'models': [{'id': 'm', 'contextWindow': 16}]}}} | config: providers.b.models: model "m" is also listed by provider "a" with a different contextWindow/maxTokens
      """)
  void rejectsABadValueNamingItsKeyPathTheValueAndTheFix(String config, String expected) {
    assertThat(problems(config.replace("OK", OK_PROVIDER)))
        .as("problems of %s", config)
        .anySatisfy(p -> assertThat(p).startsWith(expected));
  }
}
