package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.http.HttpResponseFor;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.StopReason;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import dev.sluice.api.NodeDialect;
import dev.sluice.config.RoutingSettings;
import dev.sluice.degrade.DegradationSettings;
import dev.sluice.server.DialectClusters.Mode;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The degradation ladder and failover in the Anthropic Messages and OpenAI Responses dialects: every answer the
 * gateway makes or takes from another model is one the official SDKs parse, whole and streamed.
 */
class DialectLadderTest {
  static final String MODEL = AnthropicGatewayTest.MODEL;
  static final String STATIC = DegradationSettings.defaults().staticMessage();

  private static TestCluster ladder(Mode mode) {
    TestCluster c = new TestCluster()
        .degradation(DegradationSettings.defaults().withMinRequests(20).withDwell(Duration.ofSeconds(20))
            .withMinEvidenceTime(Duration.ZERO).withProbeShare(1.0).withDowngrade(Map.of(MODEL, "qwen2:7b")))
        .node(mode.sim("big", GpuProfile.A100, MODEL)).node(mode.sim("small", GpuProfile.A10, "qwen2:7b"));
    return mode.declare(mode.declare(c, "big"), "small").start();
  }

  private static AnthropicClient anthropic(TestCluster c) {
    return AnthropicOkHttpClient.builder().baseUrl(c.url("")).apiKey("sk-unused").maxRetries(0).build();
  }

  private static OpenAIClient openai(TestCluster c) {
    return OpenAIOkHttpClient.builder().baseUrl(c.url("/v1")).apiKey("sk-unused").maxRetries(0).build();
  }

  private static MessageCreateParams message() {
    return MessageCreateParams.builder().model(MODEL).maxTokens(60).addUserMessage("Summarise the report.").build();
  }

  private static ResponseCreateParams response() {
    return ResponseCreateParams.builder().model(MODEL).maxOutputTokens(60).input("Summarise the report.").build();
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void atDowngradeBothSdksParseTheSmallerModelsAnswersAndStreams(Mode mode) {
    try (TestCluster c = ladder(mode)) {
      Http.post(c.url("/admin/degradation"), "{\"level\":\"downgrade\",\"model\":\"" + MODEL + "\"}");

      HttpResponseFor<Message> raw = anthropic(c).messages().withRawResponse().create(message());
      Message streamed = AnthropicGatewayTest.streamed(anthropic(c), message());
      var rawResponse = openai(c).responses().withRawResponse().create(response());
      Response streamedResponse = ResponsesGatewayTest.streamed(openai(c), response());

      assertThat(raw.headers().values("x-model-downgraded")).containsExactly("qwen2:7b");
      assertThat(raw.parse().model().asString()).isEqualTo("qwen2:7b");
      assertThat(AnthropicGatewayTest.text(raw.parse())).isNotBlank();
      assertThat(AnthropicGatewayTest.text(streamed)).isNotBlank();
      assertThat(rawResponse.headers().values("x-model-downgraded")).containsExactly("qwen2:7b");
      assertThat(ResponsesGatewayTest.outputText(rawResponse.parse())).isNotBlank();
      assertThat(ResponsesGatewayTest.outputText(streamedResponse)).isNotBlank();
      assertThat(c.sim("big").stats().count("/v1/messages") + c.sim("big").stats().count("/v1/chat/completions")
          + c.sim("big").stats().count("/v1/responses")).isZero();
      assertThat(Http.get(c.url("/metrics")).body())
          .contains("sluice_requests_total{endpoint=\"anthropic_messages\",model=\"qwen3:32b\",node=\"small\","
              + "outcome=\"downgraded\"")
          .contains("sluice_requests_total{endpoint=\"openai_responses\",model=\"qwen3:32b\",node=\"small\","
              + "outcome=\"downgraded\"");
    }
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void atStaticBothSdksParseTheStaticReplyWholeAndStreamed(Mode mode) {
    try (TestCluster c = ladder(mode)) {
      Http.post(c.url("/admin/degradation"), "{\"level\":\"static\",\"model\":\"" + MODEL + "\"}");

      HttpResponseFor<Message> raw = anthropic(c).messages().withRawResponse().create(message());
      Message streamed = AnthropicGatewayTest.streamed(anthropic(c), message());
      Response whole = openai(c).responses().create(response());
      Response streamedResponse = ResponsesGatewayTest.streamed(openai(c), response());

      assertThat(raw.headers().values("x-sluice-degraded")).containsExactly("static");
      assertThat(AnthropicGatewayTest.text(raw.parse())).isEqualTo(STATIC);
      assertThat(raw.parse().stopReason()).contains(StopReason.END_TURN);
      assertThat(AnthropicGatewayTest.text(streamed)).isEqualTo(STATIC);
      assertThat(ResponsesGatewayTest.outputText(whole)).isEqualTo(STATIC);
      assertThat(ResponsesGatewayTest.outputText(streamedResponse)).isEqualTo(STATIC);
    }
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void aMessagesStreamWhoseNodeDiesBeforeItsFirstByteFailsOverInvisibly(Mode mode) {
    TestCluster c = new TestCluster()
        .routing(new RoutingSettings("round-robin", RoutingSettings.DEFAULT_FAILOVER,
            RoutingSettings.DEFAULT_TTFT_BUDGET, RoutingSettings.DEFAULT_GPU_BASES))
        .node(mode.sim("bad", GpuProfile.A10, MODEL)).node(mode.sim("good", GpuProfile.H100, MODEL));
    try (TestCluster cluster = mode.declare(mode.declare(c, "bad"), "good").start()) {
      cluster.sim("bad").injectFault(SimFault.resetBeforeFirstByte(1_000));
      for (int i = 0; i < 10; i++) {
        Message streamed = AnthropicGatewayTest.streamed(anthropic(cluster), MessageCreateParams.builder()
            .model(MODEL).maxTokens(40).addUserMessage("Question " + i).build());
        assertThat(AnthropicGatewayTest.text(streamed)).isNotBlank();
        assertThat(streamed.stopReason()).isPresent();
      }
      assertThat(cluster.sim("bad").stats().faulted()).isPositive();
      assertThat(Http.get(cluster.url("/metrics")).body())
          .contains("sluice_upstream_attempts_total{node=\"bad\",result=\"reset_before_first_byte\"}");
    }
  }

  @Test
  void aNodeWhoseConfigListsNoDialectsIsDiscoveredToSpeakMessagesAndGetsThemUnchanged() {
    try (TestCluster c = new TestCluster().node("ollama", GpuProfile.A100, MODEL, 0).start()) {
      await().atMost(Duration.ofSeconds(10))
          .until(() -> c.gateway.registry().get("ollama").speaks(NodeDialect.ANTHROPIC));

      HttpResponseFor<Message> raw = anthropic(c).messages().withRawResponse().create(message());

      assertThat(raw.headers().values("x-sluice-translated")).isEmpty();
      assertThat(AnthropicGatewayTest.text(raw.parse())).isNotBlank();
      assertThat(c.sim("ollama").stats().count("/v1/messages")).isEqualTo(1);
      assertThat(c.sim("ollama").stats().count("/v1/chat/completions")).isZero();
    }
  }
}
