package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import dev.sluice.auth.ApiKey;
import dev.sluice.auth.AuthMode;
import dev.sluice.auth.KeyFile;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.config.AuthSettings;
import dev.sluice.config.ResumptionSettings;
import dev.sluice.config.RoutingSettings;
import dev.sluice.config.Timeouts;
import dev.sluice.config.UpstreamSettings;
import dev.sluice.health.HealthPolicy;
import dev.sluice.routing.StreamDeadlines;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.sim.SimOptions;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import dev.sluice.upstream.ForwardedHeaders;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Streams that survive a node's death: a simulated node reset (or stalled) after k chunks, the stream continued on the
 * other node with the same seed, and the client's text byte for byte the uninterrupted answer. Round robin sends every
 * other request to the node that breaks; the uninterrupted reference comes straight from the healthy node. Nodes speak
 * Ollama and OpenAI only, so Anthropic Messages is carried over chat completions (and continued there).
 */
class StreamResumptionTest {
  static final String MODEL = "qwen3:32b";
  /** A model whose streams are never continued ({@code upstream.resumption.offModels}). */
  static final String STRICT_MODEL = "qwen2:7b";
  static final int MAX_TOKENS = 150;

  @TempDir
  static Path dir;
  static TestCluster cluster;
  static String key;
  static String strictKey;
  static OpenAIClient openai;
  static AnthropicClient anthropic;

  @BeforeAll
  static void start() throws Exception {
    Path keys = dir.resolve("keys.json");
    KeyGenerator.Created all = KeyGenerator.create("acme", Set.of(), null, null, null, Instant.now());
    KeyGenerator.Created strict = KeyGenerator.create("audit", Set.of(), null, null, null, Instant.now());
    ApiKey s = strict.key();
    ApiKey noResume = new ApiKey(s.id(), s.sha256Hex(), s.tenant(), s.models(), s.limits(), s.weight(), s.maxBand(),
        s.createdAt(), s.expiresAt(), s.revokedAt(), s.note(), false);
    KeyFile.write(keys, KeyFile.read(keys).with(all.key()).with(noResume));
    assertThat(KeyFile.read(keys).all().stream().filter(k -> !k.resumeStreams()).count()).isEqualTo(1);
    key = all.secret();
    strictKey = strict.secret();
    SimOptions base = SimOptions.defaults().withModels(MODEL, STRICT_MODEL).withTimeScale(0)
        .withDialects("ollama", "openai");
    Timeouts t = Timeouts.defaults();
    cluster = new TestCluster()
        .auth(new AuthSettings(AuthMode.TOKENS, keys, null))
        .routing(new RoutingSettings("round-robin", RoutingSettings.DEFAULT_FAILOVER,
            RoutingSettings.DEFAULT_TTFT_BUDGET, RoutingSettings.DEFAULT_GPU_BASES))
        // a stalled stream is left after 400 ms of silence on this model (its stream deadlines), 30 s elsewhere
        .timeouts(t.withModels(Map.of(MODEL, new StreamDeadlines(Duration.ofMillis(400), Duration.ofSeconds(60)))))
        .upstream(UpstreamSettings.defaults().withResumption(
            new ResumptionSettings(true, 2, Set.of(STRICT_MODEL))))
        .health(neverOutOfRotation())
        .node(base.withId("bad").withGpu(GpuProfile.A10))
        .node(base.withId("good").withGpu(GpuProfile.A10))
        .start();
    openai = OpenAIOkHttpClient.builder().baseUrl(cluster.url("/v1")).apiKey(key).maxRetries(0).build();
    anthropic = AnthropicOkHttpClient.builder().baseUrl(cluster.url("")).apiKey(key).maxRetries(0).build();
  }

  @AfterAll
  static void stop() {
    openai.close();
    anthropic.close();
    cluster.close();
  }

  // ---------------------------------------------------------------- helpers

