package dev.sluice.sim;

import static dev.sluice.sim.SimHttp.get;
import static dev.sluice.sim.SimHttp.post;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Each dialect of a simulated node can be turned off; its paths then answer 404 as from a server without it. */
class DialectSwitchTest extends SimNodesFixture {
  private static final SimOptions INSTANT = SimOptions.defaults().withTimeScale(0);
  private static final String MESSAGES = "{\"model\":\"qwen3:32b\",\"max_tokens\":5,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
  private static final String RESPONSES = "{\"model\":\"qwen3:32b\",\"input\":\"Hi\"}";
  private static final String CHAT = "{\"model\":\"qwen3:32b\",\"max_tokens\":5,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

  @Test
  void aNodeServesEveryDialectByDefault() throws Exception {
    SimNode node = start(INSTANT);

    assertThat(post(node, "/v1/messages", MESSAGES).statusCode()).isEqualTo(200);
    assertThat(post(node, "/v1/messages/count_tokens", MESSAGES).statusCode()).isEqualTo(200);
    assertThat(post(node, "/v1/responses", RESPONSES).statusCode()).isEqualTo(200);
  }

  @Test
  void aNodeWithoutAnthropicAndResponsesAnswers404OnTheirPathsButStillChats() throws Exception {
    SimNode node = start(INSTANT.withDialects("ollama", "openai"));

    assertThat(post(node, "/v1/messages", MESSAGES).statusCode()).isEqualTo(404);
    assertThat(post(node, "/v1/messages/count_tokens", MESSAGES).statusCode()).isEqualTo(404);
    assertThat(post(node, "/v1/responses", RESPONSES).statusCode()).isEqualTo(404);
    assertThat(post(node, "/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
    assertThat(get(node, "/api/tags").statusCode()).isEqualTo(200);
  }

  @Test
  void aNodeWithoutOllamaAnswers404OnItsPathsAsVllmDoesButKeepsHealthAndMetrics() throws Exception {
    SimNode node = start(INSTANT.withDialects("openai", "anthropic", "responses"));

    assertThat(get(node, "/api/tags").statusCode()).isEqualTo(404);
    assertThat(get(node, "/").statusCode()).isEqualTo(404);
    assertThat(get(node, "/health").statusCode()).isEqualTo(200);
    assertThat(get(node, "/metrics").statusCode()).isEqualTo(200);
    assertThat(post(node, "/v1/messages", MESSAGES).statusCode()).isEqualTo(200);
  }

  @Test
  void theClusterFileSetsDialectsPerNodeAndNamesAnUnknownOne() {
    List<SimCluster.NodeSpec> specs = SimCluster.parse("""
        {"nodes": [{"id": "vllm", "dialects": ["openai", "responses"]}, {"id": "ollama"}]}""");

    assertThat(specs.get(0).options().dialects()).containsExactlyInAnyOrder("openai", "responses");
    assertThat(specs.get(1).options().dialects()).isEqualTo(SimOptions.DIALECTS);
    assertThatThrownBy(() -> SimCluster.parse("{\"nodes\":[{\"id\":\"a\",\"dialects\":[\"grpc\"]}]}"))
        .hasMessageContaining("nodes[0].dialects: [grpc] (expected a non-empty list of [anthropic, ollama, openai, "
            + "responses])");
  }
}
