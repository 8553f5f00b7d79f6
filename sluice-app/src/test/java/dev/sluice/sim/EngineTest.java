package dev.sluice.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The pure engine in virtual time: scheduling, KV, step times, control knobs, admission and profile overrides. */
class EngineTest {
  private static final long MS = 1_000_000;
  private final EngineControl control = new EngineControl();

  @Test
  void requestsBeyondKvWaitInFifoOrder() {
    BatchEngine engine = engine(EngineProfile.of(GpuProfile.A10, Map.of("kvCapacityTokens", 1_000.0)));
    Recorder big = new Recorder(500, 300); // reserves 800 of 1,000
    Recorder medium = new Recorder(300, 100); // 400: does not fit beside big
    Recorder small = new Recorder(50, 50); // 100: would fit, but waits behind medium

    engine.submit(big.sequence, 0);
    engine.submit(medium.sequence, 0);
    engine.submit(small.sequence, 0);

    assertThat(engine.running()).isEqualTo(1);
    assertThat(engine.waiting()).isEqualTo(2);
    assertThat(engine.kvUsedTokens()).isEqualTo(800);
    drain(engine);
    assertThat(medium.sequence.admittedNanos()).isEqualTo(big.sequence.finishedNanos());
    assertThat(small.sequence.admittedNanos()).isGreaterThanOrEqualTo(medium.sequence.admittedNanos());
    assertThat(List.of(big, medium, small)).allSatisfy(r -> assertThat(r.tokens).hasSize(r.sequence.outputTokens()));
    assertThat(engine.kvUsedTokens()).isZero();
  }

  @Test
  void aLongPrefillStretchesTheStepsOfRunningDecodes() {
    BatchEngine engine = engine(EngineProfile.of(GpuProfile.A10));
    Recorder decoding = new Recorder(10, 100);
    engine.submit(decoding.sequence, 0);
    while (decoding.tokens.size() < 5) {
      engine.advanceTo(engine.nextEventAt());
    }
    long quietGap = decoding.gap(4);

    long now = engine.nextEventAt() - 1;
    engine.advanceTo(now);
    engine.submit(new BatchEngine.Sequence(2_000, 10, new Recorder(0, 0)), now);
    int before = decoding.tokens.size();
    engine.advanceTo(engine.nextEventAt()); // the step already running ends
    engine.advanceTo(engine.nextEventAt()); // the step with the 2,000-token chunk ends

    assertThat(quietGap).isEqualTo(48 * MS);
    assertThat(decoding.tokens).hasSize(before + 2);
    // 1 decode + 2,000 prefill tokens at 760 tok/s: 2.63 s, for the decode as well
    assertThat(decoding.gap(before + 1)).isCloseTo(2_001 * 1_000_000_000L / 760, within(2 * MS));
  }

  @Test
  void decodeStaysNearlyFlatUntilTheKneeThenRisesWithTokensPerStep() {
    BatchEngine engine = engine(EngineProfile.of(GpuProfile.H100_BF16));
    double one = engine.stepNanos(1, 1);
    double eight = engine.stepNanos(8, 8);
    double knee = EngineProfile.of(GpuProfile.H100_BF16).kneeTokensPerStep();

    assertThat(eight / one).isBetween(1.0, 1.1);
    assertThat(engine.stepNanos(0, 4_000) / engine.stepNanos(0, 2_000)).isCloseTo(2.0, within(1e-9));
    assertThat(engine.stepNanos(0, (int) knee)).isCloseTo(one, within(one * 0.01));
  }

  @Test
  void halfSpeedDoublesStepTime() {
    Recorder full = new Recorder(1_000, 20);
    BatchEngine fast = engine(EngineProfile.of(GpuProfile.A100));
    fast.submit(full.sequence, 0);
    drain(fast);

    control.speedFactor(0.5);
    Recorder half = new Recorder(1_000, 20);
    BatchEngine slow = engine(EngineProfile.of(GpuProfile.A100));
    slow.submit(half.sequence, 0);
    drain(slow);

    assertThat(half.sequence.firstTokenNanos()).isCloseTo(2 * full.sequence.firstTokenNanos(), within(2L));
    assertThat(half.gap(10)).isCloseTo(2 * full.gap(10), within(2L));
    assertThat(slow.busySimNanosTotal()).isCloseTo(2 * fast.busySimNanosTotal(), within(40L));
  }

