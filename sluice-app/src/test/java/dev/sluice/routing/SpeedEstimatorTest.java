package dev.sluice.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SpeedEstimatorTest {
  @Test
  void startsAtTheExpectedSpeedWithFactorOne() {
    SpeedEstimator estimator = SpeedEstimator.seeded(12_000, 15);

    assertThat(estimator.current()).isEqualTo(new NodeSpeed(12_000, 15, 1));
  }

  @Test
  void convergesToObservedSpeedsAndReportsTheThrottleFactor() {
    SpeedEstimator estimator = SpeedEstimator.seeded(12_000, 15);
    SplittableRandom random = new SplittableRandom(9);
    // an H100 throttled to ×0.55: 6,600 prefill tok/s, 27.3 ms per token; samples with ±5 % noise
    for (int i = 0; i < 100; i++) {
      int prompt = 500 + random.nextInt(3_000);
      long backlog = random.nextInt(20_000);
      double ttft = (prompt + backlog) / 6_600.0 * 1000 * (0.95 + 0.1 * random.nextDouble());
      estimator.observeFirstToken(prompt, ttft, backlog);
      int tokens = 50 + random.nextInt(400);
      estimator.observeDecode(tokens, tokens * (15 / 0.55) * (0.95 + 0.1 * random.nextDouble()));
    }

    NodeSpeed speed = estimator.current();
    assertThat(speed.prefillTokensPerSecond()).isCloseTo(6_600, within(6_600 * 0.05));
    assertThat(speed.decodeMillisPerToken()).isCloseTo(15 / 0.55, within(15 / 0.55 * 0.05));
    assertThat(speed.speedFactor()).isCloseTo(0.55, within(0.03));
    assertThat(estimator.prefillSamples()).isEqualTo(100);
    assertThat(estimator.decodeSamples()).isEqualTo(100);
  }

  @Test
  void countsThePrefillBacklogAheadOfTheRequest() {
    SpeedEstimator estimator = SpeedEstimator.seeded(12_000, 15);

    // 1,000 own tokens behind 11,000 in flight, first token after 1 s: the node did 12,000 tok/s, as expected
    estimator.observeFirstToken(1_000, 1_000, 11_000);

    assertThat(estimator.current().prefillTokensPerSecond()).isCloseTo(12_000, within(1e-6));
  }

  @Test
  void clampsAnOutlierSoOneSampleCannotSwingTheNode() {
    SpeedEstimator estimator = SpeedEstimator.seeded(12_000, 15);
    for (int i = 0; i < SpeedEstimator.WARM_UP_SAMPLES; i++) { // the node's own speed is known first
      estimator.observeFirstToken(1_000, 1_000 / 12.0, 0);
      estimator.observeDecode(100, 1_500);
    }

    estimator.observeFirstToken(1_000, 1_000_000, 0); // 1 tok/s: a stalled network, not the GPU
    estimator.observeDecode(100, 1_000_000); // 10 s per token

    NodeSpeed speed = estimator.current();
    // the sample counts as at most 4× slower: 12,000 + 0.2 × (3,000 − 12,000); 15 + 0.2 × (60 − 15)
    assertThat(speed.prefillTokensPerSecond()).isCloseTo(10_200, within(1e-6));
    assertThat(speed.decodeMillisPerToken()).isCloseTo(24, within(1e-6));
  }

  @Test
  void theFirstAnswersReplaceTheProfilesGuess() {
    // a simulator at --time-scale 10 (or a profile ten times off): one answer is enough to know it
    SpeedEstimator estimator = SpeedEstimator.seeded(12_000, 15);

    estimator.observeFirstToken(1_200, 10, 0);
    estimator.observeDecode(100, 150);

    assertThat(estimator.current().prefillTokensPerSecond()).isCloseTo(120_000, within(1e-6));
    assertThat(estimator.current().decodeMillisPerToken()).isCloseTo(1.5, within(1e-9));
  }

  @Test
  void anOutlierAmongTheFirstAnswersIsAveragedWithTheNext() {
    SpeedEstimator estimator = SpeedEstimator.seeded(12_000, 15);

    estimator.observeDecode(100, 6_000); // 60 ms: a slow first answer
    estimator.observeDecode(100, 1_500);
    estimator.observeDecode(100, 1_500);

    assertThat(estimator.current().decodeMillisPerToken()).isCloseTo(30, within(1e-9)); // the mean of the three
  }

  @Test
  void neverLeavesTheBoundsAroundTheExpectedSpeed() {
    SpeedEstimator estimator = SpeedEstimator.seeded(1_000, 10);
    for (int i = 0; i < 500; i++) {
      estimator.observeFirstToken(1_000, 1e9, 0);
      estimator.observeDecode(100, 1e9);
    }

    NodeSpeed speed = estimator.current();
    assertThat(speed.prefillTokensPerSecond()).isCloseTo(1_000 * SpeedEstimator.MIN_RATIO, within(1e-9));
    assertThat(speed.decodeMillisPerToken()).isCloseTo(10 / SpeedEstimator.MIN_RATIO, within(1e-9));
  }

  @Test
  void aGuessedSpeedBoundsNothingSoAFarFasterNodeIsLearnedAsItIs() {
    SpeedEstimator guessed = SpeedEstimator.unprofiled(new NodeSpeed(1_000, 40, 1));
    SpeedEstimator profiled = SpeedEstimator.seeded(1_000, 40);
    for (SpeedEstimator e : List.of(guessed, profiled)) {
      for (int i = 0; i < 3; i++) e.observeFirstToken(47_000, 1.0, 0); // 47k tokens to a first token in 1 ms
    }

    assertThat(guessed.current().prefillTokensPerSecond()).isCloseTo(47_000_000, within(1.0));
    assertThat(profiled.current().prefillTokensPerSecond()).isEqualTo(1_000 * SpeedEstimator.MAX_RATIO);
  }

  @Test
  void ignoresSamplesTooSmallToMeasureSpeed() {
    SpeedEstimator estimator = SpeedEstimator.seeded(12_000, 15);

    estimator.observeFirstToken(10, 500, 0);
    estimator.observeFirstToken(1_000, 0, 0);
    estimator.observeDecode(1, 400);
    estimator.observeDecode(100, -1);

    assertThat(estimator.current()).isEqualTo(new NodeSpeed(12_000, 15, 1));
    assertThat(estimator.prefillSamples()).isZero();
    assertThat(estimator.decodeSamples()).isZero();
  }

  @Test
  void learnsFromOllamaFinalLineTimings() {
    SpeedEstimator estimator = SpeedEstimator.seeded(570, 53);
    for (int i = 0; i < 60; i++) {
      // CPU offload: prefill halves, decode 4× slower: 1,000 tokens in 3.509 s, 200 tokens in 42.4 s
      estimator.observeOllamaTimings(1_000, 3_508_771_930L, 200, 42_400_000_000L);
    }

    NodeSpeed speed = estimator.current();
    assertThat(speed.prefillTokensPerSecond()).isCloseTo(285, within(1.0));
    assertThat(speed.decodeMillisPerToken()).isCloseTo(212, within(1.0));
    assertThat(speed.speedFactor()).isCloseTo(Math.sqrt(0.5 * 0.25), within(0.01));
  }
}
