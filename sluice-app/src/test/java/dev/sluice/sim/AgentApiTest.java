package dev.sluice.sim;

import static dev.sluice.sim.SimHttp.json;
import static dev.sluice.sim.SimHttp.post;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import dev.sluice.support.Json;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Tools, JSON output and thinking on the simulated OpenAI and Ollama APIs, over real HTTP. */
class AgentApiTest extends SimNodesFixture {
  private static final SimOptions INSTANT = SimOptions.defaults().withTimeScale(0);
  static final String SEARCH_SCHEMA = """
      {"type":"object","properties":{
        "query":{"type":"string","minLength":3},
        "max_results":{"type":"integer","minimum":1,"maximum":20},
        "mode":{"type":"string","enum":["fast","thorough"]},
        "filters":{"type":"object","properties":{
          "extensions":{"type":"array","items":{"type":"string"},"minItems":1},
          "recursive":{"type":"boolean"}},"required":["extensions","recursive"]}},
       "required":["query","max_results","mode","filters"]}""";
  private static final String TOOLS = "[{\"type\":\"function\",\"function\":{\"name\":\"search_files\","
      + "\"parameters\":" + SEARCH_SCHEMA + "}},"
      + "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\","
      + "\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}}]";

  private OpenAIClient openai(SimNode node) {
    return OpenAIOkHttpClient.builder().baseUrl(node.baseUrl() + "/v1").apiKey("sk-unused").maxRetries(0).build();
  }

  private static ChatCompletionCreateParams.Builder searchRequest() throws Exception {
    Map<String, Object> schema = Json.MAPPER.readValue(SEARCH_SCHEMA, new TypeReference<>() {});
    FunctionParameters.Builder parameters = FunctionParameters.builder();
    schema.forEach((key, value) -> parameters.putAdditionalProperty(key, JsonValue.from(value)));
    return ChatCompletionCreateParams.builder().model("qwen3:32b").addUserMessage("Find the quarterly report.")
        .addTool(ChatCompletionFunctionTool.builder().function(FunctionDefinition.builder().name("search_files")
            .parameters(parameters.build()).build()).build());
  }

  @Test
  void openAiJavaReadsARequiredToolCallWhoseArgumentsMatchTheSchema() throws Exception {
    SimNode node = start(INSTANT);

    ChatCompletion completion = openai(node).chat().completions()
        .create(searchRequest().toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).build());

