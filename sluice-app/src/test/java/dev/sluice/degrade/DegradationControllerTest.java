package dev.sluice.degrade;

import static dev.sluice.degrade.DegradationLevel.CACHE;
import static dev.sluice.degrade.DegradationLevel.DOWNGRADE;
import static dev.sluice.degrade.DegradationLevel.NORMAL;
import static dev.sluice.degrade.DegradationLevel.STATIC;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.sluice.degrade.DegradationController.ScopeState;
import dev.sluice.degrade.DegradationController.Snapshot;
import dev.sluice.degrade.DegradationSettings.Scope;
import dev.sluice.support.Json;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DegradationControllerTest {
  private static final String QWEN = "qwen3:32b";
  private static final String LLAMA = "llama3:8b";
  private static final String QWEN2 = "qwen2:7b";
  private static final DegradationSettings DEFAULTS = DegradationSettings.defaults();
  /**
   * The defaults, but evidence need not span any time: the tests of thresholds, hysteresis, overrides and reloads
   * feed their samples at one instant. The evidence-time rule has its own tests, on the defaults.
   */
  private static final DegradationSettings INSTANT = DEFAULTS.withMinEvidenceTime(Duration.ZERO);

  private final AtomicLong now = new AtomicLong(1_000_000);
  private final List<String> transitions = Collections.synchronizedList(new ArrayList<>());
  private DegradationController controller = controller(INSTANT);

  private DegradationController controller(DegradationSettings settings) {
    return new DegradationController(settings, now::get,
        (scope, from, to, reason) -> transitions.add(scope + " " + from + " → " + to + ": " + reason));
  }

  /** Records {@code failures} failed then {@code total - failures} successful requests of {@code model}. */
  private void traffic(String model, int total, int failures) {
    for (int i = 0; i < total; i++) {
      controller.record(model, i < failures);
    }
  }

  private void advance(Duration d) {
    now.addAndGet(d.toMillis());
  }

  private void reachCache() {
    traffic(QWEN, 20, 1);
    assertThat(controller.level(QWEN)).isEqualTo(CACHE);
  }

  /**
   * {@code perSecond} requests of {@code model} a second, evenly spaced, for {@code seconds}, of which the share
   * {@code failing} fails (spread evenly too); the clock ends one spacing after the last.
   */
  private void steady(String model, int perSecond, double failing, double seconds) {
    long spacing = 1000 / perSecond;
    int n = (int) Math.round(seconds * perSecond);
    double failures = 0;
    for (int i = 0; i < n; i++) {
      failures += failing;
      boolean fail = failures >= 1 - 1e-9;
      if (fail) {
        failures -= 1;
      }
      controller.record(model, fail);
      advance(Duration.ofMillis(spacing));
    }
  }

  /**
   * What the server does for one second at a raised level with a request every 100 ms: only probes reach the nodes
   * (and are recorded); {@code nodesUp} says how they end.
   */
  private void probeSecond(String model, boolean nodesUp) {
    for (int i = 0; i < 10; i++) {
      if (controller.decide(model, 0.99).probe()) {
        controller.record(model, !nodesUp);
      }
      advance(Duration.ofMillis(100));
    }
  }

  private List<String> modelTransitions() {
    return transitions.stream().filter(t -> t.startsWith(QWEN)).toList();
  }

  @ParameterizedTest(name = "{1} of {0} requests failed → {2}")
  @CsvSource({
      "1000, 49, NORMAL", "1000, 50, CACHE", "1000, 149, CACHE", "1000, 150, DOWNGRADE",
      "1000, 299, DOWNGRADE", "1000, 300, STATIC", "1000, 1000, STATIC",
      "20, 1, CACHE", "20, 3, DOWNGRADE", "20, 6, STATIC"})
  void entersEachLevelExactlyAtItsThreshold(int requests, int failures, DegradationLevel expected) {
    controller = controller(INSTANT.withMinRequests(requests));
    traffic(QWEN, requests, failures);

    assertThat(controller.level(QWEN)).isEqualTo(expected);
    assertThat(controller.decide(QWEN, 0.99).level()).isEqualTo(expected);
  }

  @Test
  void neverEscalatesOnFewerSamplesThanMinRequests() {
    traffic(QWEN, 19, 19);
    assertThat(controller.level(QWEN)).isEqualTo(NORMAL);

    controller.record(QWEN, true);
    assertThat(controller.level(QWEN)).isEqualTo(STATIC);
  }

  @Test
  void escalatesStraightToTheHighestLevelReachedWithTheRateInTheReason() {
    controller = controller(INSTANT.withMinRequests(50));
    advance(Duration.ofSeconds(60));
    traffic(QWEN, 50, 17);

    assertThat(controller.level(QWEN)).isEqualTo(STATIC);
    assertThat(modelTransitions()).containsExactly(
        QWEN + " NORMAL → STATIC: error rate 34.0 % (17 of 50 requests in 60 s) ≥ static threshold 30 %");
  }

  @Test
  void aBurstOfFailuresAfterAQuietPeriodDoesNotEscalate() {
    controller = controller(DEFAULTS);
    steady(QWEN, 2, 0, 10);
    advance(Duration.ofSeconds(60)); // quiet: the window is empty again

    for (int i = 0; i < 20; i++) { // late timeouts all failing within half a second
      controller.record(QWEN, true);
      advance(Duration.ofMillis(25));
    }

    assertThat(controller.level(QWEN)).as("20 of 20 failed, but within 0.5 s").isEqualTo(NORMAL);
    assertThat(controller.decide(QWEN, 0.99).level()).isEqualTo(NORMAL);
    assertThat(transitions).isEmpty();
  }

  @Test
  void aBurstOfFailuresRightAfterATransitionDoesNotDecideTheNextLevel() {
    controller = controller(DEFAULTS);
    steady(QWEN, 10, 0.1, 5.1);
    assertThat(controller.level(QWEN)).isEqualTo(CACHE);

    traffic(QWEN, 20, 11); // "11 of 20 requests in 0.5 s"
    steady(QWEN, 10, 0.1, 4);
    assertThat(controller.level(QWEN)).as("the fresh evidence spans less than 5 s").isEqualTo(CACHE);
    assertThat(modelTransitions()).hasSize(1);
  }

  @Test
  void sustainedFailureEscalatesOnceItsEvidenceSpansTheMinimumTime() {
    controller = controller(DEFAULTS);
    steady(QWEN, 10, 0.5, 4.9);
    assertThat(controller.level(QWEN)).as("49 requests at 50 % errors, but 4.9 s of evidence").isEqualTo(NORMAL);

    steady(QWEN, 10, 0.5, 0.2);
    assertThat(controller.level(QWEN)).isEqualTo(STATIC);
    assertThat(modelTransitions()).containsExactly(
        QWEN + " NORMAL → STATIC: error rate 49.0 % (25 of 51 requests in 60 s) ≥ static threshold 30 %");
  }

  @Test
  void aModelWithSteadyTrafficEscalatesAsSoonAsItsErrorRateReachesTheThreshold() {
    controller = controller(DEFAULTS);
    steady(QWEN, 10, 0, 60);
    steady(QWEN, 10, 1, 2); // every request fails now
    assertThat(controller.level(QWEN)).as("20 failures of 600 in the window").isEqualTo(NORMAL);

    steady(QWEN, 10, 1, 1.2);
    assertThat(controller.level(QWEN)).as("5 % after 3.1 s of failures: the evidence already spans the window")
        .isEqualTo(CACHE);
  }

  @Test
  void staysAtCacheWhileTheErrorRateIsAboveHalfItsThreshold() {
    reachCache();
    for (int second = 0; second < 40; second++) { // 1 failure in 33 = 3 %: above 2.5 %, below the next threshold
      advance(Duration.ofSeconds(1));
      traffic(QWEN, 33, 1);
    }

    assertThat(controller.decide(QWEN, 0.99).level()).isEqualTo(CACHE);
    assertThat(modelTransitions()).hasSize(1);
  }

  @Test
  void leavesStaticForNormalOneRecoveryWindowAfterTheLastFailureWhileTheOutageIsStillInTheWindow() {
    traffic(QWEN, 20, 20);
    assertThat(controller.level(QWEN)).isEqualTo(STATIC);
    for (int second = 0; second < 15; second++) { // the outage goes on: probes fail
      advance(Duration.ofSeconds(1));
      traffic(QWEN, 2, 2);
    }
    int cleanSeconds = 0;
    while (controller.decide(QWEN, 0.99).level() == STATIC) { // recovered: probes succeed
      advance(Duration.ofSeconds(1));
      traffic(QWEN, 2, 0);
      cleanSeconds++;
      assertThat(cleanSeconds).isLessThan(60);
    }

    // 50 failures are still inside the 60 s window, but the dwell has passed and the last recovery window (5 s, at
    // bucket granularity) has none: straight to NORMAL, long before the outage ages out of the window
    assertThat(cleanSeconds).isBetween(5, 6);
    assertThat(controller.level(QWEN)).isEqualTo(NORMAL);
    assertThat(controller.snapshot().models().get(0).windowFailures()).isEqualTo(50);
  }

  @Test
  void leavesCacheOnceTheDwellHasPassedAndTheRecentRateIsBelowHalfItsThreshold() {
    reachCache();
    advance(Duration.ofSeconds(16));
    traffic(QWEN, 50, 1);

    advance(Duration.ofMillis(3_999));
    assertThat(controller.decide(QWEN, 0.99).level()).as("19.999 s at CACHE is short of the dwell").isEqualTo(CACHE);

    advance(Duration.ofMillis(1));
    assertThat(controller.decide(QWEN, 0.99).level()).isEqualTo(NORMAL);
    assertThat(modelTransitions()).last().isEqualTo(
        QWEN + " CACHE → NORMAL: error rate 2.0 % (1 of 50) < half the cache threshold (2.5 %) for 5.0 s");
  }

  @Test
  void withFailuresInTheRecentPeriodAStepDownNeedsAQuarterOfMinRequestsSamples() {
    controller = controller(INSTANT.withMinRequests(40).withRecoveryWindow(Duration.ofSeconds(20)));
    traffic(QWEN, 40, 40);
    advance(Duration.ofSeconds(20));
    traffic(QWEN, 7, 1);
    assertThat(controller.level(QWEN)).as("1 of 7 = 14.3 % < 15 %, but 7 samples < 40 / 4").isEqualTo(STATIC);

    traffic(QWEN, 3, 0);
    assertThat(controller.level(QWEN)).as("1 of 10 = 10 %: still above half the downgrade threshold")
        .isEqualTo(DOWNGRADE);
  }

  @ParameterizedTest(name = "minRequests {0}, recovery window {1} s → {2} samples")
  @CsvSource({"20, 5, 5", "1, 5, 3", "100, 60, 25", "100, 5, 5", "20, 2, 2", "20, 1, 1"})
  void theRecoverySampleMinimumIsAQuarterOfMinRequestsButNoMoreThanOnePerSecondOfTheRecoveryWindow(int minRequests,
      long recoverySeconds, int expected) {
    // at a raised level the model's own probes (at least one a second) must be able to provide it without traffic
    assertThat(DegradationController.minRecoverySamples(
        DEFAULTS.withMinRequests(minRequests).withRecoveryWindow(Duration.ofSeconds(recoverySeconds))))
        .isEqualTo(expected);
  }

  @Test
  void stepsDownStraightToTheHighestLevelWhoseHalfThresholdTheRecentRateStillReaches() {
    traffic(QWEN, 20, 20);
    assertThat(controller.level(QWEN)).isEqualTo(STATIC);

    advance(Duration.ofSeconds(16));
    traffic(QWEN, 25, 1); // 4 %: below half the downgrade threshold (7.5 %), above half the cache one (2.5 %)
    advance(Duration.ofSeconds(4));
    assertThat(controller.level(QWEN)).isEqualTo(CACHE);

    advance(Duration.ofSeconds(16));
    traffic(QWEN, 50, 1); // 2 %
    advance(Duration.ofSeconds(4));
    assertThat(controller.level(QWEN)).isEqualTo(NORMAL);
    assertThat(modelTransitions()).containsExactly(
        QWEN + " NORMAL → STATIC: error rate 100.0 % (20 of 20 requests in 60 s) ≥ static threshold 30 %",
        QWEN + " STATIC → CACHE: error rate 4.0 % (1 of 25) < half the static threshold (15 %) for 5.0 s, ≥ half the "
            + "cache threshold (2.5 %)",
        QWEN + " CACHE → NORMAL: error rate 2.0 % (1 of 50) < half the cache threshold (2.5 %) for 5.0 s");
  }

  @Test
  void oldFailuresNeverPushARecoveredModelStraightBackUp() {
    traffic(QWEN, 20, 20);
    advance(Duration.ofSeconds(20));
    traffic(QWEN, 5, 0);
    assertThat(controller.level(QWEN)).isEqualTo(NORMAL);

    traffic(QWEN, 40, 0);
    assertThat(controller.level(QWEN)).as("the 20 old failures are still in the window, but not evidence")
        .isEqualTo(NORMAL);
    assertThat(controller.snapshot().models().get(0).windowFailures()).isEqualTo(20);
  }

  @Test
  void aHigherLevelNeedsFreshEvidenceEvenWithinTheSameSecond() {
    reachCache();
    traffic(QWEN, 19, 19);
    assertThat(controller.level(QWEN)).as("19 new samples < minRequests; the 20 before the transition do not count")
        .isEqualTo(CACHE);

    controller.record(QWEN, true);
    assertThat(controller.level(QWEN)).isEqualTo(STATIC);
  }

  @Test
  void failuresOlderThanTheWindowNoLongerCount() {
    traffic(QWEN, 19, 19);
    advance(Duration.ofSeconds(61));
    controller.record(QWEN, true);

    assertThat(controller.level(QWEN)).isEqualTo(NORMAL);
    assertThat(controller.snapshot().models().get(0).windowRequests()).isEqualTo(1);
  }

  @Test
  void withModelScopeAFailingModelDoesNotDegradeTheOthers() {
    traffic(LLAMA, 80, 0);
    traffic(QWEN, 20, 20);

    assertThat(controller.level(QWEN)).isEqualTo(STATIC);
    assertThat(controller.level(LLAMA)).isEqualTo(NORMAL);
    assertThat(controller.clusterLevel()).as("5 of 85 cluster requests").isEqualTo(CACHE);
  }

  @Test
  void withClusterScopeEveryModelFollowsTheClusterErrorRate() {
    controller = controller(INSTANT.withScope(Scope.CLUSTER));
    traffic(LLAMA, 80, 0);
    traffic(QWEN, 20, 20);

    assertThat(controller.clusterLevel()).isEqualTo(CACHE);
    assertThat(controller.level(QWEN)).isEqualTo(CACHE);
    assertThat(controller.level(LLAMA)).isEqualTo(CACHE);
    assertThat(controller.decide(LLAMA, 0.99).level()).isEqualTo(CACHE);
    assertThat(controller.snapshot().models()).extracting(ScopeState::scope, ScopeState::level, ScopeState::automatic)
        .containsExactly(
            tuple(LLAMA, CACHE, NORMAL), tuple(QWEN, CACHE, STATIC));
  }

  @Test
  void anOperatorOverrideWinsNeverProbesAndClearingItReturnsToAutomatic() {
    controller.override(QWEN, STATIC);
    assertThat(controller.level(QWEN)).isEqualTo(STATIC);
    assertThat(controller.level(LLAMA)).isEqualTo(NORMAL);
    assertThat(controller.decide(QWEN, 0.0)).isEqualTo(new DegradationDecision(STATIC, false, null));

    controller.override(QWEN, null);
    assertThat(controller.level(QWEN)).isEqualTo(NORMAL);
    assertThat(transitions).containsExactly(
        QWEN + " NORMAL → STATIC: operator override",
        QWEN + " STATIC → NORMAL: operator override cleared");
  }

  @Test
  void anOverrideWithoutAModelCoversEveryModelTheClusterAndModelsSeenLater() {
    controller.record(QWEN, false);
    controller.override(null, DOWNGRADE);

    assertThat(controller.level(QWEN)).isEqualTo(DOWNGRADE);
    assertThat(controller.clusterLevel()).isEqualTo(DOWNGRADE);
    assertThat(controller.level(LLAMA)).as("first seen after the override").isEqualTo(DOWNGRADE);
    assertThat(transitions).containsExactlyInAnyOrder(
        "cluster NORMAL → DOWNGRADE: operator override",
        QWEN + " NORMAL → DOWNGRADE: operator override");

    controller.override(null, null);
    assertThat(controller.level(QWEN)).isEqualTo(NORMAL);
    assertThat(controller.level(LLAMA)).isEqualTo(NORMAL);
    assertThat(controller.clusterLevel()).isEqualTo(NORMAL);
    assertThat(controller.snapshot().models()).extracting(ScopeState::override).containsOnlyNulls();
  }

  @Test
  void atADegradedLevelAShareOfRequestsAndOnePerSecondStillProbeTheNodes() {
    controller = controller(INSTANT.withDowngrade(Map.of(QWEN, "qwen2:7b")));
    assertThat(controller.decide(QWEN, 0.0)).as("NORMAL never probes")
        .isEqualTo(new DegradationDecision(NORMAL, false, "qwen2:7b"));
    traffic(QWEN, 20, 3);
    assertThat(controller.level(QWEN)).isEqualTo(DOWNGRADE);

    assertThat(controller.decide(QWEN, 0.99).probe()).as("first request at the level").isTrue();
    assertThat(controller.decide(QWEN, 0.99).probe()).isFalse();
    assertThat(controller.decide(QWEN, 0.09).probe()).as("inside the 10 % share").isTrue();
    assertThat(controller.decide(QWEN, 0.10).probe()).isFalse();

    advance(Duration.ofMillis(999));
    assertThat(controller.decide(QWEN, 0.99).probe()).isFalse();
    advance(Duration.ofMillis(1));
    assertThat(controller.decide(QWEN, 0.99)).as("a second since the last probe")
        .isEqualTo(new DegradationDecision(DOWNGRADE, true, "qwen2:7b"));
    assertThat(controller.decide(QWEN, 0.99).probe()).isFalse();
  }

  @Test
  void aModelWhoseDowngradeTargetCanAnswerGoesToDowngradeInsteadOfStatic() {
    Set<String> servable = ConcurrentHashMap.newKeySet();
    servable.add(QWEN2);
    controller = new DegradationController(DEFAULTS.withDowngrade(Map.of(QWEN, QWEN2)), now::get,
        servable::contains, (scope, from, to, reason) -> transitions.add(scope + " " + from + " → " + to + ": "
            + reason));

    steady(QWEN, 10, 1, 5.1); // every node of the big model is down
    assertThat(controller.decide(QWEN, 0.99)).isEqualTo(new DegradationDecision(DOWNGRADE, true, QWEN2));
    assertThat(modelTransitions()).containsExactly(QWEN + " NORMAL → DOWNGRADE: error rate 100.0 % (51 of 51 "
        + "requests in 60 s) ≥ static threshold 30 %; downgrade instead of static: " + QWEN2 + " can answer");

    servable.remove(QWEN2);
    assertThat(controller.level(QWEN)).as("STATIC needs new evidence").isEqualTo(DOWNGRADE);
    steady(QWEN, 10, 1, 4);
    assertThat(controller.level(QWEN)).isEqualTo(DOWNGRADE);
    steady(QWEN, 10, 1, 1.1);
    assertThat(controller.level(QWEN)).isEqualTo(STATIC);

    servable.add(QWEN2); // the small model's node is back: its level follows at once, without a dwell
    assertThat(controller.decide(QWEN, 0.99).level()).isEqualTo(DOWNGRADE);
    assertThat(modelTransitions()).last()
        .isEqualTo(QWEN + " STATIC → DOWNGRADE: downgrade instead of static: " + QWEN2 + " can answer");
  }

  @Test
  void aModelGoesToStaticWhenItsDowngradeTargetIsDegradedItselfOrHasNoTarget() {
    controller = controller(DEFAULTS.withDowngrade(Map.of(QWEN, QWEN2)));
    controller.override(QWEN2, DOWNGRADE);
    steady(QWEN, 10, 1, 5.1);
    assertThat(controller.level(QWEN)).as("the small model is at DOWNGRADE itself").isEqualTo(STATIC);

    steady(LLAMA, 10, 1, 5.1);
    assertThat(controller.level(LLAMA)).as("no downgrade target").isEqualTo(STATIC);
  }

  @Test
  void leavesStaticForNormalInOneStepOneRecoveryWindowAfterTheLastFailure() {
    controller = controller(DEFAULTS);
    steady(QWEN, 10, 1, 5.1);
    assertThat(controller.level(QWEN)).isEqualTo(STATIC);
    for (int second = 0; second < 30; second++) { // the outage outlasts the dwell: the probes fail
      probeSecond(QWEN, false);
    }
    assertThat(controller.level(QWEN)).isEqualTo(STATIC);

    int seconds = 0;
    while (controller.level(QWEN) != NORMAL) { // the nodes are back: one probe a second, each answered
      probeSecond(QWEN, true);
      seconds++;
      assertThat(seconds).isLessThan(30);
    }

    assertThat(seconds).as("one recovery window of 5 s, at bucket granularity").isBetween(5, 6);
    assertThat(modelTransitions()).hasSize(2).last().asString()
        .startsWith(QWEN + " STATIC → NORMAL: no failures (0 of ");
  }

  @Test
  void aModelWithoutTrafficDecaysToNormalOnTheClockForTheLevelGaugeAndTheSnapshot() {
    controller = controller(DEFAULTS);
    steady(QWEN, 10, 1, 5.1);
    steady(LLAMA, 10, 1, 5.1);
    assertThat(controller.level(QWEN)).isEqualTo(STATIC);
    assertThat(controller.clusterLevel()).isEqualTo(STATIC);

    advance(Duration.ofSeconds(14)); // no request since: nothing calls decide() or record()
    assertThat(controller.level(QWEN)).as("within the dwell").isEqualTo(STATIC);
    advance(Duration.ofSeconds(6));

    assertThat(controller.level(QWEN)).isEqualTo(NORMAL);
    assertThat(controller.clusterLevel()).isEqualTo(NORMAL);
    assertThat(controller.snapshot().models()).extracting(ScopeState::scope, ScopeState::level)
        .containsExactly(tuple(LLAMA, NORMAL), tuple(QWEN, NORMAL));
    assertThat(modelTransitions()).last().isEqualTo(QWEN + " STATIC → NORMAL: no requests for 5.0 s");
  }

  @Test
  void disabledStaysNormalButStillRecordsAndHonoursOverrides() {
    controller = controller(DegradationSettings.disabled());
    traffic(QWEN, 40, 40);

    assertThat(controller.level(QWEN)).isEqualTo(NORMAL);
    assertThat(controller.clusterLevel()).isEqualTo(NORMAL);
    assertThat(controller.decide(QWEN, 0.0).probe()).isFalse();
    assertThat(controller.snapshot().cluster().windowFailures()).isEqualTo(40);
    assertThat(transitions).isEmpty();

    controller.override(QWEN, CACHE);
    assertThat(controller.level(QWEN)).isEqualTo(CACHE);
  }

  @Test
  void disablingOnReloadReturnsEveryScopeToNormal() {
    traffic(QWEN, 20, 20);
    transitions.clear();

    controller.apply(DegradationSettings.disabled());
    assertThat(controller.level(QWEN)).isEqualTo(NORMAL);
    assertThat(transitions).containsExactlyInAnyOrder(
        QWEN + " STATIC → NORMAL: degradation disabled", "cluster STATIC → NORMAL: degradation disabled");
  }

  @Test
  void aReloadKeepsWindowsAndLevelsAndUsesTheNewThresholdsFromThenOn() {
    traffic(QWEN, 24, 0);
    controller.record(QWEN, true);
    assertThat(controller.level(QWEN)).as("4 %").isEqualTo(NORMAL);

    controller.apply(INSTANT.withThresholds(0.03, 0.15, 0.30).withWindow(Duration.ofSeconds(120)));
    assertThat(controller.settings().cacheThreshold()).isEqualTo(0.03);
    assertThat(controller.snapshot().models().get(0).windowRequests()).isEqualTo(25);
    assertThat(controller.level(QWEN)).isEqualTo(NORMAL);

    controller.record(QWEN, false);
    assertThat(controller.level(QWEN)).as("1 of 26 = 3.8 % ≥ 3 %").isEqualTo(CACHE);

    advance(Duration.ofSeconds(90));
    assertThat(controller.snapshot().models().get(0).windowRequests()).as("the new 120 s window").isEqualTo(26);
  }

  @Test
  void theListenerHearsEachTransitionOnceAndMayReadTheController() {
    List<String> heard = new ArrayList<>();
    DegradationController[] self = new DegradationController[1];
    self[0] = new DegradationController(INSTANT, now::get,
        (scope, from, to, reason) -> heard.add(scope + " " + to + " now " + (scope.equals("cluster")
            ? self[0].clusterLevel() : self[0].level(scope))));
    for (int i = 0; i < 40; i++) {
      self[0].record(QWEN, true);
    }

    assertThat(heard).containsExactly(QWEN + " STATIC now STATIC", "cluster STATIC now STATIC");
  }

  @Test
  void theSnapshotShowsEveryScopeAndTheLastFiftyTransitionsNewestLast() throws Exception {
    traffic(QWEN, 20, 2);
    for (int i = 0; i < 60; i++) {
      advance(Duration.ofMillis(10));
      controller.override(LLAMA, i % 2 == 0 ? STATIC : null);
    }

    Snapshot s = controller.snapshot();
    assertThat(s.enabled()).isTrue();
    assertThat(s.mode()).isEqualTo(Scope.MODEL);
    assertThat(s.cluster()).isEqualTo(new ScopeState("cluster", CACHE, CACHE, null, 20, 2, 0.1, 1_000_000));
    assertThat(s.models()).extracting(ScopeState::scope).containsExactly(LLAMA, QWEN);
    assertThat(s.models().get(0).sinceMillis()).isEqualTo(now.get());
    assertThat(s.recent()).hasSize(50);
    assertThat(s.recent().get(49).atMillis()).isEqualTo(now.get());
    assertThat(s.recent().get(49).reason()).isEqualTo("operator override cleared");

    String json = Json.MAPPER.writeValueAsString(s);
    assertThat(json).contains("\"cluster\":{\"scope\":\"cluster\",\"level\":\"CACHE\"", "\"windowRequests\":20",
        "\"recent\":[{\"atMillis\":");
  }

  @Test
  void concurrentRecordsFromSeveralThreadsAllCount() throws Exception {
    int threads = 8;
    int perThread = 5_000;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> done = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      String model = t % 2 == 0 ? QWEN : LLAMA;
      done.add(pool.submit(() -> {
        start.await();
        for (int i = 0; i < perThread; i++) {
          controller.decide(model, (i % 100) / 100.0);
          controller.record(model, i % 10 == 0);
          if (i % 1000 == 0) {
            now.incrementAndGet();
            controller.snapshot();
          }
        }
        return null;
      }));
    }
    start.countDown();
    for (Future<?> f : done) {
      f.get(30, TimeUnit.SECONDS);
    }
    pool.shutdown();

    Snapshot s = controller.snapshot();
    assertThat(s.cluster().windowRequests()).isEqualTo((long) threads * perThread);
    assertThat(s.cluster().windowFailures()).isEqualTo((long) threads * perThread / 10);
    assertThat(s.models()).extracting(ScopeState::windowRequests)
        .containsExactly((long) threads / 2 * perThread, (long) threads / 2 * perThread);
    // 10 % errors overall; interleaving can put 3 failures into the 20 samples after a transition (15 %)
    assertThat(controller.level(QWEN)).isIn(CACHE, DOWNGRADE);
  }
}
