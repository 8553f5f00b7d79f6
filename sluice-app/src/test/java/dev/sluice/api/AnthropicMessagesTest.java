package dev.sluice.api;

import static dev.sluice.api.AnswerFixtures.ANSWER;
import static dev.sluice.api.AnswerFixtures.CREATED;
import static dev.sluice.api.AnswerFixtures.bytes;
import static dev.sluice.api.AnswerFixtures.fieldNames;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.support.Json;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class AnthropicMessagesTest {
  private static final Dialect MESSAGES = Endpoint.ANTHROPIC_MESSAGES.dialect();
  private static final Answer SHORT = new Answer("ok", "m", "stop", 1, 1);

  private static Vertx vertx;
  private static HttpServer server;
  /** What the test server answers next: its content type and body. */
  private static final AtomicReference<String[]> NEXT = new AtomicReference<>();

  private static SimNode node;

  @BeforeAll
  static void startServer() {
    vertx = Vertx.vertx();
    node = SimNode.start(vertx, SimOptions.defaults().withTimeScale(0)).await();
    server = vertx.createHttpServer().requestHandler(request -> {
      String[] next = NEXT.get();
      request.response().putHeader("content-type", next[0]).end(next[1]);
    }).listen(0, "127.0.0.1").await();
  }

  @AfterAll
  static void stopServer() {
    node.close().await();
    server.close().await();
    vertx.close().await();
  }

  private static AnthropicClient client() {
    return AnthropicOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.actualPort())
        .apiKey("sk-ant-unused").maxRetries(0).build();
  }

  private static MessageCreateParams params() {
    return MessageCreateParams.builder().model("qwen3:32b").maxTokens(64).addUserMessage("Hi").build();
  }

  private static byte[] rendered(boolean stream, Answer answer) {
    return bytes(MESSAGES.render(Json.MAPPER.createObjectNode(), stream, answer, "1", CREATED));
  }

  private static void check(String body) throws ApiException {
    RequestValidator.parse(Endpoint.ANTHROPIC_MESSAGES, Buffer.buffer(body));
  }

  // ---------------------------------------------------------------- requests

  @Test
  void aMessagesRequestWithoutMaxTokensIsRefusedNamingTheField() {
    assertThatThrownBy(() -> check("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"))
        .isInstanceOf(ApiException.class).hasMessageContaining("\"max_tokens\"")
        .extracting(e -> ((ApiException) e).param()).isEqualTo("max_tokens");
  }

  @Test
  void parametersOutOfAnthropicsRangesAreRefusedNamingTheField() {
    String messages = "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]";
    for (String[] bad : List.of(
        new String[] {"\"max_tokens\":0", "max_tokens"},
        new String[] {"\"max_tokens\":10.5", "max_tokens"},
        new String[] {"\"max_tokens\":10,\"temperature\":1.5", "temperature"},
        new String[] {"\"max_tokens\":10,\"top_p\":2", "top_p"},
        new String[] {"\"max_tokens\":10,\"top_k\":-1", "top_k"},
        new String[] {"\"max_tokens\":10,\"stop_sequences\":[\"a\",1]", "stop_sequences"},
        new String[] {"\"max_tokens\":10,\"stop_sequences\":\"a\"", "stop_sequences"})) {
      assertThatThrownBy(() -> check("{\"model\":\"m\"," + messages + "," + bad[0] + "}"))
          .as(bad[0]).isInstanceOf(ApiException.class).hasMessageContaining(bad[1]);
    }
  }

  @Test
  void messagesMustBeUserOrAssistantTurnsOfTextOrBlocks() throws Exception {
    for (String[] bad : List.of(
        new String[] {"[]", "non-empty"},
        new String[] {"[{\"role\":\"system\",\"content\":\"Hi\"}]", "\"system\""},
        new String[] {"[{\"role\":\"user\",\"content\":3}]", "messages[0].content"},
        new String[] {"[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"user\",\"content\":[\"x\"]}]",
            "messages[1].content"})) {
      assertThatThrownBy(() -> check("{\"model\":\"m\",\"max_tokens\":5,\"messages\":" + bad[0] + "}"))
          .as(bad[0]).isInstanceOf(ApiException.class).hasMessageContaining(bad[1]);
    }
    check("{\"model\":\"m\",\"max_tokens\":5,\"temperature\":1,\"top_k\":40,\"stop_sequences\":[\"END\"],"
        + "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}]},"
        + "{\"role\":\"assistant\",\"content\":\"Hello\"}]}");
  }

  @Test
  void countTokensNeedsMessagesButNoMaxTokens() throws Exception {
    RequestValidator.parse(Endpoint.ANTHROPIC_COUNT_TOKENS,
        Buffer.buffer("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"));
    assertThatThrownBy(() -> RequestValidator.parse(Endpoint.ANTHROPIC_COUNT_TOKENS,
        Buffer.buffer("{\"model\":\"m\",\"system\":\"x\"}"))).hasMessageContaining("\"messages\"");
  }

  // ---------------------------------------------------------------- usage

  @Test
  void promptTokensAddTheCacheCountsAndCachedTokensAreTheCacheReads() {
    byte[] whole = ("{\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\"say \\\"input_tokens\\\": 9\"}],"
        + "\"usage\":{\"input_tokens\":10,\"cache_creation_input_tokens\":5,\"cache_read_input_tokens\":100,"
        + "\"output_tokens\":7}}").getBytes(StandardCharsets.UTF_8);
    assertThat(MESSAGES.usage(whole)).isEqualTo(new Usage(115, 7, 100));

    byte[] noCache = "{\"usage\":{\"input_tokens\":10,\"output_tokens\":7}}".getBytes(StandardCharsets.UTF_8);
    assertThat(MESSAGES.usage(noCache)).isEqualTo(new Usage(10, 7, -1));

    byte[] streamTail = ("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
        + "\"end_turn\"},\"usage\":{\"output_tokens\":42}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
        .getBytes(StandardCharsets.UTF_8);
    assertThat(MESSAGES.usage(streamTail)).isEqualTo(new Usage(-1, 42, -1));
  }

  @Test
  void inAStreamTheMessageDeltasOutputTokensAreTheFinalCount() {
    byte[] stream = rendered(true, ANSWER);

    assertThat(new String(stream, StandardCharsets.UTF_8)).contains("\"output_tokens\":0");
    assertThat(MESSAGES.usage(stream)).isEqualTo(new Usage(31, 42, -1));
  }

  // ---------------------------------------------------------------- answers

  @Test
  void aRenderedAnswerParsesBackToItselfWholeAndStreamed() {
    for (Answer answer : List.of(ANSWER, new Answer("", "m", "stop", 0, 0), SHORT)) {
      for (boolean stream : new boolean[] {false, true}) {
        byte[] body = rendered(stream, answer);

        assertThat(MESSAGES.parse(stream, body)).as("stream=%s", stream).isEqualTo(answer);
        assertThat(MESSAGES.complete(stream, body)).isTrue();
        assertThat(MESSAGES.usage(body)).isEqualTo(new Usage(answer.promptTokens(), answer.completionTokens()));
      }
    }
  }

  @Test
  void theWholeAnswerHasExactlyTheFieldsOfAMessage() throws Exception {
    JsonNode body = Json.MAPPER.readTree(rendered(false, ANSWER));

    assertThat(fieldNames(body)).containsExactly("id", "type", "role", "model", "content", "stop_reason",
        "stop_sequence", "usage");
    assertThat(body.get("id").asText()).isEqualTo("msg_1");
    assertThat(body.get("content").toString())
        .isEqualTo("[{\"type\":\"text\",\"text\":" + Json.MAPPER.writeValueAsString(ANSWER.content()) + "}]");
    assertThat(body.get("stop_reason").asText()).isEqualTo("max_tokens");
    assertThat(body.get("usage").toString()).isEqualTo("{\"input_tokens\":31,\"output_tokens\":42}");
  }

  @Test
  void theStreamIsNamedEventsFromMessageStartToMessageStop() throws Exception {
    List<Buffer> events = MESSAGES.render(null, true, ANSWER, "1", CREATED);

    List<String> types = new ArrayList<>();
    for (Buffer event : events) {
      String text = event.toString(StandardCharsets.UTF_8);
      assertThat(text).endsWith("\n\n");
      String[] lines = text.strip().split("\n");
      assertThat(lines).hasSize(2);
      String type = lines[0].substring("event: ".length());
      assertThat(Json.MAPPER.readTree(lines[1].substring("data: ".length())).get("type").asText()).isEqualTo(type);
      types.add(type);
    }
    assertThat(types.subList(0, 2)).containsExactly("message_start", "content_block_start");
    assertThat(types.subList(2, types.size() - 3)).isNotEmpty().containsOnly("content_block_delta");
    assertThat(types.subList(types.size() - 3, types.size()))
        .containsExactly("content_block_stop", "message_delta", "message_stop");
    assertThat(MESSAGES.contentType(true)).isEqualTo("text/event-stream");
    assertThat(MESSAGES.contentType(false)).isEqualTo("application/json");
    assertThat(MESSAGES.streamHeaders()).containsEntry("cache-control", "no-cache");
  }

  @Test
  void stopReasonsCrossDialectsInOpenAiTerms() {
    assertThat(MESSAGES.parse(false, message("end_turn")).finishReason()).isEqualTo("stop");
    assertThat(MESSAGES.parse(false, message("stop_sequence")).finishReason()).isEqualTo("stop");
    assertThat(MESSAGES.parse(false, message("max_tokens")).finishReason()).isEqualTo("length");
    assertThat(MESSAGES.parse(false, message("refusal")).finishReason()).isEqualTo("content_filter");
    for (String[] pair : List.of(new String[] {"stop", "end_turn"}, new String[] {"length", "max_tokens"},
        new String[] {"tool_calls", "tool_use"}, new String[] {"content_filter", "refusal"})) {
      assertThat(new String(rendered(false, new Answer("x", "m", pair[0], 1, 1)), StandardCharsets.UTF_8))
          .contains("\"stop_reason\":\"" + pair[1] + "\"");
    }
  }

  private static byte[] message(String stopReason) {
    return ("{\"type\":\"message\",\"model\":\"m\",\"content\":[{\"type\":\"text\",\"text\":\"x\"}],\"stop_reason\":\""
        + stopReason + "\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}").getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void thinkingAndToolUseAnswersAreNotPlainTextAnswers() {
    String thinking = "{\"type\":\"message\",\"model\":\"m\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"h\","
        + "\"signature\":\"s\"},{\"type\":\"text\",\"text\":\"x\"}],\"stop_reason\":\"end_turn\"}";
    String toolUse = "{\"type\":\"message\",\"model\":\"m\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\","
        + "\"name\":\"f\",\"input\":{}}],\"stop_reason\":\"tool_use\"}";
    String streamedThinking = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"m\"}}"
        + "\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
        + "{\"type\":\"thinking\",\"thinking\":\"\"}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

    assertThat(MESSAGES.parse(false, thinking.getBytes(StandardCharsets.UTF_8))).isNull();
    assertThat(MESSAGES.parse(false, toolUse.getBytes(StandardCharsets.UTF_8))).isNull();
    assertThat(MESSAGES.parse(true, streamedThinking.getBytes(StandardCharsets.UTF_8))).isNull();
    assertThat(MESSAGES.complete(true, streamedThinking.getBytes(StandardCharsets.UTF_8))).isTrue();
  }

  @Test
  void aStreamWithAnErrorEventOrCutBeforeMessageStopIsIncompleteAndNoAnswer() {
    byte[] body = rendered(true, ANSWER);
    int end = body.length;
    while (end > 0 && body[end - 1] == '\n') end--;
    for (int cut = 0; cut < end; cut++) {
      byte[] prefix = Arrays.copyOf(body, cut);
      assertThat(MESSAGES.complete(true, prefix)).as("complete at %d", cut).isFalse();
      assertThat(MESSAGES.parse(true, prefix)).as("parse at %d", cut).isNull();
    }
    String text = new String(body, StandardCharsets.UTF_8);
    int stop = text.indexOf("event: message_stop");
    byte[] withError = (text.substring(0, stop) + "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
        + "\"overloaded_error\",\"message\":\"busy\"}}\n\n" + text.substring(stop)).getBytes(StandardCharsets.UTF_8);
    assertThat(MESSAGES.complete(true, withError)).isFalse();
    assertThat(MESSAGES.parse(true, withError)).isNull();
    byte[] error = "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"x\"}}".getBytes();
    assertThat(MESSAGES.complete(false, error)).isFalse();
    assertThat(MESSAGES.parse(false, error)).isNull();
  }

  @Test
  void theSimulatorsMessagesAnswerParsesToItsTextAndUsageWholeAndStreamed() throws Exception {
    String request = "{\"model\":\"qwen3:32b\",\"max_tokens\":12,\"messages\":[{\"role\":\"user\","
        + "\"content\":\"Hello there!\"}]";
    byte[] whole = post(request + "}");
    byte[] stream = post(request + ",\"stream\":true}");
    JsonNode reference = Json.MAPPER.readTree(whole);

    for (boolean streamed : new boolean[] {false, true}) {
      byte[] body = streamed ? stream : whole;
      Answer answer = MESSAGES.parse(streamed, body);

      assertThat(MESSAGES.complete(streamed, body)).isTrue();
      assertThat(answer).isNotNull();
      assertThat(answer.content()).isNotBlank().isEqualTo(reference.at("/content/0/text").asText());
      assertThat(answer.model()).isEqualTo("qwen3:32b");
      assertThat(answer.finishReason()).isEqualTo("length");
      assertThat(answer.completionTokens()).isEqualTo(12);
      assertThat(MESSAGES.usage(body)).isEqualTo(new Usage(reference.at("/usage/input_tokens").asLong(), 12, -1));
    }
  }

  private static byte[] post(String body) throws Exception {
    HttpResponse<byte[]> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create(node.baseUrl() + "/v1/messages")).timeout(Duration.ofSeconds(10))
        .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertThat(response.statusCode()).isEqualTo(200);
    return response.body();
  }

  // ---------------------------------------------------------------- the official client reads them

  @Test
  void anthropicJavaReadsTheRenderedWholeAnswer() {
    NEXT.set(new String[] {"application/json", new String(rendered(false, ANSWER), StandardCharsets.UTF_8)});

    Message message = client().messages().create(params());

    assertThat(message.id()).isEqualTo("msg_1");
    assertThat(message.model().asString()).isEqualTo("qwen3:32b");
    assertThat(message.content()).hasSize(1);
    assertThat(message.content().get(0).asText().text()).isEqualTo(ANSWER.content());
    assertThat(message.stopReason()).contains(StopReason.MAX_TOKENS);
    assertThat(message.usage().inputTokens()).isEqualTo(31);
    assertThat(message.usage().outputTokens()).isEqualTo(42);
  }

  @Test
  void anthropicJavaAccumulatesTheRenderedStreamToTheSameMessage() {
    NEXT.set(new String[] {"text/event-stream", new String(rendered(true, ANSWER), StandardCharsets.UTF_8)});

    MessageAccumulator accumulator = MessageAccumulator.create();
    try (StreamResponse<RawMessageStreamEvent> stream = client().messages().createStreaming(params())) {
      stream.stream().forEach(accumulator::accumulate);
    }
    Message message = accumulator.message();

    assertThat(message.id()).isEqualTo("msg_1");
    assertThat(message.content()).hasSize(1);
    assertThat(message.content().get(0).asText().text()).isEqualTo(ANSWER.content());
    assertThat(message.stopReason()).contains(StopReason.MAX_TOKENS);
    assertThat(message.usage().inputTokens()).isEqualTo(31);
    assertThat(message.usage().outputTokens()).isEqualTo(42);
  }
}
