package dev.sluice.api;

import static dev.sluice.api.AnswerFixtures.ANSWER;
import static dev.sluice.api.AnswerFixtures.fieldNames;
import static dev.sluice.api.AnswerFixtures.rendered;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.support.Json;
import org.junit.jupiter.api.Test;

class OllamaChatTest {
  @Test
  void anOllamaChatBodyHasItsApisFields() throws Exception {
    JsonNode chat = Json.MAPPER.readTree(rendered(Endpoint.OLLAMA_CHAT, false, ANSWER));

    assertThat(fieldNames(chat)).containsExactly("model", "created_at", "message", "done", "done_reason",
        "total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration");
    assertThat(chat.get("created_at").asText()).isEqualTo("2026-09-21T14:13:20Z");
    assertThat(chat.get("message").toString())
        .isEqualTo("{\"role\":\"assistant\",\"content\":" + Json.MAPPER.writeValueAsString(ANSWER.content()) + "}");
  }
}
