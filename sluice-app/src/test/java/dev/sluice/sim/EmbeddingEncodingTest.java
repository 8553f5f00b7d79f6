package dev.sluice.sim;

import static dev.sluice.sim.SimHttp.json;
import static dev.sluice.sim.SimHttp.post;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Over real HTTP: {@code encoding_format: "base64"} on {@code /v1/embeddings}, as OpenAI and vLLM answer it. */
class EmbeddingEncodingTest extends SimNodesFixture {
  private static final SimOptions INSTANT = SimOptions.defaults().withTimeScale(0).withEmbeddingDimensions(192);
  private static final String INPUT = "{\"model\":\"qwen3:32b\",\"input\":[\"first text\",\"日本語 🚀\"]";

  @Test
  void base64EmbeddingsDecodeAsLittleEndianFloat32ToExactlyTheDefaultFloats() throws Exception {
    SimNode node = start(INSTANT);

    JsonNode floats = json(post(node, "/v1/embeddings", INPUT + "}"));
    JsonNode explicitFloats = json(post(node, "/v1/embeddings", INPUT + ",\"encoding_format\":\"float\"}"));
    JsonNode base64 = json(post(node, "/v1/embeddings", INPUT + ",\"encoding_format\":\"base64\"}"));

    assertThat(explicitFloats).isEqualTo(floats);
    assertThat(base64.path("usage")).isEqualTo(floats.path("usage"));
    for (int i = 0; i < 2; i++) {
      JsonNode encoded = base64.path("data").get(i).path("embedding");
      assertThat(encoded.isTextual()).as("item %d is a base64 string", i).isTrue();
      List<Float> expected = new ArrayList<>();
      floats.path("data").get(i).path("embedding").forEach(value -> expected.add(value.floatValue()));
      assertThat(expected).hasSize(192);
      assertThat(decode(encoded.asText())).isEqualTo(expected);
    }
  }

  @Test
  void theOfficialOpenAiJavaClientWhichAsksForBase64ByDefaultGetsTheSameFloats() throws Exception {
    SimNode node = start(INSTANT);
    OpenAIClient openai = OpenAIOkHttpClient.builder().baseUrl(node.baseUrl() + "/v1").apiKey("sk-unused")
        .maxRetries(0).build();
    try {
      EmbeddingCreateParams params = EmbeddingCreateParams.builder().model("qwen3:32b")
          .inputOfArrayOfStrings(List.of("first text", "日本語 🚀")).build();
      assertThat(params.encodingFormat()).contains(EmbeddingCreateParams.EncodingFormat.BASE64);

      CreateEmbeddingResponse response = openai.embeddings().create(params);

      JsonNode floats = json(post(node, "/v1/embeddings", INPUT + "}"));
      for (int i = 0; i < 2; i++) {
        List<Float> expected = new ArrayList<>();
        floats.path("data").get(i).path("embedding").forEach(value -> expected.add(value.floatValue()));
        assertThat(response.data().get(i).embedding()).isEqualTo(expected);
      }
    } finally {
      openai.close();
    }
  }

  @Test
  void refusesAnUnknownEncodingFormat() throws Exception {
    SimNode node = start(INSTANT);

    HttpResponse<String> response = post(node, "/v1/embeddings", INPUT + ",\"encoding_format\":\"int8\"}");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(response.body()).contains("encoding_format");
  }

  private static List<Float> decode(String base64) {
    ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(base64)).order(ByteOrder.LITTLE_ENDIAN);
    List<Float> values = new ArrayList<>();
    while (bytes.hasRemaining()) {
      values.add(bytes.getFloat());
    }
    return values;
  }
}
