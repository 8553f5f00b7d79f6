package dev.sluice.sim;

import static dev.sluice.sim.SimHttp.get;
import static dev.sluice.sim.SimHttp.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a simulated node tells about the APIs it serves: Ollama's version, vLLM's route list. */
class SimNodeVersionAndRoutesTest extends SimNodesFixture {
  private static final SimOptions INSTANT = SimOptions.defaults().withTimeScale(0);

  @Test
  void aNodeServingMessagesAndResponsesReportsAnOllamaVersionThatHasThem() throws Exception {
    SimNode all = start(INSTANT);
    SimNode old = start(INSTANT.withDialects("ollama", "openai"));
    SimNode halfway = start(INSTANT.withDialects("ollama", "openai", "anthropic"));

    assertThat(json(get(all, "/api/version")).path("version").asText()).isEqualTo("0.14.2");
    assertThat(json(get(old, "/api/version")).path("version").asText()).isEqualTo("0.12.6");
    assertThat(json(get(halfway, "/api/version")).path("version").asText()).isEqualTo("0.12.6");
  }

  @Test
  void theRouteListNamesThePathsOfTheDialectsTheNodeSpeaks() throws Exception {
    SimNode all = start(INSTANT);
    SimNode chatOnly = start(INSTANT.withDialects("openai"));
    SimNode ollamaOnly = start(INSTANT.withDialects("ollama"));

    JsonNode doc = json(get(all, "/openapi.json"));
    assertThat(doc.path("openapi").asText()).isEqualTo("3.1.0");
    assertThat(doc.path("info").path("title").asText()).isEqualTo("vLLM (simulated)");
    assertThat(paths(doc)).contains("/v1/chat/completions", "/v1/models", "/v1/messages",
        "/v1/messages/count_tokens", "/v1/responses");
    assertThat(doc.path("paths").path("/v1/messages").has("post")).isTrue();
    assertThat(paths(json(get(chatOnly, "/openapi.json")))).contains("/v1/chat/completions")
        .doesNotContain("/v1/messages", "/v1/responses");
    assertThat(get(ollamaOnly, "/openapi.json").statusCode()).as("like Ollama, which has no route list")
        .isEqualTo(404);
  }

  private static List<String> paths(JsonNode doc) {
    List<String> out = new ArrayList<>();
    doc.path("paths").fieldNames().forEachRemaining(out::add);
    return out;
  }
}
