package dev.sluice.resume;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** OpenAI Responses passed through: the continuation request, the refusals, and how a continuation's events splice. */
class ResponsesSpliceTest {
  static final String REQUEST = "{\"model\":\"m\",\"stream\":true,\"max_output_tokens\":10,\"input\":\"hi\"}";

  static ObjectNode json(String s) throws Exception {
    return (ObjectNode) Json.MAPPER.readTree(s);
  }

  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static StreamSplice splice(String request) throws Exception {
    return StreamSplice.of(Wire.OPENAI_RESPONSES, json(request),
        e -> new String(e, StandardCharsets.UTF_8).startsWith("event: error"), () -> 0);
  }

  static String ev(String type, int seq, String fields) {
    return "event: " + type + "\ndata: {\"type\":\"" + type + "\"" + fields + ",\"sequence_number\":" + seq + "}\n\n";
  }

  static String head(String respId, int seq) {
    String response = ",\"response\":{\"id\":\"" + respId + "\",\"created_at\":" + (100 + seq)
        + ",\"status\":\"in_progress\",\"output\":[],\"usage\":null}";
    return ev("response.created", seq, response) + ev("response.in_progress", seq + 1, response);
  }

  static String opened(String msgId, int index, int seq) {
    return ev("response.output_item.added", seq, ",\"output_index\":" + index + ",\"item\":{\"id\":\"" + msgId
        + "\",\"type\":\"message\",\"status\":\"in_progress\",\"role\":\"assistant\",\"content\":[]}")
        + ev("response.content_part.added", seq + 1, ",\"item_id\":\"" + msgId + "\",\"output_index\":" + index
        + ",\"content_index\":0,\"part\":{\"type\":\"output_text\",\"text\":\"\"}");
  }

  static String delta(String msgId, int index, int seq, String piece) {
    return ev("response.output_text.delta", seq, ",\"item_id\":\"" + msgId + "\",\"output_index\":" + index
        + ",\"content_index\":0,\"delta\":\"" + piece + "\",\"logprobs\":[]");
  }

  static String closed(String msgId, int index, int seq, String text) {
    String item = "{\"id\":\"" + msgId + "\",\"type\":\"message\",\"status\":\"completed\",\"role\":\"assistant\","
        + "\"content\":[{\"type\":\"output_text\",\"text\":\"" + text + "\",\"annotations\":[]}]}";
    return ev("response.output_text.done", seq, ",\"item_id\":\"" + msgId + "\",\"output_index\":" + index
        + ",\"content_index\":0,\"text\":\"" + text + "\"")
        + ev("response.content_part.done", seq + 1, ",\"item_id\":\"" + msgId + "\",\"output_index\":" + index
        + ",\"content_index\":0,\"part\":{\"type\":\"output_text\",\"text\":\"" + text + "\",\"annotations\":[]}")
        + ev("response.output_item.done", seq + 2, ",\"output_index\":" + index + ",\"item\":" + item);
  }

  static String completed(String type, String respId, int seq, String items, int in, int out, int reasoning) {
    return ev(type, seq, ",\"response\":{\"id\":\"" + respId + "\",\"created_at\":999,\"status\":\"x\",\"output\":["
        + items + "],\"usage\":{\"input_tokens\":" + in + ",\"output_tokens\":" + out
        + ",\"output_tokens_details\":{\"reasoning_tokens\":" + reasoning + "},\"total_tokens\":" + (in + out) + "}}");
  }

  /** The data of each event of an SSE text. */
  static List<JsonNode> events(byte[] sse) throws Exception {
    List<JsonNode> events = new ArrayList<>();
    for (String line : new String(sse, StandardCharsets.UTF_8).split("\n")) {
      if (line.startsWith("data: ")) events.add(Json.MAPPER.readTree(line.substring(6)));
    }
    return events;
  }

  @Test
  void theContinuationAsksForTheRelayedTextAsAFinalAssistantMessageWithTheLimitReduced() throws Exception {
    StreamSplice splice = splice(REQUEST);
    splice.events(b(head("resp_1", 0) + opened("msg_1", 0, 2) + delta("msg_1", 0, 4, "a")
        + delta("msg_1", 0, 5, " b")));
    ObjectNode next = splice.continuation();
    assertThat(next.get("max_output_tokens").asInt()).isEqualTo(8);
    assertThat(next.get("input")).hasSize(2);
    assertThat(next.get("input").get(0).get("role").asText()).isEqualTo("user");
    assertThat(next.get("input").get(0).get("content").asText()).isEqualTo("hi");
    JsonNode last = next.get("input").get(1);
    assertThat(last.get("type").asText()).isEqualTo("message");
    assertThat(last.get("role").asText()).isEqualTo("assistant");
    assertThat(last.get("content").get(0).get("type").asText()).isEqualTo("output_text");
    assertThat(last.get("content").get(0).get("text").asText()).isEqualTo("a b");
    assertThat(next.has("reasoning")).isFalse();
  }

