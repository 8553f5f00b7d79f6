package dev.sluice.api;

import static dev.sluice.api.AnswerFixtures.ANSWER;
import static dev.sluice.api.AnswerFixtures.CREATED;
import static dev.sluice.api.AnswerFixtures.rendered;
import static dev.sluice.api.AnswerFixtures.request;
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
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** The contract every dialect that answers keeps: what it renders parses back, and broken bodies are no answers. */
class DialectsTest {
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

      assertThat(endpoint.dialect().parse(stream, body)).isEqualTo(answer);
      assertThat(endpoint.dialect().complete(stream, body)).isTrue();
      assertThat(endpoint.dialect().usage(body)).isEqualTo(new Usage(answer.promptTokens(), answer.completionTokens()));
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
      assertThat(endpoint.dialect().complete(stream, prefix)).as("complete at %d of %d", cut, end).isFalse();
      assertThat(endpoint.dialect().parse(stream, prefix)).as("parse at %d of %d", cut, end).isNull();
    }
  }

  @ParameterizedTest(name = "{0}: a stream replays in a few pieces of words")
  @EnumSource(value = Endpoint.class, names = {"OPENAI_CHAT", "OPENAI_COMPLETIONS", "OLLAMA_CHAT", "OLLAMA_GENERATE"})
  void aStreamReplaysInAFewPiecesOfWords(Endpoint endpoint) {
    List<Buffer> events = endpoint.dialect().render(request(false), true, ANSWER, "1", CREATED);

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
    List<String> pieces = Bodies.pieces(content);

    assertThat(String.join("", pieces)).isEqualTo(content);
    assertThat(pieces.size()).isLessThanOrEqualTo(Bodies.MAX_PIECES + 4);
    for (String piece : pieces) {
      assertThat(piece).isNotEmpty();
      assertThat(Character.isLowSurrogate(piece.charAt(0))).as(piece).isFalse();
      assertThat(Character.isHighSurrogate(piece.charAt(piece.length() - 1))).as(piece).isFalse();
    }
  }

  @Test
  void contentTypesFollowTheApiAndStreaming() {
    assertThat(Endpoint.OPENAI_CHAT.dialect().contentType(false)).isEqualTo("application/json");
    assertThat(Endpoint.OPENAI_COMPLETIONS.dialect().contentType(true)).isEqualTo("text/event-stream");
    assertThat(Endpoint.OLLAMA_GENERATE.dialect().contentType(false)).isEqualTo("application/json");
    assertThat(Endpoint.OLLAMA_CHAT.dialect().contentType(true)).isEqualTo("application/x-ndjson");
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

    assertThat(endpoint.dialect().complete(stream, bytes)).isFalse();
    assertThat(endpoint.dialect().parse(stream, bytes)).isNull();
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
    assertThat(endpoint.dialect().parse(stream, body.getBytes(StandardCharsets.UTF_8))).isNull();
  }

  @ParameterizedTest(name = "{0} stream={1}: the simulator's answer parses to its content and usage")
  @MethodSource("formats")
  void theSimulatorsAnswerParsesToItsContentAndUsage(Endpoint endpoint, boolean stream) throws Exception {
    byte[] whole = call(endpoint, false);
    byte[] body = stream ? call(endpoint, true) : whole;
    JsonNode reference = Json.MAPPER.readTree(whole);

    Answer answer = endpoint.dialect().parse(stream, body);

    assertThat(endpoint.dialect().complete(stream, body)).isTrue();
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
    assertThat(endpoint.dialect().usage(body)).isEqualTo(new Usage(prompt, 12));
  }

  @Test
  void embeddingsAreNoAnswerButTheirUsageCounts() throws Exception {
    byte[] openAi = post("/v1/embeddings", "{\"model\":\"qwen3:32b\",\"input\":\"Hello there!\"}");
    byte[] ollama = post("/api/embed", "{\"model\":\"qwen3:32b\",\"input\":\"Hello there!\"}");

    assertThat(Endpoint.OPENAI_EMBEDDINGS.dialect().parse(false, openAi)).isNull();
    assertThat(Endpoint.OLLAMA_EMBED.dialect().parse(false, ollama)).isNull();
    assertThat(Endpoint.OPENAI_EMBEDDINGS.dialect().complete(false, openAi)).isTrue();
    assertThat(Endpoint.OPENAI_EMBEDDINGS.dialect().usage(openAi).promptTokens()).isPositive();
    assertThat(Endpoint.OLLAMA_EMBED.dialect().usage(ollama).promptTokens()).isPositive();
  }

  @Test
  void renderingForAnEndpointWithoutAnswersIsRefused() {
    assertThatThrownBy(() -> Endpoint.OPENAI_EMBEDDINGS.dialect().render(request(false), false, ANSWER, "x", CREATED))
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

  @Test
  void usageIsFoundInTheTailOfAnswersOfEitherApiAndNeverInsideGeneratedText() {
    Dialect openAi = Endpoint.OPENAI_CHAT.dialect();
    byte[] whole = ("{\"choices\":[{\"message\":{\"content\":\"say \\\"prompt_tokens\\\": 99\"}}],"
        + "\"usage\":{\"prompt_tokens\": 12,\"completion_tokens\":7,\"total_tokens\":19}}").getBytes();
    assertThat(openAi.usage(whole)).isEqualTo(new Usage(12, 7));
    byte[] sse = ("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":null}\n\n"
        + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}\n\ndata: [DONE]\n\n").getBytes();
    assertThat(openAi.usage(sse)).isEqualTo(new Usage(5, 3));
    byte[] ollama = "{\"done\":false}\n{\"done\":true,\"prompt_eval_count\":26,\"eval_count\":290}\n".getBytes();
    assertThat(Endpoint.OLLAMA_CHAT.dialect().usage(ollama)).isEqualTo(new Usage(26, 290));
    assertThat(openAi.usage("data: {\"x\":1}\n\n".getBytes())).isEqualTo(Usage.UNKNOWN);
    assertThat(openAi.usage(null)).isEqualTo(Usage.UNKNOWN);
  }

  @Test
  void cachedPromptTokensAreReadFromTheUsageObjectOnly() {
    Dialect openAi = Endpoint.OPENAI_CHAT.dialect();
    byte[] cached = ("{\"choices\":[],\"usage\":{\"prompt_tokens\":1200,\"completion_tokens\":7,"
        + "\"prompt_tokens_details\":{\"cached_tokens\":1024}}}").getBytes();
    assertThat(openAi.usage(cached)).isEqualTo(new Usage(1200, 7, 1024));
    // a "cached_tokens" far before the usage object (say, an echoed tool schema) is not this answer's count
    byte[] far = ("{\"tools\":[{\"cached_tokens\":5}],\"pad\":\"" + "x".repeat(4000) + "\","
        + "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":7}}").getBytes();
    assertThat(openAi.usage(far)).isEqualTo(new Usage(12, 7, -1));
  }
}
