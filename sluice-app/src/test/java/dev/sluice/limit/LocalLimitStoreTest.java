package dev.sluice.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.limit.LimitStore.BucketResult;
import dev.sluice.testkit.FakeClock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class LocalLimitStoreTest {
  private static final long MINUTE = 60_000;

  private final FakeClock clock = new FakeClock(1_700_000_000_000L);
  private final LocalLimitStore store = new LocalLimitStore(clock);

  private BucketResult take(long cost, long capacity) {
    return store.take("k", cost, capacity, MINUTE, clock.millis());
  }

  @Test
  void aBucketOfCapacityNAdmitsExactlyNInABurstThenOneEveryPeriodOverN() {
    for (int i = 0; i < 60; i++) {
      assertThat(take(1, 60).allowed()).as("request %d", i).isTrue();
    }
    BucketResult refused = take(1, 60);
    assertThat(refused.allowed()).isFalse();
    assertThat(refused.retryAfterMillis()).isEqualTo(1_000);

    for (int second = 0; second < 120; second++) {
      clock.advanceMillis(999);
      assertThat(take(1, 60).allowed()).as("999 ms into second %d", second).isFalse();
      clock.advanceMillis(1);
      assertThat(take(1, 60).allowed()).as("end of second %d", second).isTrue();
    }
  }

  @Test
  void reportsRemainingResetAndRetryAfterExactly() {
    BucketResult first = take(1, 60);
    assertThat(first).isEqualTo(new BucketResult(true, 59, 1_000, 0));

    BucketResult big = take(50, 60);
    assertThat(big).isEqualTo(new BucketResult(true, 9, 51_000, 0));

    BucketResult refused = take(20, 60);
    assertThat(refused).isEqualTo(new BucketResult(false, 9, 51_000, 11_000));

    clock.advanceMillis(11_000);
    assertThat(take(20, 60)).isEqualTo(new BucketResult(true, 0, 60_000, 0));
  }

  @Test
  void aCostAboveTheCapacityIsNeverAllowedAndRetriesAfterAPeriod() {
    BucketResult result = take(61, 60);

    assertThat(result.allowed()).isFalse();
    assertThat(result.retryAfterMillis()).isEqualTo(MINUTE);
    assertThat(result.remaining()).isEqualTo(60);
    clock.advanceMillis(10 * MINUTE);
    assertThat(take(61, 60).allowed()).isFalse();
  }

  @Test
  void aRefundNeverFillsTheBucketBeyondItsCapacity() {
    take(10, 60);
    store.adjust("k", -1_000, 60, MINUTE, clock.millis());

    assertThat(take(0, 60).remaining()).isEqualTo(60);
    assertThat(store.bucketCount()).isZero();
  }

  @Test
  void aChargeOverdrawsAtMostOneCapacityAndTheDebtRefillsOverTime() {
    take(60, 60);
    store.adjust("k", 1_000_000, 60, MINUTE, clock.millis());

    BucketResult broke = take(0, 60);
    assertThat(broke.allowed()).as("an overdrawn bucket refuses even a free request").isFalse();
    assertThat(broke.remaining()).isZero();
    assertThat(broke.resetMillis()).isEqualTo(2 * MINUTE);
    assertThat(broke.retryAfterMillis()).isEqualTo(MINUTE);

    clock.advanceMillis(MINUTE + 1_000);
    assertThat(take(1, 60).allowed()).isTrue();
  }

  @Test
  void aTimeThatMovesBackwardsRefillsNothing() {
    take(60, 60);
    long now = clock.millis();

    assertThat(store.take("k", 1, 60, MINUTE, now - 30_000).allowed()).isFalse();
    assertThat(store.take("k", 1, 60, MINUTE, now + 1_000).allowed()).isTrue();
  }

  @Test
  void fullBucketsAreDroppedAndIdleOnesEvictedOnlyOnceTheyWouldBeFullAgain() {
    store.take("a", 1, 60, MINUTE, clock.millis());
    store.take("b", 60, 60, MINUTE, clock.millis());
    store.adjust("b", 60, 60, MINUTE, clock.millis());
    assertThat(store.bucketCount()).isEqualTo(2);

    clock.advanceMillis(2 * MINUTE - 1);
    assertThat(store.bucketCount()).isEqualTo(2);
    clock.advanceMillis(2 * MINUTE); // Caffeine's timer wheel evicts within about a minute of the deadline
    assertThat(store.bucketCount()).isZero();
    assertThat(store.take("b", 60, 60, MINUTE, clock.millis()).allowed()).isTrue();
  }

  @Test
  void slotsAreCountedUpToTheMaxAndTheCounterDisappearsAtZero() {
    assertThat(store.acquireSlot("s", 2)).isTrue();
    assertThat(store.acquireSlot("s", 2)).isTrue();
    assertThat(store.acquireSlot("s", 2)).isFalse();
    assertThat(store.slotsInUse("s")).isEqualTo(2);

    store.releaseSlot("s");
    assertThat(store.acquireSlot("s", 2)).isTrue();
    store.releaseSlot("s");
    store.releaseSlot("s");
    store.releaseSlot("s");

    assertThat(store.slotsInUse("s")).isZero();
    assertThat(store.slotKeyCount()).isZero();
  }

  @Test
  void rejectsFiguresThatCannotBeABucket() {
    assertThatThrownBy(() -> take(1, 0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("capacity 0 per 60000 ms is out of range");
    assertThatThrownBy(() -> take(-1, 10)).hasMessageContaining("cost -1 is negative");
    assertThatThrownBy(() -> store.acquireSlot("s", 0)).hasMessageContaining("max 0 must be at least 1");
  }

  @Test
  void racingThreadsNeverTakeMoreThanTheCapacityOrSlotsAboveTheMax() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Callable<int[]>> tasks = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        tasks.add(() -> {
          int[] won = new int[2];
          for (int i = 0; i < 500; i++) {
            if (store.take("race", 1, 1_000, MINUTE, clock.millis()).allowed()) {
              won[0]++;
            }
            if (store.acquireSlot("race", 3)) {
              won[1] = Math.max(won[1], store.slotsInUse("race"));
              store.releaseSlot("race");
            }
          }
          return won;
        });
      }
      int taken = 0;
      int maxSlots = 0;
      for (Future<int[]> f : pool.invokeAll(tasks)) {
        taken += f.get()[0];
        maxSlots = Math.max(maxSlots, f.get()[1]);
      }
      assertThat(taken).isEqualTo(1_000);
      assertThat(maxSlots).isBetween(1, 3);
      assertThat(store.slotsInUse("race")).isZero();
    } finally {
      pool.shutdownNow();
    }
  }
}
