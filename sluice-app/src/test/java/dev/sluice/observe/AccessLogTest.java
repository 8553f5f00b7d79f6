package dev.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.config.AuthSettings;
import dev.sluice.sim.GpuProfile;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The access log, request ids and trace propagation, through a real gateway and a simulated node. */
class AccessLogTest {
  private static final String PROMPT = "the-private-prompt-text-4711";
  private static final String CHAT = "{\"model\":\"qwen3:32b\",\"max_tokens\":4,\"messages\":[{\"role\":\"user\","
      + "\"content\":\"" + PROMPT + "\"}]}";
  private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String CLIENT_TRACEPARENT = "00-" + TRACE_ID + "-00f067aa0ba902b7-01";

  private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
  private final Logger access = (Logger) LoggerFactory.getLogger(AccessLog.LOGGER);

  @BeforeEach
  void capture() {
    lines.start();
    access.addAppender(lines);
  }

  @AfterEach
  void release() {
    access.detachAppender(lines);
  }

  @Test
  void everyRequestWritesOneJsonLineWithItsFieldsAndNeitherThePromptNorTheCredential() throws Exception {
    try (TestCluster c = new TestCluster().node("a10-01", GpuProfile.A10, "qwen3:32b", 0).start()) {
      List<RequestRecord> seen = new CopyOnWriteArrayList<>();
      c.gateway.addRequestObserver(seen::add);
      HttpResponse<String> ok = Http.send(post(c, CHAT, Map.of("Authorization", "Bearer sk-not-logged-0123456789",
          "X-Request-Id", "client-id.42_x")));
      HttpResponse<String> missing = Http.post(c.url("/v1/chat/completions"), CHAT.replace("qwen3:32b", "nope"));
      assertThat(ok.statusCode()).isEqualTo(200);
      assertThat(missing.statusCode()).isEqualTo(404);
      await().atMost(Duration.ofSeconds(5)).until(() -> lines(2).size() == 2 && seen.size() == 2);

      JsonNode line = Json.MAPPER.readTree(lines(2).get(0));
      JsonNode usage = Json.MAPPER.readTree(ok.body()).path("usage");
      assertThat(line.path("requestId").asText()).isEqualTo("client-id.42_x");
      assertThat(line.path("traceId").asText()).matches("[0-9a-f]{32}");
      assertThat(line.path("tenant").asText()).isNotBlank().doesNotContain("sk-"); // auth none: a hash of the bearer value
      assertThat(line.path("endpoint").asText()).isEqualTo("openai_chat");
      assertThat(line.path("model").asText()).isEqualTo("qwen3:32b");
      assertThat(line.path("modelServed").asText()).isEqualTo("qwen3:32b");
      assertThat(line.path("node").asText()).isEqualTo("a10-01");
      assertThat(line.path("attempts").asInt()).isEqualTo(1);
      assertThat(line.path("outcome").asText()).isEqualTo("ok");
      assertThat(line.path("status").asInt()).isEqualTo(200);
      assertThat(line.path("ttftMs").asDouble()).isPositive();
      assertThat(line.path("durationMs").asDouble()).isGreaterThanOrEqualTo(line.path("ttftMs").asDouble());
      assertThat(line.path("overheadMs").asDouble()).isBetween(0.0, line.path("durationMs").asDouble());
      assertThat(line.path("promptTokens").asLong()).isEqualTo(usage.path("prompt_tokens").asLong());
      assertThat(line.path("completionTokens").asLong()).isEqualTo(usage.path("completion_tokens").asLong());
      assertThat(line.path("stream").asBoolean()).isFalse();
      assertThat(line.path("time").asText()).endsWith("Z");
      assertThat(line.path("affinity").asText()).isEqualTo("miss"); // least-delay with affinity, a first request
      assertThat(line.path("cachedTokensEstimate").asLong()).isZero();

      JsonNode refused = Json.MAPPER.readTree(lines(2).get(1));
      assertThat(refused.path("outcome").asText()).isEqualTo("client_error");
      assertThat(refused.path("status").asInt()).isEqualTo(404);
      assertThat(refused.path("model").asText()).isEqualTo("unknown");
      assertThat(refused.path("node").isNull()).isTrue();
      assertThat(refused.path("attempts").asInt()).isZero();
      assertThat(refused.path("affinity").isNull()).isTrue();
      assertThat(refused.path("cachedTokensEstimate").isNull()).isTrue();
      assertThat(refused.path("requestId").asText()).isEqualTo(missing.headers().firstValue("x-request-id").orElseThrow());

      assertThat(String.join("\n", lines(2))).doesNotContain(PROMPT).doesNotContain("sk-not-logged").doesNotContain("nope");
      assertThat(seen.get(0).requestId()).isEqualTo("client-id.42_x");
      assertThat(seen.get(1).node()).isNull();
    }
  }