  @Test
  void aHungEngineStartsNoStepUntilReleased() {
    BatchEngine engine = engine(EngineProfile.of(GpuProfile.A10));
    control.hung(true);
    Recorder waiting = new Recorder(100, 3);
    engine.submit(waiting.sequence, 0);
    engine.advanceTo(60_000 * MS);

    assertThat(waiting.tokens).isEmpty();
    assertThat(engine.waiting()).isEqualTo(1);
    assertThat(engine.nextEventAt()).isEqualTo(Long.MAX_VALUE);
    assertThat(engine.busySimNanosTotal()).isZero();

    control.hung(false);
    engine.advanceTo(61_000 * MS);
    drain(engine);
    assertThat(waiting.sequence.admittedNanos()).isEqualTo(61_000 * MS);
    assertThat(waiting.tokens).hasSize(3);
  }

  @Test
  void cancellingFreesKvAtOnceAndLetsTheNextRequestIn() {
    BatchEngine engine = engine(EngineProfile.of(GpuProfile.A10, Map.of("kvCapacityTokens", 1_000.0)));
    Recorder first = new Recorder(500, 300);
    Recorder second = new Recorder(500, 300);
    engine.submit(first.sequence, 0);
    engine.submit(second.sequence, 0);
    engine.advanceTo(2_000 * MS);

    engine.cancel(first.sequence, 2_000 * MS);

    assertThat(engine.kvUsedTokens()).isZero();
    assertThat(first.sequence.ended()).isTrue();
    engine.advanceTo(engine.nextEventAt());
    assertThat(second.sequence.admittedNanos()).isBetween(2_000 * MS, 2_048 * MS);
    drain(engine);
    assertThat(first.finished).isFalse();
    assertThat(second.tokens).hasSize(300);
  }

  @Test
  void theSameCallsGiveTheSameEventTimes() {
    assertThat(script()).isEqualTo(script()).isNotEmpty();
  }

  @Test
  void aFinishedSequenceReportsTokensTtftAndBusyTime() {
    BatchEngine engine = engine(EngineProfile.of(GpuProfile.A10));
    Recorder run = new Recorder(760, 11);
    engine.submit(run.sequence, 5 * MS);
    drain(engine);

    assertThat(run.sequence.arrivalNanos()).isEqualTo(5 * MS);
    assertThat(run.sequence.firstTokenNanos()).isEqualTo(5 * MS + 1_000 * MS);
    assertThat(run.sequence.finishedNanos()).isEqualTo(5 * MS + 1_000 * MS + 10 * 48 * MS);
    assertThat(engine.promptTokensTotal()).isEqualTo(760);
    assertThat(engine.generationTokensTotal()).isEqualTo(11);
    assertThat(engine.busySimNanosTotal()).isEqualTo(1_480 * MS);
    List<Long> ttft = new ArrayList<>();
    assertThat(engine.drainTtftSamples(0, ttft::add)).isEqualTo(1);
    assertThat(ttft).containsExactly(1_000 * MS);
    assertThat(engine.soloSchedule(760, 11)).containsExactly(1_000 * MS, 1_480 * MS);
  }

  @Test
  void vllmRefusesWhatCanNeverFitWithItsContextLengthError() {
    BatchEngine engine = engine(EngineProfile.of(GpuProfile.A10));

    assertThat(engine.admission(5_000, 1_000)).isEqualTo(new Admission.Refused(400,
        "This model's maximum context length is 5700 tokens. However, you requested 6000 tokens (5000 in the "
            + "messages, 1000 in the completion). Please reduce the length of the messages or completion."));
    assertThat(engine.admission(5_700, 0)).isInstanceOf(Admission.Refused.class);
    assertThat(engine.admission(5_000, 0)).isEqualTo(new Admission.Accepted(5_000, 700));
  }

