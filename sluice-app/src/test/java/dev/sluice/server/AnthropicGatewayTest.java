package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.JsonValue;
import com.anthropic.core.http.HttpResponseFor;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.BadRequestException;
import com.anthropic.errors.NotFoundException;
import com.anthropic.errors.PermissionDeniedException;
import com.anthropic.errors.RateLimitException;
import com.anthropic.errors.UnauthorizedException;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.ContentBlockParam;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCountTokensParams;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.MessageTokensCount;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.anthropic.models.messages.TextBlock;
import com.anthropic.models.messages.Tool;
import com.anthropic.models.messages.ToolChoiceAny;
import com.anthropic.models.messages.ToolResultBlockParam;
import com.anthropic.models.messages.ToolUseBlock;
import com.fasterxml.jackson.databind.JsonNode;
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
 * Anthropic Messages through the gateway, read by the official anthropic-java SDK, in both modes: to a node that
 * speaks Messages (passed through unchanged) and to a node that speaks only chat completions (translated).
 */
class AnthropicGatewayTest {
  static final String MODEL = DialectClusters.MODEL;
  static final String SEARCH_SCHEMA = "{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\"},"
      + "\"max_results\":{\"type\":\"integer\"}},\"required\":[\"query\"]}";

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

  static AnthropicClient client(TestCluster c, String key) {
    return AnthropicOkHttpClient.builder().baseUrl(c.url("")).apiKey(key).maxRetries(0).build();
  }

  static MessageCreateParams.Builder question(String text) {
    return MessageCreateParams.builder().model(MODEL).maxTokens(200).addUserMessage(text);
  }

  @SuppressWarnings("unchecked")
  static Tool searchTool() throws Exception {
    Map<String, Object> schema = Json.MAPPER.readValue(SEARCH_SCHEMA, Map.class);
    Tool.InputSchema.Properties.Builder properties = Tool.InputSchema.Properties.builder();
    ((Map<String, Object>) schema.get("properties")).forEach((name, property) ->
        properties.putAdditionalProperty(name, JsonValue.from(property)));
    return Tool.builder().name("search_files").description("Search the workspace")
        .inputSchema(Tool.InputSchema.builder().properties(properties.build())
            .required((List<String>) schema.get("required")).build()).build();
  }

  static Message streamed(AnthropicClient client, MessageCreateParams params) {
    MessageAccumulator accumulator = MessageAccumulator.create();
    try (StreamResponse<RawMessageStreamEvent> stream = client.messages().createStreaming(params)) {
      stream.stream().forEach(accumulator::accumulate);
    }
    return accumulator.message();
  }

  static String text(Message m) {
    return m.content().stream().filter(ContentBlock::isText).map(b -> b.asText().text()).collect(Collectors.joining());
  }

