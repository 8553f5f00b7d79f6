package dev.sluice.limit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The limit package stays pure like the other policy packages (ARCHITECTURE.md): tests run it on a fake clock. */
class LimitPurityTest {
  @Test
  void importsNoVertxOrMicrometerAndReadsNoClock() throws IOException {
    List<Path> sources;
    try (Stream<Path> files = Files.walk(Path.of("src/main/java/dev/sluice/limit"))) {
      sources = files.filter(p -> p.toString().endsWith(".java")).toList();
    }
    assertThat(sources).hasSizeGreaterThan(5);
    for (Path source : sources) {
      assertThat(Files.readString(source)).as(source.toString())
          .doesNotContain("io.vertx", "io.micrometer", "System.nanoTime", "System.currentTimeMillis", "Instant.now",
              "Clock.system");
    }
  }
}