  @Test
  void ollamaTruncatesLongPromptsToItsContextAndRefusesBeyondItsQueue() {
    BatchEngine engine = engine(EngineProfile.of(GpuProfile.A10_OLLAMA, Map.of("queueLimit", 1.0)));

    assertThat(engine.admission(9_000, 100)).isEqualTo(new Admission.Accepted(3_400, Integer.MAX_VALUE));
    control.hung(true);
    engine.submit(new BatchEngine.Sequence(10, 10, new Recorder(0, 0)), 0);
    assertThat(engine.admission(10, 10)).isEqualTo(new Admission.Refused(503,
        "server busy, please try again.  maximum pending requests exceeded"));
  }

  @Test
  void profileFiguresAreOverriddenByNameAndUnknownNamesAreListed() {
    EngineProfile ollama = EngineProfile.of(GpuProfile.A10_OLLAMA, Map.of("parallel", 4.0));
    EngineProfile faster = EngineProfile.of(GpuProfile.H100, Map.of("prefillTokensPerSecond", 20_000.0,
        "maxRunning", 512.0));

    assertThat(ollama.maxRunning()).isEqualTo(4);
    assertThat(ollama.contextPerSlot()).isEqualTo(850);
    assertThat(ollama.kvCapacityTokens()).isEqualTo(3_400);
    assertThat(faster.prefillTokensPerSecond()).isEqualTo(20_000);
    assertThat(faster.maxRunning()).isEqualTo(512);
    assertThat(EngineProfile.of(GpuProfile.A100_BF16).kneeTokensPerStep()).isCloseTo(134, within(1.0));
    assertThatThrownBy(() -> EngineProfile.of(GpuProfile.A10, Map.of("prefillTokPerSec", 1.0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("\"prefillTokPerSec\"")
        .hasMessageContaining(String.join(", ", EngineProfile.FIGURES));
    assertThatThrownBy(() -> EngineProfile.of(GpuProfile.A10, Map.of("maxRunning", 0.0)))
        .hasMessageContaining("overrides.maxRunning");
  }

  /** A fixed mixed workload (staggered arrivals, one cancellation) and every event time it produced. */
  private List<String> script() {
    BatchEngine engine = engine(EngineProfile.of(GpuProfile.A10));
    List<String> events = new ArrayList<>();
    List<BatchEngine.Sequence> sequences = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      int id = i;
      BatchEngine.Sequence sequence = new BatchEngine.Sequence(100 + 97 * i, 5 + 13 * i, new BatchEngine.Listener() {
        @Override
        public void token(BatchEngine.Sequence s, int index, long atNanos) {
          events.add(id + ":" + index + "@" + atNanos);
        }

        @Override
        public void finished(BatchEngine.Sequence s, long atNanos) {
          events.add(id + ":end@" + atNanos);
        }
      });
      sequences.add(sequence);
      engine.submit(sequence, i * 333 * MS);
    }
    engine.cancel(sequences.get(3), 2_500 * MS);
    drain(engine);
    return events;
  }

  private BatchEngine engine(EngineProfile profile) {
    return new BatchEngine(profile, control);
  }

  private static void drain(BatchEngine engine) {
    while (engine.nextEventAt() != Long.MAX_VALUE) {
      engine.advanceTo(engine.nextEventAt());
    }
  }

  /** Records a sequence's token times. */
  private static final class Recorder implements BatchEngine.Listener {
    final BatchEngine.Sequence sequence;
    final List<Long> tokens = new ArrayList<>();
    boolean finished;

    Recorder(int prompt, int output) {
      sequence = new BatchEngine.Sequence(Math.max(1, prompt), output, this);
    }

    /** Time between token {@code index - 1} and token {@code index}. */
    long gap(int index) {
      return tokens.get(index) - tokens.get(index - 1);
    }

    @Override
    public void token(BatchEngine.Sequence s, int index, long atNanos) {
      assertThat(index).isEqualTo(tokens.size());
      tokens.add(atNanos);
    }

    @Override
    public void finished(BatchEngine.Sequence s, long atNanos) {
      finished = true;
    }
  }
}
