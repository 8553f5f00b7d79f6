package dev.sluice.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.observe.AccessLog;
import dev.sluice.support.Json;
import dev.sluice.testkit.LogCapture;
import dev.sluice.testkit.TestCluster;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * What a client can make the gateway write into its logs: a credential sent as {@code X-Request-Id} is replaced, not
 * logged, echoed or forwarded; a malformed console sign-in is one 400, never a 500 with a stack trace.
 */
@Order(7)
class LogHygieneTest {
  @TempDir Path dir;
  /** The access log as written (the raw message: the capture appender's pattern would redact it). */
  private final ListAppender<ILoggingEvent> access = new ListAppender<>();
  private final Logger accessLogger = (Logger) LoggerFactory.getLogger(AccessLog.LOGGER);

  @BeforeEach
  void captureAccessLog() {
    access.start();
    accessLogger.addAppender(access);
  }

  @AfterEach
  void release() {
    accessLogger.detachAppender(access);
  }

  private List<String> accessLines() {
    return access.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
  }

  private static List<String> logLinesSince(int before) {
    List<String> lines = LogCapture.lines();
    return lines.subList(Math.min(before, lines.size()), lines.size());
  }

  @Test
  void aTokenSentAsTheRequestIdIsReplacedAndNeverLoggedEchoedOrForwardedWhileANormalIdIsKept() throws Exception {
    Path keys = dir.resolve("keys.json");
    var k = GatewayTokensTest.key(keys, "acme", Set.of(), null, null);
    String admin = GatewayTokensTest.ADMIN_TOKEN;
    try (TestCluster c = GatewayTokensTest.cluster(keys).start()) {
      HttpResponse<String> r = Calls.post(c.url("/v1/chat/completions"), GatewayTokensTest.CHAT,
          "Authorization", "Bearer " + k.secret(), "X-Request-Id", k.secret());
      assertThat(r.statusCode()).isEqualTo(200);
      String id = r.headers().firstValue("x-request-id").orElseThrow();
      assertThat(id).matches("[0-9a-f]{16}");
      assertThat(c.sim("a").lastGenerationHeaders().get("x-request-id")).isEqualTo(id);

      HttpResponse<String> adminId = Calls.get(c.url("/admin/nodes"), "Authorization", "Bearer " + admin,
          "X-Request-Id", admin);
      assertThat(adminId.statusCode()).isEqualTo(200);
      assertThat(adminId.headers().firstValue("x-request-id").orElseThrow()).matches("[0-9a-f]{16}");
      HttpResponse<String> prefixOnly = Calls.post(c.url("/v1/chat/completions"), GatewayTokensTest.CHAT,
          "X-Request-Id", "sk-sluice-AbCd");
      assertThat(prefixOnly.headers().firstValue("x-request-id").orElseThrow()).matches("[0-9a-f]{16}");

      HttpResponse<String> normal = Calls.post(c.url("/v1/chat/completions"), GatewayTokensTest.CHAT,
          "Authorization", "Bearer " + k.secret(), "X-Request-Id", "client-id.42_x");
      assertThat(normal.headers().firstValue("x-request-id")).hasValue("client-id.42_x");

      await().atMost(Duration.ofSeconds(5)).until(() -> accessLines().size() >= 4);
      assertThat(accessLines()).hasSize(4).noneMatch(l -> l.contains(k.secret()) || l.contains(admin)
          || l.contains("sk-sluice-AbCd"));
      assertThat(accessLines().get(3)).contains("\"requestId\":\"client-id.42_x\"");
    }
  }

  @Test
  void aMalformedConsoleSignInIsA400WithoutAStackTraceOrAnErrorLine() throws Exception {
    try (TestCluster c = GatewayTokensTest.cluster(dir.resolve("keys.json")).start()) {
      int logged = LogCapture.lines().size();
      String[][] attempts = {
        {"multipart/form-data;boundary=", "token=x"},
        {"multipart/form-data; boundary=----x", "------x\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\nx"},
        {"text/plain", "token=x"},
        {"application/x-www-form-urlencoded", "token=%zz%"},
      };
      for (String[] a : attempts) {
        HttpResponse<String> r = Calls.post(c.url("/console/login"), a[1], "Content-Type", a[0]);
        assertThat(r.statusCode()).as(a[0] + " " + a[1]).isEqualTo(400);
        JsonNode err = Json.MAPPER.readTree(r.body()).path("error");
        assertThat(err.path("message").asText()).as(a[0]).contains("application/x-www-form-urlencoded");
      }
      HttpResponse<String> noType = Calls.send("POST", c.url("/console/login"), null);
      assertThat(noType.statusCode()).isEqualTo(400);
      // the gateway still signs in a well-formed form
      assertThat(Calls.post(c.url("/console/login"), "token=" + GatewayTokensTest.ADMIN_TOKEN,
          "Content-Type", "application/x-www-form-urlencoded; charset=UTF-8").statusCode()).isEqualTo(303);

      List<String> lines = logLinesSince(logged);
      assertThat(lines).noneMatch(l -> l.contains(" ERROR ") || l.contains("Exception") || l.contains("\tat "));
    }
  }
}