  /**
   * Probes and broken streams that never take a node out of rotation: node bad breaks on purpose in every test, and
   * round robin must keep sending it every other request (what the tests are about is the stream, not ejection).
   */
  static HealthPolicy neverOutOfRotation() {
    HealthPolicy d = TestCluster.fastProbes(Duration.ofMillis(100));
    return new HealthPolicy(d.probeInterval(), d.probeTimeout(), d.probeJitter(), 10_000, 10_000,
        d.successesToRecover(), d.healthWindowProbes(), 10_000, d.ejectionBase(), d.ejectionMax(),
        d.ejectionMemory());
  }

  /** Waits until node bad takes requests again (a stall makes it suspected until an answer or a probe clears it). */
  static void awaitBadInRotation() {
    await().atMost(Duration.ofSeconds(10)).until(() -> cluster.gateway.registry().all().stream()
        .allMatch(e -> e.canServe(MODEL, System.currentTimeMillis())));
  }

  static HttpResponse<String> post(String path, String body, String token) {
    return Http.send(HttpRequest.newBuilder(URI.create(cluster.url(path))).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + token)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  /** Arms node bad with {@code fault} and sends {@code body} until round robin gives it to bad (the fault fires). */
  static HttpResponse<String> viaBreakingNode(String path, String body, SimFault fault, String token) {
    awaitBadInRotation();
    cluster.sim("bad").injectFault(fault);
    for (int i = 0; i < 4; i++) {
      HttpResponse<String> r = post(path, body, token);
      if (r.headers().firstValue(ForwardedHeaders.NODE_HEADER).orElse("").equals("bad")) return r;
    }
    throw new AssertionError("round robin never sent the request to node bad");
  }

  /** Arms node bad with a reset after {@code k} chunks and makes it round robin's next choice. */
  static void nextRequestBreaksAfter(int k) {
    awaitBadInRotation();
    long faulted = cluster.sim("bad").stats().faulted();
    for (int i = 0; i < 4; i++) {
      HttpResponse<String> r = post("/v1/chat/completions", "{\"model\":\"" + MODEL + "\",\"max_tokens\":1,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"warm\"}]}", key);
      if (r.headers().firstValue(ForwardedHeaders.NODE_HEADER).orElse("").equals("good")) break;
    }
    assertThat(cluster.sim("bad").stats().faulted()).isEqualTo(faulted);
    cluster.sim("bad").injectFault(SimFault.resetAfterTokens(k, 1));
  }

  static String direct(String path, String body) {
    return Http.post(cluster.sim("good").baseUrl() + path, body).body();
  }

  static List<JsonNode> sse(String body) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (String event : body.split("\n\n")) {
      if (event.isBlank()) continue;
      assertThat(event).startsWith("data: ");
      String data = event.substring(6);
      if (data.equals("[DONE]")) continue;
      out.add(Json.MAPPER.readTree(data));
    }
    return out;
  }

