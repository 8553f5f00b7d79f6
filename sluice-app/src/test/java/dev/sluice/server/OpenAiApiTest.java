package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.models.Model;
import com.openai.models.models.ModelRetrieveParams;
import dev.sluice.sim.GpuProfile;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The OpenAI API through Sluice, spoken by the official openai-java client and by plain HTTP. */
class OpenAiApiTest {
  static TestCluster cluster;
  static OpenAIClient openai;

  @BeforeAll
  static void start() {
    cluster = new TestCluster()
        .node("a10-01", GpuProfile.A10, "qwen3:32b", 200)
        .node("h100-01", GpuProfile.H100, "qwen3:32b", 200)
        .node("a10-02", GpuProfile.A10, "qwen2:7b", 200)
        .start();
    openai = OpenAIOkHttpClient.builder().baseUrl(cluster.url("/v1")).apiKey("sk-unused").maxRetries(0).build();
  }

  @AfterAll
  static void stop() {
    openai.close();
    cluster.close();
  }

  private static ChatCompletionCreateParams.Builder chat(long maxTokens) {
    return ChatCompletionCreateParams.builder().model(ChatModel.of("qwen3:32b"))
        .addUserMessage("Say hello to the gateway").maxCompletionTokens(maxTokens);
  }

  @Test
  void officialClientGetsAChatCompletionUnchanged() {
    ChatCompletion c = openai.chat().completions().create(chat(12).build());
    assertThat(c.model()).isEqualTo("qwen3:32b");
    assertThat(c.choices()).hasSize(1);
    assertThat(c.choices().get(0).message().content()).hasValueSatisfying(t -> assertThat(t).isNotBlank());
    assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.LENGTH);
    assertThat(c.usage()).hasValueSatisfying(u -> assertThat(u.completionTokens()).isEqualTo(12));
  }

  @Test
  void officialClientStreamsAChatCompletionChunkByChunkWithUsage() {
    List<ChatCompletionChunk> chunks = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> s = openai.chat().completions().createStreaming(
        chat(8).streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
      s.stream().forEach(chunks::add);
    }
    String text = chunks.stream().flatMap(c -> c.choices().stream())
        .map(ch -> ch.delta().content().orElse("")).collect(Collectors.joining());
    assertThat(text).isNotBlank();
    assertThat(chunks.stream().filter(c -> c.choices().isEmpty()).findFirst())
        .hasValueSatisfying(last -> assertThat(last.usage()).hasValueSatisfying(u ->
            assertThat(u.completionTokens()).isEqualTo(8)));
  }

  @Test
  void officialClientGetsCompletionsAndEmbeddingsAndTheModelList() {
    Completion c = openai.completions().create(CompletionCreateParams.builder()
        .model(CompletionCreateParams.Model.of("qwen3:32b")).prompt("Once upon a time").maxTokens(5).build());
    assertThat(c.choices().get(0).text()).isNotBlank();

    CreateEmbeddingResponse e = openai.embeddings().create(EmbeddingCreateParams.builder()
        .model("qwen3:32b").input("embed me").build());
    assertThat(e.data()).hasSize(1);
    assertThat(e.data().get(0).embedding()).isNotEmpty();

    List<String> ids = openai.models().list().data().stream().map(Model::id).toList();
    assertThat(ids).containsExactly("qwen3:32b", "qwen2:7b");
  }

  @Test
  void officialClientRetrievesOneModelAndAnUnknownOneIsTheApis404() {
    Model m = openai.models().retrieve(ModelRetrieveParams.builder().model("qwen3:32b").build());
    assertThat(m.id()).isEqualTo("qwen3:32b");
    assertThat(m.ownedBy()).isNotBlank();
    assertThat(m.created()).isPositive();

    assertThatThrownBy(() -> openai.models().retrieve(ModelRetrieveParams.builder().model("gpt-9").build()))
        .isInstanceOfSatisfying(NotFoundException.class, e -> {
          assertThat(e.statusCode()).isEqualTo(404);
          assertThat(e.body().toString()).contains("model_not_found").contains("gpt-9").contains("qwen2:7b");
        });
    assertThat(Http.get(cluster.url("/v1/models/qwen2:7b")).body()).contains("\"id\":\"qwen2:7b\"");
  }

  @Test
  void streamingCompletionsEndWithDone() {
    HttpResponse<String> r = Http.post(cluster.url("/v1/completions"),
        "{\"model\":\"qwen2:7b\",\"prompt\":\"Hi\",\"max_tokens\":4,\"stream\":true}");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(ct -> assertThat(ct).startsWith("text/event-stream"));
    assertThat(r.body()).startsWith("data: {").endsWith("data: [DONE]\n\n");
    assertThat(r.body().split("\n\n")).hasSize(4 + 2); // 4 tokens (last carries finish_reason), one closing, [DONE]
  }

  @Test
  void sseIsRelayedAsTheNodeSentItWithoutWaitingForTheEnd() throws Exception {
    // A slow node (real A10 speed) and a long answer: the first event must reach the client long before the end.
    try (TestCluster slow = new TestCluster().node("slow", GpuProfile.A10, "qwen3:32b", 1).start();
        Http.RawClient raw = new Http.RawClient(slow.port(), "POST", "/v1/chat/completions",
            "{\"model\":\"qwen3:32b\",\"stream\":true,\"max_tokens\":400,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}")) {
      String firstEvent = raw.readUntil("\n\n");
      assertThat(firstEvent).startsWith("HTTP/1.1 200").contains("data: {");
      // 400 tokens at 48 ms is ~19 s: the node is still generating when the client already has its first event.
      assertThat(slow.sim("slow").stats().active()).isEqualTo(1);
      assertThat(firstEvent).doesNotContain("[DONE]");
    }
  }

  @Test
  void modelsListIsInOpenAiFormat() throws Exception {
    JsonNode list = Json.MAPPER.readTree(Http.get(cluster.url("/v1/models")).body());
    assertThat(list.path("object").asText()).isEqualTo("list");
    assertThat(list.path("data").get(0).path("object").asText()).isEqualTo("model");
    assertThat(list.path("data").get(0).path("owned_by").asText()).isEqualTo("qwen3:32b");
  }
}
