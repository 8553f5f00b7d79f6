package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.HttpResponseFor;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.PermissionDeniedException;
import com.openai.errors.RateLimitException;
import com.openai.errors.UnauthorizedException;
import com.openai.helpers.ResponseAccumulator;
import com.openai.models.Reasoning;
import com.openai.models.ReasoningEffort;
import com.openai.models.responses.EasyInputMessage;
import com.openai.models.responses.FunctionTool;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseFunctionToolCall;
import com.openai.models.responses.ResponseInputItem;
import com.openai.models.responses.ResponseStreamEvent;
import com.openai.models.responses.ToolChoiceOptions;
import dev.sluice.server.DialectClusters.Mode;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * OpenAI Responses through the gateway, read by the official openai-java SDK, in both modes: to a node that speaks
 * Responses (passed through unchanged) and to a node that speaks only chat completions (translated).
 */
class ResponsesGatewayTest {
  static final String MODEL = AnthropicGatewayTest.MODEL;

  @TempDir
  static Path dir;
  static DialectClusters clusters;

  @BeforeAll
  static void start() throws Exception {
    clusters = new DialectClusters(dir);
  }

  @AfterAll
  static void stop() {
    clusters.close();
  }

  static OpenAIClient client(TestCluster c, String key) {
    return OpenAIOkHttpClient.builder().baseUrl(c.url("/v1")).apiKey(key).maxRetries(0).build();
  }

  static ResponseCreateParams.Builder question(String text) {
    return ResponseCreateParams.builder().model(MODEL).input(text).maxOutputTokens(200);
  }

  @SuppressWarnings("unchecked")
  static FunctionTool searchTool() throws Exception {
    FunctionTool.Parameters.Builder parameters = FunctionTool.Parameters.builder();
    Json.MAPPER.readValue(AnthropicGatewayTest.SEARCH_SCHEMA, Map.class)
        .forEach((key, value) -> parameters.putAdditionalProperty((String) key, JsonValue.from(value)));
    return FunctionTool.builder().name("search_files").parameters(parameters.build()).strict(false).build();
  }

  static Response streamed(OpenAIClient client, ResponseCreateParams params) {
    ResponseAccumulator accumulator = ResponseAccumulator.create();
    try (StreamResponse<ResponseStreamEvent> stream = client.responses().createStreaming(params)) {
      stream.stream().forEach(accumulator::accumulate);
    }
    return accumulator.response();
  }

  static String outputText(Response response) {
    return response.output().stream().filter(item -> item.isMessage())
        .flatMap(item -> item.asMessage().content().stream()).map(part -> part.asOutputText().text())
        .collect(Collectors.joining());
  }

