package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.helpers.ResponseAccumulator;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseStreamEvent;
import dev.sluice.api.NodeDialect;
import dev.sluice.config.RoutingSettings;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.sim.SimOptions;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import dev.sluice.upstream.ForwardedHeaders;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * OpenAI Responses passed through to nodes that speak Responses natively, continued after a node reset after k
 * chunks: the client gets one response whose text is the uninterrupted answer, with a valid event sequence. The
 * uninterrupted reference comes straight from the healthy node's /v1/responses.
 */
class ResponsesResumptionTest {
  static final String MODEL = "qwen3:32b";
  /** Reached: the answers end with response.incomplete (status incomplete, reason max_output_tokens). */
  static final int MAX_TOKENS = 150;
  static TestCluster cluster;
  static OpenAIClient openai;

  @BeforeAll
  static void start() {
    SimOptions base = SimOptions.defaults().withModels(MODEL).withTimeScale(0);
    cluster = new TestCluster()
        .routing(new RoutingSettings("round-robin", RoutingSettings.DEFAULT_FAILOVER,
            RoutingSettings.DEFAULT_TTFT_BUDGET, RoutingSettings.DEFAULT_GPU_BASES))
        .health(StreamResumptionTest.neverOutOfRotation())
        .node(base.withId("bad").withGpu(GpuProfile.A10))
        .node(base.withId("good").withGpu(GpuProfile.A10));
    for (String id : List.of("bad", "good")) {
      cluster.dialects(id, NodeDialect.OLLAMA, NodeDialect.OPENAI, NodeDialect.ANTHROPIC, NodeDialect.RESPONSES);
    }
    cluster.start();
    openai = OpenAIOkHttpClient.builder().baseUrl(cluster.url("/v1")).apiKey("unused").maxRetries(0).build();
  }

  @AfterAll
  static void stop() {
    openai.close();
    cluster.close();
  }

  static String body(String prompt, int maxTokens) {
    return "{\"model\":\"" + MODEL + "\",\"max_output_tokens\":" + maxTokens + ",\"stream\":true,"
        + "\"input\":\"" + prompt + "\"}";
  }

  /** Makes node bad round robin's next choice, then arms it to reset after k chunks. */
  static long armBad(String body, int k) throws Exception {
    for (int i = 0; i < 4; i++) {
      HttpResponse<String> r = Http.post(cluster.url("/v1/responses"),
          body.replace("\"stream\":true", "\"stream\":false"));
      if (r.headers().firstValue(ForwardedHeaders.NODE_HEADER).orElse("").equals("good")) break;
    }
    long faulted = cluster.sim("bad").stats().faulted();
    cluster.sim("bad").injectFault(SimFault.resetAfterTokens(k, 1));
    return faulted;
  }

  @ParameterizedTest(name = "Responses passed through, reset after {0} chunks (openai-java)")
  @ValueSource(ints = {1, 10, 100})
  void aResponsesStreamPassedThroughIsContinuedAndTheClientGetsOneResponseWithTheWholeText(int k) throws Exception {
    String prompt = "Responses passed through " + k;
    List<Event> reference = events(Http.post(cluster.sim("good").baseUrl() + "/v1/responses", body(prompt, MAX_TOKENS))
        .body());
    long faulted = armBad(body(prompt, MAX_TOKENS), k);
    ResponseAccumulator accumulator = ResponseAccumulator.create();
    List<String> starts = new ArrayList<>();
    StringBuilder deltas = new StringBuilder();
    List<String> created = new ArrayList<>();
    try (StreamResponse<ResponseStreamEvent> stream = openai.responses().createStreaming(
        ResponseCreateParams.builder().model(MODEL).maxOutputTokens(MAX_TOKENS).input(prompt).build())) {
      stream.stream().forEach(e -> {
        e.created().ifPresent(c -> created.add(c.response().id()));
        if (e.isCreated()) starts.add("response");
        if (e.isOutputItemAdded()) starts.add("item");
        if (e.isContentPartAdded()) starts.add("part");
        if (e.isCompleted()) starts.add("completed");
        if (e.isIncomplete()) starts.add("incomplete");
        e.outputTextDelta().ifPresent(d -> deltas.append(d.delta()));
        accumulator.accumulate(e);
      });
    }
    assertThat(cluster.sim("bad").stats().faulted()).isEqualTo(faulted + 1);
    Response r = accumulator.response();
    assertThat(starts).containsExactly("response", "item", "part", "incomplete");
    assertThat(deltas.toString()).isEqualTo(text(reference));
    assertThat(ResponsesGatewayTest.outputText(r)).isEqualTo(text(reference));
    assertThat(r.id()).isEqualTo(created.get(0));
    assertThat(r.usage().orElseThrow().inputTokens()).isPositive();
    assertThat(r.usage().orElseThrow().outputTokens()).isEqualTo(MAX_TOKENS);
    assertThat(r.usage().orElseThrow().totalTokens()).isEqualTo(r.usage().orElseThrow().inputTokens() + MAX_TOKENS);
  }

