package dev.sluice.support;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.core.OutputStreamAppender;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class SecretsTest {
  private static final String KEY = "sk-sluice-AbCd1234" + "x9Y8z7W6v5U4t3S2r1Q0p9O8n7M6";
  private static final String ADMIN = "sluice-admin-" + "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp9Oo8Nn7";
  private static final String JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhY21lIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
  private static final String UPSTREAM = "upstream-api-key-0123456789";

  @Test
  void everySecretShapeIsRedacted() {
    assertThat(Secrets.redact("key " + KEY + " used")).isEqualTo("key sk-sluice-AbCd1234… used");
    assertThat(Secrets.redact("admin=" + ADMIN)).isEqualTo("admin=sluice-admin-…(redacted)");
    assertThat(Secrets.redact("token " + JWT + ".")).isEqualTo("token eyJ…(redacted JWT).");
    assertThat(Secrets.redact("authorization: Bearer opaque.value-1 next")).isEqualTo(
        "authorization: Bearer (redacted) next");
    assertThat(Secrets.redact("{\"h\":\"bearer " + KEY + "\"}")).isEqualTo("{\"h\":\"Bearer (redacted)\"}");
    Secrets.register(UPSTREAM);
    Secrets.register("short");
    assertThat(Secrets.redact("calling with " + UPSTREAM)).isEqualTo("calling with (redacted)");
    assertThat(Secrets.redact("short stays")).isEqualTo("short stays");
  }

  @Test
  void textWithoutSecretsIsReturnedAsItIs() {
    String plain = "node a10-01 READY → DEGRADED: 3 consecutive probe failures (connect refused)";
    assertThat(Secrets.redact(plain)).isSameAs(plain);
    assertThat(Secrets.redact(null)).isNull();
  }

  @Test
  void logLinesAndStackTracesAreRedactedByTheConfiguredPattern() {
    Secrets.register(UPSTREAM);
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(ctx);
    encoder.setPattern("%-5level %logger{0} - %msg%n%ex"); // the words logback-test.xml maps to the redacting converters
    encoder.start();
    OutputStreamAppender<ch.qos.logback.classic.spi.ILoggingEvent> appender = new OutputStreamAppender<>();
    appender.setContext(ctx);
    appender.setEncoder(encoder);
    appender.setOutputStream(out);
    appender.start();
    Logger log = ctx.getLogger("redaction-test");
    log.addAppender(appender);
    try {
      log.info("key {} admin {} jwt {} header Bearer {} upstream {}", KEY, ADMIN, JWT, "opaque-credential", UPSTREAM);
      log.warn("request failed", new IllegalStateException("rejected " + KEY,
          new RuntimeException("Authorization: Bearer " + JWT + " upstream " + UPSTREAM)));
    } finally {
      log.detachAppender(appender);
      appender.stop();
    }
    String text = out.toString(StandardCharsets.UTF_8);
    assertThat(text).doesNotContain(KEY, ADMIN, JWT, "opaque-credential", UPSTREAM, "x9Y8z7W6")
        .contains("sk-sluice-AbCd1234…", "sluice-admin-…(redacted)", "eyJ…(redacted JWT)", "Bearer (redacted)",
            "(redacted)", "java.lang.IllegalStateException: rejected sk-sluice-AbCd1234…", "at dev.sluice.support");
  }
}
