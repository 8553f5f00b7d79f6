package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Streams through Sluice: byte-exact relay, one error event after a break, and upstream reset on client disconnect. */
class StreamRelayTest {
  private static final String CHAT_SSE =
      "{\"model\":\"qwen3:32b\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"max_tokens\":40,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about café 日本語 🚀\"}]}";
  private static final String CHAT_NDJSON =
      "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi 🚀\"}],\"options\":{\"num_predict\":40}}";

  /** Fields that carry the wall clock of the response and so differ between two otherwise identical answers. */
  private static String withoutClockFields(String s) {
    return s.replaceAll("\"created\":\\d+", "").replaceAll("\"id\":\"chatcmpl-\\d+\"", "").replaceAll("\"created_at\":\"[^\"]*\"", "")
        .replaceAll("\"(total|load|prompt_eval|eval)_duration\":\\d+", "");
  }

  @ParameterizedTest(name = "events written in {0}-byte pieces arrive byte for byte")
  @ValueSource(ints = {1, 3, 7, 4096})
  void streamsAreRelayedByteForByteEvenWhenEventsAndCodePointsAreSplit(int splitBytes) throws Exception {
    SimOptions twin = SimOptions.defaults().withId("twin").withGpu(GpuProfile.H100).withTimeScale(0)
        .withSeed(11).withWriteSplitBytes(splitBytes);
    try (TestCluster direct = new TestCluster().node(twin.withId("direct"));
        TestCluster proxied = new TestCluster().node(twin.withId("proxied")).start()) {
      for (String[] call : new String[][] {{"/v1/chat/completions", CHAT_SSE}, {"/api/chat", CHAT_NDJSON}}) {
        HttpResponse<byte[]> a = Http.postBytes(direct.sim("direct").baseUrl() + call[0], call[1].getBytes(StandardCharsets.UTF_8));
        HttpResponse<byte[]> b = Http.postBytes(proxied.url(call[0]), call[1].getBytes(StandardCharsets.UTF_8));
        assertThat(b.statusCode()).isEqualTo(200);
        String sent = withoutClockFields(new String(a.body(), StandardCharsets.UTF_8));
        String received = withoutClockFields(new String(b.body(), StandardCharsets.UTF_8));
        assertThat(received).isEqualTo(sent);
        assertThat(received).doesNotContain("\uFFFD");
        assertThat(received.codePoints().anyMatch(cp -> cp > 0x7F)).as("multi-byte code points were relayed").isTrue();
      }
    }
  }

  /**
   * A node that writes its events together (the simulator at time scale 0 writes a whole answer at once): the gateway
   * relays what one read brought in one write, so the client's chunked body has a few chunks, not one per event.
   */
  @Test
  void eventsANodeWritesTogetherReachTheClientInAFewWritesNotOneEach() throws Exception {
    SimOptions node = SimOptions.defaults().withId("a10-01").withGpu(GpuProfile.A10).withTimeScale(0).withSeed(5);
    try (TestCluster c = new TestCluster().node(node).start()) {
      String response;
      try (Http.RawClient client = new Http.RawClient(c.port(), "POST", "/v1/chat/completions", CHAT_SSE)) {
        response = client.readUntil("\r\n0\r\n\r\n");
      }
      byte[] all = response.getBytes(StandardCharsets.UTF_8); // the bytes read (the whole answer is valid UTF-8)
      int at = response.substring(0, response.indexOf("\r\n\r\n") + 4).getBytes(StandardCharsets.UTF_8).length;
      int chunks = 0;
      ByteArrayOutputStream events = new ByteArrayOutputStream();
      while (true) {
        int eol = at;
        while (all[eol] != '\r') eol++;
        int size = Integer.parseInt(new String(all, at, eol - at, StandardCharsets.US_ASCII), 16);
        if (size == 0) break;
        events.write(all, eol + 2, size);
        chunks++;
        at = eol + 2 + size + 2;
      }
      String relayed = events.toString(StandardCharsets.UTF_8);
      long dataLines = relayed.lines().filter(l -> l.startsWith("data: ")).count();
      assertThat(relayed).endsWith("data: [DONE]\n\n");
      assertThat(dataLines).isGreaterThan(40);
      assertThat(chunks).as("HTTP chunks for %d events", dataLines).isLessThanOrEqualTo((int) dataLines / 4);
    }
  }

