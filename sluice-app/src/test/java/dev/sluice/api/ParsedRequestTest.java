package dev.sluice.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

/** The gateway's rewrites of a request body: each gives a new request whose tree and bytes agree. */
class ParsedRequestTest {
  private static ParsedRequest parsed(Endpoint endpoint, String body) throws Exception {
    ObjectNode json = (ObjectNode) Json.MAPPER.readTree(body);
    return new ParsedRequest(endpoint, json.path("model").asText(), json.path("stream").asBoolean(false), json,
        Buffer.buffer(body));
  }

  @Test
  void theRequestedAnswerLengthIsTheFirstPositiveOfMaxCompletionTokensMaxTokensAndNumPredict() throws Exception {
    assertThat(parsed(Endpoint.OPENAI_CHAT, "{\"model\":\"m\",\"max_completion_tokens\":7,\"max_tokens\":9}")
        .requestedMaxTokens()).isEqualTo(7);
    assertThat(parsed(Endpoint.OPENAI_CHAT, "{\"model\":\"m\",\"max_completion_tokens\":0,\"max_tokens\":9}")
        .requestedMaxTokens()).isEqualTo(9);
    assertThat(parsed(Endpoint.OLLAMA_CHAT, "{\"model\":\"m\",\"options\":{\"num_predict\":5}}").requestedMaxTokens())
        .isEqualTo(5);
    assertThat(parsed(Endpoint.OLLAMA_CHAT, "{\"model\":\"m\",\"options\":{\"num_predict\":-1}}").requestedMaxTokens())
        .isZero();
    assertThat(parsed(Endpoint.OPENAI_CHAT, "{\"model\":\"m\"}").requestedMaxTokens()).isZero();
  }

  @Test
  void anotherModelIsSetInTheTreeTheBytesAndTheRecordAndTheOriginalIsLeftAsItWas() throws Exception {
    ParsedRequest original = parsed(Endpoint.OPENAI_CHAT, "{\"model\":\"big\",\"stream\":true,\"max_tokens\":4}");
    ParsedRequest small = original.withModel("small");
    assertThat(small.model()).isEqualTo("small");
    assertThat(small.stream()).isTrue();
    assertThat(small.json().path("model").asText()).isEqualTo("small");
    assertThat(Json.MAPPER.readTree(small.raw().getBytes()).path("model").asText()).isEqualTo("small");
    assertThat(original.json().path("model").asText()).isEqualTo("big");
    assertThat(original.raw().toString()).contains("\"big\"");
  }

  @Test
  void aCapSetsEveryLengthFieldGivenOrOllamasNumPredictWhenNoneIs() throws Exception {
    ParsedRequest both = parsed(Endpoint.OPENAI_CHAT, "{\"model\":\"m\",\"max_completion_tokens\":900,\"max_tokens\":900}")
        .withMaxTokens(100);
    assertThat(both.json().path("max_completion_tokens").asInt()).isEqualTo(100);
    assertThat(both.json().path("max_tokens").asInt()).isEqualTo(100);
    assertThat(Json.MAPPER.readTree(both.raw().getBytes()).path("max_tokens").asInt()).isEqualTo(100);
    ParsedRequest ollama = parsed(Endpoint.OLLAMA_CHAT, "{\"model\":\"m\",\"options\":{\"num_predict\":900}}")
        .withMaxTokens(100);
    assertThat(ollama.json().at("/options/num_predict").asInt()).isEqualTo(100);
    assertThat(ollama.requestedMaxTokens()).isEqualTo(100);
  }
}
