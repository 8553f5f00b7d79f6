package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import dev.sluice.observe.AccessLog;
import dev.sluice.observe.StdoutLineAppender;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

class DemoCommandTest {
  @Test
  void theDemosReleasePenaltyShrinksWithItsTimeScaleAsItsSimulatedNodesDo() {
    assertThat(DemoCommand.releasePenaltyMillis(1)).isEqualTo(3_000);
    assertThat(DemoCommand.releasePenaltyMillis(10)).isEqualTo(300);
    assertThat(DemoCommand.releasePenaltyMillis(0.5)).isEqualTo(3_000);
    assertThat(DemoCommand.releasePenaltyMillis(0)).isZero();
  }

  @Test
  void theConfigTakesTheScaledPenaltyIncludingZero() throws Exception {
    for (long ms : new long[] {0, 300}) {
      SluiceConfig c = ConfigLoader.parse("{\"routing\":{\"affinity\":{\"releasePenalty\":\"" + ms + "ms\"}},"
          + "\"providers\":{\"p\":{\"baseUrl\":\"http://127.0.0.1:1\",\"api\":\"openai-completions\","
          + "\"models\":[{\"id\":\"m\"}]}}}", "demo.json");
      assertThat(c.routing().affinity().releasePenalty()).isEqualTo(Duration.ofMillis(ms));
    }
  }

  @Test
  void theDemosTtftBudgetShrinksWithItsTimeScaleAndNeverGrows() {
    assertThat(DemoCommand.scaled(2_000, 10)).isEqualTo(200);
    assertThat(DemoCommand.scaled(2_000, 1)).isEqualTo(2_000);
    assertThat(DemoCommand.scaled(2_000, 0.25)).isEqualTo(2_000);
    assertThat(DemoCommand.scaled(2_000, 0)).isZero();
  }

  /**
   * README's quick start: run the first curl right after {@code ./sluice demo} printed its banner. Before the banner
   * waited for the warm-up, this request met a gateway whose only READY node was the downgrade model's small A10
   * (or none yet): the answer came from qwen2:7b, or was a 503.
   */
  @Test
  void theFirstRequestAfterTheBannerIsAnsweredByTheRequestedModel(@TempDir Path dir) throws Exception {
    DemoCommand command = new DemoCommand();
    new CommandLine(command).parseArgs("--port", "0", "--config-out", dir.resolve("sluice.json").toString());
    ByteArrayOutputStream banner = new ByteArrayOutputStream();
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    DemoCommand.Running demo = command.start(new PrintStream(banner, true, StandardCharsets.UTF_8),
        new PrintStream(progress, true, StandardCharsets.UTF_8));
    try {
      String printed = banner.toString(StandardCharsets.UTF_8);
      assertThat(printed).contains("every node is warm");
      Matcher token = Pattern.compile("gateway token\\s+(\\S+)").matcher(printed);
      assertThat(token.find()).as(printed).isTrue();
      HttpResponse<String> r = Http.send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + demo.port() + "/v1/chat/completions"))
          .header("Authorization", "Bearer " + token.group(1)).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(
              "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"max_tokens\":20}"))
          .build());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-model-downgraded")).isEmpty();
      JsonNode answer = Json.MAPPER.readTree(r.body());
      assertThat(answer.path("model").asText()).isEqualTo("qwen3:32b");
      assertThat(answer.path("usage").path("completion_tokens").asInt()).isEqualTo(20);
    } finally {
      demo.stop();
    }
  }

  @Test
  void theDemoWritesItsAccessLogToTheFileItsBannerNamesNotToTheTerminal(@TempDir Path dir) throws Exception {
    // the product's logback.xml gives the access logger this appender (the tests' own config keeps lines in memory)
    Logger access = (Logger) LoggerFactory.getLogger(AccessLog.LOGGER);
    StdoutLineAppender appender = new StdoutLineAppender();
    appender.setContext(access.getLoggerContext());
    appender.start();
    access.addAppender(appender);
    DemoCommand command = new DemoCommand();
    new CommandLine(command).parseArgs("--port", "0", "--no-auth", "--time-scale", "10",
        "--config-out", dir.resolve("sluice.json").toString());
    ByteArrayOutputStream banner = new ByteArrayOutputStream();
    DemoCommand.Running demo = command.start(new PrintStream(banner, true, StandardCharsets.UTF_8),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    Path log = dir.resolve(DemoCommand.ACCESS_LOG_FILE);
    try {
      assertThat(banner.toString(StandardCharsets.UTF_8)).contains("access log      " + log.toAbsolutePath());
      Http.post("http://127.0.0.1:" + demo.port() + "/v1/chat/completions",
          "{\"model\":\"qwen2:7b\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":3}");
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(Files.exists(log) ? Files.readString(log) : "").contains("\"model\":\"qwen2:7b\""));
    } finally {
      demo.stop();
      access.detachAppender(appender);
      appender.stop();
    }
  }
}