  @Test
  void aClientsOwnAssistantMessageAtTheEndOfTheInputIsExtended() throws Exception {
    StreamSplice splice = splice("{\"max_output_tokens\":10,\"input\":[{\"role\":\"user\",\"content\":\"hi\"},"
        + "{\"role\":\"assistant\",\"content\":\"Sure:\"}]}");
    splice.events(b(head("resp_1", 0) + opened("msg_1", 0, 2) + delta("msg_1", 0, 4, " one")));
    ObjectNode next = splice.continuation();
    assertThat(next.get("input")).hasSize(2);
    assertThat(next.get("input").get(1).get("content").asText()).isEqualTo("Sure: one");
  }

  @Test
  void theOpenMessageGoesOnUnderItsIdsWithIncreasingSequenceNumbersAndTheDoneEventsCarryTheWholeText()
      throws Exception {
    StreamSplice splice = splice(REQUEST);
    splice.events(b(head("resp_1", 0) + opened("msg_1", 0, 2) + delta("msg_1", 0, 4, "a")
        + delta("msg_1", 0, 5, " b")));
    splice.continuation();
    List<JsonNode> out = events(splice.events(b(head("resp_2", 0) + opened("msg_2", 0, 2)
        + delta("msg_2", 0, 4, " c") + closed("msg_2", 0, 5, " c")
        + completed("response.completed", "resp_2", 8, closedItem("msg_2", " c"), 9, 1, 0))));

    assertThat(out).extracting(e -> e.get("type").asText()).containsExactly("response.output_text.delta",
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.completed");
    assertThat(out).extracting(e -> e.get("sequence_number").asInt()).containsExactly(6, 7, 8, 9, 10);
    for (JsonNode e : out.subList(0, 3)) {
      assertThat(e.get("item_id").asText()).isEqualTo("msg_1");
      assertThat(e.get("output_index").asInt()).isZero();
    }
    assertThat(out.get(1).get("text").asText()).isEqualTo("a b c");
    assertThat(out.get(2).get("part").get("text").asText()).isEqualTo("a b c");
    assertThat(out.get(3).get("item").get("id").asText()).isEqualTo("msg_1");
    assertThat(out.get(3).get("item").get("content").get(0).get("text").asText()).isEqualTo("a b c");
    JsonNode response = out.get(4).get("response");
    assertThat(response.get("id").asText()).isEqualTo("resp_1");
    assertThat(response.get("created_at").asInt()).isEqualTo(100);
    assertThat(response.get("output")).hasSize(1);
    assertThat(response.get("output").get(0).get("id").asText()).isEqualTo("msg_1");
    assertThat(response.get("output").get(0).get("content").get(0).get("text").asText()).isEqualTo("a b c");
    // the node read the 2 relayed tokens back as input: the prompt once, every output token
    assertThat(response.get("usage").get("input_tokens").asInt()).isEqualTo(7);
    assertThat(response.get("usage").get("output_tokens").asInt()).isEqualTo(3);
    assertThat(response.get("usage").get("total_tokens").asInt()).isEqualTo(10);
    assertThat(splice.ended()).isTrue();
  }

  static String closedItem(String msgId, String text) {
    return "{\"id\":\"" + msgId + "\",\"type\":\"message\",\"status\":\"completed\",\"role\":\"assistant\","
        + "\"content\":[{\"type\":\"output_text\",\"text\":\"" + text + "\",\"annotations\":[]}]}";
  }

  @Test
  void afterReasoningTheContinuationHasReasoningOffAndItsMessageTakesTheOpenOnesPlace() throws Exception {
    StreamSplice splice = splice(REQUEST.replace("\"input\"", "\"reasoning\":{\"effort\":\"low\"},\"input\""));
    String reasoningItem = "{\"id\":\"rs_1\",\"type\":\"reasoning\",\"summary\":[],\"content\":[{\"type\":"
        + "\"reasoning_text\",\"text\":\"think\"}]}";
    splice.events(b(head("resp_1", 0)
        + ev("response.output_item.added", 2, ",\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":\"reasoning\"}")
        + ev("response.reasoning_text.delta", 3, ",\"item_id\":\"rs_1\",\"output_index\":0,\"content_index\":0,"
        + "\"delta\":\"think\"")
        + ev("response.output_item.done", 4, ",\"output_index\":0,\"item\":" + reasoningItem)
        + opened("msg_1", 1, 5) + delta("msg_1", 1, 7, "a")));
    assertThat(splice.whyNot(2)).isNull();
    ObjectNode next = splice.continuation();
    assertThat(next.get("reasoning").get("effort").asText()).isEqualTo("none");
    assertThat(next.get("max_output_tokens").asInt()).isEqualTo(8);
    List<JsonNode> out = events(splice.events(b(head("resp_2", 0)
        + ev("response.output_item.added", 2, ",\"output_index\":0,\"item\":{\"id\":\"rs_2\",\"type\":\"reasoning\"}")
        + ev("response.reasoning_text.delta", 3, ",\"item_id\":\"rs_2\",\"output_index\":0,\"content_index\":0,"
        + "\"delta\":\"again\"")
        + opened("msg_2", 1, 4) + delta("msg_2", 1, 6, " b") + closed("msg_2", 1, 7, " b")
        + completed("response.incomplete", "resp_2", 10, closedItem("msg_2", " b"), 6, 1, 0))));

    assertThat(out).extracting(e -> e.get("type").asText()).containsExactly("response.output_text.delta",
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.incomplete");
    assertThat(out).extracting(e -> e.get("sequence_number").asInt()).containsExactly(8, 9, 10, 11, 12);
    assertThat(out.subList(0, 4)).allSatisfy(e -> assertThat(e.get("output_index").asInt()).isEqualTo(1));
    JsonNode response = out.get(4).get("response");
    assertThat(response.get("output")).extracting(i -> i.get("id").asText()).containsExactly("rs_1", "msg_1");
    assertThat(response.get("output").get(1).get("content").get(0).get("text").asText()).isEqualTo("a b");
    assertThat(response.get("usage").get("output_tokens").asInt()).isEqualTo(3);
    assertThat(response.get("usage").get("output_tokens_details").get("reasoning_tokens").asInt()).isEqualTo(1);
  }

  @Test
  void nothingButTheHeadRelayedRestartsTheTurnAndTheContinuationsItemsPassUnderTheFirstResponse() throws Exception {
    StreamSplice splice = splice(REQUEST);
    splice.events(b(head("resp_1", 0)));
    ObjectNode next = splice.continuation();
    assertThat(next).isEqualTo(json(REQUEST));
    List<JsonNode> out = events(splice.events(b(head("resp_2", 0) + opened("msg_2", 0, 2)
        + delta("msg_2", 0, 4, "a"))));
    assertThat(out).extracting(e -> e.get("type").asText()).containsExactly("response.output_item.added",
        "response.content_part.added", "response.output_text.delta");
    assertThat(out).extracting(e -> e.get("sequence_number").asInt()).containsExactly(2, 3, 4);
  }

  @Test
  void functionCallBytesRelayedAreNeverContinued() throws Exception {
    StreamSplice splice = splice(REQUEST);
    splice.events(b(head("resp_1", 0)
        + ev("response.output_item.added", 2, ",\"output_index\":0,\"item\":{\"id\":\"fc_1\",\"type\":"
        + "\"function_call\",\"call_id\":\"call_1\",\"name\":\"f\",\"arguments\":\"\"}")
        + ev("response.function_call_arguments.delta", 3, ",\"item_id\":\"fc_1\",\"output_index\":0,"
        + "\"delta\":\"{\\\"a\"")));
    assertThat(splice.whyNot(2)).contains("tool-call");
  }

  @Test
  void aCutInsideReasoningIsNotContinued() throws Exception {
    StreamSplice splice = splice(REQUEST);
    splice.events(b(head("resp_1", 0)
        + ev("response.output_item.added", 2, ",\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":\"reasoning\"}")
        + ev("response.reasoning_text.delta", 3, ",\"item_id\":\"rs_1\",\"output_index\":0,\"content_index\":0,"
        + "\"delta\":\"think\"")));
    assertThat(splice.whyNot(2)).contains("reasoning");
  }

  @Test
  void aWholeMessageRelayedIsNotContinued() throws Exception {
    StreamSplice splice = splice(REQUEST);
    splice.events(b(head("resp_1", 0) + opened("msg_1", 0, 2) + delta("msg_1", 0, 4, "a")
        + closed("msg_1", 0, 5, "a")));
    assertThat(splice.whyNot(2)).contains("finish");
  }

  @ParameterizedTest(name = "{0} → never continued")
  @ValueSource(strings = {
      "{\"input\":\"hi\",\"top_logprobs\":2}",
      "{\"input\":\"hi\",\"include\":[\"message.output_text.logprobs\"]}",
      "{\"input\":\"hi\",\"text\":{\"format\":{\"type\":\"json_schema\",\"name\":\"s\",\"schema\":{}}}}",
      "{\"input\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"a\"}]}]}"})
  void requestsWhoseStreamsCannotBeContinuedAreRefusedUpFront(String request) throws Exception {
    assertThat(StreamSplice.refusal(Wire.OPENAI_RESPONSES, json(request))).isNotNull();
  }

  @Test
  void plainRequestsMayBeContinued() throws Exception {
    assertThat(StreamSplice.refusal(Wire.OPENAI_RESPONSES, json(REQUEST))).isNull();
    assertThat(StreamSplice.refusal(Wire.OPENAI_RESPONSES, json("{\"input\":[{\"role\":\"user\",\"content\":\"a\"}],"
        + "\"text\":{\"format\":{\"type\":\"text\"}},\"include\":[\"reasoning.encrypted_content\"]}"))).isNull();
    assertThat(Wire.ofPath("/v1/responses")).isEqualTo(Wire.OPENAI_RESPONSES);
  }
}
