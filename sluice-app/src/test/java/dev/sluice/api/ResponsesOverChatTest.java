package dev.sluice.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.helpers.ResponseAccumulator;
import com.openai.models.Reasoning;
import com.openai.models.ReasoningEffort;
import com.openai.models.responses.EasyInputMessage;
import com.openai.models.responses.FunctionTool;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseFunctionToolCall;
import com.openai.models.responses.ResponseInputItem;
import com.openai.models.responses.ResponseOutputItem;
import com.openai.models.responses.ResponseStreamEvent;
import com.openai.models.responses.ToolChoiceOptions;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.support.Json;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * OpenAI Responses carried over chat completions: the chat request made of a Responses request, what cannot be
 * carried refused, the chat answer and stream as Responses, and (the core) the same answers as a node's own
 * {@code /v1/responses} for the same request, read by openai-java.
 */
class ResponsesOverChatTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2)).build();
  private static final String SEARCH_SCHEMA = """
      {"type":"object","properties":{
        "query":{"type":"string","minLength":3},
        "max_results":{"type":"integer","minimum":1,"maximum":20}},
       "required":["query","max_results"]}""";

  private static Vertx vertx;
  private static SimNode node;
  private static HttpServer translator;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    node = SimNode.start(vertx, SimOptions.defaults().withTimeScale(0)).await();
    translator = vertx.createHttpServer().requestHandler(ResponsesOverChatTest::translate)
        .listen(0, "127.0.0.1").await();
  }

  @AfterAll
  static void stop() {
    translator.close().await();
    node.close().await();
    vertx.close().await();
  }

  // ---------------------------------------------------------------- the request

  private static JsonNode chat(String responsesRequest) throws Exception {
    return Json.MAPPER.readTree(translation(responsesRequest).chatRequest().getBytes());
  }

  private static ChatTranslation translation(String body) throws ApiException {
    ParsedRequest parsed = RequestValidator.parse(Endpoint.OPENAI_RESPONSES, Buffer.buffer(body));
    Dialect dialect = Endpoint.OPENAI_RESPONSES.dialect();
    return dialect.overChat(dialect.prepare(parsed));
  }

  private static ApiException refusal(String body) {
    try {
      translation(body);
    } catch (ApiException e) {
      return e;
    }
    throw new AssertionError("carried: " + body);
  }

  @Test
  void instructionsAndInputItemsBecomeChatMessagesInOrder() throws Exception {
    JsonNode chat = chat("""
        {"model":"qwen3:32b","instructions":"Be brief.","store":true,"metadata":{"k":"v"},"input":[
          {"role":"developer","content":"Use tools."},
          {"type":"message","role":"user","content":[{"type":"input_text","text":"Look at "},
            {"type":"input_text","text":"this."},{"type":"input_image","image_url":"https://x/y.png","detail":"low"}]},
          {"type":"reasoning","id":"rs_1","summary":[],"content":[{"type":"reasoning_text","text":"Search first."}]},
          {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Searching."}]},
          {"type":"function_call","call_id":"call_a","name":"search","arguments":"{\\"q\\":\\"a\\"}"},
          {"type":"function_call","call_id":"call_b","name":"search","arguments":"{\\"q\\":\\"b\\"}"},
          {"type":"function_call_output","call_id":"call_a","output":"A"},
          {"type":"function_call_output","call_id":"call_b","output":[{"type":"input_text","text":"B"}]},
          {"role":"user","content":"Thanks"}]}""");

    assertThat(chat).isEqualTo(Json.MAPPER.readTree("""
        {"model":"qwen3:32b","messages":[
          {"role":"system","content":"Be brief."},
          {"role":"system","content":"Use tools."},
          {"role":"user","content":[{"type":"text","text":"Look at "},{"type":"text","text":"this."},
            {"type":"image_url","image_url":{"url":"https://x/y.png","detail":"low"}}]},
          {"role":"assistant","content":"Searching.","reasoning_content":"Search first.","tool_calls":[
            {"id":"call_a","type":"function","function":{"name":"search","arguments":"{\\"q\\":\\"a\\"}"}},
            {"id":"call_b","type":"function","function":{"name":"search","arguments":"{\\"q\\":\\"b\\"}"}}]},
          {"role":"tool","tool_call_id":"call_a","content":"A"},
          {"role":"tool","tool_call_id":"call_b","content":"B"},
          {"role":"user","content":"Thanks"}]}"""));
  }

  @Test
  void toolsFormatReasoningAndSamplingAreTranslatedAndStreamsAskForUsage() throws Exception {
    JsonNode chat = chat("""
        {"model":"m","input":"Hi","stream":true,"max_output_tokens":300,"temperature":0.2,"top_p":0.9,
         "tools":[{"type":"function","name":"f","description":"d","parameters":{"type":"object"},"strict":true},
                  {"type":"function","name":"g","parameters":{"type":"object"},"strict":false}],
         "tool_choice":{"type":"function","name":"f"},"parallel_tool_calls":false,
         "text":{"format":{"type":"json_schema","name":"out","schema":{"type":"object"},"strict":true}},
         "reasoning":{"effort":"high","summary":"auto"},"safety_identifier":"u-1",
         "include":["reasoning.encrypted_content"],"truncation":"disabled","service_tier":"auto",
         "prompt_cache_key":"k"}""");

    assertThat(chat).isEqualTo(Json.MAPPER.readTree("""
        {"model":"m","messages":[{"role":"user","content":"Hi"}],
         "tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object"},
                   "strict":true}},
                  {"type":"function","function":{"name":"g","parameters":{"type":"object"}}}],
         "tool_choice":{"type":"function","function":{"name":"f"}},"parallel_tool_calls":false,
         "max_tokens":300,"temperature":0.2,"top_p":0.9,
         "response_format":{"type":"json_schema","json_schema":{"name":"out","schema":{"type":"object"},
                            "strict":true}},
         "chat_template_kwargs":{"enable_thinking":true},"reasoning_effort":"high","user":"u-1",
         "stream":true,"stream_options":{"include_usage":true}}"""));
    assertThat(chat("{\"model\":\"m\",\"input\":\"x\",\"reasoning\":{\"effort\":\"minimal\"},"
        + "\"text\":{\"format\":{\"type\":\"json_object\"}}}")).isEqualTo(Json.MAPPER.readTree(
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
            + "\"response_format\":{\"type\":\"json_object\"},\"chat_template_kwargs\":{\"enable_thinking\":false}}"));
  }

  @Test
  void whatChatCompletionsCannotCarryIsRefusedNamingTheFieldAndTheFix() {
    Map<String, String> refused = Map.ofEntries(
        Map.entry("\"tools\":[{\"type\":\"web_search\"}]", "tools"),
        Map.entry("\"tool_choice\":{\"type\":\"file_search\"}", "tool_choice"),
        Map.entry("\"truncation\":\"auto\"", "truncation"),
        Map.entry("\"include\":[\"message.output_text.logprobs\"]", "include"),
        Map.entry("\"top_logprobs\":3", "top_logprobs"),
        Map.entry("\"max_tool_calls\":2", "max_tool_calls"),
        Map.entry("\"text\":{\"verbosity\":\"low\"}", "text"),
        Map.entry("\"reasoning\":{\"effort\":\"extreme\"}", "reasoning"),
        Map.entry("\"frobnicate\":1", "frobnicate"));
    refused.forEach((field, param) -> {
      ApiException e = refusal("{\"model\":\"m\",\"input\":\"x\"," + field + "}");
      assertThat(e.param()).as(field).isEqualTo(param);
      assertThat(e.kind().status()).isEqualTo(400);
    });
    List<String> items = List.of(
        "{\"type\":\"item_reference\",\"id\":\"msg_1\"}",
        "{\"type\":\"web_search_call\",\"id\":\"ws_1\",\"status\":\"completed\"}",
        "{\"type\":\"mcp_call\",\"id\":\"mcp_1\"}",
        "{\"role\":\"user\",\"content\":[{\"type\":\"input_file\",\"file_id\":\"file_1\"}]}",
        "{\"role\":\"user\",\"content\":[{\"type\":\"input_image\",\"file_id\":\"file_1\"}]}",
        "{\"role\":\"tool\",\"content\":\"x\"}",
        "{\"type\":\"reasoning\",\"summary\":[],\"encrypted_content\":\"gAAAA\"}");
    for (String item : items) {
      ApiException e = refusal("{\"model\":\"m\",\"input\":[" + item + "]}");
      assertThat(e.param()).as(item).isEqualTo("input");
      assertThat(e.getMessage()).as(item).contains("input[0]");
    }
    assertThat(refusal("{\"model\":\"m\",\"input\":[{\"type\":\"item_reference\",\"id\":\"msg_1\"}]}").getMessage())
        .contains("\"item_reference\"").contains("/v1/responses");
    assertThat(refusal("{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":\"code_interpreter\"}]}").getMessage())
        .contains("function tools only");
  }

  @Test
  void anEmptyReasoningItemAndATrailingOneCarryNothing() throws Exception {
    JsonNode chat = chat("{\"model\":\"m\",\"input\":[{\"type\":\"reasoning\",\"summary\":[]},"
        + "{\"role\":\"user\",\"content\":\"x\"},{\"type\":\"reasoning\",\"summary\":[{\"type\":\"summary_text\","
        + "\"text\":\"s\"}]}]}");

    assertThat(chat.get("messages")).isEqualTo(Json.MAPPER.readTree("[{\"role\":\"user\",\"content\":\"x\"}]"));
  }

  // ---------------------------------------------------------------- the answer

  @Test
  void aChatCompletionBecomesReasoningMessageAndFunctionCallItemsWithUsage() throws Exception {
    ChatTranslation t = translation("{\"model\":\"m\",\"input\":\"x\",\"metadata\":{\"k\":\"v\"}}");

    JsonNode response = Json.MAPPER.readTree(t.answer(("""
        {"id":"chatcmpl-42","object":"chat.completion","created":1790000000,"model":"m","choices":[{"index":0,
         "message":{"role":"assistant","content":"Let me look.","reasoning":"Think.","tool_calls":[
          {"id":"call_x","type":"function","function":{"name":"f","arguments":"{\\"a\\":1}"}}]},
         "finish_reason":"length"}],
         "usage":{"prompt_tokens":100,"completion_tokens":20,"total_tokens":120,
                  "prompt_tokens_details":{"cached_tokens":64}}}""").getBytes(StandardCharsets.UTF_8)).getBytes());

    assertThat(response.get("id").asText()).isEqualTo("resp_42");
    assertThat(response.get("status").asText()).isEqualTo("incomplete");
    assertThat(response.get("incomplete_details").get("reason").asText()).isEqualTo("max_output_tokens");
    assertThat(response.get("store").asBoolean(true)).isFalse();
    assertThat(response.get("metadata").get("k").asText()).isEqualTo("v");
    JsonNode output = response.get("output");
    assertThat(output.get(0).get("type").asText()).isEqualTo("reasoning");
    assertThat(output.get(0).get("content").get(0).get("text").asText()).isEqualTo("Think.");
    assertThat(output.get(1).get("type").asText()).isEqualTo("message");
    assertThat(output.get(1).get("content").get(0).get("text").asText()).isEqualTo("Let me look.");
    assertThat(output.get(2).get("type").asText()).isEqualTo("function_call");
    assertThat(output.get(2).get("call_id").asText()).isEqualTo("call_x");
    assertThat(output.get(2).get("arguments").asText()).isEqualTo("{\"a\":1}");
    assertThat(output.get(2).get("id").asText()).startsWith("fc_");
    assertThat(Endpoint.OPENAI_RESPONSES.dialect().usage(Bodies.bytes(response))).isEqualTo(new Usage(100, 20, 64));
    assertThat(t.answer("{\"choices\":\"no\"}".getBytes(StandardCharsets.UTF_8)).toString())
        .contains("\"error\"").contains("not a chat completion");
  }

  @Test
  void nodeErrorsKeepTheirMessageInOpenAisShape() throws Exception {
    ChatTranslation t = translation("{\"model\":\"m\",\"input\":\"x\"}");
    String openAi = "{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\",\"param\":\"x\","
        + "\"code\":null}}";

    assertThat(t.error(400, openAi.getBytes(StandardCharsets.UTF_8)).toString()).isEqualTo(openAi);
    JsonNode vllm = Json.MAPPER.readTree(t.error(400, ("{\"object\":\"error\",\"message\":\"too long\","
        + "\"type\":\"BadRequestError\",\"param\":\"messages\",\"code\":400}").getBytes(StandardCharsets.UTF_8))
        .getBytes());
    assertThat(vllm.get("error").get("message").asText()).isEqualTo("too long");
    assertThat(vllm.get("error").get("param").asText()).isEqualTo("messages");
    assertThat(vllm.get("error").get("type").asText()).isEqualTo("invalid_request_error");
    JsonNode ollama = Json.MAPPER.readTree(t.error(404, "{\"error\":\"model 'x' not found\"}"
        .getBytes(StandardCharsets.UTF_8)).getBytes());
    assertThat(ollama.get("error").get("message").asText()).isEqualTo("model 'x' not found");
    JsonNode text = Json.MAPPER.readTree(t.error(502, "<html>Bad Gateway</html>".repeat(100)
        .getBytes(StandardCharsets.UTF_8)).getBytes());
    assertThat(text.get("error").get("message").asText()).startsWith("the node answered 502: <html>")
        .hasSizeLessThan(600);
  }

  // ---------------------------------------------------------------- the stream

  private static String chunk(String delta, String finish) {
    return "data: {\"id\":\"chatcmpl-7\",\"object\":\"chat.completion.chunk\",\"created\":1790000000,\"model\":\"m\","
        + "\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"finish_reason\":" + finish + "}]}\n\n";
  }

  private static final String USAGE = "data: {\"id\":\"chatcmpl-7\",\"object\":\"chat.completion.chunk\","
      + "\"choices\":[],"
      + "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}\n\n";

  private static List<JsonNode> events(Buffer out) throws Exception {
    List<JsonNode> events = new ArrayList<>();
    for (String event : out.toString(StandardCharsets.UTF_8).split("\n\n")) {
      if (event.isEmpty()) continue;
      String[] lines = event.split("\n");
      JsonNode data = Json.MAPPER.readTree(lines[1].substring("data: ".length()));
      assertThat(lines[0]).isEqualTo("event: " + data.get("type").asText());
      events.add(data);
    }
    return events;
  }

  @Test
  void aChatStreamBecomesResponsesEventsAtOnceNumberedOneByOne() throws Exception {
    ChatTranslation.Relay relay = translation("{\"model\":\"m\",\"input\":\"x\",\"stream\":true}").relay();
    List<String> chat = List.of(
        chunk("{\"role\":\"assistant\",\"content\":\"\"}", "null"),
        chunk("{\"reasoning_content\":\"Hm\"}", "null"),
        chunk("{\"reasoning\":\"m.\"}", "null"),
        chunk("{\"content\":\"Hello\"}", "null"),
        chunk("{\"content\":\" you\"}", "null"),
        chunk("{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
            + "\"arguments\":\"\"}}]}", "null"),
        chunk("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\"\"}}]}", "null"),
        chunk("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\":1}\"}}]}", "null"),
        chunk("{\"tool_calls\":[{\"index\":1,\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"g\","
            + "\"arguments\":\"{}\"}}]}", "null"),
        chunk("{}", "\"tool_calls\""),
        USAGE,
        "data: [DONE]\n\n");

    List<JsonNode> all = new ArrayList<>();
    List<Integer> perChunk = new ArrayList<>();
    for (String event : chat) {
      List<JsonNode> out = events(relay.events(Buffer.buffer(event)));
      perChunk.add(out.size());
      all.addAll(out);
    }
    assertThat(relay.end().length()).isZero();

    for (int i = 0; i < all.size(); i++) assertThat(all.get(i).get("sequence_number").asInt()).isEqualTo(i);
    assertThat(perChunk).containsExactly(2, 3, 1, 6, 1, 4, 1, 1, 2, 4, 1, 0);
    List<String> types = all.stream().map(e -> e.get("type").asText()
        + (e.has("output_index") ? "@" + e.get("output_index").asInt() : "")).toList();
    assertThat(types).containsExactly("response.created", "response.in_progress",
        "response.output_item.added@0", "response.content_part.added@0", "response.reasoning_text.delta@0",
        "response.reasoning_text.delta@0",
        "response.reasoning_text.done@0", "response.content_part.done@0", "response.output_item.done@0",
        "response.output_item.added@1", "response.content_part.added@1", "response.output_text.delta@1",
        "response.output_text.delta@1",
        "response.output_text.done@1", "response.content_part.done@1", "response.output_item.done@1",
        "response.output_item.added@2", "response.function_call_arguments.delta@2",
        "response.function_call_arguments.delta@2",
        "response.output_item.added@3", "response.function_call_arguments.delta@3",
        "response.function_call_arguments.done@2", "response.output_item.done@2",
        "response.function_call_arguments.done@3", "response.output_item.done@3",
        "response.completed");
    JsonNode response = all.get(all.size() - 1).get("response");
    assertThat(response.get("id").asText()).isEqualTo("resp_7");
    assertThat(response.get("output")).hasSize(4);
    assertThat(response.get("output").get(0).get("content").get(0).get("text").asText()).isEqualTo("Hmm.");
    assertThat(response.get("output").get(1).get("content").get(0).get("text").asText()).isEqualTo("Hello you");
    assertThat(response.get("output").get(2).get("arguments").asText()).isEqualTo("{\"a\":1}");
    assertThat(response.get("output").get(2).get("call_id").asText()).isEqualTo("call_1");
    assertThat(response.get("output").get(3).get("name").asText()).isEqualTo("g");
    assertThat(response.get("usage").get("input_tokens").asInt()).isEqualTo(10);
    assertThat(response.get("usage").get("output_tokens").asInt()).isEqualTo(5);
  }

  @Test
  void aStreamWithoutUsageCompletesAtDoneWithUsageNullAndALengthFinishIsIncomplete() throws Exception {
    ChatTranslation.Relay relay = translation("{\"model\":\"m\",\"input\":\"x\",\"stream\":true}").relay();

    Buffer out = relay.events(Buffer.buffer(chunk("{\"content\":\"Hi\"}", "null")
        + chunk("{}", "\"length\"")));
    List<JsonNode> before = events(out);
    List<JsonNode> last = events(relay.events(Buffer.buffer("data: [DONE]\n\n")));

    assertThat(before.get(before.size() - 1).get("type").asText()).isEqualTo("response.output_item.done");
    assertThat(last).hasSize(1);
    assertThat(last.get(0).get("type").asText()).isEqualTo("response.incomplete");
    assertThat(last.get(0).get("response").get("usage").isNull()).isTrue();
    assertThat(last.get(0).get("response").get("incomplete_details").get("reason").asText())
        .isEqualTo("max_output_tokens");
    assertThat(relay.end().length()).isZero();
  }

  @Test
  void aStreamThatEndsAfterItsFinishWithoutDoneIsClosedByEndAndOneCutBeforeIsLeftToTheGateway() throws Exception {
    ChatTranslation t = translation("{\"model\":\"m\",\"input\":\"x\",\"stream\":true}");
    ChatTranslation.Relay finished = t.relay();
    finished.events(Buffer.buffer(chunk("{\"content\":\"Hi\"}", "\"stop\"")));
    ChatTranslation.Relay cut = t.relay();
    cut.events(Buffer.buffer(chunk("{\"content\":\"Hi\"}", "null")));

    assertThat(events(finished.end()).get(0).get("type").asText()).isEqualTo("response.completed");
    assertThat(cut.end().length()).isZero();
  }

  @Test
  void anErrorInsideTheStreamEndsItWithTheErrorEventAndNothingAfter() throws Exception {
    ChatTranslation.Relay relay = translation("{\"model\":\"m\",\"input\":\"x\",\"stream\":true}").relay();

    List<JsonNode> first = events(relay.events(Buffer.buffer(chunk("{\"content\":\"Hi\"}", "null"))));
    List<JsonNode> error = events(relay.events(Buffer.buffer("data: {\"object\":\"error\",\"message\":\"KV cache "
        + "full\",\"type\":\"InternalServerError\",\"code\":500}\n\ndata: [DONE]\n\n")));

    assertThat(error).hasSize(1);
    assertThat(error.get(0).get("type").asText()).isEqualTo("error");
    assertThat(error.get(0).get("message").asText()).isEqualTo("KV cache full");
    assertThat(error.get(0).get("error").get("message").asText()).isEqualTo("KV cache full");
    assertThat(error.get(0).get("sequence_number").asInt()).isEqualTo(first.size());
    assertThat(relay.events(Buffer.buffer(chunk("{\"content\":\"more\"}", "null"))).length()).isZero();
    assertThat(relay.end().length()).isZero();
  }

  // ---------------------------------------------------------------- exactness against a node's own /v1/responses

  /** A tiny gateway: the Responses request over the node's chat completions, whole or streamed event by event. */
  private static void translate(HttpServerRequest req) {
    req.body().onSuccess(body -> vertx.executeBlocking(() -> {
      ParsedRequest parsed = RequestValidator.parse(Endpoint.OPENAI_RESPONSES, body);
      Dialect dialect = Endpoint.OPENAI_RESPONSES.dialect();
      ChatTranslation translation = dialect.overChat(dialect.prepare(parsed));
      HttpResponse<String> chat = HTTP.send(HttpRequest.newBuilder(URI.create(node.baseUrl()
          + "/v1/chat/completions")).header("content-type", "application/json").timeout(Duration.ofSeconds(10))
          .POST(HttpRequest.BodyPublishers.ofByteArray(translation.chatRequest().getBytes())).build(),
          HttpResponse.BodyHandlers.ofString());
      byte[] answer = chat.body().getBytes(StandardCharsets.UTF_8);
      if (chat.statusCode() != 200) {
        return new Object[] {chat.statusCode(), Bodies.JSON, translation.error(chat.statusCode(), answer)};
      }
      if (!parsed.stream()) return new Object[] {200, Bodies.JSON, translation.answer(answer)};
      ChatTranslation.Relay relay = translation.relay();
      Buffer out = Buffer.buffer();
      for (String event : chat.body().split("\n\n")) {
        if (!event.isBlank()) out.appendBuffer(relay.events(Buffer.buffer(event + "\n\n")));
      }
      out.appendBuffer(relay.end());
      return new Object[] {200, dialect.contentType(true), out};
    }).onComplete(done -> {
      if (done.failed()) {
        req.response().setStatusCode(500).end(String.valueOf(done.cause()));
        return;
      }
      Object[] r = done.result();
      req.response().setStatusCode((Integer) r[0]).putHeader("content-type", (String) r[1]).end((Buffer) r[2]);
    }));
  }

  private static OpenAIClient client(String baseUrl) {
    return OpenAIOkHttpClient.builder().baseUrl(baseUrl + "/v1").apiKey("sk-unused").maxRetries(0).build();
  }

  private static OpenAIClient direct() {
    return client(node.baseUrl());
  }

  private static OpenAIClient translated() {
    return OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + translator.actualPort() + "/v1")
        .apiKey("sk-unused").maxRetries(0).responseValidation(true).build();
  }

  /** What must agree between the two answers; ids may differ. */
  private record Seen(String text, String reasoning, List<String> calls, String status, long input, long output) {
    static Seen of(Response response) {
      StringBuilder text = new StringBuilder();
      StringBuilder reasoning = new StringBuilder();
      List<String> calls = new ArrayList<>();
      for (ResponseOutputItem item : response.output()) {
        if (item.isMessage()) item.asMessage().content().forEach(p -> text.append(p.asOutputText().text()));
        if (item.isReasoning()) {
          item.asReasoning().content().orElse(List.of()).forEach(p -> reasoning.append(p.text()));
        }
        if (item.isFunctionCall()) {
          ResponseFunctionToolCall call = item.asFunctionCall();
          calls.add(call.name() + call.arguments());
        }
      }
      return new Seen(text.toString(), reasoning.toString(), calls,
          response.status().map(Object::toString).orElse("?"),
          response.usage().orElseThrow().inputTokens(), response.usage().orElseThrow().outputTokens());
    }
  }

  /** The answer whole, and streamed: accumulated, with the function call arguments from their deltas. */
  private static List<Seen> answers(OpenAIClient client, ResponseCreateParams params) {
    Seen whole = Seen.of(client.responses().create(params));
    ResponseAccumulator accumulator = ResponseAccumulator.create();
    StringBuilder deltas = new StringBuilder();
    try (StreamResponse<ResponseStreamEvent> stream = client.responses().createStreaming(params)) {
      stream.stream().forEach(event -> {
        accumulator.accumulate(event);
        event.functionCallArgumentsDelta().ifPresent(d -> deltas.append(d.delta()));
      });
    }
    Seen streamed = Seen.of(accumulator.response());
    assertThat(String.join("", streamed.calls().stream().map(c -> c.substring(c.indexOf('{'))).toList()))
        .isEqualTo(deltas.toString());
    return List.of(whole, streamed);
  }

  private static void assertSameAnswers(ResponseCreateParams params) {
    List<Seen> node = answers(direct(), params);
    List<Seen> sluice = answers(translated(), params);

    assertThat(node.get(1)).isEqualTo(node.get(0));
    assertThat(sluice.get(0)).isEqualTo(node.get(0));
    assertThat(sluice.get(1)).isEqualTo(node.get(0));
  }

  private static FunctionTool searchTool() throws Exception {
    FunctionTool.Parameters.Builder parameters = FunctionTool.Parameters.builder();
    Map<String, Object> schema = Json.MAPPER.readValue(SEARCH_SCHEMA, new TypeReference<>() {});
    schema.forEach((key, value) -> parameters.putAdditionalProperty(key, JsonValue.from(value)));
    return FunctionTool.builder().name("search_files").parameters(parameters.build()).strict(false).build();
  }

  @Test
  void aPlainAnswerIsTheNodesOwnWholeAndStreamed() {
    assertSameAnswers(ResponseCreateParams.builder().model("qwen3:32b").instructions("Be brief.")
        .input("Hello there").maxOutputTokens(40).build());
  }

  @Test
  void aRequiredFunctionCallIsTheNodesOwnWholeAndStreamed() throws Exception {
    ResponseCreateParams params = ResponseCreateParams.builder().model("qwen3:32b").input("Find the quarterly report.")
        .addTool(searchTool()).toolChoice(ToolChoiceOptions.REQUIRED).build();

    assertSameAnswers(params);
    assertThat(Seen.of(translated().responses().create(params)).calls()).singleElement().asString()
        .startsWith("search_files{");
  }

  @Test
  void reasoningThenTheAnswerIsTheNodesOwnWholeAndStreamed() {
    ResponseCreateParams params = ResponseCreateParams.builder().model("qwen3:32b").input("Why is the sky blue?")
        .reasoning(Reasoning.builder().effort(ReasoningEffort.LOW).build()).maxOutputTokens(400).build();

    assertSameAnswers(params);
    assertThat(Seen.of(translated().responses().create(params)).reasoning()).isNotEmpty();
  }

  @Test
  void aSecondTurnWithTheCallAndItsOutputIsTheNodesOwnWholeAndStreamed() throws Exception {
    ResponseCreateParams first = ResponseCreateParams.builder().model("qwen3:32b").input("Find the quarterly report.")
        .addTool(searchTool()).toolChoice(ToolChoiceOptions.REQUIRED).build();
    ResponseFunctionToolCall call = direct().responses().create(first).output().stream()
        .filter(ResponseOutputItem::isFunctionCall).findFirst().orElseThrow().asFunctionCall();
    List<ResponseInputItem> input = List.of(
        ResponseInputItem.ofEasyInputMessage(EasyInputMessage.builder()
            .role(EasyInputMessage.Role.USER).content("Find the quarterly report.")
            .build()),
        ResponseInputItem.ofFunctionCall(ResponseFunctionToolCall.builder().callId(call.callId())
            .name(call.name()).arguments(call.arguments()).build()),
        ResponseInputItem.ofFunctionCallOutput(ResponseInputItem.FunctionCallOutput.builder()
            .callId(call.callId()).output("[\"reports/q3.pdf\"]").build()));

    ResponseCreateParams second = ResponseCreateParams.builder().model("qwen3:32b")
        .inputOfResponse(input).addTool(searchTool()).build();

    assertSameAnswers(second);
    assertThat(Seen.of(translated().responses().create(second)).text()).isNotEmpty();
  }
}
