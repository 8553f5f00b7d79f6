package dev.sluice.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.support.Json;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class AnswersTest {
  private static final long CREATED = 1_790_000_000L;
  private static final Answer ANSWER = new Answer(
      "Hello! Here is a \"quoted\" answer,\nover two lines, with ünïcödé, 中文文本 and an emoji 🚀 — "
          + "long enough to be cut into several pieces when it is replayed as a stream.",
      "qwen3:32b", "length", 31, 42);
  private static final List<Endpoint> GENERATION = List.of(
      Endpoint.OPENAI_CHAT, Endpoint.OPENAI_COMPLETIONS, Endpoint.OLLAMA_CHAT, Endpoint.OLLAMA_GENERATE);
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2)).build();

  private static Vertx vertx;
  private static SimNode node;

  @BeforeAll
  static void startNode() {
    vertx = Vertx.vertx();
    node = SimNode.start(vertx, SimOptions.defaults().withTimeScale(0)).await();
  }

  @AfterAll
  static void stopNode() {
    node.close().await();
    vertx.close().await();
  }

  static Stream<Arguments> formats() {
    return GENERATION.stream().flatMap(e -> Stream.of(Arguments.of(e, false), Arguments.of(e, true)));
  }

  @ParameterizedTest(name = "{0} stream={1}: a rendered answer parses back to itself")
  @MethodSource("formats")
  void aRenderedAnswerParsesBackToItself(Endpoint endpoint, boolean stream) {
    for (Answer answer : List.of(ANSWER, new Answer("", "m", "stop", 0, 0), new Answer("ok", "m", "stop", 1, 1))) {
      byte[] body = rendered(endpoint, stream, answer);

      assertThat(Answers.parse(endpoint, stream, body)).isEqualTo(answer);
      assertThat(Answers.complete(endpoint, stream, body)).isTrue();
      assertThat(Answers.usage(endpoint, stream, body))
          .containsExactly(answer.promptTokens(), answer.completionTokens());
    }
  }

  @ParameterizedTest(name = "{0} stream={1}: a body cut anywhere before its end is incomplete and no answer")
  @MethodSource("formats")
  void aBodyCutAnywhereBeforeItsEndIsIncompleteAndNoAnswer(Endpoint endpoint, boolean stream) {
    byte[] body = rendered(endpoint, stream, ANSWER);
    int end = body.length;
    while (end > 0 && body[end - 1] == '\n') end--; // the last record without its newline is still whole

    for (int cut = 0; cut < end; cut++) {
      byte[] prefix = java.util.Arrays.copyOf(body, cut);
      assertThat(Answers.complete(endpoint, stream, prefix)).as("complete at %d of %d", cut, end).isFalse();
      assertThat(Answers.parse(endpoint, stream, prefix)).as("parse at %d of %d", cut, end).isNull();
    }
  }

  @ParameterizedTest(name = "{0}: a stream replays in a few pieces of words")
  @EnumSource(value = Endpoint.class, names = {"OPENAI_CHAT", "OPENAI_COMPLETIONS", "OLLAMA_CHAT", "OLLAMA_GENERATE"})
  void aStreamReplaysInAFewPiecesOfWords(Endpoint endpoint) {
    List<Buffer> events = Answers.render(endpoint, true, false, ANSWER, "chatcmpl-1", CREATED);

    int overhead = endpoint == Endpoint.OPENAI_CHAT ? 3 : endpoint == Endpoint.OPENAI_COMPLETIONS ? 2 : 1;
    assertThat(events.size() - overhead).isBetween(4, 16);
    for (Buffer event : events) {
      String text = event.toString(StandardCharsets.UTF_8);
      if (endpoint.flavor() == ApiFlavor.OPENAI) assertThat(text).startsWith("data: ").endsWith("\n\n");
      else assertThat(text).endsWith("\n").doesNotContain("\n\n");
    }
  }

  static Stream<Arguments> texts() {
    return Stream.of(
        Arguments.of("short", "Hi."),
        Arguments.of("words", "The quick brown fox jumps over the lazy dog and keeps running far away. ".repeat(3)),
        Arguments.of("CJK without spaces", "这是一个没有空格的中文句子，用来测试按长度切分。".repeat(4)),
        Arguments.of("emoji at every position", "🚀".repeat(100)),
        Arguments.of("long", "word ".repeat(5_000)),
        Arguments.of("whitespace runs", "a  \n\n  b\t\tc   " .repeat(20)));
  }

  @ParameterizedTest(name = "{0} text: pieces concatenate to the content and never split a character")
  @MethodSource("texts")
  void piecesConcatenateToTheContentAndNeverSplitACharacter(String name, String content) {
    List<String> pieces = Answers.pieces(content);

    assertThat(String.join("", pieces)).isEqualTo(content);
    assertThat(pieces.size()).isLessThanOrEqualTo(Answers.MAX_PIECES + 4);
    for (String piece : pieces) {
      assertThat(piece).isNotEmpty();
      assertThat(Character.isLowSurrogate(piece.charAt(0))).as(piece).isFalse();
      assertThat(Character.isHighSurrogate(piece.charAt(piece.length() - 1))).as(piece).isFalse();
    }
  }

  @Test
  void theOpenAiChatBodyHasExactlyTheFieldsClientsExpect() throws Exception {
    JsonNode body = Json.MAPPER.readTree(rendered(Endpoint.OPENAI_CHAT, false, ANSWER));

    assertThat(fieldNames(body)).containsExactly("id", "object", "created", "model", "choices", "usage",
        "system_fingerprint");
    assertThat(body.get("id").asText()).isEqualTo("chatcmpl-1");
    assertThat(body.get("object").asText()).isEqualTo("chat.completion");
    assertThat(body.get("created").asLong()).isEqualTo(CREATED);
    assertThat(body.get("model").asText()).isEqualTo("qwen3:32b");
    assertThat(body.get("system_fingerprint").isNull()).isTrue();
    JsonNode choice = body.get("choices").get(0);
    assertThat(fieldNames(choice)).containsExactly("index", "message", "logprobs", "finish_reason");
    assertThat(choice.get("index").asInt()).isZero();
    assertThat(choice.get("logprobs").isNull()).isTrue();
    assertThat(choice.get("finish_reason").asText()).isEqualTo("length");
    assertThat(fieldNames(choice.get("message"))).containsExactly("role", "content", "refusal");
    assertThat(choice.get("message").get("role").asText()).isEqualTo("assistant");
    assertThat(choice.get("message").get("content").asText()).isEqualTo(ANSWER.content());
    assertThat(choice.get("message").get("refusal").isNull()).isTrue();
    assertThat(body.get("usage").get("prompt_tokens").asInt()).isEqualTo(31);
    assertThat(body.get("usage").get("completion_tokens").asInt()).isEqualTo(42);
    assertThat(body.get("usage").get("total_tokens").asInt()).isEqualTo(73);
  }

  @Test
  void theOpenAiChatStreamStartsWithTheRoleEndsWithFinishUsageAndDone() throws Exception {
    List<Buffer> events = Answers.render(Endpoint.OPENAI_CHAT, true, true, ANSWER, "chatcmpl-1", CREATED);

    assertThat(events.get(events.size() - 1).toString()).isEqualTo("data: [DONE]\n\n");
    List<JsonNode> chunks = new ArrayList<>();
    for (Buffer event : events.subList(0, events.size() - 1)) {
      chunks.add(Json.MAPPER.readTree(event.toString(StandardCharsets.UTF_8).substring("data: ".length())));
    }
    for (JsonNode chunk : chunks) {
      assertThat(chunk.get("object").asText()).isEqualTo("chat.completion.chunk");
      assertThat(chunk.get("id").asText()).isEqualTo("chatcmpl-1");
      assertThat(chunk.get("created").asLong()).isEqualTo(CREATED);
    }
    JsonNode first = chunks.get(0).get("choices").get(0);
    assertThat(first.get("delta").toString()).isEqualTo("{\"role\":\"assistant\",\"content\":\"\"}");
    assertThat(first.get("finish_reason").isNull()).isTrue();
    JsonNode finish = chunks.get(chunks.size() - 2);
    assertThat(finish.get("choices").get(0).get("delta").toString()).isEqualTo("{}");
    assertThat(finish.get("choices").get(0).get("finish_reason").asText()).isEqualTo("length");
    assertThat(finish.get("usage").isNull()).isTrue();
    JsonNode usage = chunks.get(chunks.size() - 1);
    assertThat(usage.get("choices")).isEmpty();
    assertThat(usage.get("usage").get("total_tokens").asInt()).isEqualTo(73);
  }

  @Test
  void withoutIncludeUsageAStreamHasNoUsageChunk() {
    byte[] body = bytes(Answers.render(Endpoint.OPENAI_CHAT, true, false, ANSWER, "chatcmpl-1", CREATED));

    assertThat(new String(body, StandardCharsets.UTF_8)).doesNotContain("usage");
    Answer parsed = Answers.parse(Endpoint.OPENAI_CHAT, true, body);
    assertThat(parsed.content()).isEqualTo(ANSWER.content());
    assertThat(parsed.promptTokens()).isZero();
    assertThat(Answers.usage(Endpoint.OPENAI_CHAT, true, body)).containsExactly(-1, -1);
  }

  @Test
  void ollamaBodiesHaveTheirApisFields() throws Exception {
    JsonNode chat = Json.MAPPER.readTree(rendered(Endpoint.OLLAMA_CHAT, false, ANSWER));
    assertThat(fieldNames(chat)).containsExactly("model", "created_at", "message", "done", "done_reason",
        "total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration");
    assertThat(chat.get("created_at").asText()).isEqualTo("2026-09-21T14:13:20Z");
    assertThat(chat.get("message").toString())
        .isEqualTo("{\"role\":\"assistant\",\"content\":" + Json.MAPPER.writeValueAsString(ANSWER.content()) + "}");

    List<Buffer> lines = Answers.render(Endpoint.OLLAMA_GENERATE, true, false, ANSWER, null, CREATED);
    JsonNode piece = Json.MAPPER.readTree(lines.get(0).toString(StandardCharsets.UTF_8));
    assertThat(fieldNames(piece)).containsExactly("model", "created_at", "response", "done");
    JsonNode last = Json.MAPPER.readTree(lines.get(lines.size() - 1).toString(StandardCharsets.UTF_8));
    assertThat(last.get("response").asText()).isEmpty();
    assertThat(last.get("done").asBoolean()).isTrue();
    assertThat(last.get("eval_count").asInt()).isEqualTo(42);
  }

  @Test
  void contentTypesFollowTheApiAndStreaming() {
    assertThat(Answers.contentType(Endpoint.OPENAI_CHAT, false)).isEqualTo("application/json");
    assertThat(Answers.contentType(Endpoint.OPENAI_COMPLETIONS, true)).isEqualTo("text/event-stream");
    assertThat(Answers.contentType(Endpoint.OLLAMA_GENERATE, false)).isEqualTo("application/json");
    assertThat(Answers.contentType(Endpoint.OLLAMA_CHAT, true)).isEqualTo("application/x-ndjson");
  }

  static Stream<Arguments> notAnswers() {
    String openAiError = ApiFlavor.OPENAI.errorBody(ErrorKind.values()[0], "boom", null).toString();
    String ollamaError = ApiFlavor.OLLAMA.errorBody(ErrorKind.values()[0], "boom", null).toString();
    String chunk = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
        + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
    String line = "{\"model\":\"m\",\"created_at\":\"x\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},"
        + "\"done\":false}\n";
    return Stream.of(
        Arguments.of("OpenAI error body", Endpoint.OPENAI_CHAT, false, openAiError),
        Arguments.of("Ollama error body", Endpoint.OLLAMA_CHAT, false, ollamaError),
        Arguments.of("vLLM error event before [DONE]", Endpoint.OPENAI_CHAT, true,
            chunk + "data: {\"error\":{\"message\":\"boom\",\"type\":\"BadRequestError\",\"code\":400}}\n\ndata: [DONE]\n\n"),
        Arguments.of("error event first", Endpoint.OPENAI_COMPLETIONS, true,
            "data: {\"error\":{\"message\":\"boom\"}}\n\ndata: [DONE]\n\n"),
        Arguments.of("the gateway's own error event", Endpoint.OPENAI_CHAT, true,
            chunk + ApiFlavor.OPENAI.streamErrorEvent(ErrorKind.values()[0], "node lost")),
        Arguments.of("Ollama error line", Endpoint.OLLAMA_CHAT, true, line + ollamaError + "\n"),
        Arguments.of("only [DONE]", Endpoint.OPENAI_CHAT, true, "data: [DONE]\n\n"),
        Arguments.of("empty stream", Endpoint.OLLAMA_GENERATE, true, ""),
        Arguments.of("not JSON", Endpoint.OPENAI_CHAT, false, "<html>502 Bad Gateway</html>"),
        Arguments.of("a JSON array", Endpoint.OLLAMA_CHAT, false, "[1,2]"),
        Arguments.of("trailing garbage", Endpoint.OPENAI_CHAT, false, "{\"choices\":[]} x"));
  }

  @ParameterizedTest(name = "{0} is neither complete nor an answer")
  @MethodSource("notAnswers")
  void errorsAndBrokenBodiesAreNeitherCompleteNorAnswers(String name, Endpoint endpoint, boolean stream, String body) {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);

    assertThat(Answers.complete(endpoint, stream, bytes)).isFalse();
    assertThat(Answers.parse(endpoint, stream, bytes)).isNull();
  }

  static Stream<Arguments> notTextAnswers() {
    return Stream.of(
        Arguments.of("OpenAI tool calls", Endpoint.OPENAI_CHAT, false,
            "{\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
                + "\"tool_calls\":[{\"id\":\"t\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
                + "\"finish_reason\":\"tool_calls\"}]}"),
        Arguments.of("streamed tool calls", Endpoint.OPENAI_CHAT, true,
            "data: {\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t\"}]},"
                + "\"finish_reason\":null}]}\n\ndata: [DONE]\n\n"),
        Arguments.of("Ollama tool calls", Endpoint.OLLAMA_CHAT, false,
            "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":"
                + "{\"name\":\"f\",\"arguments\":{}}}]},\"done\":true}"),
        Arguments.of("two choices", Endpoint.OPENAI_COMPLETIONS, false,
            "{\"model\":\"m\",\"choices\":[{\"index\":0,\"text\":\"a\"},{\"index\":1,\"text\":\"b\"}]}"),
        Arguments.of("a refusal", Endpoint.OPENAI_CHAT, false,
            "{\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
                + "\"refusal\":\"no\"},\"finish_reason\":\"stop\"}]}"));
  }

  @ParameterizedTest(name = "{0} is not a plain text answer")
  @MethodSource("notTextAnswers")
  void answersAClientCouldNotGetBackFromTextAreNotParsed(String name, Endpoint endpoint, boolean stream, String body) {
    assertThat(Answers.parse(endpoint, stream, body.getBytes(StandardCharsets.UTF_8))).isNull();
  }

  @ParameterizedTest(name = "{0} stream={1}: the simulator's answer parses to its content and usage")
  @MethodSource("formats")
  void theSimulatorsAnswerParsesToItsContentAndUsage(Endpoint endpoint, boolean stream) throws Exception {
    byte[] whole = call(endpoint, false);
    byte[] body = stream ? call(endpoint, true) : whole;
    JsonNode reference = Json.MAPPER.readTree(whole);

    Answer answer = Answers.parse(endpoint, stream, body);

    assertThat(Answers.complete(endpoint, stream, body)).isTrue();
    assertThat(answer).isNotNull();
    assertThat(answer.model()).isEqualTo("qwen3:32b");
    assertThat(answer.finishReason()).isEqualTo("length");
    assertThat(answer.content()).isNotBlank().isEqualTo(switch (endpoint) {
      case OPENAI_CHAT -> reference.at("/choices/0/message/content").asText();
      case OPENAI_COMPLETIONS -> reference.at("/choices/0/text").asText();
      case OLLAMA_CHAT -> reference.at("/message/content").asText();
      default -> reference.at("/response").asText();
    });
    int prompt = endpoint.flavor() == ApiFlavor.OPENAI
        ? reference.at("/usage/prompt_tokens").asInt() : reference.at("/prompt_eval_count").asInt();
    assertThat(prompt).isPositive();
    assertThat(answer.promptTokens()).isEqualTo(prompt);
    assertThat(answer.completionTokens()).isEqualTo(12);
    assertThat(Answers.usage(endpoint, stream, body)).containsExactly(prompt, 12);
  }

  @Test
  void embeddingsAreNoAnswerButTheirUsageCounts() throws Exception {
    byte[] openAi = post("/v1/embeddings", "{\"model\":\"qwen3:32b\",\"input\":\"Hello there!\"}");
    byte[] ollama = post("/api/embed", "{\"model\":\"qwen3:32b\",\"input\":\"Hello there!\"}");

    assertThat(Answers.parse(Endpoint.OPENAI_EMBEDDINGS, false, openAi)).isNull();
    assertThat(Answers.parse(Endpoint.OLLAMA_EMBED, false, ollama)).isNull();
    assertThat(Answers.complete(Endpoint.OPENAI_EMBEDDINGS, false, openAi)).isTrue();
    assertThat(Answers.usage(Endpoint.OPENAI_EMBEDDINGS, false, openAi)[0]).isPositive();
    assertThat(Answers.usage(Endpoint.OLLAMA_EMBED, false, ollama)[0]).isPositive();
  }

  @Test
  void renderingForAnEndpointWithoutAnswersIsRefused() {
    assertThatThrownBy(() -> Answers.render(Endpoint.OPENAI_EMBEDDINGS, false, false, ANSWER, "x", CREATED))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("/v1/embeddings");
  }

  private static byte[] call(Endpoint endpoint, boolean stream) throws Exception {
    String input = endpoint == Endpoint.OPENAI_CHAT || endpoint == Endpoint.OLLAMA_CHAT
        ? "\"messages\":[{\"role\":\"user\",\"content\":\"Hello there!\"}]" : "\"prompt\":\"Hello there!\"";
    String limit = endpoint.flavor() == ApiFlavor.OPENAI
        ? "\"max_tokens\":12" + (stream ? ",\"stream_options\":{\"include_usage\":true}" : "")
        : "\"options\":{\"num_predict\":12}";
    return post(endpoint.path(), "{\"model\":\"qwen3:32b\"," + input + "," + limit + ",\"stream\":" + stream + "}");
  }

  private static byte[] post(String path, String body) throws Exception {
    HttpResponse<byte[]> response = HTTP.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + path))
        .timeout(Duration.ofSeconds(10)).header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofByteArray());
    assertThat(response.statusCode()).as(new String(response.body(), StandardCharsets.UTF_8)).isEqualTo(200);
    return response.body();
  }

  private static byte[] rendered(Endpoint endpoint, boolean stream, Answer answer) {
    String id = endpoint == Endpoint.OPENAI_COMPLETIONS ? "cmpl-1" : "chatcmpl-1";
    return bytes(Answers.render(endpoint, stream, true, answer, id, CREATED));
  }

  private static byte[] bytes(List<Buffer> buffers) {
    Buffer all = Buffer.buffer();
    buffers.forEach(all::appendBuffer);
    return all.getBytes();
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) names.add(it.next());
    return names;
  }

  @org.junit.jupiter.api.Test
  void usageIsFoundInTheTailOfAnswersOfEitherApiAndNeverInsideGeneratedText() {
    byte[] openAi = ("{\"choices\":[{\"message\":{\"content\":\"say \\\"prompt_tokens\\\": 99\"}}],"
        + "\"usage\":{\"prompt_tokens\": 12,\"completion_tokens\":7,\"total_tokens\":19}}").getBytes();
    assertThat(Answers.usageInTail(ApiFlavor.OPENAI, openAi)).containsExactly(12, 7);
    byte[] sse = ("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":null}\n\n"
        + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}\n\ndata: [DONE]\n\n").getBytes();
    assertThat(Answers.usageInTail(ApiFlavor.OPENAI, sse)).containsExactly(5, 3);
    byte[] ollama = "{\"done\":false}\n{\"done\":true,\"prompt_eval_count\":26,\"eval_count\":290}\n".getBytes();
    assertThat(Answers.usageInTail(ApiFlavor.OLLAMA, ollama)).containsExactly(26, 290);
    assertThat(Answers.usageInTail(ApiFlavor.OPENAI, "data: {\"x\":1}\n\n".getBytes())).containsExactly(-1, -1);
    assertThat(Answers.usageInTail(ApiFlavor.OPENAI, null)).containsExactly(-1, -1);
  }
}
