package dev.sluice.sim;

import static dev.sluice.sim.SimHttp.json;
import static dev.sluice.sim.SimHttp.post;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.JsonValue;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.NotFoundException;
import com.anthropic.errors.RateLimitException;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCountTokensParams;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.anthropic.models.messages.Tool;
import com.anthropic.models.messages.ToolChoiceAny;
import com.anthropic.models.messages.ToolUseBlock;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.support.Json;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Anthropic Messages on a simulated node, over real HTTP, read by the official anthropic-java client. */
class AnthropicMessagesApiTest extends SimNodesFixture {
  private static final SimOptions INSTANT = SimOptions.defaults().withTimeScale(0);
  private static final String QUESTION = "Find the quarterly report.";

  private static Map<String, Object> schema() throws Exception {
    return Json.MAPPER.readValue(AgentApiTest.SEARCH_SCHEMA, new TypeReference<>() {});
  }

  private static AnthropicClient anthropic(SimNode node) {
    return AnthropicOkHttpClient.builder().baseUrl(node.baseUrl()).apiKey("sk-ant-unused").maxRetries(0).build();
  }

  private static MessageCreateParams searchMessage() throws Exception {
    Map<String, Object> schema = schema();
    Tool.InputSchema.Properties.Builder properties = Tool.InputSchema.Properties.builder();
    ((Map<String, Object>) schema.get("properties")).forEach((name, property) ->
        properties.putAdditionalProperty(name, JsonValue.from(property)));
    Tool tool = Tool.builder().name("search_files").inputSchema(Tool.InputSchema.builder()
        .properties(properties.build()).required((List<String>) schema.get("required")).build()).build();
    return MessageCreateParams.builder().model("qwen3:32b").maxTokens(1024).addUserMessage(QUESTION)
        .addTool(tool).toolChoice(ToolChoiceAny.builder().build()).build();
  }

  @Test
  void anthropicJavaAccumulatesAStreamedToolUseToTheSameCallAsTheWholeAnswer() throws Exception {
    SimNode node = start(INSTANT);
    MessageAccumulator accumulator = MessageAccumulator.create();
    int events = 0;
    try (StreamResponse<RawMessageStreamEvent> stream =
        anthropic(node).messages().createStreaming(searchMessage())) {
      for (RawMessageStreamEvent event : (Iterable<RawMessageStreamEvent>) stream.stream()::iterator) {
        accumulator.accumulate(event);
        events++;
      }
    }
    Message streamed = accumulator.message();
    Message whole = anthropic(node).messages().create(searchMessage());

    assertThat(events).isGreaterThan(5);
    assertThat(streamed.stopReason()).contains(StopReason.TOOL_USE);
    ToolUseBlock call = streamed.content().stream().filter(ContentBlock::isToolUse).findFirst().orElseThrow()
        .asToolUse();
    assertThat(call.id()).matches("toolu_[0-9a-f]{32}");
    assertThat(call.name()).isEqualTo("search_files");
    JsonNode input = Json.MAPPER.valueToTree(call._input().convert(Object.class));
    assertThat(SchemaCheck.violations(Json.MAPPER.readTree(AgentApiTest.SEARCH_SCHEMA), input)).isEmpty();
    ToolUseBlock wholeCall = whole.content().stream().filter(ContentBlock::isToolUse).findFirst().orElseThrow()
        .asToolUse();
    assertThat(wholeCall.id()).isEqualTo(call.id());
    assertThat((Object) Json.MAPPER.valueToTree(wholeCall._input().convert(Object.class))).isEqualTo(input);
    assertThat(whole.usage().outputTokens()).isEqualTo(streamed.usage().outputTokens());
  }

