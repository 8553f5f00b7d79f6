package dev.sluice.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Runs the pure {@link BatchEngine} of every GPU profile in virtual time and checks it against the profile's figures
 * (±15 %): time to first token of a 1,000-token prompt, decode time per token at batch 1 and 8, and the aggregate
 * decode throughput with the running set as full as KV and {@code maxRunning} allow. Writes the table to
 * {@code target/engine-calibration.md} and stdout.
 */
class CalibrationTest {
  private static final double TOLERANCE = 0.15;
  private static final int SHORT_PROMPT = 16;
  private static final int OUTPUT = 201;
  private static final List<String> ROWS = new ArrayList<>();

  @AfterAll
  static void writeTable() throws IOException {
    String table = "| profile | TTFT 1,000-token prompt, ms (configured / measured) | decode ms/token batch 1 "
        + "(configured / measured) | aggregate decode tok/s batch 8 (configured / measured) "
        + "| saturated decode tok/s (batch, model / measured) |\n|---|---|---|---|---|\n"
        + String.join("\n", ROWS) + "\n";
    Path file = Path.of("target", "engine-calibration.md");
    Files.createDirectories(file.getParent());
    Files.writeString(file, table);
    System.out.println(table);
  }

  @Test
  void everyProfileMatchesItsConfiguredFiguresWithinFifteenPercent() {
    for (GpuProfile gpu : GpuProfile.values()) {
      EngineProfile profile = EngineProfile.of(gpu);

      double ttftMillis = lone(profile, 1_000, 2).firstTokenNanos() / 1e6;
      double ttftConfigured = 1_000 * 1_000 / profile.prefillTokensPerSecond();
      Run solo = lone(profile, SHORT_PROMPT, OUTPUT);
      double batch1Millis = (solo.finishedNanos() - solo.firstTokenNanos()) / 1e6 / (OUTPUT - 1);

      // Ollama runs one slot by default: its batch-8 figure is measured with 8 slots
      EngineProfile eight = gpu.ollama() ? EngineProfile.of(gpu, Map.of("parallel", 8.0)) : profile;
      double batch8TokensPerSecond = decodeThroughput(eight, 8);

      int saturatedBatch = Math.min(profile.maxRunning(), profile.kvCapacityTokens() / (SHORT_PROMPT + OUTPUT));
      double saturated = decodeThroughput(profile, saturatedBatch);
      BatchEngine model = new BatchEngine(profile, new EngineControl());
      double saturatedModel = saturatedBatch / (model.stepNanos(saturatedBatch, saturatedBatch) / 1e9);

      ROWS.add(String.format(Locale.ROOT, "| %s (%s) | %.0f / %.0f | %.1f / %.1f | %.0f / %.0f | %d: %.0f / %.0f |",
          gpu, gpu.description(), ttftConfigured, ttftMillis, profile.decodeMillisPerToken(), batch1Millis,
          profile.batch8TokensPerSecond(), batch8TokensPerSecond, saturatedBatch, saturatedModel, saturated));

      assertThat(ttftMillis).as(gpu + " TTFT").isCloseTo(ttftConfigured, within(ttftConfigured * TOLERANCE));
      assertThat(batch1Millis).as(gpu + " batch 1")
          .isCloseTo(profile.decodeMillisPerToken(), within(profile.decodeMillisPerToken() * TOLERANCE));
      assertThat(batch8TokensPerSecond).as(gpu + " batch 8")
          .isCloseTo(profile.batch8TokensPerSecond(), within(profile.batch8TokensPerSecond() * TOLERANCE));
      assertThat(saturated).as(gpu + " saturated").isCloseTo(saturatedModel, within(saturatedModel * TOLERANCE));
      assertThat(saturated).as(gpu + " saturated beats batch 8").isGreaterThanOrEqualTo(
          gpu.ollama() ? 0 : batch8TokensPerSecond * 0.99);
    }
  }

  /** One sequence on an idle engine, run to the end. */
  private static Run lone(EngineProfile profile, int prompt, int output) {
    BatchEngine engine = new BatchEngine(profile, new EngineControl());
    Run run = new Run(prompt, output);
    engine.submit(run.sequence, 0);
    drain(engine);
    return run;
  }

  /** Aggregate output tok/s of {@code batch} short sequences submitted together, between first and last token. */
  private static double decodeThroughput(EngineProfile profile, int batch) {
    EngineControl control = new EngineControl();
    BatchEngine engine = new BatchEngine(profile, control);
    List<Run> runs = new ArrayList<>();
    control.hung(true); // hold the first step until all are queued, so they start together
    for (int i = 0; i < batch; i++) {
      Run run = new Run(SHORT_PROMPT, OUTPUT);
      runs.add(run);
      engine.submit(run.sequence, 0);
    }
    control.hung(false);
    engine.advanceTo(0);
    assertThat(engine.running()).as(profile.gpu() + " all " + batch + " admitted at once").isEqualTo(batch);
    drain(engine);
    long firstToken = runs.stream().mapToLong(Run::firstTokenNanos).max().orElseThrow();
    long end = runs.stream().mapToLong(Run::finishedNanos).max().orElseThrow();
    return (double) batch * (OUTPUT - 1) / ((end - firstToken) / 1e9);
  }

  private static void drain(BatchEngine engine) {
    while (engine.nextEventAt() != Long.MAX_VALUE) {
      engine.advanceTo(engine.nextEventAt());
    }
  }

  /** A sequence and its listener's record. */
  private static final class Run implements BatchEngine.Listener {
    final BatchEngine.Sequence sequence;

    Run(int prompt, int output) {
      sequence = new BatchEngine.Sequence(prompt, output, this);
    }

    long firstTokenNanos() {
      return sequence.firstTokenNanos();
    }

    long finishedNanos() {
      return sequence.finishedNanos();
    }
  }
}
