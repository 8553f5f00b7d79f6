package dev.sluice.api;

import static dev.sluice.api.AnswerFixtures.ANSWER;
import static dev.sluice.api.AnswerFixtures.CREATED;
import static dev.sluice.api.AnswerFixtures.fieldNames;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.support.Json;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class OllamaGenerateTest {
  @Test
  void anOllamaGenerateStreamHasItsApisFieldsAndEndsWithTheCounts() throws Exception {
    List<Buffer> lines = Endpoint.OLLAMA_GENERATE.dialect().render(null, true, ANSWER, "1", CREATED);

    JsonNode piece = Json.MAPPER.readTree(lines.get(0).toString(StandardCharsets.UTF_8));
    assertThat(fieldNames(piece)).containsExactly("model", "created_at", "response", "done");
    JsonNode last = Json.MAPPER.readTree(lines.get(lines.size() - 1).toString(StandardCharsets.UTF_8));
    assertThat(last.get("response").asText()).isEmpty();
    assertThat(last.get("done").asBoolean()).isTrue();
    assertThat(last.get("eval_count").asInt()).isEqualTo(42);
  }
}