  @Test
  void anthropicMessagesAnswersTheSameTextAsChatCompletionsForTheSameConversation() throws Exception {
    SimNode node = start(INSTANT);

    Message message = anthropic(node).messages().create(MessageCreateParams.builder().model("qwen3:32b")
        .maxTokens(40).system("Be brief.").addUserMessage("Hello there").build());
    JsonNode chat = json(post(node, "/v1/chat/completions", "{\"model\":\"qwen3:32b\",\"max_tokens\":40,"
        + "\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hello there\"}]}"));

    assertThat(message.content()).hasSize(1);
    assertThat(message.content().get(0).asText().text())
        .isEqualTo(chat.path("choices").get(0).path("message").path("content").asText()).isNotEmpty();
    assertThat(message.stopReason()).contains(chat.path("choices").get(0).path("finish_reason").asText()
        .equals("length") ? StopReason.MAX_TOKENS : StopReason.END_TURN);
    assertThat(message.usage().inputTokens()).isEqualTo(chat.path("usage").path("prompt_tokens").asLong());
    assertThat(message.id()).startsWith("msg_");
  }

  @Test
  void anthropicStreamsThinkingWithSignatureThenTextAsTypedEvents() throws Exception {
    SimNode node = start(INSTANT);

    String body = post(node, "/v1/messages", "{\"model\":\"qwen3:32b\",\"max_tokens\":300,\"stream\":true,"
        + "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024},"
        + "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Why?\"}]}]}").body();

    List<String> types = new ArrayList<>();
    List<String> deltas = new ArrayList<>();
    for (String event : body.split("\n\n")) {
      String[] lines = event.split("\n");
      assertThat(lines[0]).startsWith("event: ");
      JsonNode data = Json.MAPPER.readTree(lines[1].substring("data: ".length()));
      assertThat(data.path("type").asText()).isEqualTo(lines[0].substring("event: ".length()));
      types.add(data.path("type").asText());
      if (data.path("type").asText().equals("content_block_delta")) {
        deltas.add(data.path("index").asInt() + ":" + data.path("delta").path("type").asText());
      }
    }
    assertThat(types.subList(0, 3)).containsExactly("message_start", "ping", "content_block_start");
    assertThat(types.subList(types.size() - 2, types.size())).containsExactly("message_delta", "message_stop");
    assertThat(deltas).contains("0:thinking_delta", "0:signature_delta", "1:text_delta");
    assertThat(deltas.indexOf("0:signature_delta")).isEqualTo(deltas.lastIndexOf("0:thinking_delta") + 1);
    assertThat(types.stream().filter(type -> type.equals("content_block_stop"))).hasSize(2);
  }

  @Test
  void countTokensGivesTheInputTokensOfTheSameMessage() throws Exception {
    SimNode node = start(INSTANT);
    MessageCreateParams params = searchMessage();

    long counted = anthropic(node).messages().countTokens(MessageCountTokensParams.builder().model("qwen3:32b")
        .addUserMessage(QUESTION).addTool(params.tools().orElseThrow().get(0).asTool()).build()).inputTokens();

    assertThat(counted).isPositive().isEqualTo(anthropic(node).messages().create(params).usage().inputTokens());
  }

  @Test
  void anthropicErrorsComeInAnthropicsErrorShape() throws Exception {
    SimNode node = start(INSTANT);

    HttpResponse<String> response = post(node, "/v1/messages",
        "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");

    assertThat(response.statusCode()).isEqualTo(400);
    JsonNode error = json(response);
    assertThat(error.path("type").asText()).isEqualTo("error");
    assertThat(error.path("error").path("type").asText()).isEqualTo("invalid_request_error");
    assertThat(error.path("error").path("message").asText()).contains("max_tokens");
  }


