package dev.sluice.probe;

import static dev.sluice.probe.ProbeFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.api.ApiFlavor;
import dev.sluice.config.ModelSpec;
import dev.sluice.config.RepairAction;
import dev.sluice.health.NodeState;
import dev.sluice.sim.SimFault;
import dev.sluice.sim.SimOptions;
import dev.sluice.support.Json;
import io.vertx.core.http.HttpServer;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RepairRunnerTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  @TempDir Path dir;

  private static RepairRunner.Settings gap(Duration minGap) {
    return new RepairRunner.Settings(Duration.ofSeconds(10), minGap, Duration.ofMinutes(10), Duration.ofMinutes(10),
        Duration.ofSeconds(2));
  }

  private List<String> lines(Path file) throws Exception {
    return Files.exists(file) ? Files.readAllLines(file) : List.of();
  }

  private RepairAction appendTo(Path file) {
    return new RepairAction(
        "echo \"$SLUICE_NODE_ID|$SLUICE_NODE_URL|$SLUICE_NODE_REASON\" >> '" + file + "'", null);
  }

  @Test
  void theRepairCommandRunsOncePerDegradedEpisodeAndNotAgainWithinTheBackoff() throws Exception {
    Path file = dir.resolve("repairs.txt");
    // A warm-up prompt makes the repair's warm-up move the node DEGRADED → WARMING → DEGRADED: still one episode.
    try (ProbeFixture f = new ProbeFixture(SimOptions.defaults(), new ModelSpec.GpuProfile(null, false, "hi"),
        appendTo(file), gap(Duration.ofSeconds(30)))) {
      await(f.prober.start());
      await().atMost(WAIT).until(() -> f.state() == NodeState.READY);

      f.sim.injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS));
      await().atMost(WAIT).until(() -> lines(file).size() == 1);
      assertThat(lines(file).get(0)).isEqualTo(
          "a10-01|" + f.sim.baseUrl() + "|3 consecutive probe failures (connect refused)");
      // the repair's warm-up ran against the dead node and failed: DEGRADED again, same episode
      await().atMost(WAIT).until(() -> f.transitions.stream()
          .filter(s -> s.to() == NodeState.DEGRADED).count() >= 2);
      await().atMost(WAIT).during(Duration.ofMillis(500)).until(() -> lines(file).size() == 1);

      f.sim.clearFaults();
      await().atMost(WAIT).until(() -> f.state() == NodeState.READY);
      f.sim.injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS));
      await().atMost(WAIT).until(() -> f.state() == NodeState.DEGRADED);
      // a second episode 30 s within the first repair: deferred, not run
      await().atMost(WAIT).during(Duration.ofMillis(500)).until(() -> lines(file).size() == 1);
      assertThat(f.prober.repairs().runs(ProbeFixture.NODE)).isEqualTo(1);
    }
  }

  @Test
  void aRepairDeferredByTheBackoffRunsOnceTheGapHasPassed() throws Exception {
    Path file = dir.resolve("repairs.txt");
    try (ProbeFixture f = new ProbeFixture(SimOptions.defaults(), null, appendTo(file), gap(Duration.ofMillis(700)))) {
      await(f.prober.start());
      await().atMost(WAIT).until(() -> f.state() == NodeState.READY);
      f.sim.injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS));
      await().atMost(WAIT).until(() -> lines(file).size() == 1);
      f.sim.clearFaults();
      await().atMost(WAIT).until(() -> f.state() == NodeState.READY);
      f.sim.injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS));
      await().atMost(WAIT).until(() -> lines(file).size() == 2);
      assertThat(f.prober.repairs().runs(ProbeFixture.NODE)).isEqualTo(2);
    }
  }

  @Test
  void theWebhookReceivesTheDegradedEvent() {
    List<JsonNode> events = new CopyOnWriteArrayList<>();
    io.vertx.core.Vertx hookVertx = io.vertx.core.Vertx.vertx();
    HttpServer hook = await(hookVertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      try {
        events.add(Json.MAPPER.readTree(b.toString()));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      req.response().setStatusCode(204).end();
    })).listen(0, "127.0.0.1"));
    try (ProbeFixture f = new ProbeFixture(SimOptions.defaults(), null,
        new RepairAction(null, URI.create("http://127.0.0.1:" + hook.actualPort() + "/hook?token=s3cret")),
        gap(Duration.ofSeconds(30)))) {
      await(f.prober.start());
      await().atMost(WAIT).until(() -> f.state() == NodeState.READY);
      f.sim.injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS));
      await().atMost(WAIT).until(() -> events.size() == 1);
      JsonNode e = events.get(0);
      assertThat(e.path("node").asText()).isEqualTo("a10-01");
      assertThat(e.path("url").asText()).isEqualTo(f.sim.baseUrl());
      assertThat(e.path("state").asText()).isEqualTo("DEGRADED");
      assertThat(e.path("reason").asText()).isEqualTo("3 consecutive probe failures (connect refused)");
      assertThat(e.path("time").asText()).matches("\\d{4}-\\d\\d-\\d\\dT.*Z");
    } finally {
      await(hookVertx.close());
    }
  }

  @Test
  void aHangingRepairCommandIsKilledAtItsTimeoutAndTheNodeIsHandedBackToWarmUp() {
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    try {
      List<String> after = new CopyOnWriteArrayList<>();
      RepairRunner runner = new RepairRunner(vertx, System::currentTimeMillis, new RepairRunner.Settings(
          Duration.ofMillis(300), Duration.ofSeconds(30), Duration.ofMinutes(10), Duration.ofMinutes(10),
          Duration.ofSeconds(2)), after::add);
      dev.sluice.config.NodeSpec node = new dev.sluice.config.NodeSpec("a10-01", URI.create("http://127.0.0.1:9"),
          URI.create("http://127.0.0.1:9/v1"), ApiFlavor.OLLAMA, "A10", null, java.util.Map.of(), null,
          "ollama", new RepairAction("sleep 30", null));
      long started = System.nanoTime();
      vertx.runOnContext(v -> runner.onDegraded(node, "test"));
      await().atMost(WAIT).until(() -> after.size() == 1);
      assertThat((System.nanoTime() - started) / 1_000_000).isLessThan(5_000);
      assertThat(after).containsExactly("a10-01");
      vertx.runOnContext(v -> runner.onDegraded(node, "again, same episode"));
      await().during(Duration.ofMillis(300)).atMost(WAIT).until(() -> runner.runs("a10-01") == 1);
    } finally {
      await(vertx.close());
    }
  }

  @Test
  void theBackoffDoublesUpToItsCap() {
    RepairRunner.Settings s = new RepairRunner.Settings(Duration.ofSeconds(120), Duration.ofSeconds(30),
        Duration.ofMinutes(10), Duration.ofMinutes(10), Duration.ofSeconds(10));
    assertThat(List.of(s.gapAfter(1), s.gapAfter(2), s.gapAfter(3), s.gapAfter(5), s.gapAfter(6), s.gapAfter(50)))
        .containsExactly(Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(120),
            Duration.ofSeconds(480), Duration.ofMinutes(10), Duration.ofMinutes(10));
  }
}
