package dev.sluice.api;

import static dev.sluice.api.AnswerFixtures.ANSWER;
import static dev.sluice.api.AnswerFixtures.CREATED;
import static dev.sluice.api.AnswerFixtures.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.SseException;
import com.openai.helpers.ResponseAccumulator;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseStatus;
import com.openai.models.responses.ResponseStreamEvent;
import dev.sluice.support.Json;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** OpenAI Responses as the gateway reads and writes it: state rules, store, usage, answers and their streams. */
class OpenAiResponsesTest {
  private static final Dialect RESPONSES = Endpoint.OPENAI_RESPONSES.dialect();
  private static final ObjectNode REQUEST = request("{\"model\":\"qwen3:32b\",\"input\":\"Hi\","
      + "\"instructions\":\"Be brief.\",\"max_output_tokens\":64,\"metadata\":{\"trace\":\"t-1\"}}");

  private static Vertx vertx;
  private static HttpServer server;
  /** What the tiny server answers: its content type and bytes. */
  private static final AtomicReference<Object[]> SERVED = new AtomicReference<>();

  @BeforeAll
  static void startServer() {
    vertx = Vertx.vertx();
    server = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      Object[] served = SERVED.get();
      req.response().putHeader("content-type", (String) served[0]).end((Buffer) served[1]);
    })).listen(0, "127.0.0.1").await();
  }

  @AfterAll
  static void stopServer() {
    server.close().await();
    vertx.close().await();
  }

  private static OpenAIClient client() {
    return OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.actualPort() + "/v1")
        .apiKey("sk-unused").maxRetries(0).responseValidation(true).build();
  }

  private static void serve(boolean stream, List<Buffer> body) {
    Buffer all = Buffer.buffer();
    body.forEach(all::appendBuffer);
    SERVED.set(new Object[] {RESPONSES.contentType(stream), all});
  }

  private static ObjectNode request(String json) {
    try {
      return (ObjectNode) Json.MAPPER.readTree(json);
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
  }

  private static ApiException refusal(String body) {
    try {
      RequestValidator.parse(Endpoint.OPENAI_RESPONSES, Buffer.buffer(body));
    } catch (ApiException e) {
      return e;
    }
    throw new AssertionError("accepted: " + body);
  }

  // ---------------------------------------------------------------- requests

  @Test
  void aRequestWithoutInputOrWithParametersOutOfRangeIsRefusedNamingTheField() {
    assertThat(refusal("{\"model\":\"m\"}").param()).isEqualTo("input");
    assertThat(refusal("{\"model\":\"m\",\"input\":[]}").param()).isEqualTo("input");
    assertThat(refusal("{\"model\":\"m\",\"input\":7}").getMessage()).contains("string or a non-empty array");
    assertThat(refusal("{\"model\":\"m\",\"input\":\"x\",\"max_output_tokens\":0}").param())
        .isEqualTo("max_output_tokens");
    assertThat(refusal("{\"model\":\"m\",\"input\":\"x\",\"max_output_tokens\":1.5}").param())
        .isEqualTo("max_output_tokens");
    assertThat(refusal("{\"model\":\"m\",\"input\":\"x\",\"temperature\":2.5}").param()).isEqualTo("temperature");
    assertThat(refusal("{\"model\":\"m\",\"input\":\"x\",\"top_p\":-0.1}").param()).isEqualTo("top_p");
  }

  @Test
  void everythingThatNeedsAStoredResponseIsRefusedWithTheFix() {
    ApiException previous = refusal("{\"model\":\"m\",\"input\":\"x\",\"previous_response_id\":\"resp_1\"}");
    assertThat(previous.kind().status()).isEqualTo(400);
    assertThat(previous.param()).isEqualTo("previous_response_id");
    assertThat(previous.getMessage()).contains("send the whole conversation in input").contains("Sluice keeps no "
        + "responses");
    assertThat(refusal("{\"model\":\"m\",\"input\":\"x\",\"background\":true}").param()).isEqualTo("background");
    assertThat(refusal("{\"model\":\"m\",\"input\":\"x\",\"conversation\":\"conv_1\"}").param())
        .isEqualTo("conversation");
    assertThat(refusal("{\"model\":\"m\",\"input\":\"x\",\"prompt\":{\"id\":\"pmpt_1\"}}").param())
        .isEqualTo("prompt");
  }

  @Test
  void nullStateFieldsAndBackgroundFalseAreAccepted() throws Exception {
    ParsedRequest parsed = RequestValidator.parse(Endpoint.OPENAI_RESPONSES, Buffer.buffer("{\"model\":\"m\","
        + "\"input\":[{\"role\":\"user\",\"content\":\"x\"}],\"previous_response_id\":null,\"background\":false,"
        + "\"conversation\":null,\"prompt\":null,\"stream\":true}"));

    assertThat(parsed.stream()).isTrue();
  }

  @Test
  void storeIsTurnedOffAndARequestThatAlreadySaysFalseIsLeftAsItIs() throws Exception {
    for (String store : List.of("", ",\"store\":true")) {
      ParsedRequest parsed = RequestValidator.parse(Endpoint.OPENAI_RESPONSES,
          Buffer.buffer("{\"model\":\"m\",\"input\":\"x\"" + store + "}"));

      ParsedRequest prepared = RESPONSES.prepare(parsed);

      assertThat(prepared.json().get("store").asBoolean(true)).isFalse();
      assertThat(Json.MAPPER.readTree(prepared.raw().getBytes())).isEqualTo(prepared.json());
      assertThat(parsed.json().has("store") && !parsed.json().get("store").asBoolean()).isFalse(); // unchanged
    }
    ParsedRequest off = RequestValidator.parse(Endpoint.OPENAI_RESPONSES,
        Buffer.buffer("{\"model\":\"m\",\"input\":\"x\",\"store\":false}"));
    assertThat(RESPONSES.prepare(off)).isSameAs(off);
  }

  @Test
  void maxOutputTokensIsTheRequestedLengthAndTheContextGuardCapsIt() throws Exception {
    ParsedRequest parsed = RequestValidator.parse(Endpoint.OPENAI_RESPONSES,
        Buffer.buffer("{\"model\":\"m\",\"input\":\"x\",\"max_output_tokens\":5000}"));

    assertThat(parsed.requestedMaxTokens()).isEqualTo(5000);
    ParsedRequest capped = parsed.withMaxTokens(100);
    assertThat(capped.json().get("max_output_tokens").asInt()).isEqualTo(100);
    assertThat(capped.json().has("max_tokens")).isFalse();
  }

  // ---------------------------------------------------------------- answers

  @Test
  void usageIsReadWholeOrFromTheStreamTailWithCachedTokens() {
    byte[] whole = ("{\"id\":\"resp_1\",\"object\":\"response\",\"output\":[],\"usage\":{\"input_tokens\":120,"
        + "\"input_tokens_details\":{\"cached_tokens\":96},\"output_tokens\":7,\"output_tokens_details\":"
        + "{\"reasoning_tokens\":0},\"total_tokens\":127}}").getBytes(StandardCharsets.UTF_8);
    byte[] stream = rendered(true, ANSWER);

    assertThat(RESPONSES.usage(whole)).isEqualTo(new Usage(120, 7, 96));
    assertThat(RESPONSES.usage(stream)).isEqualTo(new Usage(31, 42, 0));
    byte[] tail = Arrays.copyOfRange(stream, stream.length - 400, stream.length);
    assertThat(RESPONSES.usage(tail)).isEqualTo(new Usage(31, 42, 0));
    assertThat(RESPONSES.usage(rendered(true, ANSWER, 1))).isEqualTo(Usage.UNKNOWN); // before the last event
  }

  @Test
  void aRenderedAnswerParsesBackToItselfWholeAndStreamed() {
    for (Answer answer : List.of(ANSWER, new Answer("", "m", "stop", 0, 0), new Answer("ok", "m", "stop", 1, 1))) {
      for (boolean stream : List.of(false, true)) {
        byte[] body = rendered(stream, answer);

        assertThat(RESPONSES.parse(stream, body)).as("stream=%s", stream).isEqualTo(answer);
        assertThat(RESPONSES.complete(stream, body)).isTrue();
      }
    }
  }

  @Test
  void aStreamThatAlsoEndsInDoneIsCompleteAndParses() {
    byte[] body = bytes(List.of(Buffer.buffer(rendered(true, ANSWER)), Buffer.buffer("data: [DONE]\n\n")));

    assertThat(RESPONSES.complete(true, body)).isTrue();
    assertThat(RESPONSES.parse(true, body)).isEqualTo(ANSWER);
  }

  @Test
  void aStreamCutBeforeItsLastEventIsIncompleteAndNoAnswer() {
    List<Buffer> events = RESPONSES.render(REQUEST, true, ANSWER, "1", CREATED);

    for (int n = 0; n < events.size(); n++) {
      byte[] prefix = bytes(events.subList(0, n));
      assertThat(RESPONSES.complete(true, prefix)).as("%d of %d events", n, events.size()).isFalse();
      assertThat(RESPONSES.parse(true, prefix)).isNull();
    }
    byte[] cutInLastEvent = bytes(events);
    cutInLastEvent = Arrays.copyOf(cutInLastEvent, cutInLastEvent.length - 20);
    assertThat(RESPONSES.complete(true, cutInLastEvent)).isFalse();
  }

  @Test
  void functionCallsReasoningRefusalsAndErrorsAreNoAnswers() {
    String call = "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",\"model\":\"m\",\"output\":"
        + "[{\"type\":\"function_call\",\"id\":\"fc_1\",\"call_id\":\"call_1\",\"name\":\"f\",\"arguments\":\"{}\"}]}";
    String reasoning = "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",\"model\":\"m\",\"output\":"
        + "[{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[],\"content\":[{\"type\":\"reasoning_text\","
        + "\"text\":\"hm\"}]},{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\","
        + "\"text\":\"hi\"}]}]}";
    String refusal = "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",\"model\":\"m\",\"output\":"
        + "[{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"refusal\",\"refusal\":\"no\"}]}]}";
    String failed = "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"failed\",\"model\":\"m\",\"output\":[]}";
    for (String body : List.of(call, reasoning, refusal, failed, "{\"error\":{\"message\":\"x\"}}")) {
      assertThat(RESPONSES.parse(false, body.getBytes(StandardCharsets.UTF_8))).as(body).isNull();
    }
    byte[] errored = bytes(List.of(RESPONSES.render(REQUEST, true, ANSWER, "1", CREATED).get(0),
        RESPONSES.streamError(ErrorKind.STREAM_INTERRUPTED, "node went away")));
    assertThat(RESPONSES.complete(true, errored)).isFalse();
    assertThat(RESPONSES.parse(true, errored)).isNull();
  }

  @Test
  void theRenderedResponseEchoesTheRequestAndSaysItIsNotStored() throws Exception {
    JsonNode body = Json.MAPPER.readTree(rendered(false, ANSWER));

    assertThat(body.get("id").asText()).isEqualTo("resp_1");
    assertThat(body.get("object").asText()).isEqualTo("response");
    assertThat(body.get("created_at").asLong()).isEqualTo(CREATED);
    assertThat(body.get("status").asText()).isEqualTo("incomplete");
    assertThat(body.get("incomplete_details").get("reason").asText()).isEqualTo("max_output_tokens");
    assertThat(body.get("store").asBoolean(true)).isFalse();
    assertThat(body.get("instructions").asText()).isEqualTo("Be brief.");
    assertThat(body.get("max_output_tokens").asInt()).isEqualTo(64);
    assertThat(body.get("metadata").get("trace").asText()).isEqualTo("t-1");
    assertThat(body.get("error").isNull()).isTrue();
    JsonNode message = body.get("output").get(0);
    assertThat(message.get("id").asText()).isEqualTo("msg_1");
    assertThat(message.get("content").get(0).get("text").asText()).isEqualTo(ANSWER.content());
    assertThat(body.get("usage").get("total_tokens").asInt()).isEqualTo(73);
  }

  @Test
  void theStreamIsNamedEventsNumberedOneByOneWithTextInPieces() throws Exception {
    List<Buffer> events = RESPONSES.render(REQUEST, true, ANSWER, "1", CREATED);

    List<String> types = new ArrayList<>();
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < events.size(); i++) {
      String event = events.get(i).toString(StandardCharsets.UTF_8);
      assertThat(event).endsWith("\n\n");
      String[] lines = event.split("\n");
      JsonNode data = Json.MAPPER.readTree(lines[1].substring("data: ".length()));
      assertThat(lines[0]).isEqualTo("event: " + data.get("type").asText());
      assertThat(data.get("sequence_number").asInt()).isEqualTo(i);
      types.add(data.get("type").asText());
      if (data.get("type").asText().equals("response.output_text.delta")) text.append(data.get("delta").asText());
    }
    assertThat(text.toString()).isEqualTo(ANSWER.content());
    assertThat(types.subList(0, 4)).containsExactly("response.created", "response.in_progress",
        "response.output_item.added", "response.content_part.added");
    assertThat(types.subList(types.size() - 4, types.size())).containsExactly("response.output_text.done",
        "response.content_part.done", "response.output_item.done", "response.incomplete");
    assertThat(types.stream().filter(t -> t.endsWith(".delta")).count())
        .isEqualTo(Bodies.pieces(ANSWER.content()).size());
    assertThat(RESPONSES.contentType(true)).isEqualTo("text/event-stream");
    assertThat(RESPONSES.streamHeaders()).containsEntry("cache-control", "no-cache");
  }

  @Test
  void openAiJavaReadsTheRenderedAnswerWholeAndStreamed() {
    Answer answer = new Answer("Hello there, how can I help you today? Ask me anything.", "qwen3:32b", "stop", 9, 12);
    ResponseCreateParams params = ResponseCreateParams.builder().model("qwen3:32b").input("Hi").build();

    serve(false, RESPONSES.render(REQUEST, false, answer, "abc", CREATED));
    Response whole = client().responses().create(params);
    serve(true, RESPONSES.render(REQUEST, true, answer, "abc", CREATED));
    ResponseAccumulator accumulator = ResponseAccumulator.create();
    try (StreamResponse<ResponseStreamEvent> stream = client().responses().createStreaming(params)) {
      stream.stream().forEach(accumulator::accumulate);
    }
    Response streamed = accumulator.response();

    for (Response response : List.of(whole, streamed)) {
      assertThat(response.id()).isEqualTo("resp_abc");
      assertThat(response.status()).contains(ResponseStatus.COMPLETED);
      assertThat(response.output()).hasSize(1);
      assertThat(response.output().get(0).asMessage().content().get(0).asOutputText().text())
          .isEqualTo(answer.content());
      assertThat(response.usage().orElseThrow().inputTokens()).isEqualTo(9);
      assertThat(response.usage().orElseThrow().outputTokens()).isEqualTo(12);
      assertThat(response._additionalProperties().get("store").asBoolean()).contains(false);
      assertThat(response.metadata().orElseThrow()._additionalProperties()).containsKey("trace");
    }
  }

  @Test
  void openAiJavaRaisesTheStreamsErrorEvent() {
    List<Buffer> events = new ArrayList<>(RESPONSES.render(REQUEST, true, ANSWER, "1", CREATED).subList(0, 3));
    events.add(RESPONSES.streamError(ErrorKind.STREAM_INTERRUPTED, "the node went away"));
    serve(true, events);
    ResponseCreateParams params = ResponseCreateParams.builder().model("qwen3:32b").input("Hi").build();

    List<ResponseStreamEvent> seen = new ArrayList<>();
    assertThatThrownBy(() -> {
      try (StreamResponse<ResponseStreamEvent> stream = client().responses().createStreaming(params)) {
        stream.stream().forEach(seen::add);
      }
    }).isInstanceOf(SseException.class).hasMessageContaining("the node went away");
    assertThat(seen).hasSize(3);
  }

  /** Why the error event also nests its fields under "error": the documented flat event is only yielded. */
  @Test
  void openAiJavaYieldsAFlatErrorEventOrAFailedResponseWithoutRaising() {
    List<Buffer> events = new ArrayList<>(RESPONSES.render(REQUEST, true, ANSWER, "1", CREATED).subList(0, 2));
    events.add(Buffer.buffer("event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":"
        + "\"flat\",\"param\":null,\"sequence_number\":2}\n\n"));
    events.add(Buffer.buffer("event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":3,"
        + "\"response\":" + failedResponse() + "}\n\n"));
    serve(true, events);
    ResponseCreateParams params = ResponseCreateParams.builder().model("qwen3:32b").input("Hi").build();

    List<ResponseStreamEvent> seen = new ArrayList<>();
    try (StreamResponse<ResponseStreamEvent> stream = client().responses().createStreaming(params)) {
      stream.stream().forEach(seen::add);
    }

    assertThat(seen).hasSize(4);
    assertThat(seen.get(2).isError()).isTrue();
    assertThat(seen.get(2).asError().message()).isEqualTo("flat");
    assertThat(seen.get(3).isFailed()).isTrue();
  }

  private static String failedResponse() {
    ObjectNode response = OpenAiResponses.response(REQUEST, "resp_1", CREATED, "m");
    response.put("status", "failed");
    response.putObject("error").put("code", "server_error").put("message", "failed");
    return response.toString();
  }

  private static byte[] rendered(boolean stream, Answer answer) {
    return bytes(RESPONSES.render(REQUEST, stream, answer, "1", CREATED));
  }

  /** The stream without its last {@code dropped} events. */
  private static byte[] rendered(boolean stream, Answer answer, int dropped) {
    List<Buffer> events = RESPONSES.render(REQUEST, stream, answer, "1", CREATED);
    return bytes(events.subList(0, events.size() - dropped));
  }
}