    ChatCompletion.Choice choice = completion.choices().get(0);
    assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
    ChatCompletionMessageFunctionToolCall call = choice.message().toolCalls().orElseThrow().get(0).asFunction();
    assertThat(call.id()).matches("chatcmpl-tool-[0-9a-f]{32}");
    assertThat(call.function().name()).isEqualTo("search_files");
    assertThat(SchemaCheck.violations(Json.MAPPER.readTree(SEARCH_SCHEMA),
        Json.MAPPER.readTree(call.function().arguments()))).isEmpty();
    assertThat(completion.usage().orElseThrow().completionTokens()).isGreaterThan(1);
  }

  @Test
  void streamedToolCallDeltasAccumulateInOpenAiJavaToTheSameCallAsTheWholeAnswer() throws Exception {
    SimNode node = start(INSTANT);
    ChatCompletionCreateParams params = searchRequest().toolChoice(ChatCompletionNamedToolChoice.builder()
        .function(ChatCompletionNamedToolChoice.Function.builder().name("search_files").build()).build()).build();

    ChatCompletionAccumulator accumulator = ChatCompletionAccumulator.create();
    int chunks = 0;
    try (StreamResponse<ChatCompletionChunk> stream = openai(node).chat().completions().createStreaming(params)) {
      for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
        accumulator.accumulate(chunk);
        chunks++;
      }
    }
    ChatCompletion streamed = accumulator.chatCompletion();
    ChatCompletion whole = openai(node).chat().completions().create(params);

    assertThat(chunks).isGreaterThan(4);
    ChatCompletionMessageFunctionToolCall call = streamed.choices().get(0).message().toolCalls().orElseThrow()
        .get(0).asFunction();
    assertThat(streamed.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
    assertThat(call).isEqualTo(whole.choices().get(0).message().toolCalls().orElseThrow().get(0).asFunction());
    assertThat(SchemaCheck.violations(Json.MAPPER.readTree(SEARCH_SCHEMA),
        Json.MAPPER.readTree(call.function().arguments()))).isEmpty();
  }

  @Test
  void streamsToolCallsAsVllmDoesHeaderDeltaThenArgumentPiecesUnderOneIndex() throws Exception {
    SimNode node = start(INSTANT);

    List<JsonNode> deltas = sseDeltas(post(node, "/v1/chat/completions", "{\"model\":\"qwen3:32b\",\"stream\":true,"
        + "\"messages\":[{\"role\":\"user\",\"content\":\"Weather?\"}],\"tools\":" + TOOLS
        + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}}"));

    assertThat(deltas.get(0).path("role").asText()).isEqualTo("assistant");
    JsonNode header = deltas.get(1).path("tool_calls").get(0);
    assertThat(header.path("index").asInt()).isZero();
    assertThat(header.path("id").asText()).startsWith("chatcmpl-tool-");
    assertThat(header.path("type").asText()).isEqualTo("function");
    assertThat(header.path("function").path("name").asText()).isEqualTo("get_weather");
    assertThat(header.path("function").has("arguments")).isFalse();
    StringBuilder arguments = new StringBuilder();
    for (JsonNode delta : deltas.subList(2, deltas.size() - 1)) {
      JsonNode piece = delta.path("tool_calls").get(0);
      assertThat(piece.path("index").asInt()).isZero();
      assertThat(piece.has("id")).isFalse();
      arguments.append(piece.path("function").path("arguments").asText());
    }
    assertThat(deltas.size()).isGreaterThan(4);
    assertThat(Json.MAPPER.readTree(arguments.toString()).path("city").isTextual()).isTrue();
    assertThat(deltas.get(deltas.size() - 1).path("finish_reason").asText()).isEqualTo("tool_calls");
  }

  @Test
  void toolChoiceNoneNeverCallsAndAutoDecidesTheSameWayForTheSameRequest() throws Exception {
    SimNode node = start(INSTANT);
    int called = 0;
    for (int i = 0; i < 20; i++) {
      String auto = "{\"model\":\"qwen3:32b\",\"max_tokens\":200,\"messages\":[{\"role\":\"user\",\"content\":\"Task "
          + i + "\"}],\"tools\":" + TOOLS + "}";
      JsonNode first = json(post(node, "/v1/chat/completions", auto)).path("choices").get(0);
      JsonNode again = json(post(node, "/v1/chat/completions", auto)).path("choices").get(0);
      assertThat(again).isEqualTo(first);
      if (first.path("message").has("tool_calls")) {
        called++;
        assertThat(first.path("finish_reason").asText()).isEqualTo("tool_calls");
        assertThat(first.path("message").path("content").isNull()).isTrue();
      }
      JsonNode none = json(post(node, "/v1/chat/completions", auto.replace("\"tools\":",
          "\"tool_choice\":\"none\",\"tools\":"))).path("choices").get(0);
      assertThat(none.path("message").has("tool_calls")).isFalse();
      assertThat(none.path("message").path("content").asText()).isNotEmpty();
    }
    assertThat(called).isBetween(8, 19); // auto calls a tool in 80 % of first turns, not always
  }

  @Test
  void acceptsToolResultTurnsAndRejectsAToolChoiceNamingAnUnknownTool() throws Exception {
    SimNode node = start(INSTANT);
    String history = "\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"},"
        + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
        + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
        + "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"18 C, sunny\"}]";

    HttpResponse<String> openAi = post(node, "/v1/chat/completions",
        "{\"model\":\"qwen3:32b\"," + history + ",\"tools\":" + TOOLS + "}");
    HttpResponse<String> ollama = post(node, "/api/chat", "{\"model\":\"qwen3:32b\",\"stream\":false,"
        + history.replace("\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"", "\"arguments\":{\"city\":\"Paris\"}")
        + ",\"tools\":" + TOOLS + "}");
    HttpResponse<String> unknown = post(node, "/v1/chat/completions", "{\"model\":\"qwen3:32b\"," + history
        + ",\"tools\":" + TOOLS + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"rm_rf\"}}}");

    assertThat(openAi.statusCode()).isEqualTo(200);
    assertThat(ollama.statusCode()).isEqualTo(200);
    assertThat(unknown.statusCode()).isEqualTo(400);
    assertThat(json(unknown).path("error").path("message").asText()).contains("rm_rf");
  }

  @Test
  void ollamaChatSendsEachToolCallWholeWithArgumentsAsAnObjectAndStops() throws Exception {
    SimNode node = start(INSTANT);
    String request = null;
    JsonNode whole = null;
    for (int i = 0; whole == null || !whole.path("message").has("tool_calls"); i++) { // auto: find a turn that calls
      request = "\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"Task " + i + "\"}],"
          + "\"tools\":" + TOOLS + "}";
      whole = json(post(node, "/api/chat", "{\"stream\":false," + request));
    }
    String streamedRequest = "{" + request;

    List<JsonNode> lines = post(node, "/api/chat", streamedRequest).body().lines().map(AgentApiTest::parse).toList();

    List<JsonNode> calls = new ArrayList<>();
    lines.forEach(line -> line.path("message").path("tool_calls").forEach(calls::add));
    assertThat(calls).isNotEmpty().isEqualTo(copy(whole.path("message").path("tool_calls")));
    for (JsonNode call : calls) {
      JsonNode function = call.path("function");
      assertThat(function.path("arguments").isObject()).isTrue();
      JsonNode schema = function.path("name").asText().equals("search_files") ? Json.MAPPER.readTree(SEARCH_SCHEMA)
          : Json.MAPPER.readTree("{\"type\":\"object\",\"required\":[\"city\"]}");
      assertThat(SchemaCheck.violations(schema, function.path("arguments"))).isEmpty();
    }
    JsonNode last = lines.get(lines.size() - 1);
    assertThat(last.path("done").asBoolean()).isTrue();
    assertThat(last.path("done_reason").asText()).isEqualTo("stop");
    assertThat(whole.path("done_reason").asText()).isEqualTo("stop");
  }

  @Test
  void jsonModeAndJsonSchemaAnswersParseOnBothApisStreamedOrNot() throws Exception {
    SimNode node = start(INSTANT);
    JsonNode schema = Json.MAPPER.readTree(SEARCH_SCHEMA);
    String openAiSchema = "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"search\",\"schema\":"
        + SEARCH_SCHEMA + "}}";
    for (boolean stream : new boolean[] {false, true}) {
      String messages = "\"stream\":" + stream + ",\"messages\":[{\"role\":\"user\",\"content\":\"JSON please\"}]";
      JsonNode object = Json.MAPPER.readTree(openAiContent(post(node, "/v1/chat/completions",
          "{\"model\":\"qwen3:32b\"," + messages + ",\"response_format\":{\"type\":\"json_object\"}}"), stream));
      JsonNode conforming = Json.MAPPER.readTree(openAiContent(post(node, "/v1/chat/completions",
          "{\"model\":\"qwen3:32b\"," + messages + ",\"response_format\":" + openAiSchema + "}"), stream));
      JsonNode ollamaJson = Json.MAPPER.readTree(ollamaContent(post(node, "/api/chat",
          "{\"model\":\"qwen3:32b\"," + messages + ",\"format\":\"json\"}"), stream));
      JsonNode ollamaSchema = Json.MAPPER.readTree(ollamaContent(post(node, "/api/chat",
          "{\"model\":\"qwen3:32b\"," + messages + ",\"format\":" + SEARCH_SCHEMA + "}"), stream));

      assertThat(object.isObject()).isTrue();
      assertThat(ollamaJson.isObject()).isTrue();
      assertThat(SchemaCheck.violations(schema, conforming)).isEmpty();
      assertThat(SchemaCheck.violations(schema, ollamaSchema)).isEmpty();
    }
  }

  @Test
  void thinkingComesAsReasoningContentBeforeTheAnswerOnOpenAiAndAsThinkingOnOllama() throws Exception {
    SimNode node = start(INSTANT);
    String messages = "\"messages\":[{\"role\":\"user\",\"content\":\"Why is the sky blue?\"}]";

    List<JsonNode> deltas = sseDeltas(post(node, "/v1/chat/completions", "{\"model\":\"qwen3:32b\",\"stream\":true,"
        + "\"max_tokens\":400," + messages + ",\"chat_template_kwargs\":{\"enable_thinking\":true}}"));
    JsonNode whole = json(post(node, "/v1/chat/completions", "{\"model\":\"qwen3:32b\",\"max_tokens\":400,"
        + messages + ",\"chat_template_kwargs\":{\"enable_thinking\":true}}")).path("choices").get(0);
    JsonNode plain = json(post(node, "/v1/chat/completions", "{\"model\":\"qwen3:32b\"," + messages + "}"))
        .path("choices").get(0);
    List<JsonNode> ollama = post(node, "/api/chat", "{\"model\":\"qwen3:32b\",\"think\":true," + messages + "}")
        .body().lines().map(AgentApiTest::parse).toList();
    JsonNode ollamaWhole = json(post(node, "/api/chat", "{\"model\":\"qwen3:32b\",\"think\":true,\"stream\":false,"
        + messages + "}"));

    List<String> kinds = new ArrayList<>(); // the kinds of delta in stream order, runs collapsed
    for (JsonNode d : deltas) {
      String kind = d.has("reasoning_content") ? "reasoning" : d.has("role") ? "role" : d.has("content") ? "content"
          : "finish";
      if (kinds.isEmpty() || !kinds.get(kinds.size() - 1).equals(kind)) {
        kinds.add(kind);
      }
    }
    assertThat(kinds).containsExactly("role", "reasoning", "content", "finish");
    StringBuilder reasoning = new StringBuilder();
    deltas.forEach(d -> reasoning.append(d.path("reasoning_content").asText("")));
    assertThat(whole.path("message").path("reasoning_content").asText()).isEqualTo(reasoning.toString())
        .isNotEmpty();
    assertThat(whole.path("message").path("content").asText()).isNotEmpty();
    assertThat(plain.path("message").has("reasoning_content")).isFalse();
    assertThat(ollama.get(0).path("message").path("thinking").asText()).isNotEmpty();
    assertThat(ollama.get(0).path("message").path("content").asText()).isEmpty();
    assertThat(ollamaWhole.path("message").path("thinking").asText()).isNotEmpty();
    assertThat(json(post(node, "/api/show", "{\"model\":\"qwen3:32b\"}")).path("capabilities").toString())
        .isEqualTo("[\"completion\",\"tools\",\"thinking\"]");
  }

  @Test
  void aThinkingModelThinksUnlessTheRequestTurnsItOffAndTheLimitCutsReasoningFirst() throws Exception {
    SimNode node = start(INSTANT.withModels("qwen3:30b-a3b-thinking-2507"));
    String request = "{\"model\":\"qwen3:30b-a3b-thinking-2507\",\"messages\":[{\"role\":\"user\","
        + "\"content\":\"Hi\"}]";

    JsonNode thinking = json(post(node, "/v1/chat/completions", request + "}")).path("choices").get(0);
    JsonNode off = json(post(node, "/v1/chat/completions", request
        + ",\"chat_template_kwargs\":{\"enable_thinking\":false}}")).path("choices").get(0);
    JsonNode cut = json(post(node, "/v1/chat/completions", request + ",\"max_tokens\":3}"));
    JsonNode ollamaOff = json(post(node, "/api/chat", request + ",\"stream\":false,\"think\":false}"));

    assertThat(thinking.path("message").path("reasoning_content").asText()).isNotEmpty();
    assertThat(off.path("message").has("reasoning_content")).isFalse();
    assertThat(cut.path("choices").get(0).path("finish_reason").asText()).isEqualTo("length");
    assertThat(cut.path("choices").get(0).path("message").path("content").asText()).isEmpty();
    assertThat(cut.path("choices").get(0).path("message").path("reasoning_content").asText().split(" ")).hasSize(3);
    assertThat(cut.path("usage").path("completion_tokens").asInt()).isEqualTo(3);
    assertThat(ollamaOff.path("message").has("thinking")).isFalse();
  }

  @Test
  void aLimitReachedInsideAToolCallEndsWithLengthAndOllamaLeavesTheIncompleteCallOut() throws Exception {
    SimNode node = start(INSTANT);
    String request = null;
    for (int i = 0; request == null || !json(post(node, "/api/chat", "{" + request + ",\"stream\":false}"))
        .path("message").has("tool_calls"); i++) { // auto: find a turn that calls
      request = "\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"Go " + i + "\"}],"
          + "\"tools\":" + TOOLS;
    }

    JsonNode openAi = json(post(node, "/v1/chat/completions", "{" + request
        + ",\"tool_choice\":\"required\",\"max_tokens\":3}")).path("choices").get(0);
    JsonNode ollama = json(post(node, "/api/chat", "{" + request
        + ",\"stream\":false,\"options\":{\"num_predict\":2}}"));
    List<String> streamed = post(node, "/api/chat", "{" + request + ",\"options\":{\"num_predict\":2}}").body()
        .lines().toList();

    assertThat(openAi.path("finish_reason").asText()).isEqualTo("length");
    assertThat(openAi.path("message").path("tool_calls")).hasSize(1);
    assertThat(ollama.path("done_reason").asText()).isEqualTo("length");
    assertThat(ollama.path("message").has("tool_calls")).isFalse();
    assertThat(streamed).hasSize(1).allSatisfy(line -> assertThat(line).doesNotContain("tool_calls"));
  }

  /** The {@code delta}s of an SSE chat stream, the last one the finish chunk's (with its finish reason). */
  private static List<JsonNode> sseDeltas(HttpResponse<String> response) {
    List<JsonNode> deltas = new ArrayList<>();
    response.body().lines().filter(l -> l.startsWith("data: {")).map(l -> parse(l.substring(6)))
        .forEach(chunk -> {
          JsonNode choice = chunk.path("choices").get(0);
          if (choice != null) {
            JsonNode delta = choice.path("delta").deepCopy();
            if (!choice.path("finish_reason").isNull()) {
              ((ObjectNode) delta).set("finish_reason",
                  choice.path("finish_reason"));
            }
            deltas.add(delta);
          }
        });
    return deltas;
  }

  private static String openAiContent(HttpResponse<String> response, boolean stream) throws Exception {
    if (!stream) {
      return json(response).path("choices").get(0).path("message").path("content").asText();
    }
    StringBuilder content = new StringBuilder();
    sseDeltas(response).forEach(d -> content.append(d.path("content").asText("")));
    return content.toString();
  }

  private static String ollamaContent(HttpResponse<String> response, boolean stream) throws Exception {
    if (!stream) {
      return json(response).path("message").path("content").asText();
    }
    StringBuilder content = new StringBuilder();
    response.body().lines().map(AgentApiTest::parse)
        .forEach(line -> content.append(line.path("message").path("content").asText()));
    return content.toString();
  }

  private static List<JsonNode> copy(JsonNode array) {
    List<JsonNode> items = new ArrayList<>();
    array.forEach(items::add);
    return items;
  }

  private static JsonNode parse(String text) {
    try {
      return Json.MAPPER.readTree(text);
    } catch (Exception e) {
      throw new AssertionError("not JSON: " + text, e);
    }
  }
}