  static String reasoning(Response response) {
    return response.output().stream().filter(item -> item.isReasoning())
        .flatMap(item -> item.asReasoning().content().stream().flatMap(List::stream)).map(part -> part.text())
        .collect(Collectors.joining());
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void aPlainResponseAndItsStreamCarryTheSameTextAndUsage(Mode mode) {
    OpenAIClient client = client(clusters.get(mode), clusters.allKey);
    ResponseCreateParams params = question("Summarise the quarterly report in two sentences.").build();

    HttpResponseFor<Response> raw = client.responses().withRawResponse().create(params);
    Response whole = raw.parse();
    Response stream = streamed(client, params);

    assertThat(raw.headers().values("x-sluice-translated"))
        .isEqualTo(mode == Mode.TRANSLATED ? List.of("chat-completions") : List.of());
    assertThat(whole.id()).startsWith("resp_");
    assertThat(outputText(whole)).isNotBlank().isEqualTo(outputText(stream));
    assertThat(whole.usage().orElseThrow().inputTokens()).isPositive();
    assertThat(whole.usage().orElseThrow().outputTokens()).isPositive()
        .isEqualTo(stream.usage().orElseThrow().outputTokens());
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void aFunctionCallRoundTripKeepsTheStreamedArgumentsEqualToTheWholeOnes(Mode mode) throws Exception {
    OpenAIClient client = client(clusters.get(mode), clusters.allKey);
    ResponseCreateParams ask = question("Find the quarterly report.").addTool(searchTool())
        .toolChoice(ToolChoiceOptions.REQUIRED).build();

    Response whole = client.responses().create(ask);
    Response stream = streamed(client, ask);

    ResponseFunctionToolCall call = whole.output().stream().filter(item -> item.isFunctionCall()).findFirst()
        .orElseThrow().asFunctionCall();
    ResponseFunctionToolCall streamedCall = stream.output().stream().filter(item -> item.isFunctionCall())
        .findFirst().orElseThrow().asFunctionCall();
    assertThat(call.name()).isEqualTo("search_files");
    assertThat(Json.MAPPER.readTree(call.arguments()).path("query").isTextual()).isTrue();
    assertThat(streamedCall.arguments()).isEqualTo(call.arguments());
    assertThat(streamedCall.callId()).isEqualTo(call.callId());

    Response answer = client.responses().create(ResponseCreateParams.builder().model(MODEL).maxOutputTokens(200)
        .addTool(searchTool())
        .inputOfResponse(List.of(
            ResponseInputItem.ofEasyInputMessage(EasyInputMessage.builder().role(EasyInputMessage.Role.USER)
                .content("Find the quarterly report.").build()),
            ResponseInputItem.ofFunctionCall(call),
            ResponseInputItem.ofFunctionCallOutput(ResponseInputItem.FunctionCallOutput.builder()
                .callId(call.callId()).output("reports/2026-q3.pdf").build())))
        .build());
    assertThat(answer.output()).isNotEmpty();
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void reasoningComesAsAReasoningItemWholeAndStreamed(Mode mode) {
    OpenAIClient client = client(clusters.get(mode), clusters.allKey);
    ResponseCreateParams params = question("Why is the sky blue?").maxOutputTokens(400)
        .reasoning(Reasoning.builder().effort(ReasoningEffort.LOW).build()).build();

    Response whole = client.responses().create(params);
    Response stream = streamed(client, params);

    assertThat(reasoning(whole)).isNotBlank().isEqualTo(reasoning(stream));
    assertThat(whole.output().get(0).isReasoning()).isTrue();
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void stateIsRefusedClearlyAndStoreIsAnsweredHonestly(Mode mode) throws Exception {
    TestCluster c = clusters.get(mode);
    assertThatThrownBy(() -> client(c, clusters.allKey).responses().create(question("hi").previousResponseId("resp_1").build()))
        .isInstanceOf(BadRequestException.class).hasMessageContaining("previous_response_id")
        .hasMessageContaining("input");

    HttpResponse<String> stored = post(c, clusters.allKey, "{\"model\":\"" + MODEL + "\",\"input\":\"hi\","
        + "\"max_output_tokens\":20,\"store\":true}");
    assertThat(stored.statusCode()).isEqualTo(200);
    assertThat(Json.MAPPER.readTree(stored.body()).path("store").asBoolean(true)).isFalse();
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void errorsComeInOpenAisShapeAndTheSdkRaisesItsTypedExceptions(Mode mode) throws Exception {
    TestCluster c = clusters.get(mode);
    ResponseCreateParams hello = question("hello").build();

    assertThatThrownBy(() -> client(c, "sk-sluice-wrong").responses().create(hello))
        .isInstanceOf(UnauthorizedException.class);
    assertThatThrownBy(() -> client(c, clusters.smallOnlyKey).responses().create(hello))
        .isInstanceOf(PermissionDeniedException.class).hasMessageContaining("not allowed");
    assertThatThrownBy(() -> client(c, clusters.allKey).responses().create(question("hello").model("no-such-model").build()))
        .isInstanceOf(NotFoundException.class).hasMessageContaining("no-such-model");
    assertThatThrownBy(() -> client(c, clusters.allKey).responses().create(question("word ".repeat(30_000))
            .maxOutputTokens(4096).build()))
        .isInstanceOf(BadRequestException.class).hasMessageContaining("context");
    OpenAIClient limited = client(c, clusters.oneRequestKey);
    limited.responses().create(hello);
    assertThatThrownBy(() -> limited.responses().create(hello)).isInstanceOfSatisfying(RateLimitException.class,
        e -> assertThat(e.headers().values("retry-after")).isNotEmpty());

    JsonNode missing = Json.MAPPER.readTree(post(c, null, "{\"model\":\"" + MODEL + "\",\"input\":\"hi\"}").body());
    assertThat(missing.at("/error/code").asText()).isEqualTo("invalid_api_key");
  }

  static HttpResponse<String> post(TestCluster c, String key, String body) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(c.url("/v1/responses")))
        .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
    if (key != null) b.header("authorization", "Bearer " + key);
    return Http.send(b.build());
  }
}
