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
  private static final DegradationSettings DEFAULTS = DegradationSettings.defaults();

  private final AtomicLong now = new AtomicLong(1_000_000);
  private final List<String> transitions = Collections.synchronizedList(new ArrayList<>());
  private DegradationController controller = controller(DEFAULTS);

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

  private List<String> modelTransitions() {
    return transitions.stream().filter(t -> t.startsWith(QWEN)).toList();
  }

  @ParameterizedTest(name = "{1} of {0} requests failed → {2}")
  @CsvSource({
      "1000, 49, NORMAL", "1000, 50, CACHE", "1000, 149, CACHE", "1000, 150, DOWNGRADE",
      "1000, 299, DOWNGRADE", "1000, 300, STATIC", "1000, 1000, STATIC",
      "20, 1, CACHE", "20, 3, DOWNGRADE", "20, 6, STATIC"})
  void entersEachLevelExactlyAtItsThreshold(int requests, int failures, DegradationLevel expected) {
    controller = controller(DEFAULTS.withMinRequests(requests));
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
    controller = controller(DEFAULTS.withMinRequests(50));
    advance(Duration.ofSeconds(60));
    traffic(QWEN, 50, 17);

    assertThat(controller.level(QWEN)).isEqualTo(STATIC);
    assertThat(modelTransitions()).containsExactly(
        QWEN + " NORMAL → STATIC: error rate 34.0 % (17 of 50 requests in 60 s) ≥ static threshold 30 %");
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
  void leavesStaticOneDwellAfterRecoveryWhileTheOutageIsStillInTheWindow() {
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

    // 30 failures are still inside the 60 s window, but over the last dwell (20 s) the rate fell below 15 %
    // (a few failing seconds at its start are allowed), long before the outage ages out of the window
    assertThat(cleanSeconds).isBetween(15, 21);
    assertThat(controller.level(QWEN)).isEqualTo(DOWNGRADE);
  }

  @Test
  void leavesCacheOnceTheRateStaysBelowHalfItsThresholdForTheDwell() {
    reachCache();
    advance(Duration.ofSeconds(1));
    traffic(QWEN, 50, 1);

    advance(Duration.ofMillis(18_999));
    assertThat(controller.decide(QWEN, 0.99).level()).as("19.999 s at CACHE is short of the dwell").isEqualTo(CACHE);

    advance(Duration.ofMillis(1));
    assertThat(controller.decide(QWEN, 0.99).level()).isEqualTo(NORMAL);
    assertThat(modelTransitions()).last().isEqualTo(
        QWEN + " CACHE → NORMAL: error rate 2.0 % (1 of 50) < half the cache threshold (2.5 %) for 20 s");
  }

  @Test
  void needsAQuarterOfMinRequestsButAtLeastThreeSamplesToStepDown() {
    reachCache();
    advance(Duration.ofSeconds(20));
    traffic(QWEN, 4, 0);
    assertThat(controller.level(QWEN)).as("4 samples < 20 / 4").isEqualTo(CACHE);

    controller.record(QWEN, false);
    assertThat(controller.level(QWEN)).isEqualTo(NORMAL);

    controller = controller(DEFAULTS.withMinRequests(4));
    traffic(QWEN, 4, 2);
    advance(Duration.ofSeconds(20));
    traffic(QWEN, 2, 0);
    assertThat(controller.level(QWEN)).as("2 samples < 3").isEqualTo(STATIC);
    controller.record(QWEN, false);
    assertThat(controller.level(QWEN)).isEqualTo(DOWNGRADE);
  }

  @Test
  void stepsDownOneLevelPerDwellWithFreshEvidenceEachTime() {
    traffic(QWEN, 20, 20);
    assertThat(controller.level(QWEN)).isEqualTo(STATIC);

    for (DegradationLevel expected : List.of(DOWNGRADE, CACHE, NORMAL)) {
      advance(Duration.ofSeconds(20));
      traffic(QWEN, 30, 0);
      assertThat(controller.level(QWEN)).isEqualTo(expected);
    }
    assertThat(modelTransitions()).extracting(t -> t.substring(0, t.indexOf(':', QWEN.length() + 1)))
        .containsExactly(QWEN + " NORMAL → STATIC", QWEN + " STATIC → DOWNGRADE", QWEN + " DOWNGRADE → CACHE",
            QWEN + " CACHE → NORMAL");
  }

  @Test
  void oldFailuresNeverPushARecoveredModelStraightBackUp() {
    traffic(QWEN, 20, 20);
    advance(Duration.ofSeconds(20));
    traffic(QWEN, 5, 0);
    assertThat(controller.level(QWEN)).isEqualTo(DOWNGRADE);

    traffic(QWEN, 40, 0);
    assertThat(controller.level(QWEN)).as("the 20 old failures are still in the window, but not evidence")
        .isEqualTo(DOWNGRADE);
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
    controller = controller(DEFAULTS.withScope(Scope.CLUSTER));
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
    controller = controller(DEFAULTS.withDowngrade(Map.of(QWEN, "qwen2:7b")));
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

    controller.apply(DEFAULTS.withThresholds(0.03, 0.15, 0.30).withWindow(Duration.ofSeconds(120)));
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
    self[0] = new DegradationController(DEFAULTS, now::get,
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