  @Test
  void aStreamThatBreaksAfterItStartedEndsWithOneErrorEventAndNoDone() {
    try (TestCluster c = new TestCluster().node("a10-01", GpuProfile.A10, "qwen3:32b", 0).start()) {
      long before = c.sim("a10-01").stats().requestsReceived();
      c.sim("a10-01").injectFault(SimFault.resetAfterTokens(5, 1));
      String body = Http.post(c.url("/v1/chat/completions"), CHAT_SSE).body();
      assertThat(body).doesNotContain("[DONE]");
      assertThat(body.split("data: \\{\"error\"", -1)).hasSize(2);
      assertThat(body).endsWith("\n\n").contains("stream_interrupted");
      // Everything before the error event is whole events: nothing half-written, nothing replayed.
      String beforeError = body.substring(0, body.indexOf("data: {\"error\""));
      assertThat(beforeError.split("\n\n")).allMatch(e -> e.startsWith("data: {") && e.endsWith("}"));
      assertThat(c.sim("a10-01").stats().requestsReceived()).isEqualTo(before + 1);
    }
  }

  @Test
  void anNdjsonStreamThatBreaksEndsWithOneOllamaErrorLine() {
    try (TestCluster c = new TestCluster().node("a10-01", GpuProfile.A10, "qwen3:32b", 0).start()) {
      c.sim("a10-01").injectFault(SimFault.resetAfterTokens(3, 1));
      String body = Http.post(c.url("/api/chat"), CHAT_NDJSON).body();
      String[] lines = body.split("\n");
      assertThat(lines[lines.length - 1]).startsWith("{\"error\":");
      assertThat(body).doesNotContain("\"done\":true");
    }
  }

  @Test
  void aStalledStreamIsCutByTheIdleTimeoutAndTheNodeRequestIsReset() {
    try (TestCluster c = new TestCluster().timeouts(TestCluster.timeouts(Duration.ofSeconds(10),
            Duration.ofMillis(300), Duration.ofSeconds(30)))
        .node("a10-01", GpuProfile.A10, "qwen3:32b", 0).start()) {
      c.sim("a10-01").injectFault(SimFault.stallAfterTokens(4, 1));
      String body = Http.post(c.url("/v1/chat/completions"), CHAT_SSE).body();
      assertThat(body).contains("idle timeout").doesNotContain("[DONE]");
      await().atMost(Duration.ofSeconds(10)).until(() -> c.sim("a10-01").stats().cancelled() == 1);
      assertThat(c.sim("a10-01").stats().active()).isZero();
    }
  }

  @ParameterizedTest(name = "client leaves {0}: the node's request is reset")
  @ValueSource(strings = {"during prefill", "mid-stream", "during a non-streaming answer"})
  void aClientDisconnectResetsTheUpstreamRequest(String when) throws Exception {
    // Real A10 speed: a 4,000-token prompt takes ~5 s of prefill, 300 tokens ~14 s of decode.
    try (TestCluster c = new TestCluster().node("a10-01", GpuProfile.A10, "qwen3:32b", 1).start()) {
      SimNode node = c.sim("a10-01");
      long completedBefore = node.stats().completed();
      long activeBefore = node.stats().active();
      String prompt = when.equals("during prefill") ? "word ".repeat(3200) : "Hi";
      boolean stream = !when.equals("during a non-streaming answer");
      String json = "{\"model\":\"qwen3:32b\",\"stream\":" + stream + ",\"max_tokens\":300,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}";
      try (Http.RawClient client = new Http.RawClient(c.port(), "POST", "/v1/chat/completions", json)) {
        await().atMost(Duration.ofSeconds(10)).until(() -> node.stats().active() == activeBefore + 1);
        if (when.equals("mid-stream")) client.readUntil("data: {");
      }
      await().atMost(Duration.ofSeconds(5)).until(() -> node.stats().cancelled() == 1);
      assertThat(node.stats().active()).isZero();
      assertThat(node.stats().completed()).isEqualTo(completedBefore);
    }
  }
}
