package dev.sluice.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
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
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class AnthropicOverChatTest {
  private static final Dialect MESSAGES = Endpoint.ANTHROPIC_MESSAGES.dialect();
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2)).build();
  private static final String SEARCH_SCHEMA = "{\"type\":\"object\",\"properties\":{"
      + "\"query\":{\"type\":\"string\",\"minLength\":3},"
      + "\"max_results\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":20}},\"required\":[\"query\",\"max_results\"]}";
  private static final String SEARCH_TOOL = "{\"name\":\"search_files\",\"description\":\"Searches files.\","
      + "\"input_schema\":" + SEARCH_SCHEMA + "}";

  private static Vertx vertx;
  private static HttpServer server;
  private static SimNode node;
  /** What the test server answers next: its content type and body. */
  private static final AtomicReference<String[]> NEXT = new AtomicReference<>();

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    server = vertx.createHttpServer().requestHandler(request -> {
      String[] next = NEXT.get();
      request.response().putHeader("content-type", next[0]).end(next[1]);
    }).listen(0, "127.0.0.1").await();
    node = SimNode.start(vertx, SimOptions.defaults().withTimeScale(0)).await();
  }

  @AfterAll
  static void stop() {
    node.close().await();
    server.close().await();
    vertx.close().await();
  }

  private static ChatTranslation over(String messagesRequest) throws ApiException {
    return MESSAGES.overChat(RequestValidator.parse(Endpoint.ANTHROPIC_MESSAGES, Buffer.buffer(messagesRequest)));
  }

  private static JsonNode chat(String messagesRequest) throws Exception {
    return Json.MAPPER.readTree(over(messagesRequest).chatRequest().getBytes());
  }

  private static String request(String fields) {
    return "{\"model\":\"qwen3:32b\",\"max_tokens\":100," + fields + "}";
  }

  private static String user(String text) {
    return "\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}]";
  }

  // ---------------------------------------------------------------- requests

  @Test
  void aFullMessagesRequestBecomesTheChatRequestFieldByField() throws Exception {
    JsonNode chat = chat("{\"model\":\"qwen3:32b\",\"max_tokens\":300,\"stream\":true,"
        + "\"system\":[{\"type\":\"text\",\"text\":\"Be brief.\",\"cache_control\":{\"type\":\"ephemeral\"}}],"
        + "\"temperature\":0.5,\"top_p\":0.9,\"top_k\":40,\"stop_sequences\":[\"END\"],"
        + "\"metadata\":{\"user_id\":\"u-1\"},\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2048},"
        + "\"tools\":[" + SEARCH_TOOL + "],\"tool_choice\":{\"type\":\"any\",\"disable_parallel_tool_use\":true},"
        + "\"messages\":["
        + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Look at this\"},"
        + "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"iVBO\"}},"
        + "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://x.test/a.jpg\"}}]},"
        + "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"I should search.\","
        + "\"signature\":\"sig\"},{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"search_files\","
        + "\"input\":{\"query\":\"report\",\"max_results\":3}}]},"
        + "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_01\","
        + "\"content\":[{\"type\":\"text\",\"text\":\"a.pdf\"},{\"type\":\"text\",\"text\":\"b.pdf\"}]},"
        + "{\"type\":\"text\",\"text\":\"Which one?\",\"cache_control\":{\"type\":\"ephemeral\"}}]}]}");

    assertThat(chat).isEqualTo(Json.MAPPER.readTree("{\"model\":\"qwen3:32b\",\"max_tokens\":300,\"messages\":["
        + "{\"role\":\"system\",\"content\":\"Be brief.\"},"
        + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Look at this\"},"
        + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBO\"}},"
        + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x.test/a.jpg\"}}]},"
        + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"toolu_01\",\"type\":\"function\","
        + "\"function\":{\"name\":\"search_files\",\"arguments\":\"{\\\"query\\\":\\\"report\\\",\\\"max_results\\\":3}\"}}],"
        + "\"reasoning_content\":\"I should search.\"},"
        + "{\"role\":\"tool\",\"tool_call_id\":\"toolu_01\",\"content\":\"a.pdf\\nb.pdf\"},"
        + "{\"role\":\"user\",\"content\":\"Which one?\"}],"
        + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"search_files\",\"description\":\"Searches files.\","
        + "\"parameters\":" + SEARCH_SCHEMA + "}}],"
        + "\"tool_choice\":\"required\",\"parallel_tool_calls\":false,"
        + "\"chat_template_kwargs\":{\"enable_thinking\":true},"
        + "\"temperature\":0.5,\"top_p\":0.9,\"top_k\":40,\"stop\":[\"END\"],\"user\":\"u-1\","
        + "\"stream\":true,\"stream_options\":{\"include_usage\":true}}"));
  }

  @Test
  void toolResultsOfOneUserMessageBecomeConsecutiveToolMessagesBeforeItsTextInOrder() throws Exception {
    JsonNode chat = chat(request("\"tool_choice\":{\"type\":\"tool\",\"name\":\"f\"},\"tools\":[{\"name\":\"f\"}],"
        + "\"messages\":[{\"role\":\"user\",\"content\":\"Go\"},"
        + "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Calling both.\"},"
        + "{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"f\",\"input\":{}},"
        + "{\"type\":\"tool_use\",\"id\":\"b\",\"name\":\"f\",\"input\":{\"x\":1}}]},"
        + "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"a\",\"content\":\"one\"},"
        + "{\"type\":\"tool_result\",\"tool_use_id\":\"b\",\"content\":\"boom\",\"is_error\":true},"
        + "{\"type\":\"text\",\"text\":\"Now?\"}]},"
        + "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"c\"}]}]"));

    List<String> shape = new ArrayList<>();
    for (JsonNode m : chat.get("messages")) {
      shape.add(m.get("role").asText() + ":" + m.path("tool_call_id").asText("") + ":" + m.get("content").asText());
    }
    assertThat(shape).containsExactly("user::Go", "assistant::Calling both.", "tool:a:one", "tool:b:Error: boom",
        "user::Now?", "tool:c:");
    assertThat(chat.at("/messages/1/tool_calls/1/function/arguments").asText()).isEqualTo("{\"x\":1}");
    assertThat(chat.get("tool_choice").toString())
        .isEqualTo("{\"type\":\"function\",\"function\":{\"name\":\"f\"}}");
    assertThat(chat.has("stream")).isFalse();
    assertThat(chat.has("stream_options")).isFalse();
  }

  @Test
  void thinkingDisabledTurnsTemplateThinkingOffAndAutoNoneToolChoicesMapByName() throws Exception {
    assertThat(chat(request("\"thinking\":{\"type\":\"disabled\"}," + user("Hi"))).get("chat_template_kwargs")
        .toString()).isEqualTo("{\"enable_thinking\":false}");
    assertThat(chat(request("\"tools\":[{\"name\":\"f\",\"type\":\"custom\"}],\"tool_choice\":{\"type\":\"auto\"},"
        + user("Hi"))).get("tool_choice").asText()).isEqualTo("auto");
    assertThat(chat(request("\"tools\":[{\"name\":\"f\"}],\"tool_choice\":{\"type\":\"none\"}," + user("Hi")))
        .get("tool_choice").asText()).isEqualTo("none");
    assertThat(chat(request("\"system\":\"Sys\"," + user("Hi"))).at("/messages/0").toString())
        .isEqualTo("{\"role\":\"system\",\"content\":\"Sys\"}");
  }

  @Test
  void structuredOutputEffortAndAdaptiveThinkingHaveTheirChatEquivalents() throws Exception {
    JsonNode chat = chat(request("\"cache_control\":{\"type\":\"ephemeral\"},\"thinking\":{\"type\":\"adaptive\"},"
        + "\"output_config\":{\"effort\":\"low\",\"format\":{\"type\":\"json_schema\",\"schema\":" + SEARCH_SCHEMA
        + "}}," + user("Hi")));

    assertThat(chat.get("response_format")).isEqualTo(Json.MAPPER.readTree("{\"type\":\"json_schema\","
        + "\"json_schema\":{\"name\":\"output\",\"schema\":" + SEARCH_SCHEMA + ",\"strict\":true}}"));
    assertThat(chat.get("reasoning_effort").asText()).isEqualTo("low");
    assertThat(chat.at("/chat_template_kwargs/enable_thinking").asBoolean()).isTrue();
    assertThat(chat.has("cache_control")).isFalse();
  }

  @Test
  void whatChatCompletionsCannotCarryIsRefusedNamingItAndTheFix() {
    String image = "{\"type\":\"image\",\"source\":{\"type\":\"file\",\"file_id\":\"f\"}}";
    for (String[] bad : List.of(
        new String[] {"\"service_tier\":\"auto\"," + user("Hi"), "\"service_tier\""},
        new String[] {"\"container\":\"c\"," + user("Hi"), "\"container\""},
        new String[] {"\"mcp_servers\":[]," + user("Hi"), "\"mcp_servers\""},
        new String[] {"\"context_management\":{}," + user("Hi"), "\"context_management\""},
        new String[] {"\"frobnicate\":1," + user("Hi"), "\"frobnicate\""},
        new String[] {"\"speed\":\"fast\"," + user("Hi"), "\"speed\""},
        new String[] {"\"inference_geo\":\"us\"," + user("Hi"), "\"inference_geo\""},
        new String[] {"\"output_config\":{\"effort\":\"max\"}," + user("Hi"), "output_config.effort"},
        new String[] {"\"tools\":[{\"name\":\"f\",\"defer_loading\":true}]," + user("Hi"), "tools[0].defer_loading"},
        new String[] {"\"metadata\":{\"team\":\"x\"}," + user("Hi"), "metadata.team"},
        new String[] {"\"tools\":[{\"type\":\"web_search_20250305\",\"name\":\"web_search\"}]," + user("Hi"),
            "web_search_20250305"},
        new String[] {"\"tools\":[{\"type\":\"bash_20250124\",\"name\":\"bash\"}]," + user("Hi"), "bash_20250124"},
        new String[] {"\"messages\":[{\"role\":\"user\",\"content\":[" + image + "]}]", "\"file\""},
        new String[] {"\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"document\",\"source\":{}}]}]",
            "\"document\" block"},
        new String[] {"\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"search_result\"}]}]",
            "\"search_result\" block"},
        new String[] {"\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":"
            + "[{\"type\":\"redacted_thinking\",\"data\":\"x\"}]}]", "\"redacted_thinking\" block"},
        new String[] {"\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":"
            + "[{\"type\":\"server_tool_use\",\"id\":\"s\",\"name\":\"web_search\",\"input\":{}}]}]",
            "\"server_tool_use\" block"},
        new String[] {"\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"container_upload\"}]}]",
            "\"container_upload\" block"})) {
      assertThatThrownBy(() -> over(request(bad[0]))).as(bad[0]).isInstanceOf(ApiException.class)
          .hasMessageContaining(bad[1])
          .hasMessageContaining("send it to a node that speaks Anthropic Messages, or leave it out")
          .extracting(e -> ((ApiException) e).kind()).isEqualTo(ErrorKind.INVALID_REQUEST);
    }
  }

  @Test
  void blocksInTheWrongRoleAreRefused() {
    assertThatThrownBy(() -> over(request("\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_use\","
        + "\"id\":\"a\",\"name\":\"f\",\"input\":{}}]}]"))).hasMessageContaining("belongs in a \"assistant\" message");
    assertThatThrownBy(() -> over(request("\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},"
        + "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"a\"}]}]")))
        .hasMessageContaining("belongs in a \"user\" message");
  }

  @Test
  void cacheControlAnywhereIsAcceptedAndNotSent() throws Exception {
    JsonNode chat = chat(request("\"system\":[{\"type\":\"text\",\"text\":\"S\",\"cache_control\":{\"type\":"
        + "\"ephemeral\"}}],\"tools\":[{\"name\":\"f\",\"cache_control\":{\"type\":\"ephemeral\"}}],"
        + "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\","
        + "\"cache_control\":{\"type\":\"ephemeral\",\"ttl\":\"1h\"}}]}]"));

    assertThat(chat.toString()).doesNotContain("cache_control");
  }

  // ---------------------------------------------------------------- whole answers

  @Test
  void aWholeChatAnswerBecomesThinkingTextAndToolUseBlocks() throws Exception {
    byte[] completion = ("{\"id\":\"chatcmpl-abc\",\"object\":\"chat.completion\",\"model\":\"qwen3:32b\","
        + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Let me look.\","
        + "\"reasoning\":\"Hmm.\",\"tool_calls\":[{\"id\":\"call_7\",\"type\":\"function\",\"function\":{"
        + "\"name\":\"search_files\",\"arguments\":\"{\\\"query\\\":\\\"q\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}],"
        + "\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":30,\"prompt_tokens_details\":{\"cached_tokens\":100}}}")
        .getBytes(StandardCharsets.UTF_8);

    JsonNode body = Json.MAPPER.readTree(over(request(user("Hi"))).answer(completion).getBytes());

    assertThat(body).isEqualTo(Json.MAPPER.readTree("{\"id\":\"msg_abc\",\"type\":\"message\",\"role\":\"assistant\","
        + "\"model\":\"qwen3:32b\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"Hmm.\",\"signature\":\"\"},"
        + "{\"type\":\"text\",\"text\":\"Let me look.\"},{\"type\":\"tool_use\",\"id\":\"call_7\",\"name\":"
        + "\"search_files\",\"input\":{\"query\":\"q\"}}],\"stop_reason\":\"tool_use\",\"stop_sequence\":null,"
        + "\"usage\":{\"input_tokens\":20,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":100,"
        + "\"output_tokens\":30}}"));
    assertThat(MESSAGES.usage(Json.MAPPER.writeValueAsBytes(body))).isEqualTo(new Usage(120, 30, 100));
  }

  @Test
  void stopReasonsFollowTheFinishReasonAndVllmsMatchedStopSequence() throws Exception {
    ChatTranslation t = over(request("\"stop_sequences\":[\"END\"]," + user("Hi")));

    assertThat(stopOf(t, "\"stop\"", "\"END\"")).isEqualTo("stop_sequence:END");
    assertThat(stopOf(t, "\"stop\"", "\"OTHER\"")).isEqualTo("end_turn:null");
    assertThat(stopOf(t, "\"stop\"", "151645")).isEqualTo("end_turn:null");
    assertThat(stopOf(t, "\"length\"", "null")).isEqualTo("max_tokens:null");
    assertThat(stopOf(t, "\"content_filter\"", "null")).isEqualTo("refusal:null");
    assertThat(stopOf(t, "null", "null")).isEqualTo("end_turn:null");
  }

  private static String stopOf(ChatTranslation t, String finishReason, String stopReason) throws Exception {
    JsonNode body = Json.MAPPER.readTree(t.answer(("{\"id\":\"chatcmpl-1\",\"model\":\"m\",\"choices\":[{\"index\":0,"
        + "\"message\":{\"role\":\"assistant\",\"content\":\"x\"},\"finish_reason\":" + finishReason
        + ",\"stop_reason\":" + stopReason + "}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}")
        .getBytes(StandardCharsets.UTF_8)).getBytes());
    return body.get("stop_reason").asText() + ":" + body.get("stop_sequence").asText();
  }

  @Test
  void toolArgumentsThatAreNotAnObjectAreEmptyOnlyWhenTheLimitCutThem() throws Exception {
    ChatTranslation t = over(request(user("Hi")));
    String cut = "{\"id\":\"chatcmpl-1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
        + "\"content\":null,\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\","
        + "\"arguments\":\"{\\\"query\\\":\\\"q\"}}]},\"finish_reason\":\"%s\"}]}";

    JsonNode length = Json.MAPPER.readTree(t.answer(String.format(cut, "length").getBytes()).getBytes());
    JsonNode broken = Json.MAPPER.readTree(t.answer(String.format(cut, "tool_calls").getBytes()).getBytes());

    assertThat(length.get("content").toString())
        .isEqualTo("[{\"type\":\"tool_use\",\"id\":\"c\",\"name\":\"f\",\"input\":{}}]");
    assertThat(length.get("stop_reason").asText()).isEqualTo("max_tokens");
    assertThat(broken.at("/error/type").asText()).isEqualTo("api_error");
    assertThat(broken.at("/error/message").asText()).contains("not a JSON object");
  }

  @Test
  void aBodyThatIsNotAChatCompletionBecomesAnAnthropicApiError() throws Exception {
    for (String body : List.of("<html>oops</html>", "{\"choices\":[]}", "[1]", "")) {
      JsonNode error = Json.MAPPER.readTree(over(request(user("Hi"))).answer(body.getBytes()).getBytes());
      assertThat(error.get("type").asText()).isEqualTo("error");
      assertThat(error.at("/error/type").asText()).isEqualTo("api_error");
    }
  }

  @Test
  void nodeErrorsOfEveryShapeBecomeAnthropicErrorsTypedByStatus() throws Exception {
    ChatTranslation t = over(request(user("Hi")));

    assertThat(error(t, 400, "{\"error\":{\"message\":\"bad temperature\",\"type\":\"invalid_request_error\"}}"))
        .isEqualTo("invalid_request_error:bad temperature");
    assertThat(error(t, 400, "{\"object\":\"error\",\"message\":\"too long\",\"type\":\"BadRequestError\","
        + "\"code\":400}")).isEqualTo("invalid_request_error:too long");
    assertThat(error(t, 404, "{\"error\":\"model 'x' not found\"}")).isEqualTo("not_found_error:model 'x' not found");
    assertThat(error(t, 429, "slow down")).isEqualTo("rate_limit_error:slow down");
    assertThat(error(t, 503, "{}")).isEqualTo("overloaded_error:{}");
    assertThat(error(t, 500, "x".repeat(2000))).startsWith("api_error:xxx").hasSizeLessThan(520);
    assertThat(error(t, 401, "")).startsWith("authentication_error:");
  }

  private static String error(ChatTranslation t, int status, String body) throws Exception {
    JsonNode error = Json.MAPPER.readTree(t.error(status, body.getBytes(StandardCharsets.UTF_8)).getBytes());
    assertThat(error.get("type").asText()).isEqualTo("error");
    return error.at("/error/type").asText() + ":" + error.at("/error/message").asText();
  }

  // ---------------------------------------------------------------- streams

  private static String chunk(String delta, String finishReason) {
    return "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"model\":\"qwen3:32b\","
        + "\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"logprobs\":null,\"finish_reason\":" + finishReason
        + "}]}\n\n";
  }

  private static final String USAGE = "data: {\"id\":\"chatcmpl-9\",\"choices\":[],\"usage\":{\"prompt_tokens\":50,"
      + "\"completion_tokens\":9,\"prompt_tokens_details\":{\"cached_tokens\":32}}}\n\n";
  private static final String DONE = "data: [DONE]\n\n";

  /** The Messages events each chat event makes, as "type" or "type:delta type" per event, one string per input. */
  private static List<String> relay(ChatTranslation.Relay relay, String... chatEvents) throws Exception {
    List<String> out = new ArrayList<>();
    for (String chatEvent : chatEvents) {
      out.add(types(relay.events(Buffer.buffer(chatEvent)).toString(StandardCharsets.UTF_8)));
    }
    out.add(types(relay.end().toString(StandardCharsets.UTF_8)));
    return out;
  }

  private static String types(String events) throws Exception {
    List<String> types = new ArrayList<>();
    for (String event : events.split("\n\n")) {
      if (event.isEmpty()) continue;
      String[] lines = event.split("\n");
      String type = lines[0].substring("event: ".length());
      JsonNode data = Json.MAPPER.readTree(lines[1].substring("data: ".length()));
      assertThat(data.get("type").asText()).isEqualTo(type);
      types.add(data.has("delta") && data.get("delta").has("type") ? type + ":" + data.at("/delta/type").asText()
          : type);
    }
    return String.join(",", types);
  }

  @Test
  void aChatStreamBecomesBlocksEventByEventAndTheStopWaitsOnlyForTheUsageChunk() throws Exception {
    ChatTranslation.Relay relay = over(request(user("Hi"))).relay();

    List<String> out = relay(relay,
        chunk("{\"role\":\"assistant\",\"content\":\"\"}", "null"),
        chunk("{\"reasoning_content\":\"Think\"}", "null"),
        chunk("{\"reasoning\":\"ing.\"}", "null"),
        chunk("{\"content\":\"Hello\"}", "null"),
        chunk("{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
            + "\"arguments\":\"\"}}]}", "null"),
        chunk("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\":\"}}]}", "null"),
        chunk("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"1}\"}}]}", "null"),
        chunk("{\"tool_calls\":[{\"index\":1,\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"g\","
            + "\"arguments\":\"{}\"}}]}", "null"),
        chunk("{}", "\"tool_calls\""),
        USAGE,
        DONE);

    assertThat(out).containsExactly(
        "message_start",
        "content_block_start,content_block_delta:thinking_delta",
        "content_block_delta:thinking_delta",
        "content_block_delta:signature_delta,content_block_stop,content_block_start,content_block_delta:text_delta",
        "content_block_stop,content_block_start",
        "content_block_delta:input_json_delta",
        "content_block_delta:input_json_delta",
        "content_block_stop,content_block_start,content_block_delta:input_json_delta",
        "content_block_stop",
        "message_delta,message_stop",
        "",
        "");
  }

  @Test
  void theRelayedStreamCarriesIndexesIdsStopReasonAndUsage() throws Exception {
    ChatTranslation.Relay relay = over(request(user("Hi"))).relay();
    StringBuilder all = new StringBuilder();
    for (String event : List.of(chunk("{\"role\":\"assistant\",\"content\":\"\"}", "null"),
        chunk("{\"content\":\"Hi\"}", "null"),
        chunk("{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
            + "\"arguments\":\"{}\"}}]}", "null"), chunk("{}", "\"tool_calls\"") + USAGE + DONE)) {
      all.append(relay.events(Buffer.buffer(event)).toString(StandardCharsets.UTF_8));
    }
    List<JsonNode> events = new ArrayList<>();
    for (String event : all.toString().split("\n\n")) {
      events.add(Json.MAPPER.readTree(event.split("\n")[1].substring("data: ".length())));
    }

    assertThat(events.get(0).toString()).isEqualTo("{\"type\":\"message_start\",\"message\":{\"id\":\"msg_9\","
        + "\"type\":\"message\",\"role\":\"assistant\",\"model\":\"qwen3:32b\",\"content\":[],\"stop_reason\":null,"
        + "\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}");
    assertThat(events.get(1).toString()).isEqualTo("{\"type\":\"content_block_start\",\"index\":0,"
        + "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
    assertThat(events.get(4).toString()).isEqualTo("{\"type\":\"content_block_start\",\"index\":1,"
        + "\"content_block\":{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"f\",\"input\":{}}}");
    assertThat(events.get(5).toString()).isEqualTo("{\"type\":\"content_block_delta\",\"index\":1,"
        + "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}");
    assertThat(events.get(7).toString()).isEqualTo("{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
        + "\"tool_use\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":18,\"cache_read_input_tokens\":32,"
        + "\"output_tokens\":9}}");
    assertThat(events.get(8).toString()).isEqualTo("{\"type\":\"message_stop\"}");
    assertThat(events).hasSize(9);
  }

  @Test
  void wholeToolCallsInOneChunkEachWithItsOwnIdAreOneBlockEachEvenUnderOneIndex() throws Exception {
    ChatTranslation.Relay relay = over(request(user("Hi"))).relay();

    List<String> out = relay(relay,
        chunk("{\"tool_calls\":[{\"id\":\"call_a\",\"index\":0,\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}},"
            + "{\"id\":\"call_b\",\"index\":0,\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]}", "null"),
        chunk("{}", "\"stop\""), USAGE, DONE);

    assertThat(out).containsExactly("message_start,content_block_start,content_block_delta:input_json_delta,"
        + "content_block_stop,content_block_start,content_block_delta:input_json_delta",
        "content_block_stop", "message_delta,message_stop", "", "");
  }

  @Test
  void argumentsOfAToolCallAlreadyClosedEndTheStreamWithAnError() throws Exception {
    ChatTranslation.Relay relay = over(request(user("Hi"))).relay();
    relay.events(Buffer.buffer(chunk("{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\"}}]}",
        "null") + chunk("{\"tool_calls\":[{\"index\":1,\"id\":\"b\",\"function\":{\"name\":\"g\"}}]}", "null")));

    String out = relay.events(Buffer.buffer(chunk("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
        + "\"{}\"}}]}", "null"))).toString(StandardCharsets.UTF_8);

    assertThat(out).startsWith("event: error\n").contains("interleaved");
  }

  @Test
  void theRelayWritesTheSameBytesWhetherEventsComeOneByOneOrTogether() throws Exception {
    List<String> events = List.of(chunk("{\"role\":\"assistant\",\"content\":\"\"}", "null"),
        chunk("{\"reasoning_content\":\"Hm.\"}", "null"), chunk("{\"content\":\"Hi\"}", "null"),
        chunk("{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":{\"a\":1}}}]}",
            "null"), chunk("{}", "\"tool_calls\""), USAGE, DONE);
    ChatTranslation t = over(request(user("Hi")));
    ChatTranslation.Relay oneByOne = t.relay();
    Buffer separately = Buffer.buffer();
    for (String event : events) separately.appendBuffer(oneByOne.events(Buffer.buffer(event)));

    Buffer together = t.relay().events(Buffer.buffer(String.join("", events)));

    assertThat(together.toString(StandardCharsets.UTF_8)).isEqualTo(separately.toString(StandardCharsets.UTF_8))
        .contains("\"partial_json\":\"{\\\"a\\\":1}\"");
  }

  @Test
  void argumentsSentAsAnObjectAreTheInputAsTheyAre() throws Exception {
    byte[] completion = ("{\"id\":\"chatcmpl-1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{"
        + "\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":\"c\",\"function\":{\"name\":\"f\","
        + "\"arguments\":{\"a\":[1,2]}}}]},\"finish_reason\":\"tool_calls\"}]}").getBytes(StandardCharsets.UTF_8);

    JsonNode body = Json.MAPPER.readTree(over(request(user("Hi"))).answer(completion).getBytes());

    assertThat(body.get("content").toString())
        .isEqualTo("[{\"type\":\"tool_use\",\"id\":\"c\",\"name\":\"f\",\"input\":{\"a\":[1,2]}}]");
  }

  @Test
  void doneWithoutAUsageChunkStillEndsTheMessageWithZeroCounts() throws Exception {
    ChatTranslation.Relay relay = over(request(user("Hi"))).relay();

    List<String> out = relay(relay, chunk("{\"content\":\"Hi\"}", "null"), chunk("{}", "\"stop\""), DONE);

    assertThat(out).containsExactly("message_start,content_block_start,content_block_delta:text_delta",
        "content_block_stop", "message_delta,message_stop", "");
  }

  @Test
  void anEmptyAnswerStillHasItsTextBlock() throws Exception {
    ChatTranslation.Relay relay = over(request(user("Hi"))).relay();

    List<String> out = relay(relay, chunk("{\"role\":\"assistant\",\"content\":\"\"}", "null"),
        chunk("{}", "\"length\""), USAGE, DONE);

    assertThat(out).containsExactly("message_start", "content_block_start,content_block_stop",
        "message_delta,message_stop", "", "");
  }

  @Test
  void anErrorInsideTheChatStreamBecomesOneAnthropicErrorEventAndNothingAfter() throws Exception {
    for (String error : List.of("data: {\"error\":{\"message\":\"KV cache full\",\"code\":503}}\n\n",
        "data: {\"object\":\"error\",\"message\":\"KV cache full\",\"type\":\"x\",\"code\":503}\n\n")) {
      ChatTranslation.Relay relay = over(request(user("Hi"))).relay();
      relay.events(Buffer.buffer(chunk("{\"content\":\"Hi\"}", "null")));

      String out = relay.events(Buffer.buffer(error + DONE)).toString(StandardCharsets.UTF_8);

      assertThat(out).isEqualTo("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
          + "\"message\":\"KV cache full\"}}\n\n");
      assertThat(relay.events(Buffer.buffer(USAGE)).length()).isZero();
      assertThat(relay.end().length()).isZero();
    }
  }

  @Test
  void aStopSequenceTheNodeNamesIsTheStreamsStopSequence() throws Exception {
    ChatTranslation.Relay relay = over(request("\"stop_sequences\":[\"END\"]," + user("Hi"))).relay();
    relay.events(Buffer.buffer(chunk("{\"content\":\"Hi\"}", "null")));
    relay.events(Buffer.buffer("data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{},"
        + "\"finish_reason\":\"stop\",\"stop_reason\":\"END\"}]}\n\n"));

    String out = relay.events(Buffer.buffer(USAGE)).toString(StandardCharsets.UTF_8);

    assertThat(out).contains("\"delta\":{\"stop_reason\":\"stop_sequence\",\"stop_sequence\":\"END\"}");
  }

  // ---------------------------------------------------------------- exactness against a node that speaks Messages

  /** What a client reads in a Messages answer, ids and the thinking signature aside. */
  private record Read(String text, String thinking, List<String> toolUses, String stopReason, long inputTokens,
      long outputTokens) {
    static Read of(Message message) {
      StringBuilder text = new StringBuilder();
      StringBuilder thinking = new StringBuilder();
      List<String> tools = new ArrayList<>();
      for (ContentBlock block : message.content()) {
        if (block.isText()) text.append(block.asText().text());
        else if (block.isThinking()) thinking.append(block.asThinking().thinking());
        else if (block.isToolUse()) {
          tools.add(block.asToolUse().name() + " "
              + Json.MAPPER.valueToTree(block.asToolUse()._input().convert(Object.class)));
        }
      }
      return new Read(text.toString(), thinking.toString(), tools,
          message.stopReason().map(r -> r.asString()).orElse(null), message.usage().inputTokens(),
          message.usage().outputTokens());
    }
  }

  private static AnthropicClient client() {
    return AnthropicOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.actualPort())
        .apiKey("sk-ant-unused").maxRetries(0).build();
  }

  /** {@code body} as the official client reads it, whole or accumulated from its stream. */
  private static Message read(String body, boolean stream) {
    NEXT.set(new String[] {stream ? "text/event-stream" : "application/json", body});
    MessageCreateParams params = MessageCreateParams.builder().model("qwen3:32b").maxTokens(1).addUserMessage("x")
        .build();
    if (!stream) return client().messages().create(params);
    MessageAccumulator accumulator = MessageAccumulator.create();
    try (StreamResponse<RawMessageStreamEvent> events = client().messages().createStreaming(params)) {
      events.stream().forEach(accumulator::accumulate);
    }
    return accumulator.message();
  }

  private static String post(String path, String body) throws Exception {
    HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(node.baseUrl() + path))
        .timeout(Duration.ofSeconds(10)).header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return response.body();
  }

  /** The node's chat stream for {@code translation}, relayed one event at a time as the gateway's framer cuts it. */
  private static String relayed(ChatTranslation translation) throws Exception {
    String chat = post("/v1/chat/completions", translation.chatRequest().toString(StandardCharsets.UTF_8));
    ChatTranslation.Relay relay = translation.relay();
    Buffer out = Buffer.buffer();
    for (String event : chat.split("(?<=\n\n)")) out.appendBuffer(relay.events(Buffer.buffer(event)));
    return out.appendBuffer(relay.end()).toString(StandardCharsets.UTF_8);
  }

  /** The node's own Messages answer and the translation of its chat answer, whole and streamed, read alike. */
  private static Read exact(String messagesRequest) throws Exception {
    String streamed = messagesRequest.replaceFirst("\\{", "{\"stream\":true,");
    Read own = Read.of(read(post("/v1/messages", messagesRequest), false));
    Read ownStreamed = Read.of(read(post("/v1/messages", streamed), true));
    ChatTranslation whole = over(messagesRequest);
    Read translated = Read.of(read(whole.answer(post("/v1/chat/completions",
        whole.chatRequest().toString(StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8))
        .toString(StandardCharsets.UTF_8), false));
    Read translatedStream = Read.of(read(relayed(over(streamed)), true));

    assertThat(ownStreamed).isEqualTo(own);
    assertThat(translated).isEqualTo(own);
    assertThat(translatedStream).isEqualTo(own);
    return own;
  }

  @Test
  void aPlainAnswerOverChatReadsExactlyAsTheNodesOwnMessagesAnswer() throws Exception {
    Read read = exact(request("\"system\":\"Be brief.\"," + user("Hello there")));

    assertThat(read.text()).isNotEmpty();
    assertThat(read.toolUses()).isEmpty();
    assertThat(read.inputTokens()).isPositive();
  }

  @Test
  void aForcedToolCallOverChatReadsExactlyAsTheNodesOwnMessagesAnswer() throws Exception {
    Read read = exact(request("\"tools\":[" + SEARCH_TOOL + "],\"tool_choice\":{\"type\":\"any\"},"
        + user("Find the quarterly report.")));

    assertThat(read.stopReason()).isEqualTo("tool_use");
    assertThat(read.toolUses()).isNotEmpty().allMatch(call -> call.startsWith("search_files {"));
  }

  @Test
  void thinkingOverChatReadsExactlyAsTheNodesOwnMessagesAnswer() throws Exception {
    Read read = exact("{\"model\":\"qwen3:32b\",\"max_tokens\":400,\"thinking\":{\"type\":\"enabled\","
        + "\"budget_tokens\":1024}," + user("Why is the sky blue?") + "}");

    assertThat(read.thinking()).isNotEmpty();
    assertThat(read.text()).isNotEmpty();
  }

  @Test
  void aSecondTurnWithAToolResultOverChatReadsExactlyAsTheNodesOwnMessagesAnswer() throws Exception {
    Read read = exact(request("\"tools\":[" + SEARCH_TOOL + "],\"messages\":["
        + "{\"role\":\"user\",\"content\":\"Find the quarterly report.\"},"
        + "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"search_files\","
        + "\"input\":{\"query\":\"quarterly report\",\"max_results\":5}}]},"
        + "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_01\","
        + "\"content\":\"q3-report.pdf\"}]}]"));

    assertThat(read.text().isEmpty() && read.toolUses().isEmpty()).isFalse();
  }
}
