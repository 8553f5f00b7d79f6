package dev.sluice.sim;

import static dev.sluice.sim.SimHttp.json;
import static dev.sluice.sim.SimHttp.post;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.errors.RateLimitException;
import com.openai.helpers.ResponseAccumulator;
import com.openai.models.Reasoning;
import com.openai.models.ReasoningEffort;
import com.openai.models.responses.FunctionTool;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseFunctionToolCall;
import com.openai.models.responses.ResponseStreamEvent;
import com.openai.models.responses.ToolChoiceOptions;
import dev.sluice.support.Json;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Stateless OpenAI Responses on a simulated node, over real HTTP, read by openai-java. */
class ResponsesApiTest extends SimNodesFixture {
  private static final SimOptions INSTANT = SimOptions.defaults().withTimeScale(0);
  private static final String QUESTION = "Find the quarterly report.";

  private static Map<String, Object> schema() throws Exception {
    return Json.MAPPER.readValue(AgentApiTest.SEARCH_SCHEMA, new TypeReference<>() {});
  }

  private static OpenAIClient openai(SimNode node) {
    return OpenAIOkHttpClient.builder().baseUrl(node.baseUrl() + "/v1").apiKey("sk-unused").maxRetries(0).build();
  }

  @SuppressWarnings("unchecked")
  private static ResponseCreateParams searchResponse() throws Exception {
    FunctionTool.Parameters.Builder parameters = FunctionTool.Parameters.builder();
    schema().forEach((key, value) -> parameters.putAdditionalProperty(key, JsonValue.from(value)));
    return ResponseCreateParams.builder().model("qwen3:32b").input(QUESTION)
        .addTool(FunctionTool.builder().name("search_files").parameters(parameters.build()).strict(false).build())
        .toolChoice(ToolChoiceOptions.REQUIRED).build();
  }

  @Test
  void openAiJavaReadsResponsesFunctionCallsWholeAndStreamed() throws Exception {
    SimNode node = start(INSTANT);

    Response whole = openai(node).responses().create(searchResponse());
    ResponseAccumulator accumulator = ResponseAccumulator.create();
    try (StreamResponse<ResponseStreamEvent> stream = openai(node).responses().createStreaming(searchResponse())) {
      stream.stream().forEach(accumulator::accumulate);
    }
    Response streamed = accumulator.response();

    ResponseFunctionToolCall call = whole.output().stream().filter(item -> item.isFunctionCall()).findFirst()
        .orElseThrow().asFunctionCall();
    assertThat(call.name()).isEqualTo("search_files");
    assertThat(call.callId()).matches("call_[0-9a-f]{32}");
    assertThat(SchemaCheck.violations(Json.MAPPER.readTree(AgentApiTest.SEARCH_SCHEMA),
        Json.MAPPER.readTree(call.arguments()))).isEmpty();
    assertThat(whole.id()).startsWith("resp_");
    assertThat(whole.usage().orElseThrow().outputTokens()).isPositive();
    ResponseFunctionToolCall streamedCall = streamed.output().stream().filter(item -> item.isFunctionCall())
        .findFirst().orElseThrow().asFunctionCall();
    assertThat(streamedCall.arguments()).isEqualTo(call.arguments());
    assertThat(streamedCall.callId()).isEqualTo(call.callId());
  }

  @Test
  void responsesAnswerTheSameTextAsChatCompletionsWithConsecutiveSequenceNumbers() throws Exception {
    SimNode node = start(INSTANT);

    Response response = openai(node).responses().create(ResponseCreateParams.builder().model("qwen3:32b")
        .instructions("Be brief.").input("Hello there").maxOutputTokens(40).build());
    JsonNode chat = json(post(node, "/v1/chat/completions", "{\"model\":\"qwen3:32b\",\"max_tokens\":40,"
        + "\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hello there\"}]}"));
    String stream = post(node, "/v1/responses", "{\"model\":\"qwen3:32b\",\"stream\":true,\"max_output_tokens\":40,"
        + "\"instructions\":\"Be brief.\",\"input\":[{\"role\":\"user\",\"content\":\"Hello there\"}]}").body();

    assertThat(outputText(response)).isEqualTo(chat.path("choices").get(0).path("message").path("content").asText())
        .isNotEmpty();
    List<String> types = new ArrayList<>();
    StringBuilder deltas = new StringBuilder();
    int sequence = 0;
    for (String event : stream.split("\n\n")) {
      String[] lines = event.split("\n");
      JsonNode data = Json.MAPPER.readTree(lines[1].substring("data: ".length()));
      assertThat(lines[0]).isEqualTo("event: " + data.path("type").asText());
      assertThat(data.path("sequence_number").asInt()).isEqualTo(sequence++);
      types.add(data.path("type").asText());
      if (data.path("type").asText().equals("response.output_text.delta")) {
        deltas.append(data.path("delta").asText());
      }
    }
    assertThat(deltas.toString()).isEqualTo(outputText(response));
    assertThat(types.subList(0, 4)).containsExactly("response.created", "response.in_progress",
        "response.output_item.added", "response.content_part.added");
    assertThat(types.get(types.size() - 1)).isIn("response.completed", "response.incomplete");
    assertThat(types).contains("response.output_text.done", "response.content_part.done",
        "response.output_item.done");
  }

  private static String outputText(Response response) {
    StringBuilder text = new StringBuilder();
    response.output().stream().filter(item -> item.isMessage()).forEach(item -> item.asMessage().content()
        .forEach(part -> text.append(part.asOutputText().text())));
    return text.toString();
  }

