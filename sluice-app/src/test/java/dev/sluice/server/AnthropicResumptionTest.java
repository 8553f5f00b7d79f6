package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
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
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Anthropic Messages passed through to nodes that speak it, continued after a node reset after k chunks: the client
 * (anthropic-java) gets one message whose text is the uninterrupted answer. The uninterrupted reference comes straight
 * from the healthy node's /v1/messages.
 */
class AnthropicResumptionTest {
  static final String MODEL = "qwen3:32b";
  static final int MAX_TOKENS = 150;
  static TestCluster cluster;
  static AnthropicClient anthropic;

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
    anthropic = AnthropicOkHttpClient.builder().baseUrl(cluster.url("")).apiKey("unused").maxRetries(0).build();
  }

  @AfterAll
  static void stop() {
    anthropic.close();
    cluster.close();
  }

  @ParameterizedTest(name = "Messages passed through, reset after {0} chunks")
  @ValueSource(ints = {1, 10, 100})
  void aMessagesStreamPassedThroughIsContinuedWithAPrefillAndStaysOneMessage(int k) throws Exception {
    String prompt = "Passed through " + k;
    String body = "{\"model\":\"" + MODEL + "\",\"max_tokens\":" + MAX_TOKENS + ",\"stream\":true,"
        + "\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}";
    String reference = text(Http.post(cluster.sim("good").baseUrl() + "/v1/messages", body).body());
    // make node bad round robin's next choice, then arm it
    for (int i = 0; i < 4; i++) {
      HttpResponse<String> r = Http.post(cluster.url("/v1/messages"), body.replace("\"stream\":true", "\"stream\":false"));
      if (r.headers().firstValue(ForwardedHeaders.NODE_HEADER).orElse("").equals("good")) break;
    }
    long faulted = cluster.sim("bad").stats().faulted();
    cluster.sim("bad").injectFault(SimFault.resetAfterTokens(k, 1));
    MessageAccumulator accumulator = MessageAccumulator.create();
    List<String> starts = new ArrayList<>();
    try (StreamResponse<RawMessageStreamEvent> stream = anthropic.messages().createStreaming(
        MessageCreateParams.builder().model(MODEL).maxTokens(MAX_TOKENS).addUserMessage(prompt).build())) {
      stream.stream().forEach(e -> {
        if (e.isMessageStart()) starts.add("message");
        if (e.isContentBlockStart()) starts.add("block");
        accumulator.accumulate(e);
      });
    }
    assertThat(cluster.sim("bad").stats().faulted()).isEqualTo(faulted + 1);
    Message m = accumulator.message();
    assertThat(starts).containsExactly("message", "block");
    assertThat(m.content().stream().filter(ContentBlock::isText).map(b -> b.asText().text())
        .collect(Collectors.joining())).isEqualTo(reference);
    assertThat(m.usage().outputTokens()).isEqualTo(MAX_TOKENS);
  }

  /** The text of a Messages SSE body: its text deltas joined. */
  static String text(String sse) throws Exception {
    StringBuilder text = new StringBuilder();
    for (String line : sse.split("\n")) {
      if (!line.startsWith("data: ")) continue;
      var data = Json.MAPPER.readTree(line.substring(6));
      if ("text_delta".equals(data.path("delta").path("type").asText())) text.append(data.path("delta").path("text").asText());
    }
    return text.toString();
  }
}