  @Test
  void theRequestIdIsReturnedOnEveryAnswerAndOnlyAWellFormedClientIdIsKept() {
    try (TestCluster c = new TestCluster().auth(AuthSettings.defaults())
        .node("a10-01", GpuProfile.A10, "qwen3:32b", 0).startWithoutWaiting()) {
      HttpResponse<String> refused = Http.send(post(c, CHAT, Map.of("X-Request-Id", "mine-1")));
      assertThat(refused.statusCode()).isEqualTo(401);
      assertThat(refused.headers().firstValue("x-request-id")).hasValue("mine-1");
      HttpResponse<String> invalid = Http.send(post(c, CHAT, Map.of("X-Request-Id", "has spaces and ; semicolons")));
      assertThat(invalid.headers().firstValue("x-request-id").orElseThrow()).matches("[0-9a-f]{16}");
      HttpResponse<String> tooLong = Http.send(post(c, CHAT, Map.of("X-Request-Id", "x".repeat(65))));
      assertThat(tooLong.headers().firstValue("x-request-id").orElseThrow()).matches("[0-9a-f]{16}");
      HttpResponse<String> none = Http.post(c.url("/v1/nothing-here"), "{}");
      assertThat(none.statusCode()).isEqualTo(404);
      assertThat(none.headers().firstValue("x-request-id").orElseThrow()).matches("[0-9a-f]{16}");
    }
  }

  @Test
  void theNodeIsCalledUnderTheGatewaysOwnSpanOfTheClientsTrace() {
    try (TestCluster c = new TestCluster().node("a10-01", GpuProfile.A10, "qwen3:32b", 0).start()) {
      HttpResponse<String> r = Http.send(post(c, CHAT, Map.of("traceparent", CLIENT_TRACEPARENT,
          "tracestate", "vendor=abc", "X-Request-Id", "rid-7")));
      assertThat(r.statusCode()).isEqualTo(200);
      Map<String, String> upstream = c.sim("a10-01").lastGenerationHeaders();
      String sent = upstream.get("traceparent");
      assertThat(sent).matches("00-" + TRACE_ID + "-[0-9a-f]{16}-01").isNotEqualTo(CLIENT_TRACEPARENT);
      assertThat(upstream.get("tracestate")).isEqualTo("vendor=abc");
      assertThat(upstream.get("x-request-id")).isEqualTo("rid-7");
      await().atMost(Duration.ofSeconds(5)).until(() -> !lines(1).isEmpty());
      assertThat(lines(1).get(0)).contains("\"traceId\":\"" + TRACE_ID + "\"");
    }
  }

  @Test
  void aMissingOrInvalidTraceparentStartsANewTrace() {
    try (TestCluster c = new TestCluster().node("a10-01", GpuProfile.A10, "qwen3:32b", 0).start()) {
      Http.post(c.url("/v1/chat/completions"), CHAT);
      String created = c.sim("a10-01").lastGenerationHeaders().get("traceparent");
      assertThat(created).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
      String zeroTrace = "00-" + "0".repeat(32) + "-00f067aa0ba902b7-01";
      Http.send(post(c, CHAT, Map.of("traceparent", zeroTrace, "tracestate", "dropped=1")));
      String replaced = c.sim("a10-01").lastGenerationHeaders().get("traceparent");
      assertThat(replaced).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01").doesNotContain("0".repeat(32));
      assertThat(replaced.substring(3, 35)).isNotEqualTo(created.substring(3, 35));
      assertThat(c.sim("a10-01").lastGenerationHeaders()).doesNotContainKey("tracestate");
      Http.send(post(c, CHAT, Map.of("traceparent", "01-" + TRACE_ID + "-00f067aa0ba902b7-01")));
      assertThat(c.sim("a10-01").lastGenerationHeaders().get("traceparent")).doesNotContain(TRACE_ID);
      await().atMost(Duration.ofSeconds(5)).until(() -> lines(3).size() == 3);
      assertThat(lines(3).get(0)).contains(created.substring(3, 35));
    }
  }

  private List<String> lines(int atMost) {
    List<String> out = new ArrayList<>();
    for (ILoggingEvent e : lines.list) {
      if (out.size() < atMost) out.add(e.getFormattedMessage());
    }
    return out;
  }

  private static HttpRequest post(TestCluster c, String body, Map<String, String> headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(c.url("/v1/chat/completions")))
        .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(b::header);
    return b.build();
  }
}
