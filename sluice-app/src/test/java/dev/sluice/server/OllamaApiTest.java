package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.sim.GpuProfile;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Ollama API through Sluice, as Ollama clients (OLLAMA_HOST=gateway) use it. */
class OllamaApiTest {
  static TestCluster cluster;

  @BeforeAll
  static void start() {
    cluster = new TestCluster()
        .node("a10-01", GpuProfile.A10, "qwen3:32b", 200)
        .node("a100-01", GpuProfile.A100, "qwen3:32b", 200)
        .node("a10-02", GpuProfile.A10, "qwen2:7b", 200)
        .start();
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static List<JsonNode> ndjson(String body) throws Exception {
    List<JsonNode> lines = new ArrayList<>();
    for (String line : body.split("\n")) {
      if (!line.isEmpty()) lines.add(Json.MAPPER.readTree(line));
    }
    return lines;
  }

  @Test
  void chatStreamsNdjsonByDefaultAndEndsWithTimings() throws Exception {
    HttpResponse<String> r = Http.post(cluster.url("/api/chat"),
        "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"options\":{\"num_predict\":6}}");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(ct -> assertThat(ct).startsWith("application/x-ndjson"));
    List<JsonNode> lines = ndjson(r.body());
    assertThat(lines).hasSize(7);
    assertThat(lines.get(0).path("message").path("role").asText()).isEqualTo("assistant");
    JsonNode last = lines.get(lines.size() - 1);
    assertThat(last.path("done").asBoolean()).isTrue();
    assertThat(last.path("eval_count").asInt()).isEqualTo(6);
    assertThat(last.has("prompt_eval_duration")).isTrue();
  }

  @Test
  void chatWithStreamFalseAnswersOneJsonObject() throws Exception {
    HttpResponse<String> r = Http.post(cluster.url("/api/chat"),
        "{\"model\":\"qwen3:32b\",\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"options\":{\"num_predict\":5}}");
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode body = Json.MAPPER.readTree(r.body());
    assertThat(body.path("done").asBoolean()).isTrue();
    assertThat(body.path("message").path("content").asText()).isNotBlank();
  }

  @Test
  void generateStreamsAndAnswersWhole() throws Exception {
    HttpResponse<String> streamed = Http.post(cluster.url("/api/generate"),
        "{\"model\":\"qwen2:7b\",\"prompt\":\"Why is the sky blue?\",\"options\":{\"num_predict\":3}}");
    List<JsonNode> lines = ndjson(streamed.body());
    assertThat(lines).hasSize(4);
    assertThat(lines.get(0).has("response")).isTrue();
    HttpResponse<String> whole = Http.post(cluster.url("/api/generate"),
        "{\"model\":\"qwen2:7b\",\"prompt\":\"Why?\",\"stream\":false,\"options\":{\"num_predict\":3}}");
    assertThat(Json.MAPPER.readTree(whole.body()).path("response").asText()).isNotBlank();
  }

  @Test
  void embedReturnsVectors() throws Exception {
    HttpResponse<String> r = Http.post(cluster.url("/api/embed"), "{\"model\":\"qwen3:32b\",\"input\":[\"a\",\"b\"]}");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(Json.MAPPER.readTree(r.body()).path("embeddings").size()).isEqualTo(2);
  }

  @Test
  void theLegacyEmbeddingsCallGetsOneVectorAsOllamaClientsExpect() throws Exception {
    // what ollama-python's ollama.embeddings(model=..., prompt=...) sends
    HttpResponse<String> r = Http.post(cluster.url("/api/embeddings"), "{\"model\":\"qwen3:32b\",\"prompt\":\"hello\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode body = Json.MAPPER.readTree(r.body());
    assertThat(body.path("embedding").isArray()).isTrue();
    assertThat(body.path("embedding").size()).isPositive();
    assertThat(body.path("embedding").get(0).isNumber()).isTrue();

    HttpResponse<String> unknown = Http.post(cluster.url("/api/embeddings"), "{\"model\":\"llama9\",\"prompt\":\"x\"}");
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(Json.MAPPER.readTree(unknown.body()).path("error").asText()).contains("llama9");

    HttpResponse<String> noPrompt = Http.post(cluster.url("/api/embeddings"), "{\"model\":\"qwen3:32b\"}");
    assertThat(noPrompt.statusCode()).isEqualTo(400);
    assertThat(Json.MAPPER.readTree(noPrompt.body()).path("error").asText()).contains("prompt");
  }

  @Test
  void tagsAndPsAggregateEveryNodeOncePerModel() throws Exception {
    JsonNode tags = Json.MAPPER.readTree(Http.get(cluster.url("/api/tags")).body());
    List<String> names = new ArrayList<>();
    tags.path("models").forEach(m -> names.add(m.path("name").asText()));
    assertThat(names).containsExactlyInAnyOrder("qwen3:32b", "qwen2:7b");
    assertThat(tags.path("models").get(0).path("details").isObject()).isTrue();

    JsonNode ps = Json.MAPPER.readTree(Http.get(cluster.url("/api/ps")).body());
    List<String> loaded = new ArrayList<>();
    ps.path("models").forEach(m -> loaded.add(m.path("name").asText()));
    assertThat(loaded).containsExactlyInAnyOrder("qwen3:32b", "qwen2:7b");
    assertThat(ps.path("models").get(0).has("size_vram")).isTrue();
  }

  @Test
  void showIsRoutedToANodeOfTheModel() throws Exception {
    HttpResponse<String> r = Http.post(cluster.url("/api/show"), "{\"model\":\"qwen3:32b\"}");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(Json.MAPPER.readTree(r.body()).path("model_info").isObject()).isTrue();
  }

  @Test
  void versionAnswersLikeOllama() throws Exception {
    JsonNode v = Json.MAPPER.readTree(Http.get(cluster.url("/api/version")).body());
    assertThat(v.path("version").asText()).matches("\\d+\\.\\d+\\.\\d+");
  }

  @Test
  void theRootAnswersLikeOllamaSoTheOllamaCliHeartbeatPasses() {
    var head = Http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(cluster.url("/")))
        .method("HEAD", java.net.http.HttpRequest.BodyPublishers.noBody()).build());
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(Http.get(cluster.url("/")).body()).isEqualTo("Ollama is running");
  }

  @Test
  void showAcceptsTheOlderNameField() {
    assertThat(Http.post(cluster.url("/api/show"), "{\"name\":\"qwen3:32b\"}").statusCode()).isEqualTo(200);
  }
}
