package dev.sluice.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.support.Json;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The listings the gateway writes itself: OpenAI's /v1/models, Ollama's /api/tags entries and /api/version. */
class ModelListsTest {
  @Test
  void theOpenAiModelListNamesEachModelWithItsProviderInOrder() {
    Map<String, String> owners = new LinkedHashMap<>();
    owners.put("qwen3:32b", "gpu-pool");
    owners.put("llama3:8b", "edge");

    assertThat(OpenAiModels.list(owners, 1_790_000_000L)).isEqualTo("{\"object\":\"list\",\"data\":["
        + "{\"id\":\"qwen3:32b\",\"object\":\"model\",\"created\":1790000000,\"owned_by\":\"gpu-pool\"},"
        + "{\"id\":\"llama3:8b\",\"object\":\"model\",\"created\":1790000000,\"owned_by\":\"edge\"}]}");
  }

  @Test
  void aSyntheticOllamaTagTakesItsFamilyFromTheNameBeforeTheColon() {
    assertThat(OllamaModels.syntheticTag("qwen3:32b", "2026-01-01T00:00:00Z").toString())
        .isEqualTo("{\"name\":\"qwen3:32b\",\"model\":\"qwen3:32b\",\"modified_at\":\"2026-01-01T00:00:00Z\","
            + "\"size\":0,\"digest\":\"\",\"details\":{\"format\":\"\",\"family\":\"qwen3\",\"parameter_size\":\"\","
            + "\"quantization_level\":\"\"}}");
    assertThat(OllamaModels.syntheticTag("mistral", "t").path("details").path("family").asText()).isEqualTo("mistral");
  }

  @Test
  void anOllamaListingEntryGoesByItsNameElseItsModel() throws Exception {
    assertThat(OllamaModels.name(Json.MAPPER.readTree("{\"name\":\"a\",\"model\":\"b\"}")))
        .isEqualTo("a");
    assertThat(OllamaModels.name(Json.MAPPER.readTree("{\"model\":\"b\"}"))).isEqualTo("b");
  }

  @Test
  void theVersionIsOneOllamaClientsAccept() {
    assertThat(OllamaModels.version()).isEqualTo("{\"version\":\"0.14.0\"}");
  }
}