  static void assertMode(Mode mode, HttpResponseFor<?> raw) {
    if (mode == Mode.TRANSLATED) {
      assertThat(raw.headers().values("x-sluice-translated")).containsExactly("chat-completions");
    } else {
      assertThat(raw.headers().values("x-sluice-translated")).isEmpty();
    }
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void aPlainAnswerAndItsStreamCarryTheSameTextStopReasonAndUsage(Mode mode) {
    TestCluster c = clusters.get(mode);
    AnthropicClient client = client(c, clusters.allKey);
    MessageCreateParams params = question("Summarise the quarterly report in two sentences.").build();

    HttpResponseFor<Message> raw = client.messages().withRawResponse().create(params);
    Message whole = raw.parse();
    Message stream = streamed(client, params);

    assertMode(mode, raw);
    assertThat(whole.model().asString()).isEqualTo(MODEL);
    assertThat(text(whole)).isNotBlank().isEqualTo(text(stream));
    assertThat(whole.stopReason()).isPresent().isEqualTo(stream.stopReason());
    assertThat(whole.usage().inputTokens()).isPositive();
    assertThat(whole.usage().outputTokens()).isPositive().isEqualTo(stream.usage().outputTokens());
    Map<String, String> sent = c.sim("a").lastGenerationHeaders();
    assertThat(sent.get("anthropic-version")).isNotBlank(); // forwarded as the SDK sent it
    assertThat(sent.get("authorization")).isEqualTo("Bearer ollama"); // the node's key, never the gateway token
    assertThat(sent.get("x-api-key")).isEqualTo(mode == Mode.PASSED_THROUGH ? "ollama" : null);
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void aToolUseRoundTripKeepsTheStreamedArgumentsEqualToTheWholeOnes(Mode mode) throws Exception {
    AnthropicClient client = client(clusters.get(mode), clusters.allKey);
    MessageCreateParams ask = question("Find the quarterly report.").addTool(searchTool())
        .toolChoice(ToolChoiceAny.builder().build()).build();

    Message whole = client.messages().create(ask);
    Message stream = streamed(client, ask);

    assertThat(whole.stopReason()).contains(StopReason.TOOL_USE);
    assertThat(stream.stopReason()).contains(StopReason.TOOL_USE);
    ToolUseBlock call = whole.content().stream().filter(ContentBlock::isToolUse).findFirst().orElseThrow()
        .asToolUse();
    ToolUseBlock streamedCall = stream.content().stream().filter(ContentBlock::isToolUse).findFirst().orElseThrow()
        .asToolUse();
    JsonNode input = Json.MAPPER.valueToTree(call._input().convert(Object.class));
    assertThat(call.name()).isEqualTo("search_files");
    assertThat(input.path("query").isTextual()).isTrue();
    assertThat((Object) Json.MAPPER.valueToTree(streamedCall._input().convert(Object.class))).isEqualTo(input);
    assertThat(streamedCall.id()).isEqualTo(call.id());

    Message answer = client.messages().create(question("Find the quarterly report.").addTool(searchTool())
        .addMessage(whole.toParam())
        .addUserMessageOfContentBlockParams(List.of(ContentBlockParam.ofToolResult(ToolResultBlockParam.builder()
            .toolUseId(call.id()).content("reports/2026-q3.pdf").build())))
        .build());
    assertThat(answer.stopReason()).isPresent();
    assertThat(answer.content()).isNotEmpty();
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void thinkingComesAsThinkingBlocksWholeAndStreamed(Mode mode) {
    AnthropicClient client = client(clusters.get(mode), clusters.allKey);
    MessageCreateParams params = question("Is 1,024 a power of two?").maxTokens(400).enabledThinking(1024).build();

    Message whole = client.messages().create(params);
    Message stream = streamed(client, params);

    String thinking = whole.content().stream().filter(ContentBlock::isThinking)
        .map(b -> b.asThinking().thinking()).collect(Collectors.joining());
    assertThat(thinking).isNotBlank();
    assertThat(stream.content().stream().filter(ContentBlock::isThinking).map(b -> b.asThinking().thinking())
        .collect(Collectors.joining())).isEqualTo(thinking);
    assertThat(whole.content().get(0).isThinking()).isTrue();
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void countTokensCountsThePromptOnTheNodeOrSaysItIsTheGatewaysEstimate(Mode mode) {
    AnthropicClient client = client(clusters.get(mode), clusters.allKey);
    HttpResponseFor<MessageTokensCount> raw = client.messages().withRawResponse().countTokens(
        MessageCountTokensParams.builder().model(MODEL).addUserMessage("Find the quarterly report, please.").build());

    assertThat(raw.parse().inputTokens()).isPositive();
    assertThat(raw.headers().values("x-sluice-token-count"))
        .isEqualTo(mode == Mode.TRANSLATED ? List.of("estimate") : List.of());
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void errorsComeInAnthropicsShapeAndTheSdkRaisesItsTypedExceptions(Mode mode) throws Exception {
    TestCluster c = clusters.get(mode);
    MessageCreateParams hello = question("hello").build();

    assertThatThrownBy(() -> client(c, "").messages().create(hello)).isInstanceOf(UnauthorizedException.class);
    assertThatThrownBy(() -> client(c, clusters.smallOnlyKey).messages().create(hello))
        .isInstanceOf(PermissionDeniedException.class).hasMessageContaining("not allowed");
    assertThatThrownBy(() -> client(c, clusters.allKey).messages().create(question("hello").model("no-such-model").build()))
        .isInstanceOf(NotFoundException.class).hasMessageContaining("no-such-model");
    assertThatThrownBy(() -> client(c, clusters.allKey).messages().create(question(
            "word ".repeat(30_000)).maxTokens(4096).build()))
        .isInstanceOf(BadRequestException.class).hasMessageContaining("context");
    AnthropicClient limited = client(c, clusters.oneRequestKey);
    limited.messages().create(hello);
    assertThatThrownBy(() -> limited.messages().create(hello)).isInstanceOfSatisfying(RateLimitException.class,
        e -> assertThat(e.headers().values("retry-after")).isNotEmpty());

    for (String key : new String[] {"sk-sluice-wrong", null}) { // a wrong x-api-key, and none at all
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(c.url("/v1/messages")))
          .header("content-type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + MODEL + "\",\"max_tokens\":10,"
              + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));
      if (key != null) b.header("x-api-key", key);
      HttpResponse<String> raw = Http.send(b.build());
      JsonNode error = Json.MAPPER.readTree(raw.body());
      assertThat(raw.statusCode()).isEqualTo(401);
      assertThat(error.path("type").asText()).isEqualTo("error");
      assertThat(error.at("/error/type").asText()).isEqualTo("authentication_error");
    }
  }
}
