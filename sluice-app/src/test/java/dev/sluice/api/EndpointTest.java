package dev.sluice.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class EndpointTest {
  @ParameterizedTest(name = "{0}")
  @EnumSource(Endpoint.class)
  void everyEndpointIsFoundAtItsDialectsPathAndBelongsToThatPathsApi(Endpoint endpoint) {
    assertThat(Endpoint.at(endpoint.dialect().path())).isSameAs(endpoint);
    assertThat(endpoint.flavor()).isEqualTo(Endpoint.flavorOf(endpoint.path()));
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Endpoint.class)
  void onlyEndpointsTheGatewayAnswersItselfHaveNoPathOnTheNode(Endpoint endpoint) {
    boolean local = endpoint.handling() == Endpoint.Handling.LOCAL;

    assertThat(endpoint.upstreamPath() == null).isEqualTo(local);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Endpoint.class)
  void exactlyTheGeneratingEndpointsRenderAnswersAndOnlyOllamasStreamByDefault(Endpoint endpoint) {
    assertThat(endpoint.dialect().renders()).isEqualTo(endpoint.handling() == Endpoint.Handling.GENERATE);
    assertThat(endpoint.streamsByDefault())
        .isEqualTo(endpoint == Endpoint.OLLAMA_CHAT || endpoint == Endpoint.OLLAMA_GENERATE);
  }

  @Test
  void theListingNamesEveryPathWithItsMethodWhereTheMethodChanges() {
    assertThat(Endpoint.listing()).isEqualTo("POST /v1/chat/completions, /v1/completions, /v1/embeddings, "
        + "/v1/responses, /v1/messages, /v1/messages/count_tokens, GET /v1/models, /v1/models/{model}, POST /api/chat, /api/generate, /api/embed, /api/embeddings, /api/show, GET /api/tags, /api/ps, /api/version");
  }

  @Test
  void aModelsPathWithAnIdIsTheRetrieveEndpointAndNamesItsModel() {
    assertThat(Endpoint.at("/v1/models/qwen3:32b")).isEqualTo(Endpoint.OPENAI_MODEL);
    assertThat(OpenAiModel.id("/v1/models/Qwen/Qwen3-32B")).isEqualTo("Qwen/Qwen3-32B");
    assertThat(Endpoint.at("/v1/models")).isEqualTo(Endpoint.OPENAI_MODELS);
    assertThat(Endpoint.at("/api/embeddings")).isEqualTo(Endpoint.OLLAMA_EMBEDDINGS);
  }
}