  static List<JsonNode> ndjson(String body) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (String line : body.split("\n")) {
      if (!line.isBlank()) out.add(Json.MAPPER.readTree(line));
    }
    return out;
  }

  static String joined(List<JsonNode> events, Function<JsonNode, String> piece) {
    return events.stream().map(piece).collect(Collectors.joining());
  }

  static String chatPiece(JsonNode c) {
    return c.path("choices").path(0).path("delta").path("content").asText("");
  }

  static double resumptions(String result) {
    String metrics = cluster.metrics.scrape();
    return metrics.lines().filter(l -> l.startsWith("sluice_stream_resumptions_total{") && l.contains("result=\""
        + result + "\"")).mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  static String chatBody(String model, String prompt) {
    return "{\"model\":\"" + model + "\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
        + "\"max_tokens\":" + MAX_TOKENS + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}";
  }

  // ---------------------------------------------------------------- continued, byte for byte

  @ParameterizedTest(name = "chat SSE reset after {0} chunks")
  @ValueSource(ints = {1, 10, 100})
  void aChatStreamResetAfterKChunksIsContinuedOnAnotherNodeByteForByte(int k) throws Exception {
    double ok = resumptions("ok");
    String body = chatBody(MODEL, "Tell me about café 日本語 " + k);
    List<JsonNode> reference = sse(direct("/v1/chat/completions", body));
    HttpResponse<String> r = viaBreakingNode("/v1/chat/completions", body, SimFault.resetAfterTokens(k, 1), key);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).endsWith("data: [DONE]\n\n").doesNotContain("\"error\"");
    List<JsonNode> got = sse(r.body());
    assertThat(joined(got, StreamResumptionTest::chatPiece)).isEqualTo(joined(reference, StreamResumptionTest::chatPiece));
    assertThat(got.stream().filter(c -> c.path("choices").path(0).path("delta").has("role")).count()).isEqualTo(1);
    assertThat(got.stream().map(c -> c.path("id").asText() + c.path("created").asText() + c.path("model").asText())
        .distinct()).hasSize(1);
    JsonNode usage = got.get(got.size() - 1).path("usage");
    assertThat(usage.path("completion_tokens").asInt()).isEqualTo(MAX_TOKENS);
    assertThat(usage.path("prompt_tokens").asInt()).isPositive();
    assertThat(usage.path("total_tokens").asInt())
        .isEqualTo(usage.path("prompt_tokens").asInt() + MAX_TOKENS);
    assertThat(resumptions("ok")).isEqualTo(ok + 1);
  }

  @ParameterizedTest(name = "openai-java stream reset after {0} chunks")
  @ValueSource(ints = {1, 10, 100})
  void theOfficialOpenAiClientReadsAContinuedStreamAsOneAnswer(int k) throws Exception {
    String prompt = "Continue for the SDK " + k;
    String reference = joined(sse(direct("/v1/chat/completions", chatBody(MODEL, prompt))),
        StreamResumptionTest::chatPiece);
    long faulted = cluster.sim("bad").stats().faulted();
    nextRequestBreaksAfter(k);
    List<ChatCompletionChunk> chunks = new ArrayList<>();
    try (com.openai.core.http.StreamResponse<ChatCompletionChunk> s = openai.chat().completions().createStreaming(
        ChatCompletionCreateParams.builder().model(ChatModel.of(MODEL)).addUserMessage(prompt).maxTokens(MAX_TOKENS)
            .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
      s.stream().forEach(chunks::add);
    }
    assertThat(cluster.sim("bad").stats().faulted()).isEqualTo(faulted + 1);
    String text = chunks.stream().flatMap(c -> c.choices().stream()).map(ch -> ch.delta().content().orElse(""))
        .collect(Collectors.joining());
    assertThat(text).isEqualTo(reference);
    assertThat(chunks.stream().map(ChatCompletionChunk::id).distinct()).hasSize(1);
    assertThat(chunks.get(chunks.size() - 1).usage()).hasValueSatisfying(u ->
        assertThat(u.completionTokens()).isEqualTo(MAX_TOKENS));
  }

  @ParameterizedTest(name = "/v1/completions reset after {0} chunks")
  @ValueSource(ints = {1, 10, 100})
  void aCompletionsStreamIsContinuedWithThePromptAndTheRelayedText(int k) throws Exception {
    String body = "{\"model\":\"" + MODEL + "\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
        + "\"max_tokens\":" + MAX_TOKENS + ",\"prompt\":\"Once upon a time " + k + "\"}";
    Function<JsonNode, String> piece = c -> c.path("choices").path(0).path("text").asText("");
    String reference = joined(sse(direct("/v1/completions", body)), piece);
    HttpResponse<String> r = viaBreakingNode("/v1/completions", body, SimFault.resetAfterTokens(k, 1), key);
    assertThat(r.body()).endsWith("data: [DONE]\n\n").doesNotContain("\"error\"");
    List<JsonNode> got = sse(r.body());
    assertThat(joined(got, piece)).isEqualTo(reference);
    assertThat(got.stream().map(c -> c.path("id").asText()).distinct()).hasSize(1);
    assertThat(got.get(got.size() - 1).path("usage").path("completion_tokens").asInt()).isEqualTo(MAX_TOKENS);
  }

  @ParameterizedTest(name = "/api/chat reset after {0} chunks")
  @ValueSource(ints = {1, 10, 100})
  void anOllamaChatStreamIsContinuedWithAFinalAssistantMessage(int k) throws Exception {
    String body = "{\"model\":\"" + MODEL + "\",\"options\":{\"num_predict\":" + MAX_TOKENS + "},"
        + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi 🚀 " + k + "\"}]}";
    Function<JsonNode, String> piece = l -> l.path("message").path("content").asText("");
    List<JsonNode> reference = ndjson(direct("/api/chat", body));
    HttpResponse<String> r = viaBreakingNode("/api/chat", body, SimFault.resetAfterTokens(k, 1), key);
    List<JsonNode> got = ndjson(r.body());
    assertThat(joined(got, piece)).isEqualTo(joined(reference, piece));
    assertOneDoneLine(got, reference);
  }

  @ParameterizedTest(name = "/api/generate reset after {0} chunks")
  @ValueSource(ints = {1, 10, 100})
  void anOllamaGenerateStreamIsContinuedWithThePromptAndTheRelayedText(int k) throws Exception {
    String body = "{\"model\":\"" + MODEL + "\",\"options\":{\"num_predict\":" + MAX_TOKENS + "},"
        + "\"prompt\":\"Why is the sky blue " + k + "\"}";
    Function<JsonNode, String> piece = l -> l.path("response").asText("");
    List<JsonNode> reference = ndjson(direct("/api/generate", body));
    HttpResponse<String> r = viaBreakingNode("/api/generate", body, SimFault.resetAfterTokens(k, 1), key);
    List<JsonNode> got = ndjson(r.body());
    assertThat(joined(got, piece)).isEqualTo(joined(reference, piece));
    assertOneDoneLine(got, reference);
  }

  /** One final line, last, with the model of the others, every completion token counted and the durations summed. */
  static void assertOneDoneLine(List<JsonNode> got, List<JsonNode> reference) {
    assertThat(got.stream().filter(l -> l.path("done").asBoolean())).hasSize(1);
    JsonNode done = got.get(got.size() - 1);
    assertThat(done.path("done").asBoolean()).isTrue();
    assertThat(done.has("error")).isFalse();
    assertThat(got.stream().map(l -> l.path("model").asText()).distinct()).containsExactly(MODEL);
    assertThat(done.path("eval_count").asInt()).isEqualTo(reference.get(reference.size() - 1).path("eval_count").asInt());
    assertThat(done.path("prompt_eval_count").asInt()).isPositive();
    assertThat(done.path("total_duration").asLong()).isPositive();
  }

  @ParameterizedTest(name = "anthropic-java Messages stream reset after {0} chunks")
  @ValueSource(ints = {1, 10, 100})
  void anAnthropicMessagesStreamCarriedOverChatIsContinuedAndStaysValid(int k) throws Exception {
    String prompt = "Messages " + k;
    String reference = joined(sse(direct("/v1/chat/completions", "{\"model\":\"" + MODEL + "\",\"stream\":true,"
        + "\"max_tokens\":" + MAX_TOKENS + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}")),
        StreamResumptionTest::chatPiece);
    long faulted = cluster.sim("bad").stats().faulted();
    nextRequestBreaksAfter(k);
    MessageAccumulator accumulator = MessageAccumulator.create();
    List<String> types = new ArrayList<>();
    try (StreamResponse<RawMessageStreamEvent> stream = anthropic.messages().createStreaming(
        MessageCreateParams.builder().model(MODEL).maxTokens(MAX_TOKENS).addUserMessage(prompt).build())) {
      stream.stream().forEach(e -> {
        types.add(e.isMessageStart() ? "start" : e.isContentBlockStart() ? "block" : e.isMessageStop() ? "stop" : "");
        accumulator.accumulate(e);
      });
    }
    assertThat(cluster.sim("bad").stats().faulted()).isEqualTo(faulted + 1);
    Message m = accumulator.message();
    assertThat(m.content()).hasSize(1);
    assertThat(m.content().stream().filter(ContentBlock::isText).map(b -> b.asText().text())
        .collect(Collectors.joining())).isEqualTo(reference);
    assertThat(types.stream().filter(t -> t.equals("start"))).hasSize(1);
    assertThat(types.stream().filter(t -> t.equals("block"))).hasSize(1);
    assertThat(m.usage().outputTokens()).isEqualTo(MAX_TOKENS);
  }

  // ---------------------------------------------------------------- stalls, rules, switches

  @Test
  void aStreamThatStallsMidWayIsLeftAfterTheIdleDeadlineAndCompletesOnAnotherNode() throws Exception {
    String body = chatBody(MODEL, "stall here");
    List<JsonNode> reference = sse(direct("/v1/chat/completions", body));
    long cancelled = cluster.sim("bad").stats().cancelled();
    HttpResponse<String> r = viaBreakingNode("/v1/chat/completions", body, SimFault.stallAfterTokens(20, 1), key);
    assertThat(r.body()).endsWith("data: [DONE]\n\n").doesNotContain("\"error\"");
    assertThat(joined(sse(r.body()), StreamResumptionTest::chatPiece))
        .isEqualTo(joined(reference, StreamResumptionTest::chatPiece));
    await().atMost(Duration.ofSeconds(10)).until(() -> cluster.sim("bad").stats().cancelled() == cancelled + 1);
  }

  @Test
  void aStreamWhoseToolCallHadStartedIsNotContinuedButInterrupted() {
    double refused = resumptions("refused");
    String body = "{\"model\":\"" + MODEL + "\",\"stream\":true,\"max_tokens\":" + MAX_TOKENS + ","
        + "\"messages\":[{\"role\":\"user\",\"content\":\"look it up\"}],\"tool_choice\":\"required\","
        + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"search\",\"parameters\":{\"type\":\"object\","
        + "\"properties\":{\"query\":{\"type\":\"string\"}},\"required\":[\"query\"]}}}]}";
    HttpResponse<String> r = viaBreakingNode("/v1/chat/completions", body, SimFault.resetAfterTokens(2, 1), key);
    assertThat(r.body()).contains("\"tool_calls\"").contains("stream_interrupted").doesNotContain("[DONE]");
    assertThat(resumptions("refused")).isEqualTo(refused + 1);
  }

  @Test
  void aModelWithResumptionOffEndsABrokenStreamWithTheInterruptedEvent() {
    double off = resumptions("off");
    HttpResponse<String> r = viaBreakingNode("/v1/chat/completions", chatBody(STRICT_MODEL, "strict model"),
        SimFault.resetAfterTokens(5, 1), key);
    assertThat(r.body()).contains("stream_interrupted").doesNotContain("[DONE]");
    assertThat(resumptions("off")).isEqualTo(off + 1);
  }

  @Test
  void aKeyWithResumeFalseGetsTheInterruptedEventWhereOthersAreContinued() {
    double off = resumptions("off");
    HttpResponse<String> r = viaBreakingNode("/v1/chat/completions", chatBody(MODEL, "strict key"),
        SimFault.resetAfterTokens(5, 1), strictKey);
    assertThat(r.body()).contains("stream_interrupted").doesNotContain("[DONE]");
    assertThat(resumptions("off")).isEqualTo(off + 1);
  }
}
