package dev.sluice.config;

import static dev.sluice.config.ConfigTexts.OK_PROVIDER;
import static dev.sluice.config.ConfigTexts.fixture;
import static dev.sluice.config.ConfigTexts.json;
import static dev.sluice.config.ConfigTexts.problems;
import static dev.sluice.config.ConfigTexts.resource;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Reading the file, JSON syntax errors, the section order and how problems are collected and reported. */
class ConfigLoaderTest {
  @Test
  void appliesTheNamedDefaultsWhenServerTimeoutsAndUpstreamAreAbsent() throws Exception {
    SluiceConfig config = ConfigLoader.parse(fixture("brief-providers.json"), "x");

    assertThat(config.server()).isEqualTo(ServerSettings.defaults());
    assertThat(config.timeouts()).isEqualTo(Timeouts.defaults());
    assertThat(config.upstream()).isEqualTo(UpstreamSettings.defaults());
    assertThat(config.source()).isEqualTo("x");
  }

  @Test
  void collectsAllProblemsInsteadOfStoppingAtTheFirst() {
    String config = "{'server': {'port': -1, 'prot': 1}, 'timeouts': {'idle': '30'},"
        + "'providers': {"
        + "  'a': {'baseUrl': 'nope', 'api': 'x', 'models': [{'contextWindow': 0}]},"
        + "  'b': {'models': [{'id': 'm'}], 'nodes': [{'id': 'n', 'baseUrl': 'http://h:1', 'extra': true}]}}}";

    assertThat(problems(config)).containsExactly(
        "config: server.prot: unknown key (known: host, port, maxBodyBytes, maxJsonDepth, maxHeaderBytes, cors, tls, "
            + "requestHeadTimeout, keepAliveTimeout, bodyReadTimeout, maxConnectionsPerClient, maxUploadBytesInProgress, "
            + "maxUploadBytesInProgressPerTenant, trustedProxies, failedCredentials)",
        "config: server.port: -1 must be a TCP port 0..65535 (0 = any free port)",
        "config: timeouts.idle: \"30\" must be a positive duration like \"250ms\", \"2s\", \"5m\" or \"1h\"",
        "config: providers.a.api: \"x\" is not a known api (expected \"openai-completions\", \"openai\", \"ollama\", "
            + "\"anthropic-messages\" or \"openai-responses\")",
        "config: providers.a.models[0].id: missing; give a model id like \"qwen3:32b\"",
        "config: providers.a.models[0].contextWindow: 0 must be a positive integer (tokens)",
        "config: providers.a.baseUrl: \"nope\" is not a URL (expected http(s)://host:port)",
        "config: providers.b.nodes[0].extra: unknown key (known: id, baseUrl, api, dialects, gpuType, metricsUrl, "
            + "labels, apiKey, repair, maxConcurrent)");
  }

  @Test
  void theExceptionMessageListsEveryProblemOnItsOwnLine() {
    assertThatThrownBy(() -> ConfigLoader.parse(json("{'server': {'port': -1}, 'providers': {}}"), "t"))
        .isInstanceOf(ConfigException.class)
        .hasMessage("config: server.port: -1 must be a TCP port 0..65535 (0 = any free port)\n"
            + "config: providers: is empty; add at least one provider with a baseUrl and models");
  }

  @Test
  void reportsTheLineAndColumnOfMalformedJsonWithAHint() {
    String config = "{\n  \"providers\": {\n    \"p\": {\"baseUrl\": \"http://h:1\",}\n  }\n}";

    assertThat(problems(config, "/etc/sluice.json")).singleElement().satisfies(p -> assertThat(p)
        .startsWith("config: /etc/sluice.json at line 3, column 35 is not valid JSON: ")
        .contains("trailing comma"));
  }

  @Test
  void reportsADuplicateKeyAsMalformedJsonNamingTheKey() {
    String config = "{\"server\": {\"port\": 1, \"port\": 2}, \"providers\": {}}";

    assertThat(problems(config, "t")).singleElement().satisfies(p -> assertThat(p)
        .startsWith("config: t at line 1, column ")
        .contains("Duplicate field 'port'")
        .contains("each key may appear only once"));
  }

  @Test
  void reportsContentAfterTheTopLevelObjectInPlainLanguage() {
    assertThat(problems("{\"providers\": {}} {}", "t")).singleElement().satisfies(p -> assertThat(p)
        .startsWith("config: t at line 1, column ")
        .contains("more content after the end of the top-level object"));
  }

  @Test
  void reportsAnEmptyFileAsEmpty() {
    assertThat(problems("  \n", "t"))
        .containsExactly("config: t is empty (expected a JSON object with \"providers\")");
  }

  @Test
  void cutsLongOffendingValuesToEightyCharacters() {
    String longUrl = "x".repeat(200);
    String config = "{'providers': {'p': {'baseUrl': '" + longUrl + "', 'models': [{'id': 'm'}]}}}";

    assertThat(problems(config)).containsExactly(
        "config: providers.p.baseUrl: \"" + "x".repeat(80) + "...\" is not a URL (expected http(s)://host:port)");
  }

  @Test
  void loadNamesTheMissingFileAndTheFix(@TempDir Path dir) {
    Path missing = dir.resolve("nope.json");

    ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(missing));

    assertThat(e.problems()).containsExactly("config: " + missing + ": no such file (check the path)");
  }

  @Test
  void loadKeepsTheFilePathAsTheSource() throws Exception {
    Path file = resource("brief-providers.json");

    assertThat(ConfigLoader.load(file).source()).isEqualTo(file.toString());
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      {'route': 1, 'providers': {OK}}                             | config: route: unknown key (known: server, timeouts, upstream, routing, health, degradation, cache, limits, auth, admin, shared, providers, models)
      []                                                          | config: top level: [] must be a JSON object like {"providers": {...}}
      """)
  void rejectsABadValueNamingItsKeyPathTheValueAndTheFix(String config, String expected) {
    assertThat(problems(config.replace("OK", OK_PROVIDER)))
        .as("problems of %s", config)
        .anySatisfy(p -> assertThat(p).startsWith(expected));
  }
}
