package dev.sluice.health;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The health model stays pure so the routing lab and table-driven tests can run it (ARCHITECTURE.md). */
class HealthPackagePurityTest {
  @Test
  void theHealthModelImportsNoVertxOrMicrometerAndReadsNoClock() throws IOException {
    Path dir = Path.of("src/main/java/dev/sluice/health");
    List<Path> sources;
    try (Stream<Path> files = Files.list(dir)) {
      sources = files.filter(p -> p.toString().endsWith(".java")).toList();
    }
    assertThat(sources).isNotEmpty();
    for (Path source : sources) {
      assertThat(Files.readString(source)).as(source.toString())
          .doesNotContain("io.vertx", "io.micrometer", "System.nanoTime", "System.currentTimeMillis", "Instant.now",
              "Clock.system");
    }
  }
}
