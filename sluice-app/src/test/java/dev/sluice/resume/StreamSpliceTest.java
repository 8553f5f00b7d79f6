package dev.sluice.resume;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The pure rules of stream resumption: what a continuation asks for, when none may be, and how events are spliced. */
class StreamSpliceTest {
  static final String ROLE = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":100,"
      + "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
      + "\"logprobs\":null,\"finish_reason\":null}]}\n\n";

  static String chunk(String id, long created, String delta, String finish) {
    return "data: {\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":" + created
        + ",\"model\":\"node-model\",\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"logprobs\":null,"
        + "\"finish_reason\":" + (finish == null ? "null" : "\"" + finish + "\"") + "}]}\n\n";
  }

  static String content(String piece) {
    return chunk("chatcmpl-1", 100, "{\"content\":\"" + piece + "\"}", null);
  }

  static ObjectNode json(String s) throws Exception {
    return (ObjectNode) Json.MAPPER.readTree(s);
  }

  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String s(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  static StreamSplice chat(String request) throws Exception {
    return StreamSplice.of(Wire.OPENAI_CHAT, json(request), e -> s(e).startsWith("data: {\"error\""), () -> 5_000);
  }

  static final String CHAT = "{\"model\":\"m\",\"stream\":true,\"max_tokens\":10,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  @Test
  void theFirstNodesEventsPassByteForByte() throws Exception {
    StreamSplice splice = chat(CHAT);
    byte[] in = b(ROLE + content("caf\\u00e9") + content(" 日本語") + ": ping\n\n");
    assertThat(splice.events(in)).isSameAs(in);
    assertThat(splice.relayedText()).isEqualTo("café 日本語");
    assertThat(splice.relayedTokens()).isEqualTo(2);
  }

  @Test
  void eventsFedOneByOneOrAllAtOnceRelayTheSameText() throws Exception {
    String all = ROLE + content("a") + content(" b") + content(" c");
    StreamSplice whole = chat(CHAT);
    whole.events(b(all));
    StreamSplice pieces = chat(CHAT);
    for (String event : all.split("(?<=\n\n)")) pieces.events(b(event));
    assertThat(pieces.relayedText()).isEqualTo(whole.relayedText()).isEqualTo("a b c");
  }

  @Test
  void aChatIsContinuedWithTheRelayedTextAsAFinalAssistantMessageAndItsLimitReduced() throws Exception {
    StreamSplice splice = chat(CHAT.replace("\"max_tokens\":10", "\"max_tokens\":10,\"max_completion_tokens\":10"));
    splice.events(b(ROLE + content("one") + content(" two") + content(" three")));
    assertThat(splice.whyNot(2)).isNull();
    ObjectNode next = splice.continuation();
    JsonNode last = next.get("messages").get(1);
    assertThat(last.get("role").asText()).isEqualTo("assistant");
    assertThat(last.get("content").asText()).isEqualTo("one two three");
    assertThat(next.get("continue_final_message").asBoolean()).isTrue();
    assertThat(next.get("add_generation_prompt").asBoolean()).isFalse();
    assertThat(next.get("max_tokens").asInt()).isEqualTo(7);
    assertThat(next.get("max_completion_tokens").asInt()).isEqualTo(7);
    assertThat(next.has("chat_template_kwargs")).isFalse();
  }

  @Test
  void nothingRelayedButTheRoleChunkRestartsTheTurnWithTheOriginalRequest() throws Exception {
    StreamSplice splice = chat(CHAT);
    splice.events(b(ROLE));
    assertThat(splice.continuation()).isEqualTo(json(CHAT));
  }

  @Test
  void aContinuationsChunksCarryTheFirstNodesIdCreatedAndModelWithoutASecondRoleChunk() throws Exception {
    StreamSplice splice = chat(CHAT);
    splice.events(b(ROLE.replace("\"model\":\"m\"", "\"model\":\"first\"") + content("a")));
    splice.continuation();
    String out = s(splice.events(b(chunk("chatcmpl-9", 999, "{\"role\":\"assistant\",\"content\":\"\"}", null)
        + chunk("chatcmpl-9", 999, "{\"content\":\" b\"}", null)
        + chunk("chatcmpl-9", 999, "{}", "length")
        + "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":999,\"model\":\"x\","
        + "\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":9,\"total_tokens\":21}}\n\n"
        + "data: [DONE]\n\n")));
    assertThat(out).doesNotContain("role").doesNotContain("chatcmpl-9").doesNotContain("999")
        .doesNotContain("node-model");
    String[] events = out.split("\n\n");
    assertThat(events).hasSize(4);
    assertThat(events[0]).contains("\"id\":\"chatcmpl-1\"").contains("\"created\":100").contains("\"model\":\"first\"")
        .contains("\" b\"");
    // usage: the prompt once (the node's 12 less the 1 relayed token it read back), every completion token (1 + 9)
    assertThat(events[2]).contains("\"prompt_tokens\":11,\"completion_tokens\":10,\"total_tokens\":21");
    assertThat(events[3]).isEqualTo("data: [DONE]");
    assertThat(splice.ended()).isTrue();
  }

  @Test
  void toolCallBytesThatReachedTheClientForbidAContinuation() throws Exception {
    StreamSplice splice = chat(CHAT);
    splice.events(b(ROLE + chunk("chatcmpl-1", 100, "{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":"
        + "\"function\",\"function\":{\"name\":\"search\"}}]}", null)));
    assertThat(splice.whyNot(2)).contains("tool-call bytes");
  }

  @Test
  void aStreamCutInsideItsReasoningIsNotContinuedButOneCutAfterItContinuesWithThinkingOff() throws Exception {
    StreamSplice thinking = chat(CHAT);
    thinking.events(b(ROLE + chunk("chatcmpl-1", 100, "{\"reasoning_content\":\"Okay\"}", null)));
    assertThat(thinking.whyNot(2)).contains("reasoning");

    StreamSplice answering = chat(CHAT);
    answering.events(b(ROLE + chunk("chatcmpl-1", 100, "{\"reasoning_content\":\"Okay\"}", null) + content("Hi")));
    assertThat(answering.whyNot(2)).isNull();
    ObjectNode next = answering.continuation();
    assertThat(next.path("chat_template_kwargs").path("enable_thinking").asBoolean(true)).isFalse();
    assertThat(next.get("max_tokens").asInt()).isEqualTo(8); // reasoning tokens count against the limit too
    assertThat(s(answering.events(b(chunk("x", 1, "{\"reasoning_content\":\"again\"}", null)))))
        .as("a continuation's reasoning never reaches the client").isEmpty();
  }

  @Test
  void atMostTheGivenNumberOfContinuationsAndNoneOnceTheLimitWasReached() throws Exception {
    StreamSplice splice = chat(CHAT);
    splice.events(b(ROLE + content("a")));
    splice.continuation();
    splice.continuation();
    assertThat(splice.whyNot(2)).contains("at most 2");
    assertThat(splice.whyNot(3)).isNull();

    StreamSplice full = chat(CHAT.replace("\"max_tokens\":10", "\"max_tokens\":2"));
    full.events(b(ROLE + content("a") + content(" b")));
    assertThat(full.whyNot(2)).contains("token limit");
  }

  @Test
  void anInBandErrorEventIsHeldBackWithWhatFollowsIt() throws Exception {
    StreamSplice splice = chat(CHAT);
    String error = "data: {\"error\":{\"message\":\"engine died\"}}\n\n";
    byte[] out = splice.events(b(ROLE + content("a") + error + "data: [DONE]\n\n"));
    assertThat(s(out)).isEqualTo(ROLE + content("a"));
    assertThat(s(splice.errorEvent())).isEqualTo(error + "data: [DONE]\n\n");
    assertThat(splice.ended()).isFalse();
    assertThat(splice.events(b(content("late")))).isEmpty();
  }

  @Test
  void aStreamThatIsNeverContinuedIsStillWatchedForErrorsAndItsEnd() throws Exception {
    StreamSplice splice = chat(CHAT);
    splice.watchOnly();
    byte[] in = b(ROLE + content("a"));
    assertThat(splice.events(in)).isSameAs(in);
    assertThat(splice.relayedText()).as("not read").isEmpty();
    assertThat(splice.ended()).isFalse();
    splice.events(b("data: [DONE]\n\n"));
    assertThat(splice.ended()).isTrue();

    StreamSplice ollama = StreamSplice.of(Wire.OLLAMA_GENERATE, json("{\"prompt\":\"a\"}"),
        e -> s(e).startsWith("{\"error\""), () -> 0);
    ollama.watchOnly();
    ollama.events(b("{\"response\":\"\\\"done\\\":true\",\"done\":false}\n"));
    assertThat(ollama.ended()).as("a piece of text that reads done:true is not the end").isFalse();
    assertThat(s(ollama.events(b("{\"error\":\"boom\"}\n")))).isEmpty();
    assertThat(ollama.errorEvent()).isNotNull();
  }

  static String named(String type, String data) {
    return "event: " + type + "\ndata: {\"type\":\"" + type + "\"" + data + "}\n\n";
  }

  @Test
  void anAnthropicTextBlockLeftOpenGoesOnUnderItsIndexWithoutASecondMessageStart() throws Exception {
    StreamSplice splice = StreamSplice.of(Wire.ANTHROPIC_MESSAGES, json("{\"model\":\"m\",\"max_tokens\":10,"
        + "\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"),
        e -> s(e).startsWith("event: error"), () -> 0);
    splice.events(b(named("message_start", ",\"message\":{\"id\":\"msg_1\",\"model\":\"m\"}")
        + named("content_block_start", ",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}")
        + named("content_block_delta", ",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"}")
        + named("content_block_delta", ",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" b\"}")));
    ObjectNode next = splice.continuation();
    assertThat(next.get("messages").get(1).get("content").asText()).isEqualTo("a b");
    assertThat(next.get("max_tokens").asInt()).isEqualTo(8);
    String out = s(splice.events(b(named("message_start", ",\"message\":{\"id\":\"msg_2\",\"model\":\"m\"}")
        + named("ping", "")
        + named("content_block_start", ",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}")
        + named("content_block_delta", ",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" c\"}")
        + named("content_block_stop", ",\"index\":0")
        + named("message_delta", ",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":8}")
        + named("message_stop", ""))));
    assertThat(out).doesNotContain("message_start").doesNotContain("ping").doesNotContain("content_block_start")
        .doesNotContain("msg_2").contains("\" c\"").contains("\"output_tokens\":10");
    assertThat(splice.ended()).isTrue();
  }

  @Test
  void aClientsOwnPrefillIsExtendedRatherThanFollowedByASecondAssistantMessage() throws Exception {
    StreamSplice splice = StreamSplice.of(Wire.OLLAMA_CHAT, json("{\"messages\":[{\"role\":\"user\",\"content\":"
        + "\"hi\"},{\"role\":\"assistant\",\"content\":\"Sure:\"}]}"), e -> false, () -> 0);
    splice.events(b("{\"message\":{\"role\":\"assistant\",\"content\":\" one\"},\"done\":false}\n"));
    ObjectNode next = splice.continuation();
    assertThat(next.get("messages")).hasSize(2);
    assertThat(next.get("messages").get(1).get("content").asText()).isEqualTo("Sure: one");
  }

  @ParameterizedTest(name = "{0} → never continued")
  @CsvSource(delimiter = '|', value = {
      "OPENAI_CHAT|{\"n\":2}|several choices",
      "OPENAI_CHAT|{\"logprobs\":true}|logprobs",
      "OPENAI_CHAT|{\"response_format\":{\"type\":\"json_schema\"}}|constrained",
      "OPENAI_COMPLETIONS|{\"prompt\":\"a\",\"echo\":true}|echo",
      "OPENAI_COMPLETIONS|{\"prompt\":[\"a\",\"b\"]}|one string",
      "OLLAMA_CHAT|{\"format\":\"json\"}|constrained",
      "OLLAMA_GENERATE|{\"prompt\":\"a\",\"suffix\":\"b\"}|suffix"})
  void requestsWhoseStreamsCannotBeContinuedAreRefusedUpFront(Wire wire, String request, String why) throws Exception {
    assertThat(StreamSplice.refusal(wire, json(request))).contains(why);
  }

  @Test
  void plainRequestsOfEveryWireMayBeContinued() throws Exception {
    assertThat(StreamSplice.refusal(Wire.OPENAI_CHAT, json(CHAT))).isNull();
    assertThat(StreamSplice.refusal(Wire.OPENAI_COMPLETIONS, json("{\"prompt\":\"a\",\"logprobs\":null}"))).isNull();
    assertThat(StreamSplice.refusal(Wire.OLLAMA_CHAT, json("{\"messages\":[]}"))).isNull();
    assertThat(StreamSplice.refusal(Wire.OLLAMA_GENERATE, json("{\"prompt\":\"a\",\"format\":\"\"}"))).isNull();
  }

  @Test
  void rawPromptsAreContinuedWithThePromptFollowedByTheRelayedText() throws Exception {
    StreamSplice completions = StreamSplice.of(Wire.OPENAI_COMPLETIONS,
        json("{\"prompt\":\"Once\",\"max_tokens\":5,\"stream\":true}"), e -> false, () -> 0);
    completions.events(b("data: {\"id\":\"cmpl-1\",\"choices\":[{\"index\":0,\"text\":\" upon\"}]}\n\n"));
    ObjectNode next = completions.continuation();
    assertThat(next.get("prompt").asText()).isEqualTo("Once upon");
    assertThat(next.get("max_tokens").asInt()).isEqualTo(4);

    StreamSplice generate = StreamSplice.of(Wire.OLLAMA_GENERATE,
        json("{\"prompt\":\"Why\",\"options\":{\"num_predict\":5}}"), e -> false, () -> 0);
    generate.events(b("{\"model\":\"m\",\"response\":\" is\",\"done\":false}\n"));
    next = generate.continuation();
    assertThat(next.get("prompt").asText()).isEqualTo("Why is");
    assertThat(next.path("options").path("num_predict").asInt()).isEqualTo(4);
  }

  @Test
  void anOllamaChatsFinalLineCountsEveryTokenOnceAndSumsTheNodesTime() throws Exception {
    StreamSplice splice = StreamSplice.of(Wire.OLLAMA_CHAT, json("{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
        + "\"content\":\"hi\"}],\"options\":{\"num_predict\":10}}"), e -> s(e).startsWith("{\"error\""), () -> 9_000);
    splice.events(b("{\"model\":\"first\",\"message\":{\"role\":\"assistant\",\"content\":\"a\"},\"done\":false}\n"
        + "{\"model\":\"first\",\"message\":{\"role\":\"assistant\",\"content\":\" b\"},\"done\":false}\n"));
    splice.brokenNodeWorked(100, 200);
    ObjectNode next = splice.continuation();
    assertThat(next.get("messages").get(1).get("content").asText()).isEqualTo("a b");
    assertThat(next.path("options").path("num_predict").asInt()).isEqualTo(8);
    String out = s(splice.events(b("{\"model\":\"second\",\"message\":{\"role\":\"assistant\",\"content\":\" c\"},"
        + "\"done\":false}\n{\"model\":\"second\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,"
        + "\"done_reason\":\"length\",\"total_duration\":1000,\"load_duration\":1,\"prompt_eval_count\":7,"
        + "\"prompt_eval_duration\":10,\"eval_count\":8,\"eval_duration\":20}\n")));
    String[] lines = out.split("\n");
    JsonNode done = Json.MAPPER.readTree(lines[1]);
    assertThat(lines[0]).contains("\"model\":\"first\"");
    assertThat(done.get("model").asText()).isEqualTo("first");
    assertThat(done.get("prompt_eval_count").asInt()).isEqualTo(5);
    assertThat(done.get("eval_count").asInt()).isEqualTo(10);
    assertThat(done.get("prompt_eval_duration").asLong()).isEqualTo(110);
    assertThat(done.get("eval_duration").asLong()).isEqualTo(220);
    assertThat(done.get("total_duration").asLong()).isEqualTo(9_000);
    assertThat(splice.ended()).isTrue();
  }
}