  @Test
  void previousResponseIdIsRefusedByTheStatelessServer() throws Exception {
    SimNode node = start(INSTANT);

    HttpResponse<String> response = post(node, "/v1/responses",
        "{\"model\":\"qwen3:32b\",\"input\":\"Hi\",\"previous_response_id\":\"resp_1\",\"store\":true}");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(json(response).path("error").path("message").asText()).contains("stateless");
  }


  @Test
  void unknownModelsBadBodiesAndFaultedRequestsAnswerInOpenAisErrorShape() throws Exception {
    SimNode node = start(INSTANT);
    String request = "{\"model\":\"qwen3:32b\",\"input\":\"Hi\",\"max_output_tokens\":20}";

    HttpResponse<String> unknown = post(node, "/v1/responses", request.replace("qwen3:32b", "llama9:1b"));
    HttpResponse<String> notJson = post(node, "/v1/responses", "{\"model\":");
    node.injectFault(SimFault.status(503, SimFault.OLLAMA_BUSY_BODY, 1));
    HttpResponse<String> busy = post(node, "/v1/responses", request.replace("{\"model\"", "{\"stream\":true,\"model\""));
    node.injectFault(SimFault.errorRate(100, 429));
    HttpResponse<String> limited = post(node, "/v1/responses", request);

    assertOpenAiError(unknown, 404, "llama9:1b");
    assertOpenAiError(notJson, 400, "invalid JSON");
    assertOpenAiError(busy, 503, "server busy");
    assertThat(busy.headers().firstValue("retry-after")).isPresent();
    assertOpenAiError(limited, 429, "too many requests");
    assertThatThrownBy(() -> openai(node).responses().create(ResponseCreateParams.builder().model("qwen3:32b")
        .input("Hi").build())).isInstanceOf(RateLimitException.class);
    node.clearFaults();
    assertThatThrownBy(() -> openai(node).responses().create(ResponseCreateParams.builder().model("llama9:1b")
        .input("Hi").build())).isInstanceOf(NotFoundException.class);
  }

  private static void assertOpenAiError(HttpResponse<String> response, int status, String message) throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    JsonNode error = json(response).path("error");
    assertThat(error.isObject()).as(response.body()).isTrue();
    assertThat(error.path("message").asText()).contains(message);
    assertThat(error.has("type")).as(response.body()).isTrue();
    assertThat(error.has("param") && error.has("code")).as(response.body()).isTrue();
  }

  @Test
  void openAiJavaAccumulatesStreamedReasoningThenTheMessageLikeTheWholeResponse() {
    SimNode node = start(INSTANT);
    ResponseCreateParams params = ResponseCreateParams.builder().model("qwen3:32b").input("Why is the sky blue?")
        .reasoning(Reasoning.builder().effort(ReasoningEffort.LOW).build()).maxOutputTokens(400).build();

    Response whole = openai(node).responses().create(params);
    ResponseAccumulator accumulator = ResponseAccumulator.create();
    try (StreamResponse<ResponseStreamEvent> stream = openai(node).responses().createStreaming(params)) {
      stream.stream().forEach(accumulator::accumulate);
    }
    Response streamed = accumulator.response();

    assertThat(whole.output().get(0).isReasoning()).isTrue();
    assertThat(whole.output().get(1).isMessage()).isTrue();
    assertThat(streamed.output()).hasSize(2);
    assertThat(streamed.output().get(0).asReasoning().content().orElseThrow().get(0).text())
        .isEqualTo(whole.output().get(0).asReasoning().content().orElseThrow().get(0).text()).isNotEmpty();
    assertThat(outputText(streamed)).isEqualTo(outputText(whole));
    assertThat(whole.usage().orElseThrow().outputTokensDetails().reasoningTokens()).isPositive();
  }

  @Test
  void streamsReasoningThenAFunctionCallWithConsecutiveSequenceNumbersAndIndexes() throws Exception {
    SimNode node = start(INSTANT);

    String stream = post(node, "/v1/responses", "{\"model\":\"qwen3:32b\",\"stream\":true,\"input\":\"Weather?\","
        + "\"reasoning\":{\"effort\":\"high\"},\"tool_choice\":{\"type\":\"function\",\"name\":\"get_weather\"},"
        + "\"tools\":[{\"type\":\"function\",\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\","
        + "\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}]}").body();

    List<String> types = new ArrayList<>();
    StringBuilder arguments = new StringBuilder();
    JsonNode done = null;
    int sequence = 0;
    for (String event : stream.split("\n\n")) {
      JsonNode data = Json.MAPPER.readTree(event.split("\n")[1].substring("data: ".length()));
      assertThat(data.path("sequence_number").asInt()).isEqualTo(sequence++);
      String type = data.path("type").asText();
      if (!type.endsWith(".delta")) {
        types.add(type + (data.has("output_index") ? "@" + data.path("output_index").asInt() : ""));
      }
      if (type.equals("response.function_call_arguments.delta")) {
        arguments.append(data.path("delta").asText());
      }
      if (type.equals("response.completed")) {
        done = data.path("response");
      }
    }
    assertThat(types).containsExactly("response.created", "response.in_progress",
        "response.output_item.added@0", "response.content_part.added@0", "response.reasoning_text.done@0",
        "response.content_part.done@0", "response.output_item.done@0",
        "response.output_item.added@1", "response.function_call_arguments.done@1", "response.output_item.done@1",
        "response.completed");
    assertThat(done.path("output").get(1).path("arguments").asText()).isEqualTo(arguments.toString());
    assertThat(Json.MAPPER.readTree(arguments.toString()).path("city").isTextual()).isTrue();
  }
}
