package dev.sluice.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.support.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SimNodeTest extends SimNodesFixture {
  private static final SimOptions INSTANT = SimOptions.defaults().withTimeScale(0);
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @Test
  void answersOllamaInformationEndpointsInOllamaFormat() throws Exception {
    SimNode node = start(INSTANT.withModels("qwen3:32b", "qwen2:7b"));

    assertThat(get(node, "/").body()).isEqualTo("Ollama is running");
    assertThat(json(get(node, "/api/version")).path("version").asText())
        .as("a node speaking every dialect, as an Ollama from 0.14 on").isEqualTo("0.14.2");
    JsonNode tags = json(get(node, "/api/tags")).path("models");
    assertThat(tags).hasSize(2);
    assertThat(tags.get(0).path("name").asText()).isEqualTo("qwen3:32b");
    assertThat(tags.get(0).path("size").asLong()).isPositive();
    assertThat(tags.get(0).path("digest").asText()).hasSize(64);
    assertThat(tags.get(0).path("modified_at").asText()).isNotEmpty();
    assertThat(tags.get(0).path("details").path("family").asText()).isEqualTo("qwen3");
    assertThat(tags.get(1).path("details").path("parameter_size").asText()).isEqualTo("7B");
    JsonNode ps = json(get(node, "/api/ps")).path("models").get(0);
    assertThat(ps.path("size_vram").asLong()).isEqualTo(ps.path("size").asLong());
    assertThat(ps.path("expires_at").asText()).isNotEmpty();
    assertThat(ps.path("context_length").asInt()).isEqualTo(GpuProfile.A10.kvCapacityTokens());
    HttpResponse<String> show = post(node, "/api/show", "{\"model\":\"qwen3:32b\"}");
    assertThat(json(show).path("model_info").path("qwen3.context_length").asInt()).isEqualTo(40_960);
    assertThat(json(show).path("details").path("quantization_level").asText()).isEqualTo("Q4_K_M");
    HttpResponse<String> missing = post(node, "/api/show", "{\"model\":\"llama3:8b\"}");
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(missing.body()).isEqualTo("{\"error\":\"model 'llama3:8b' not found\"}");
  }

  @Test
  void answersVllmHealthAndModelListWithMaxModelLen() throws Exception {
    SimNode node = start(INSTANT.withGpu(GpuProfile.H100));

    HttpResponse<String> health = get(node, "/health");
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(health.body()).isEmpty();
    JsonNode models = json(get(node, "/v1/models"));
    assertThat(models.path("object").asText()).isEqualTo("list");
    assertThat(models.path("data").get(0).path("id").asText()).isEqualTo("qwen3:32b");
    assertThat(models.path("data").get(0).path("object").asText()).isEqualTo("model");
    assertThat(models.path("data").get(0).path("max_model_len").asInt()).isEqualTo(40_960);
  }

  @Test
  void streamsOneNdjsonLinePerTokenAndEndsWithTimings() throws Exception {
    SimNode node = start(INSTANT);

    HttpResponse<String> response = post(node, "/api/chat",
        "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello there!\"}],"
            + "\"options\":{\"num_predict\":5}}");

    assertThat(response.headers().firstValue("content-type")).hasValue("application/x-ndjson");
    List<JsonNode> lines = response.body().lines().map(SimNodeTest::parse).toList();
    assertThat(lines).hasSize(6);
    lines.subList(0, 5).forEach(line -> {
      assertThat(line.path("done").asBoolean()).isFalse();
      assertThat(line.path("message").path("role").asText()).isEqualTo("assistant");
      assertThat(line.path("message").path("content").asText()).isNotEmpty();
      assertThat(line.path("created_at").asText()).isNotEmpty();
    });
    JsonNode last = lines.get(5);
    assertThat(last.path("done").asBoolean()).isTrue();
    assertThat(last.path("done_reason").asText()).isEqualTo("length");
    assertThat(last.path("message").path("content").asText()).isEmpty();
    assertThat(last.path("prompt_eval_count").asInt()).isEqualTo(3);
    assertThat(last.path("eval_count").asInt()).isEqualTo(5);
    for (String field : List.of("total_duration", "load_duration", "prompt_eval_duration", "eval_duration")) {
      assertThat(last.path(field).isIntegralNumber()).as(field).isTrue();
    }
    assertThat(node.stats().completed()).isEqualTo(1);
    assertThat(node.stats().count("/api/chat")).isEqualTo(1);
  }

  @Test
  void answersGenerateWithResponseFieldAndOneJsonWhenNotStreaming() throws Exception {
    SimNode node = start(INSTANT);

    JsonNode body = json(post(node, "/api/generate",
        "{\"model\":\"qwen3:32b\",\"prompt\":\"Why is the sky blue?\",\"stream\":false}"));

    assertThat(body.path("response").asText()).isNotEmpty();
    assertThat(body.has("message")).isFalse();
    assertThat(body.path("done").asBoolean()).isTrue();
    assertThat(body.path("done_reason").asText()).isEqualTo("stop");
    assertThat(body.path("eval_count").asInt()).isBetween(8, 600);
    assertThat(body.path("total_duration").asLong()).isGreaterThanOrEqualTo(body.path("eval_duration").asLong());
  }

  @Test
  void streamsChatCompletionChunksWithRoleFirstThenUsageAndDone() throws Exception {
    SimNode node = start(INSTANT);

    HttpResponse<String> response = post(node, "/v1/chat/completions",
        "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}]}],"
            + "\"stream\":true,\"max_tokens\":4,\"stream_options\":{\"include_usage\":true}}");

    assertThat(response.headers().firstValue("content-type")).hasValue("text/event-stream");
    assertThat(response.body()).endsWith("data: [DONE]\n\n");
    List<JsonNode> chunks = sseEvents(response.body());
    assertThat(chunks).hasSize(1 + 4 + 1 + 1);
    String id = chunks.get(0).path("id").asText();
    assertThat(id).matches("chatcmpl-\\d+");
    chunks.forEach(chunk -> {
      assertThat(chunk.path("id").asText()).isEqualTo(id);
      assertThat(chunk.path("object").asText()).isEqualTo("chat.completion.chunk");
      assertThat(chunk.path("model").asText()).isEqualTo("qwen3:32b");
      assertThat(chunk.path("created").isIntegralNumber()).isTrue();
    });
    assertThat(chunks.get(0).path("choices").get(0).path("delta").path("role").asText()).isEqualTo("assistant");
    chunks.subList(1, 5).forEach(chunk -> assertThat(
        chunk.path("choices").get(0).path("delta").path("content").asText()).isNotEmpty());
    assertThat(chunks.get(5).path("choices").get(0).path("finish_reason").asText()).isEqualTo("length");
    JsonNode usage = chunks.get(6);
    assertThat(usage.path("choices")).isEmpty();
    assertThat(usage.path("usage").path("prompt_tokens").asInt()).isEqualTo(1);
    assertThat(usage.path("usage").path("completion_tokens").asInt()).isEqualTo(4);
    assertThat(usage.path("usage").path("total_tokens").asInt()).isEqualTo(5);
  }

  @Test
  void omitsUsageChunkWithoutIncludeUsage() throws Exception {
    SimNode node = start(INSTANT);

    HttpResponse<String> response = post(node, "/v1/chat/completions",
        "{\"model\":\"qwen3:32b\",\"messages\":[],\"stream\":true,\"max_completion_tokens\":2}");

    List<JsonNode> chunks = sseEvents(response.body());
    assertThat(chunks).hasSize(1 + 2 + 1);
    assertThat(chunks).allSatisfy(chunk -> assertThat(chunk.has("usage")).isFalse());
  }

  @Test
  void completionIdsAreUniqueAcrossNodesSoNoTwoAnswersShareOne() throws Exception {
    SimNode a = start(INSTANT);
    SimNode b = start(INSTANT.withId("sim-b"));
    Set<String> ids = new HashSet<>();
    for (SimNode node : List.of(a, b, a, b)) {
      JsonNode answer = json(post(node, "/v1/chat/completions",
          "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2}"));
      assertThat(ids.add(answer.path("id").asText())).as("%s repeats an id: %s", node.options().id(), ids).isTrue();
    }
  }

  @Test
  void answersChatCompletionWithUsageAndMaxTokensDecidesLength() throws Exception {
    SimNode node = start(INSTANT);

    JsonNode limited = json(post(node, "/v1/chat/completions",
        "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"12345678\"}],\"max_tokens\":7}"));
    JsonNode free = json(post(node, "/v1/chat/completions",
        "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"12345678\"}]}"));

    assertThat(limited.path("object").asText()).isEqualTo("chat.completion");
    assertThat(limited.path("id").asText()).matches("chatcmpl-\\d+");
    assertThat(free.path("id").asText()).matches("chatcmpl-\\d+").isNotEqualTo(limited.path("id").asText());
    JsonNode choice = limited.path("choices").get(0);
    assertThat(choice.path("message").path("role").asText()).isEqualTo("assistant");
    assertThat(choice.path("finish_reason").asText()).isEqualTo("length");
    assertThat(limited.path("usage").path("completion_tokens").asInt()).isEqualTo(7);
    assertThat(limited.path("usage").path("prompt_tokens").asInt()).isEqualTo(2);
    assertThat(free.path("choices").get(0).path("finish_reason").asText()).isEqualTo("stop");
    assertThat(free.path("usage").path("completion_tokens").asInt()).isBetween(8, 600);
  }

  @Test
  void answersCompletionsInTextCompletionFormat() throws Exception {
    SimNode node = start(INSTANT);

    JsonNode whole = json(post(node, "/v1/completions",
        "{\"model\":\"qwen3:32b\",\"prompt\":\"Once upon\",\"max_tokens\":3}"));
    HttpResponse<String> stream = post(node, "/v1/completions",
        "{\"model\":\"qwen3:32b\",\"prompt\":[\"Once upon\"],\"max_tokens\":3,\"stream\":true}");

    assertThat(whole.path("object").asText()).isEqualTo("text_completion");
    assertThat(whole.path("id").asText()).startsWith("cmpl-");
    assertThat(whole.path("choices").get(0).path("text").asText()).isNotEmpty();
    assertThat(whole.path("usage").path("completion_tokens").asInt()).isEqualTo(3);
    List<JsonNode> chunks = sseEvents(stream.body());
    assertThat(chunks).hasSize(3 + 1);
    assertThat(chunks).allSatisfy(chunk -> assertThat(chunk.path("object").asText()).isEqualTo("text_completion"));
    assertThat(chunks.get(3).path("choices").get(0).path("finish_reason").asText()).isEqualTo("length");
    assertThat(stream.body()).endsWith("data: [DONE]\n\n");
  }

  @Test
  void answersDeterministicUnitEmbeddingsInBothFormats() throws Exception {
    SimNode node = start(INSTANT.withEmbeddingDimensions(16));

    JsonNode ollama = json(post(node, "/api/embed", "{\"model\":\"qwen3:32b\",\"input\":[\"a\",\"b\"]}"));
    JsonNode openAi = json(post(node, "/v1/embeddings", "{\"model\":\"qwen3:32b\",\"input\":\"a\"}"));

    assertThat(ollama.path("model").asText()).isEqualTo("qwen3:32b");
    assertThat(ollama.path("embeddings")).hasSize(2);
    assertThat(ollama.path("prompt_eval_count").asInt()).isEqualTo(2);
    assertThat(ollama.path("total_duration").isIntegralNumber()).isTrue();
    assertThat(ollama.path("load_duration").isIntegralNumber()).isTrue();
    JsonNode vector = ollama.path("embeddings").get(0);
    assertThat(vector).hasSize(16);
    double norm = 0;
    for (JsonNode value : vector) {
      norm += value.asDouble() * value.asDouble();
    }
    assertThat(norm).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
    assertThat(ollama.path("embeddings").get(1)).isNotEqualTo(vector);
    assertThat(openAi.path("object").asText()).isEqualTo("list");
    JsonNode item = openAi.path("data").get(0);
    assertThat(item.path("object").asText()).isEqualTo("embedding");
    assertThat(item.path("index").asInt()).isZero();
    assertThat(item.path("embedding")).isEqualTo(vector);
    assertThat(openAi.path("usage").path("prompt_tokens").asInt()).isEqualTo(1);
  }

  @Test
  void answersUnknownModelWith404InThePathsFormat() throws Exception {
    SimNode node = start(INSTANT);

    HttpResponse<String> ollama = post(node, "/api/chat", "{\"model\":\"x\",\"messages\":[]}");
    HttpResponse<String> openAi = post(node, "/v1/chat/completions", "{\"model\":\"x\",\"messages\":[]}");

    assertThat(ollama.statusCode()).isEqualTo(404);
    assertThat(json(ollama).path("error").asText()).isEqualTo("model \"x\" not found, try pulling it first");
    assertThat(openAi.statusCode()).isEqualTo(404);
    JsonNode error = json(openAi).path("error");
    assertThat(error.path("message").asText()).isEqualTo("model \"x\" not found, try pulling it first");
    assertThat(error.path("type").asText()).isEqualTo("not_found_error");
    assertThat(error.has("param")).isTrue();
    assertThat(error.has("code")).isTrue();
    assertThat(node.stats().requestsReceived()).isZero();
  }

  @Test
  void answersMalformedJsonWith400InThePathsFormat() throws Exception {
    SimNode node = start(INSTANT);

    HttpResponse<String> ollama = post(node, "/api/generate", "{\"model\":");
    HttpResponse<String> openAi = post(node, "/v1/completions", "not json");

    assertThat(ollama.statusCode()).isEqualTo(400);
    assertThat(json(ollama).path("error").asText()).startsWith("invalid JSON");
    assertThat(openAi.statusCode()).isEqualTo(400);
    JsonNode error = json(openAi).path("error");
    assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
    assertThat(error.path("param").isNull()).isTrue();
    assertThat(error.path("code").isNull()).isTrue();
  }

  @Test
  void answersUnknownPathWith404() throws Exception {
    SimNode node = start(INSTANT);

    assertThat(get(node, "/api/pull").statusCode()).isEqualTo(404);
    assertThat(get(node, "/metrics/nothing").statusCode()).isEqualTo(404);
    assertThat(get(node, "/sim/nothing").statusCode()).isEqualTo(404);
  }

  @Test
  void countsClientDisconnectMidStreamAsCancelledAndStopsTheRun() throws Exception {
    SimNode node = start(SimOptions.defaults().withTimeScale(10));

    try (RawHttp raw = RawHttp.post(node, "/api/chat",
        "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
            + "\"options\":{\"num_predict\":4000}}")) {
      raw.readUntil("\"done\":false", 2);
      assertThat(node.stats().active()).isEqualTo(1);
    }

    await().until(() -> node.stats().cancelled() == 1);
    assertThat(node.stats().active()).isZero();
    assertThat(node.stats().completed()).isZero();
  }

  @Test
  void countsClientDisconnectDuringPrefillAsCancelled() throws Exception {
    SimNode node = start(SimOptions.defaults());
    String longPrompt = "x".repeat(20_000); // 5,000 tokens (fits the A10's 5,700): 6.6 s of A10 prefill

    try (RawHttp raw = RawHttp.post(node, "/v1/chat/completions",
        "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"" + longPrompt + "\"}]}")) {
      await().until(() -> node.stats().active() == 1);
    }

    await().until(() -> node.stats().cancelled() == 1);
    assertThat(node.stats().active()).isZero();
  }

  @Test
  void resetsTheConnectionBeforeTheFirstByte() throws Exception {
    SimNode node = start(INSTANT);
    node.injectFault(SimFault.resetBeforeFirstByte(1));

    try (RawHttp raw = RawHttp.post(node, "/api/chat", chat(3, false))) {
      assertThat(raw.readToEnd()).isEmpty();
    }

    assertThat(node.stats().faulted()).isEqualTo(1);
    assertThat(post(node, "/api/chat", chat(3, false)).statusCode()).isEqualTo(200);
    assertThat(node.stats().active()).isZero();
  }

  @Test
  void answersAStatusFaultForTheNextNRequestsThenRecovers() throws Exception {
    SimNode node = start(INSTANT);
    node.injectFault(SimFault.status(503, SimFault.OLLAMA_BUSY_BODY, 2));

    HttpResponse<String> first = post(node, "/api/chat", chat(3, false));
    HttpResponse<String> second = post(node, "/api/chat", chat(3, false));
    HttpResponse<String> third = post(node, "/api/chat", chat(3, false));

    assertThat(first.statusCode()).isEqualTo(503);
    assertThat(first.body()).isEqualTo(SimFault.OLLAMA_BUSY_BODY);
    assertThat(second.statusCode()).isEqualTo(503);
    assertThat(third.statusCode()).isEqualTo(200);
    assertThat(node.stats().faulted()).isEqualTo(2);
  }

  @Test
  void appliesQueuedFaultsInOrder() throws Exception {
    SimNode node = start(INSTANT);
    node.injectFault(SimFault.status(500, "{\"error\":\"first\"}", 1));
    node.injectFault(SimFault.status(502, "{\"error\":\"second\"}", 1));

    assertThat(post(node, "/api/chat", chat(1, false)).statusCode()).isEqualTo(500);
    assertThat(post(node, "/api/chat", chat(1, false)).statusCode()).isEqualTo(502);
  }

  @Test
  void streamsKTokensThenResetsTheConnection() throws Exception {
    SimNode node = start(INSTANT);
    node.injectFault(SimFault.resetAfterTokens(3, 1));

    try (RawHttp raw = RawHttp.post(node, "/api/chat", chat(10, true))) {
      String received = raw.readToEnd();
      assertThat(received).startsWith("HTTP/1.1 200");
      assertThat(count(received, "\"done\":false")).isEqualTo(3);
      assertThat(received).doesNotContain("\"done\":true");
    }
    assertThat(node.stats().faulted()).isEqualTo(1);
    assertThat(node.stats().active()).isZero();
  }

  @Test
  void streamsKTokensThenStallsUntilTheClientLeaves() throws Exception {
    SimNode node = start(INSTANT);
    node.injectFault(SimFault.stallAfterTokens(2, 1));

    try (RawHttp raw = RawHttp.post(node, "/v1/chat/completions",
        "{\"model\":\"qwen3:32b\",\"messages\":[],\"stream\":true,\"max_tokens\":10}")) {
      String received = raw.readUntil("\"content\":", 3); // role chunk + 2 tokens
      assertThat(raw.isSilent()).isTrue();
      assertThat(received).doesNotContain("[DONE]");
      assertThat(node.stats().active()).isEqualTo(1);
    }

    await().until(() -> node.stats().cancelled() == 1);
    assertThat(node.stats().active()).isZero();
  }

  @Test
  void hangsBeforeTheFirstByteUntilTheClientLeaves() throws Exception {
    SimNode node = start(INSTANT);
    node.injectFault(SimFault.hangBeforeFirstByte(1));

    try (RawHttp raw = RawHttp.post(node, "/api/generate", "{\"model\":\"qwen3:32b\",\"prompt\":\"hi\"}")) {
      assertThat(raw.isSilent()).isTrue();
    }

    await().until(() -> node.stats().cancelled() == 1);
    assertThat(node.stats().active()).isZero();
  }

  @Test
  void isDrivenThroughTheControlEndpoints() throws Exception {
    SimNode node = start(INSTANT);

    HttpResponse<String> injected = post(node, "/sim/faults",
        "{\"kind\":\"status\",\"count\":1,\"status\":503,\"body\":{\"error\":\"busy\"}}");
    HttpResponse<String> faulted = post(node, "/api/chat", chat(1, false));
    post(node, "/sim/faults", "{\"kind\":\"hang-before-first-byte\",\"count\":5}");
    HttpResponse<String> cleared = HTTP.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + "/sim/faults"))
        .DELETE().build(), HttpResponse.BodyHandlers.ofString());
    HttpResponse<String> normal = post(node, "/api/chat", chat(1, false));
    HttpResponse<String> invalid = post(node, "/sim/faults", "{\"kind\":\"explode\"}");
    JsonNode stats = json(get(node, "/sim/stats"));

    assertThat(injected.statusCode()).isEqualTo(204);
    assertThat(faulted.statusCode()).isEqualTo(503);
    assertThat(faulted.body()).isEqualTo("{\"error\":\"busy\"}");
    assertThat(cleared.statusCode()).isEqualTo(204);
    assertThat(normal.statusCode()).isEqualTo(200);
    assertThat(invalid.statusCode()).isEqualTo(400);
    assertThat(json(invalid).path("error").asText()).contains("explode", "reset-before-first-byte");
    assertThat(stats.path("id").asText()).isEqualTo("sim-" + node.port());
    assertThat(stats.path("requestsReceived").asInt()).isEqualTo(2);
    assertThat(stats.path("completed").asInt()).isEqualTo(1);
    assertThat(stats.path("faulted").asInt()).isEqualTo(1);
    assertThat(stats.path("paths").path("/api/chat").asInt()).isEqualTo(2);
  }

  @Test
  void answersALongPromptsFirstTokenSoonerOnH100ThanOnA10() throws Exception {
    SimNode a10 = start(SimOptions.defaults().withTimeScale(20));
    SimNode h100 = start(SimOptions.defaults().withGpu(GpuProfile.H100).withTimeScale(20));
    String body = "{\"model\":\"qwen3:32b\",\"prompt\":\"" + "x".repeat(16_000) + "\",\"options\":{\"num_predict\":1},"
        + "\"stream\":false}";

    JsonNode onA10 = json(post(a10, "/api/generate", body));
    JsonNode onH100 = json(post(h100, "/api/generate", body));

    assertThat(onA10.path("prompt_eval_count").asInt()).isEqualTo(4_000);
    assertThat(onH100.path("prompt_eval_duration").asLong()).isLessThan(onA10.path("prompt_eval_duration").asLong());
  }

  @Test
  void decodesSlowerThanItPrefillsWhenTimeScaled() throws Exception {
    SimNode node = start(SimOptions.defaults().withTimeScale(10));

    JsonNode body = json(post(node, "/api/chat", chat(20, false)));

    // 20 tokens at 48 ms / 10 take 19 decode intervals (minus a late first timer); a 1-token prefill is ~0.1 ms
    assertThat(body.path("eval_duration").asLong()).isGreaterThanOrEqualTo(15 * 4_800_000L);
    assertThat(body.path("prompt_eval_duration").asLong()).isLessThan(body.path("eval_duration").asLong());
  }

  @Test
  void producesTheSameTextForTheSameSeed() throws Exception {
    SimNode first = start(INSTANT.withSeed(7));
    SimNode second = start(INSTANT.withSeed(7));
    SimNode other = start(INSTANT.withSeed(8));
    String request = "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    String a = json(post(first, "/v1/chat/completions", request)).path("choices").toString();
    String b = json(post(second, "/v1/chat/completions", request)).path("choices").toString();
    String c = json(post(other, "/v1/chat/completions", request)).path("choices").toString();

    assertThat(a).isEqualTo(b).isNotEqualTo(c);
  }

  @Test
  void writesIdenticalBytesWhenEventsAreSplit() throws Exception {
    SimNode whole = start(INSTANT);
    SimNode split = start(INSTANT.withWriteSplitBytes(3));
    String request = "{\"model\":\"qwen3:32b\",\"messages\":[],\"stream\":true,\"max_tokens\":300,"
        + "\"stream_options\":{\"include_usage\":true}}";

    byte[] a = postBytes(whole, "/v1/chat/completions", request);
    byte[] b = postBytes(split, "/v1/chat/completions", request);

    assertThat(new String(b, StandardCharsets.UTF_8)).contains("🚀");
    assertThat(withoutCreated(b)).isEqualTo(withoutCreated(a));
  }

  @Test
  void cancelsRequestsInFlightWhenClosed() throws Exception {
    SimNode node = start(SimOptions.defaults());
    try (RawHttp raw = RawHttp.post(node, "/api/chat", chat(100, true))) {
      await().until(() -> node.stats().active() == 1);

      node.close().await();

      await().until(() -> node.stats().cancelled() == 1);
    }
    forget(node);
    assertThat(node.stats().active()).isZero();
  }

  private static String chat(int tokens, boolean stream) {
    return "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":" + stream
        + ",\"options\":{\"num_predict\":" + tokens + "}}";
  }

  private static HttpResponse<String> get(SimNode node, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> post(SimNode node, String path, String body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + path))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static byte[] postBytes(SimNode node, String path, String body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + path))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofByteArray()).body();
  }

  /** The body with its creation time and its id (unique to each answer, whichever node) set to fixed values. */
  private static String withoutCreated(byte[] body) {
    return new String(body, StandardCharsets.UTF_8).replaceAll("\"created\":\\d+", "\"created\":0")
        .replaceAll("\"id\":\"chatcmpl-\\d+\"", "\"id\":\"chatcmpl-0\"");
  }

  private static JsonNode json(HttpResponse<String> response) {
    return parse(response.body());
  }

  private static JsonNode parse(String text) {
    try {
      return Json.MAPPER.readTree(text);
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + text, e);
    }
  }

  private static List<JsonNode> sseEvents(String body) {
    assertThat(body).endsWith("\n\n");
    return Arrays.stream(body.split("\n\n"))
        .peek(event -> assertThat(event).startsWith("data: "))
        .map(event -> event.substring("data: ".length()))
        .filter(data -> !data.equals("[DONE]"))
        .map(SimNodeTest::parse)
        .toList();
  }

  private static int count(String text, String part) {
    return text.split(java.util.regex.Pattern.quote(part), -1).length - 1;
  }

  /** A hand-written HTTP/1.1 exchange over a socket, to see exactly which bytes arrive and to hang up at will. */
  private static final class RawHttp implements AutoCloseable {
    private static final int SILENCE_MILLIS = 300;
    private final Socket socket;
    private final InputStream in;
    private final ByteArrayOutputStream received = new ByteArrayOutputStream();

    private RawHttp(Socket socket) throws IOException {
      this.socket = socket;
      this.in = socket.getInputStream();
    }

    static RawHttp post(SimNode node, String path, String body) throws IOException {
      Socket socket = new Socket("127.0.0.1", node.port());
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      OutputStream out = socket.getOutputStream();
      out.write(("POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
          + "Content-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(bytes);
      out.flush();
      socket.setSoTimeout(10_000);
      return new RawHttp(socket);
    }

    /** Reads until {@code part} has arrived {@code times} times; returns everything received. */
    String readUntil(String part, int times) throws IOException {
      byte[] buffer = new byte[8192];
      while (count(text(), part) < times) {
        int n = in.read(buffer);
        if (n < 0) {
          throw new AssertionError("connection closed after: " + text());
        }
        received.write(buffer, 0, n);
      }
      return text();
    }

    String readToEnd() throws IOException {
      byte[] buffer = new byte[8192];
      for (int n; (n = in.read(buffer)) >= 0; ) {
        received.write(buffer, 0, n);
      }
      return text();
    }

    /** True when no byte arrives for a while (used with time scale 0, where a healthy answer is immediate). */
    boolean isSilent() throws IOException {
      socket.setSoTimeout(SILENCE_MILLIS);
      try {
        in.read();
        return false;
      } catch (SocketTimeoutException e) {
        return true;
      }
    }

    private String text() {
      return received.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
