package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
 * Streams that survive a node's death: a simulated node reset after k chunks, the stream continued on the other node
 * (same seed), and the client's text byte for byte the uninterrupted answer. Round robin, so every other request goes
 * to the node that breaks; the uninterrupted reference comes straight from the healthy node.
 */
class StreamResumptionTest {
  static final String MODEL = "qwen3:32b";
  static TestCluster cluster;

  @BeforeAll
  static void start() {
    SimOptions base = SimOptions.defaults().withModels(MODEL).withTimeScale(0).withDialects("ollama", "openai");
    cluster = new TestCluster()
        .routing(new RoutingSettings("round-robin", RoutingSettings.DEFAULT_FAILOVER,
            RoutingSettings.DEFAULT_TTFT_BUDGET, RoutingSettings.DEFAULT_GPU_BASES))
        .node(base.withId("bad").withGpu(GpuProfile.A10))
        .node(base.withId("good").withGpu(GpuProfile.A10))
        .start();
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  /** Sends {@code body} through the gateway until the breaking node answers it (its fault fires then). */
  static HttpResponse<String> viaBreakingNode(String path, String body, int k) {
    cluster.sim("bad").injectFault(SimFault.resetAfterTokens(k, 1));
    for (int i = 0; i < 4; i++) {
      HttpResponse<String> r = Http.post(cluster.url(path), body);
      if (r.headers().firstValue(ForwardedHeaders.NODE_HEADER).orElse("").equals("bad")) return r;
    }
    throw new AssertionError("round robin never sent the request to node bad");
  }

  static String direct(String path, String body) {
    return Http.post(cluster.sim("good").baseUrl() + path, body).body();
  }

  static List<JsonNode> sse(String body) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (String event : body.split("\n\n")) {
      if (event.isBlank()) continue;
      assertThat(event).startsWith("data: ");
      String data = event.substring(6);
      if (data.equals("[DONE]")) continue;
      out.add(Json.MAPPER.readTree(data));
    }
    return out;
  }

  static String chatText(List<JsonNode> chunks) {
    StringBuilder text = new StringBuilder();
    chunks.forEach(c -> c.path("choices").forEach(ch -> text.append(ch.path("delta").path("content").asText(""))));
    return text.toString();
  }

  @ParameterizedTest(name = "chat SSE broken after {0} chunks")
  @ValueSource(ints = {1, 10, 100})
  void aChatStreamBrokenAfterKChunksIsContinuedOnAnotherNodeByteForByte(int k) throws Exception {
    String body = "{\"model\":\"" + MODEL + "\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
        + "\"max_tokens\":150,\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about café " + k + "\"}]}";
    List<JsonNode> reference = sse(direct("/v1/chat/completions", body));
    HttpResponse<String> r = viaBreakingNode("/v1/chat/completions", body, k);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).endsWith("data: [DONE]\n\n").doesNotContain("error");
    List<JsonNode> got = sse(r.body());
    assertThat(chatText(got)).isEqualTo(chatText(reference));
    assertThat(got.stream().filter(c -> c.path("choices").path(0).path("delta").has("role")).count()).isEqualTo(1);
    assertThat(got.stream().map(c -> c.path("id").asText()).distinct().count()).isEqualTo(1);
    JsonNode usage = got.get(got.size() - 1).path("usage");
    assertThat(usage.path("completion_tokens").asInt()).isEqualTo(150);
    assertThat(usage.path("total_tokens").asInt())
        .isEqualTo(usage.path("prompt_tokens").asInt() + usage.path("completion_tokens").asInt());
  }
}
