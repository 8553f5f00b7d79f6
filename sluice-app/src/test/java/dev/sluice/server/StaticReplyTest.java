package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import dev.sluice.degrade.DegradationSettings;
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

/** The static reply is a normal answer in the client's own API format, so no client crashes on it. */
class StaticReplyTest {
  static final String MESSAGE = DegradationSettings.defaults().staticMessage();
  static TestCluster cluster;
  static OpenAIClient openai;

  @BeforeAll
  static void start() {
    cluster = new TestCluster().node("a", GpuProfile.A10, "qwen3:32b", 0).start();
    assertThat(Http.post(cluster.url("/admin/degradation"), "{\"level\":\"static\"}").statusCode()).isEqualTo(200);
    openai = OpenAIOkHttpClient.builder().baseUrl(cluster.url("/v1")).apiKey("sk-unused").maxRetries(0).build();
  }

  @AfterAll
  static void stop() {
    openai.close();
    cluster.close();
  }

  @Test
  void theOfficialOpenAiClientParsesTheStaticChatCompletion() {
    var raw = openai.chat().completions().withRawResponse().create(ChatCompletionCreateParams.builder()
        .model(ChatModel.of("qwen3:32b")).addUserMessage("hello").build());
    assertThat(raw.headers().values("x-sluice-degraded")).containsExactly("static");
    ChatCompletion c = raw.parse();
    assertThat(c.model()).isEqualTo("qwen3:32b");
    assertThat(c.choices().get(0).message().content()).hasValue(MESSAGE);
    assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
    assertThat(cluster.sim("a").stats().count("/v1/chat/completions")).isZero();
  }

  @Test
  void theOfficialOpenAiClientStreamsTheStaticReply() {
    List<ChatCompletionChunk> chunks = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> s = openai.chat().completions().createStreaming(
        ChatCompletionCreateParams.builder().model(ChatModel.of("qwen3:32b")).addUserMessage("hello").build())) {
      s.stream().forEach(chunks::add);
    }
    String text = chunks.stream().flatMap(c -> c.choices().stream())
        .map(ch -> ch.delta().content().orElse("")).collect(Collectors.joining());
    assertThat(text).isEqualTo(MESSAGE);
  }

  @Test
  void theOfficialOpenAiClientParsesTheStaticCompletion() {
    Completion c = openai.completions().create(CompletionCreateParams.builder()
        .model(CompletionCreateParams.Model.of("qwen3:32b")).prompt("Once").build());
    assertThat(c.choices().get(0).text()).isEqualTo(MESSAGE);
  }

  @Test
  void anOllamaClientGetsTheStaticReplyAsNdjsonAndAsOneObject() throws Exception {
    HttpResponse<String> stream = Http.post(cluster.url("/api/chat"),
        "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assertThat(stream.statusCode()).isEqualTo(200);
    assertThat(stream.headers().firstValue("x-sluice-degraded")).hasValue("static");
    assertThat(stream.headers().firstValue("content-type")).hasValue("application/x-ndjson");
    String[] lines = stream.body().split("\n");
    StringBuilder text = new StringBuilder();
    for (String line : lines) text.append(Json.MAPPER.readTree(line).at("/message/content").asText());
    assertThat(text.toString()).isEqualTo(MESSAGE);
    assertThat(Json.MAPPER.readTree(lines[lines.length - 1]).path("done").asBoolean()).isTrue();

    HttpResponse<String> generate = Http.post(cluster.url("/api/generate"),
        "{\"model\":\"qwen3:32b\",\"prompt\":\"hi\",\"stream\":false}");
    JsonNode g = Json.MAPPER.readTree(generate.body());
    assertThat(g.path("response").asText()).isEqualTo(MESSAGE);
    assertThat(g.path("model").asText()).isEqualTo("qwen3:32b");
    assertThat(g.path("done").asBoolean()).isTrue();
  }

  @Test
  void aStreamedStaticReplyIsAnEventStreamProxiesMayNotCacheAndAnOllamaStreamCarriesNoSuchHeader() {
    HttpResponse<String> sse = Http.post(cluster.url("/v1/chat/completions"),
        "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}");
    assertThat(sse.headers().firstValue("content-type")).hasValue("text/event-stream");
    assertThat(sse.headers().firstValue("cache-control")).hasValue("no-cache");
    assertThat(sse.body()).endsWith("data: [DONE]\n\n");

    HttpResponse<String> ndjson = Http.post(cluster.url("/api/generate"), "{\"model\":\"qwen3:32b\",\"prompt\":\"hi\"}");
    assertThat(ndjson.headers().firstValue("content-type")).hasValue("application/x-ndjson");
    assertThat(ndjson.headers().firstValue("cache-control")).isEmpty();
  }

  @Test
  void embeddingsAreNotFakedAtTheStaticLevel() {
    // A made-up vector would silently corrupt a search index: embeddings still go to the nodes.
    HttpResponse<String> r = Http.post(cluster.url("/v1/embeddings"), "{\"model\":\"qwen3:32b\",\"input\":\"x\"}");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("x-sluice-degraded")).isEmpty();
  }

  @Test
  void whenNoNodeAtAllCanServeTheModelTheStaticReplyAnswers() throws Exception {
    try (TestCluster c = new TestCluster().node("b", GpuProfile.A10, "qwen3:32b", 0).start()) {
      Http.post(c.url("/admin/nodes/b/drain"), "");
      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"),
          "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-sluice-degraded")).hasValue("static");
      assertThat(Json.MAPPER.readTree(r.body()).at("/choices/0/message/content").asText()).isEqualTo(MESSAGE);
      assertThat(Http.get(c.url("/metrics")).body()).contains("outcome=\"static\"");
    }
  }
}
