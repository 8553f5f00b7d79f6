package dev.sluice.flow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testkit.FakeClock;
import org.junit.jupiter.api.Test;

class NodeCapTest {
  private final FakeClock clock = new FakeClock();

  @Test
  void aConfiguredCapIsUsedAsItIsAndNamesWhereItIsSet() {
    NodeCap cap = NodeCap.configured(6, "nodes[a10-1].maxConcurrent");
    cap.busy(6);
    cap.nodeQueue(4, 6);

    assertThat(cap.reading()).isEqualTo(new NodeCap.Reading(6, "nodes[a10-1].maxConcurrent"));
  }

  @Test
  void aLearnedCapIsTheKvCapacityOverTheMeanFootprintOfTheRequestsSent() {
    NodeCap cap = NodeCap.learned(clock, 8, "A10 default");
    cap.kvCapacity(5_700, "node telemetry");
    for (int i = 0; i < 500; i++) cap.sent(1_000, 400);

    assertThat(cap.value()).isEqualTo(4); // 5,700 ÷ 1,400
    assertThat(cap.reading().source()).contains("KV 5700 tokens (node telemetry)").contains("1400 per request");
  }

  @Test
  void withoutAKvFigureTheCapIsTheGpuDefault() {
    NodeCap cap = NodeCap.learned(clock, 32, "A100 default");

    assertThat(cap.reading()).isEqualTo(new NodeCap.Reading(32, "learned: A100 default"));
  }

  @Test
  void requestsWaitingInsideTheNodeShrinkTheCapByAtLeastOne() {
    NodeCap cap = NodeCap.learned(clock, 4, "A10 default");

    cap.nodeQueue(2, 4);

    assertThat(cap.value()).isEqualTo(3);
    assertThat(cap.reading().source()).contains("node reported 2 waiting");
  }

  @Test
  void aNodeRunningTheCapWithNothingWaitingLetsItGrow() {
    NodeCap cap = NodeCap.learned(clock, 4, "A10 default");

    cap.nodeQueue(0, 4);

    assertThat(cap.value()).isEqualTo(5);
  }

  @Test
  void aNodeBelowItsCapTeachesNothing() {
    NodeCap cap = NodeCap.learned(clock, 4, "A10 default");

    cap.nodeQueue(0, 2);
    cap.firstToken(10_000, 100, 2);

    assertThat(cap.value()).isEqualTo(4);
  }

  @Test
  void oneBurstOfBusyAnswersCountsOnceUntilTheAdjustmentPeriodPasses() {
    NodeCap cap = NodeCap.learned(clock, 10, "default");

    cap.busy(10);
    cap.busy(7);
    assertThat(cap.value()).isEqualTo(7);

    clock.advanceMillis(NodeCap.ADJUST_EVERY_MILLIS);
    cap.busy(7);
    assertThat(cap.value()).isEqualTo(5);
  }

  @Test
  void aFirstTokenMuchLaterThanEstimatedAtTheCapShrinksIt() {
    NodeCap cap = NodeCap.learned(clock, 10, "default");

    cap.firstToken(3_000, 200, 10);

    assertThat(cap.value()).isEqualTo(9);
    assertThat(cap.reading().source()).contains("first token 3000 ms vs 200 ms estimated");
  }

  @Test
  void aNodeThatReportsItsOwnQueueIsNotJudgedByLateFirstTokens() {
    NodeCap cap = NodeCap.learned(clock, 10, "default");
    cap.nodeQueue(0, 3);

    cap.firstToken(3_000, 200, 10);

    assertThat(cap.value()).isEqualTo(10);
  }

  @Test
  void aResetForgetsWhatTheNodeSaid() {
    NodeCap cap = NodeCap.learned(clock, 10, "default");
    cap.busy(10);

    cap.reset();

    assertThat(cap.reading()).isEqualTo(new NodeCap.Reading(10, "learned: default"));
  }

  @Test
  void batchKeepsOneSlotFreeForInteractiveWork() {
    assertThat(Band.INTERACTIVE.fits(3, 4)).isTrue();
    assertThat(Band.BATCH.fits(3, 4)).isFalse();
    assertThat(Band.BATCH.fits(2, 4)).isTrue();
    assertThat(Band.BATCH.fits(0, 1)).isTrue();
    assertThat(Band.BATCH.fits(1, 1)).isFalse();
  }

  @Test
  void aCallerMayLowerItsBandButNotRaiseIt() {
    assertThat(Band.INTERACTIVE.atMost(Band.BATCH)).isEqualTo(Band.BATCH);
    assertThat(Band.BATCH.atMost(Band.INTERACTIVE)).isEqualTo(Band.BATCH);
    assertThat(Band.parse("Batch")).isEqualTo(Band.BATCH);
  }

  @Test
  void oneRequestCaughtWaitingOnALargeNodeLowersItsCapByOneNotByAFifth() {
    NodeCap cap = NodeCap.learned(clock, 8, "H100 default");
    cap.kvCapacity(160_000, "node telemetry");
    for (int i = 0; i < 500; i++) cap.sent(1_200, 400);
    int before = cap.value();

    cap.nodeQueue(1, before);

    assertThat(cap.value()).isEqualTo(before - 1);
  }

  @Test
  void withAKvFigureTheCapGrowsBackToWhatTheKvHoldsAndNoFurther() {
    NodeCap cap = NodeCap.learned(clock, 8, "A10 default");
    cap.kvCapacity(5_700, "node telemetry");
    for (int i = 0; i < 500; i++) cap.sent(1_000, 400);

    for (int i = 0; i < 10; i++) {
      clock.advanceMillis(3_000);
      cap.nodeQueue(0, cap.value());
    }

    assertThat(cap.value()).isEqualTo(4); // 5,700 ÷ 1,400
  }