  @ParameterizedTest(name = "Responses passed through to its limit, reset after {0} chunks (raw events)")
  @ValueSource(ints = {1, 10, 100})
  void aContinuedResponsesStreamKeepsOneResponseIdOneItemAndIncreasingSequenceNumbersToItsLimit(int k)
      throws Exception {
    String prompt = "Raw responses passed through " + k;
    List<Event> reference = events(Http.post(cluster.sim("good").baseUrl() + "/v1/responses",
        body(prompt, MAX_TOKENS)).body());
    long faulted = armBad(body(prompt, MAX_TOKENS), k);
    List<Event> got = events(Http.post(cluster.url("/v1/responses"), body(prompt, MAX_TOKENS)).body());
    assertThat(cluster.sim("bad").stats().faulted()).isEqualTo(faulted + 1);

    assertThat(got.stream().map(Event::type).filter(t -> t.equals("response.created"))).hasSize(1);
    assertThat(got.stream().map(Event::type).filter(t -> t.equals("response.in_progress"))).hasSize(1);
    assertThat(got.stream().map(Event::type).filter(t -> t.equals("response.completed"))).isEmpty();
    assertThat(got.stream().map(Event::type).filter(t -> t.equals("response.incomplete"))).hasSize(1);
    assertThat(got.get(got.size() - 1).type()).isEqualTo("response.incomplete");
    for (int i = 0; i < got.size(); i++) {
      assertThat(got.get(i).data().path("sequence_number").asLong()).as("event %d's sequence_number", i).isEqualTo(i);
    }
    assertThat(got.stream().map(Event::type).toList()).isEqualTo(reference.stream().map(Event::type).toList());
    String responseId = got.get(0).data().path("response").path("id").asText();
    String itemId = got.stream().filter(e -> e.type().equals("response.output_item.added")).findFirst().orElseThrow()
        .data().path("item").path("id").asText();
    for (Event e : got) {
      if (e.data().has("item_id")) assertThat(e.data().path("item_id").asText()).isEqualTo(itemId);
      if (e.data().has("output_index")) assertThat(e.data().path("output_index").asInt()).isZero();
    }
    String text = text(reference);
    assertThat(text(got)).isEqualTo(text);
    assertThat(of(got, "response.output_text.done").path("text").asText()).isEqualTo(text);
    assertThat(of(got, "response.content_part.done").path("part").path("text").asText()).isEqualTo(text);
    assertThat(of(got, "response.output_item.done").path("item").path("content").get(0).path("text").asText())
        .isEqualTo(text);
    JsonNode response = of(got, "response.incomplete").path("response");
    assertThat(response.path("id").asText()).isEqualTo(responseId);
    assertThat(response.path("output")).hasSize(1);
    assertThat(response.path("output").get(0).path("id").asText()).isEqualTo(itemId);
    assertThat(response.path("output").get(0).path("content").get(0).path("text").asText()).isEqualTo(text);
    // the prompt once (the simulator's estimate of the continuation's prompt may differ by a few tokens), every
    // output token
    JsonNode usage = response.path("usage");
    assertThat(usage.path("input_tokens").asInt()).isPositive();
    assertThat(usage.path("output_tokens").asInt()).isEqualTo(MAX_TOKENS);
    assertThat(usage.path("total_tokens").asInt()).isEqualTo(usage.path("input_tokens").asInt() + MAX_TOKENS);
  }

  record Event(String type, JsonNode data) {}

  /** The events of a Responses SSE body. */
  static List<Event> events(String sse) throws Exception {
    List<Event> events = new ArrayList<>();
    for (String block : sse.split("\n\n")) {
      for (String line : block.split("\n")) {
        if (line.startsWith("data: ")) {
          JsonNode data = Json.MAPPER.readTree(line.substring(6));
          events.add(new Event(data.path("type").asText(), data));
        }
      }
    }
    return events;
  }

  /** The output text of a Responses stream: its text deltas joined. */
  static String text(List<Event> events) {
    StringBuilder text = new StringBuilder();
    for (Event e : events) {
      if (e.type().equals("response.output_text.delta")) text.append(e.data().path("delta").asText());
    }
    return text.toString();
  }

  static JsonNode of(List<Event> events, String type) {
    return events.stream().filter(e -> e.type().equals(type)).findFirst().orElseThrow().data();
  }

}