  @Test
  void unknownModelsBadBodiesAndFaultedRequestsAnswerInAnthropicsErrorShape() throws Exception {
    SimNode node = start(INSTANT);
    String message = "{\"model\":\"qwen3:32b\",\"max_tokens\":20,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    String count = "{\"model\":\"llama9:1b\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

    HttpResponse<String> unknown = post(node, "/v1/messages", message.replace("qwen3:32b", "llama9:1b"));
    HttpResponse<String> notJson = post(node, "/v1/messages", "{\"model\":");
    HttpResponse<String> countUnknown = post(node, "/v1/messages/count_tokens", count);
    HttpResponse<String> countNotAnObject = post(node, "/v1/messages/count_tokens", "[]");
    node.injectFault(SimFault.status(503, SimFault.OLLAMA_BUSY_BODY, 1));
    HttpResponse<String> busy = post(node, "/v1/messages", message.replace("{\"model\"", "{\"stream\":true,\"model\""));
    node.injectFault(SimFault.errorRate(100, 429));
    HttpResponse<String> limited = post(node, "/v1/messages", message);
    node.injectFault(SimFault.errorRate(100, 500));
    HttpResponse<String> failed = post(node, "/v1/messages", message);

    assertAnthropicError(unknown, 404, "not_found_error", "llama9:1b");
    assertAnthropicError(notJson, 400, "invalid_request_error", "invalid JSON");
    assertAnthropicError(countUnknown, 404, "not_found_error", "llama9:1b");
    assertAnthropicError(countNotAnObject, 400, "invalid_request_error", "must be a JSON object");
    assertAnthropicError(busy, 503, "overloaded_error", "server busy");
    assertThat(busy.headers().firstValue("retry-after")).isPresent();
    assertAnthropicError(limited, 429, "rate_limit_error", "too many requests");
    assertThat(limited.headers().firstValue("retry-after")).isPresent();
    assertAnthropicError(failed, 500, "api_error", "internal error");
  }

  @Test
  void anthropicJavaReadsTheNodesErrorsAsItsTypedExceptions() throws Exception {
    SimNode node = start(INSTANT);
    MessageCreateParams unknown = MessageCreateParams.builder().model("llama9:1b").maxTokens(20)
        .addUserMessage("Hi").build();
    MessageCreateParams known = MessageCreateParams.builder().model("qwen3:32b").maxTokens(20)
        .addUserMessage("Hi").build();

    assertThatThrownBy(() -> anthropic(node).messages().create(unknown)).isInstanceOf(NotFoundException.class);
    node.injectFault(SimFault.errorRate(100, 429));
    assertThatThrownBy(() -> anthropic(node).messages().create(known)).isInstanceOf(RateLimitException.class)
        .satisfies(e -> assertThat(((RateLimitException) e).body().toString()).contains("rate_limit_error"));
  }

  private static void assertAnthropicError(HttpResponse<String> response, int status, String type, String message)
      throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    assertThat(response.headers().firstValue("content-type")).hasValueSatisfying(
        v -> assertThat(v).startsWith("application/json"));
    JsonNode error = json(response);
    assertThat(error.path("type").asText()).as(response.body()).isEqualTo("error");
    assertThat(error.path("error").path("type").asText()).as(response.body()).isEqualTo(type);
    assertThat(error.path("error").path("message").asText()).contains(message);
  }

  @Test
  void anthropicJavaAccumulatesStreamedThinkingWithItsSignatureLikeTheWholeAnswer() {
    SimNode node = start(INSTANT);
    MessageCreateParams params = MessageCreateParams.builder().model("qwen3:32b").maxTokens(400)
        .enabledThinking(1024).addUserMessage("Why is the sky blue?").build();

    MessageAccumulator accumulator = MessageAccumulator.create();
    try (StreamResponse<RawMessageStreamEvent> stream = anthropic(node).messages().createStreaming(params)) {
      stream.stream().forEach(accumulator::accumulate);
    }
    Message streamed = accumulator.message();
    Message whole = anthropic(node).messages().create(params);

    assertThat(streamed.content().get(0).isThinking()).isTrue();
    assertThat(streamed.content().get(0).asThinking().signature()).isNotEmpty()
        .isEqualTo(whole.content().get(0).asThinking().signature());
    assertThat(streamed.content().get(0).asThinking().thinking()).isNotEmpty()
        .isEqualTo(whole.content().get(0).asThinking().thinking());
    assertThat(streamed.content().get(1).asText().text()).isEqualTo(whole.content().get(1).asText().text());
  }
}