  @Test
  void footprintsThatVaryLeaveASmallCacheRoomForTheSpread() {
    NodeCap steady = NodeCap.learned(clock, 8, "A10 default");
    NodeCap varied = NodeCap.learned(clock, 8, "A10 default");
    steady.kvCapacity(5_700, "node telemetry");
    varied.kvCapacity(5_700, "node telemetry");
    for (int i = 0; i < 500; i++) {
      steady.sent(1_000, 0);
      varied.sent(i % 2 == 0 ? 400 : 1_600, 0);
    }

    assertThat(steady.value()).isEqualTo(6);
    assertThat(varied.value()).isLessThan(steady.value());
  }

  @Test
  void answersDecodingSlowerThanAPersonReadsShrinkTheCapThoughNothingWaitsInsideTheNode() {
    NodeCap cap = NodeCap.learned(clock, 40, "A100 default");

    cap.decoded(100, 100 * 300.0); // 300 ms per token

    assertThat(cap.value()).isEqualTo(36); // 40 × 0.9
    assertThat(cap.reading().source()).endsWith("; decoding at 300 ms per token");
  }

  @Test
  void whileAnswersDecodeSlowlyTheCapDoesNotGrowBackThoughTheNodeRunsItWithNothingWaiting() {
    NodeCap cap = NodeCap.learned(clock, 40, "A100 default");
    cap.decoded(100, 100 * 300.0);
    int shrunk = cap.value();

    clock.advanceMillis(NodeCap.ADJUST_EVERY_MILLIS);
    cap.decoded(100, 100 * 130.0); // smoothed: 283 ms per token, still past 60 % of the limit
    clock.advanceMillis(NodeCap.ADJUST_EVERY_MILLIS);
    cap.nodeQueue(0, shrunk);

    assertThat(cap.value()).isLessThan(shrunk);
    for (int i = 0; i < 40; i++) cap.decoded(100, 100 * 40.0); // back to 40 ms per token
    clock.advanceMillis(NodeCap.ADJUST_EVERY_MILLIS);
    int before = cap.value();
    cap.nodeQueue(0, before);
    assertThat(cap.value()).as("a fast decode again lets it grow").isGreaterThan(before);
  }

  @Test
  void shortAnswersAndAConfiguredCapIgnoreSlowDecodes() {
    NodeCap learned = NodeCap.learned(clock, 40, "A100 default");
    NodeCap configured = NodeCap.configured(40, "routing.flow.maxConcurrent.A100");

    learned.decoded(NodeCap.MIN_DECODE_TOKENS - 1, (NodeCap.MIN_DECODE_TOKENS - 1) * 900.0);
    configured.decoded(100, 100 * 900.0);

    assertThat(learned.value()).isEqualTo(40);
    assertThat(configured.value()).isEqualTo(40);
  }

  @Test
  void aNodeThatDoesNotReportItsQueueGrowsItsCapOnceACapsWorthOfFirstTokensInARowCameOnTimeAtTheCap() {
    NodeCap cap = NodeCap.learned(clock, 4, "Ollama guess of 4 parallel slots");

    for (int i = 0; i < 3; i++) cap.firstTokenCame(120, 100, 4);
    assertThat(cap.value()).isEqualTo(4);
    cap.firstTokenCame(120, 100, 4);

    assertThat(cap.value()).isEqualTo(5);
    assertThat(cap.reading().source()).endsWith("; 4 first tokens in a row on time at the cap");
  }

  @Test
  void firstTokensOnTimeBelowTheCapOrOnANodeThatReportsItsQueueGrowNothing() {
    NodeCap below = NodeCap.learned(clock, 4, "Ollama guess");
    NodeCap reporting = NodeCap.learned(clock, 4, "A10 default");
    reporting.nodeQueue(0, 1);

    for (int i = 0; i < 20; i++) {
      below.firstTokenCame(100, 100, 3);
      reporting.firstTokenCame(100, 100, 4);
    }

    assertThat(below.value()).isEqualTo(4);
    assertThat(reporting.value()).isEqualTo(4);
  }

  @Test
  void aLateFirstTokenAtTheCapShrinksItAndStartsTheCountAgainSoAFixedSlotCountIsHeld() {
    NodeCap cap = NodeCap.learned(clock, 4, "Ollama guess");
    for (int i = 0; i < 4; i++) cap.firstTokenCame(100, 100, 4);
    assertThat(cap.value()).isEqualTo(5);

    clock.advanceMillis(NodeCap.ADJUST_EVERY_MILLIS);
    for (int i = 0; i < 4; i++) cap.firstTokenCame(100, 100, 5);
    cap.firstTokenCame(5_000, 100, 5); // the fifth waited inside the node for a whole answer

    assertThat(cap.value()).isEqualTo(4);
    clock.advanceMillis(NodeCap.ADJUST_EVERY_MILLIS);
    for (int i = 0; i < 3; i++) cap.firstTokenCame(100, 100, 4);
    assertThat(cap.value()).isEqualTo(4);
  }

  @Test
  void aCapGrownOnFirstTokensStopsAtFourTimesItsBase() {
    NodeCap cap = NodeCap.learned(clock, 4, "Ollama guess");

    for (int round = 0; round < 40; round++) {
      for (int i = 0; i < 20; i++) cap.firstTokenCame(100, 100, cap.value());
      clock.advanceMillis(NodeCap.ADJUST_EVERY_MILLIS);
    }

    assertThat(cap.value()).isEqualTo(16);
  }
}
