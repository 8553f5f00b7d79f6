package dev.sluice.api;

import static dev.sluice.api.AnswerFixtures.ANSWER;
import static dev.sluice.api.AnswerFixtures.CREATED;
import static dev.sluice.api.AnswerFixtures.bytes;
import static dev.sluice.api.AnswerFixtures.fieldNames;
import static dev.sluice.api.AnswerFixtures.rendered;
import static dev.sluice.api.AnswerFixtures.request;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.support.Json;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OpenAiChatTest {
  private static final Dialect CHAT = Endpoint.OPENAI_CHAT.dialect();

  @Test
  void theOpenAiChatBodyHasExactlyTheFieldsClientsExpect() throws Exception {
    JsonNode body = Json.MAPPER.readTree(rendered(Endpoint.OPENAI_CHAT, false, ANSWER));

    assertThat(fieldNames(body)).containsExactly("id", "object", "created", "model", "choices", "usage",
        "system_fingerprint");
    assertThat(body.get("id").asText()).isEqualTo("chatcmpl-1");
    assertThat(body.get("object").asText()).isEqualTo("chat.completion");
    assertThat(body.get("created").asLong()).isEqualTo(CREATED);
    assertThat(body.get("model").asText()).isEqualTo("qwen3:32b");
    assertThat(body.get("system_fingerprint").isNull()).isTrue();
    JsonNode choice = body.get("choices").get(0);
    assertThat(fieldNames(choice)).containsExactly("index", "message", "logprobs", "finish_reason");
    assertThat(choice.get("index").asInt()).isZero();
    assertThat(choice.get("logprobs").isNull()).isTrue();
    assertThat(choice.get("finish_reason").asText()).isEqualTo("length");
    assertThat(fieldNames(choice.get("message"))).containsExactly("role", "content", "refusal");
    assertThat(choice.get("message").get("role").asText()).isEqualTo("assistant");
    assertThat(choice.get("message").get("content").asText()).isEqualTo(ANSWER.content());
    assertThat(choice.get("message").get("refusal").isNull()).isTrue();
    assertThat(body.get("usage").get("prompt_tokens").asInt()).isEqualTo(31);
    assertThat(body.get("usage").get("completion_tokens").asInt()).isEqualTo(42);
    assertThat(body.get("usage").get("total_tokens").asInt()).isEqualTo(73);
  }

  @Test
  void theOpenAiChatStreamStartsWithTheRoleEndsWithFinishUsageAndDone() throws Exception {
    List<Buffer> events = CHAT.render(request(true), true, ANSWER, "1", CREATED);

    assertThat(events.get(events.size() - 1).toString()).isEqualTo("data: [DONE]\n\n");
    List<JsonNode> chunks = new ArrayList<>();
    for (Buffer event : events.subList(0, events.size() - 1)) {
      chunks.add(Json.MAPPER.readTree(event.toString(StandardCharsets.UTF_8).substring("data: ".length())));
    }
    for (JsonNode chunk : chunks) {
      assertThat(chunk.get("object").asText()).isEqualTo("chat.completion.chunk");
      assertThat(chunk.get("id").asText()).isEqualTo("chatcmpl-1");
      assertThat(chunk.get("created").asLong()).isEqualTo(CREATED);
    }
    JsonNode first = chunks.get(0).get("choices").get(0);
    assertThat(first.get("delta").toString()).isEqualTo("{\"role\":\"assistant\",\"content\":\"\"}");
    assertThat(first.get("finish_reason").isNull()).isTrue();
    JsonNode finish = chunks.get(chunks.size() - 2);
    assertThat(finish.get("choices").get(0).get("delta").toString()).isEqualTo("{}");
    assertThat(finish.get("choices").get(0).get("finish_reason").asText()).isEqualTo("length");
    assertThat(finish.get("usage").isNull()).isTrue();
    JsonNode usage = chunks.get(chunks.size() - 1);
    assertThat(usage.get("choices")).isEmpty();
    assertThat(usage.get("usage").get("total_tokens").asInt()).isEqualTo(73);
  }

  @Test
  void withoutIncludeUsageAStreamHasNoUsageChunk() {
    byte[] body = bytes(CHAT.render(request(false), true, ANSWER, "1", CREATED));

    assertThat(new String(body, StandardCharsets.UTF_8)).doesNotContain("usage");
    Answer parsed = CHAT.parse(true, body);
    assertThat(parsed.content()).isEqualTo(ANSWER.content());
    assertThat(parsed.promptTokens()).isZero();
    assertThat(CHAT.usage(body)).isEqualTo(Usage.UNKNOWN);
  }

  @Test
  void aRenderedStreamIsMarkedNotToBeCachedOnTheWayButAWholeAnswerHasNoExtraHeaders() {
    assertThat(CHAT.streamHeaders()).containsExactly(Map.entry("cache-control", "no-cache"));
    assertThat(Endpoint.OLLAMA_CHAT.dialect().streamHeaders()).isEmpty();
  }
}
