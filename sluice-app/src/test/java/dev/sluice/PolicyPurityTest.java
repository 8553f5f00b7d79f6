package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The policies stay pure (ARCHITECTURE.md): no Vert.x, no Micrometer, no wall clock, so table-driven tests, JMH and
 * the routing lab run the production classes in virtual time.
 */
class PolicyPurityTest {
  @ParameterizedTest(name = "{0} imports no Vert.x or Micrometer and reads no clock")
  @ValueSource(strings = {"health", "routing", "lab", "degrade", "limit", "flow", "resume"})
  void policyPackagesArePure(String pkg) throws IOException {
    assertPure(sources(Path.of("src/main/java/dev/sluice", pkg)));
  }

  @ParameterizedTest(name = "sim/{0} is pure")
  @ValueSource(strings = {"BatchEngine.java", "EngineProfile.java", "Admission.java", "PrefixCache.java",
      "SlotCache.java", "PromptTokens.java"})
  void theSimulatorsEngineIsPure(String file) throws IOException {
    assertPure(List.of(Path.of("src/main/java/dev/sluice/sim", file)));
  }

  private static List<Path> sources(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(p -> p.toString().endsWith(".java")).toList();
    }
  }

  private static void assertPure(List<Path> sources) throws IOException {
    assertThat(sources).isNotEmpty();
    for (Path source : sources) {
      assertThat(Files.readString(source)).as(source.toString())
          .doesNotContain("io.vertx", "io.micrometer", "System.nanoTime", "System.currentTimeMillis", "Instant.now",
              "Clock.system");
    }
  }
}
