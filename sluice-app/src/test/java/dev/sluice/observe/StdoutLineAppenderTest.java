package dev.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The access log's batching appender: every line, in order, one per event, written by its own thread. */
class StdoutLineAppenderTest {
  @Test
  void everyEventBecomesOneLineInOrderWithoutTheCallerWaitingForTheWrite() {
    LoggerContext context = new LoggerContext();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    StdoutLineAppender appender = new StdoutLineAppender();
    appender.setContext(context);
    appender.setOutputStream(out);
    appender.start();
    try {
      for (int i = 0; i < 10_000; i++) {
        appender.doAppend(new LoggingEvent("x", context.getLogger("sluice.access"), Level.INFO, "{\"n\":" + i + "}",
            null, null));
      }
      String expected = IntStream.range(0, 10_000).mapToObj(i -> "{\"n\":" + i + "}\n").collect(Collectors.joining());
      await().atMost(Duration.ofSeconds(10)).until(() -> out.toString(StandardCharsets.UTF_8).length()
          >= expected.length());
      assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(expected);
    } finally {
      appender.stop();
    }
  }
}
