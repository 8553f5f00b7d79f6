package dev.sluice.probe;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.api.NodeDialect;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Reading Ollama's version and vLLM's route list into the dialects a node serves. */
class DialectDiscoveryTest {
  @ParameterizedTest(name = "Ollama {0} serves Messages and Responses: {1}")
  @CsvSource({
    "0.14.0,      true",
    "0.14.2,      true",
    "0.14.0-rc1,  true",
    "v0.15.1,     true",
    "1.0,         true",
    "0.13.9,      false",
    "0.12.6,      false",
    "0.9.99,      false",
    "0.0.0,       false",
  })
  void anOllamaFrom014OnServesAnthropicMessagesAndOpenAiResponses(String version, boolean recent) {
    DialectDiscovery.Found found = DialectDiscovery.ollamaVersion("{\"version\":\"" + version + "\"}");

    assertThat(found.source()).isEqualTo("Ollama " + version);
    if (recent) assertThat(found.dialects()).containsExactlyInAnyOrder(NodeDialect.ANTHROPIC, NodeDialect.RESPONSES);
    else assertThat(found.dialects()).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      {}
      {"version":""}
      {"version":"dev"}
      {"version":"99999999999.1.0"}
      not json
      """)
  void aVersionAnswerWithoutAVersionIsUnreadable(String body) {
    assertThat(DialectDiscovery.ollamaVersion(body)).isNull();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      {"openapi":"3.1.0","paths":{"/v1/chat/completions":{"post":{}}}}                                   | none
      {"info":{"paths":{"/v1/messages":{}}},"paths":{"/v1/chat/completions":{"post":{"x":[1,{"/v1/responses":2}]}}}} | none
      {"paths":{"/v1/messages":{"post":{}},"/v1/messages/count_tokens":{"post":{}}}}                       | ANTHROPIC
      {"paths":{"/v1/responses":{"post":{}},"/v1/responses/{response_id}":{"get":{}}},"openapi":"3.1.0"}   | RESPONSES
      {"components":{},"paths":{"/v1/messages":{},"/v1/responses":{},"/v1/models":{"get":{}}}}              | ANTHROPIC RESPONSES
      """)
  void theRouteListsKeysNameTheDialects(String body, String expected) {
    DialectDiscovery.Found found = DialectDiscovery.openApiRoutes(body.getBytes(StandardCharsets.UTF_8));

    assertThat(found.dialects()).extracting(NodeDialect::name)
        .containsExactlyInAnyOrder(expected.equals("none") ? new String[0] : expected.split(" "));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      []
      {"openapi":"3.1.0"}
      {"paths":["/v1/messages"]}
      {"paths":{"/v1/messages":
      <html>Not Found</html>
      """)
  void aBodyWithoutARouteListIsUnreadable(String body) {
    assertThat(DialectDiscovery.openApiRoutes(body.getBytes(StandardCharsets.UTF_8))).isNull();
  }
}
