package dev.sluice.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.sluice.observe.AccessLog;
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
 * logged, echoed or forwarded.
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
}
