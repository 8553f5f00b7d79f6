package dev.sluice.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RetryBudgetTest {
  @ParameterizedTest(name = "{0} in flight → {1} extra attempts")
  @CsvSource(textBlock = """
      0,   3
      10,  3
      19,  3
      20,  4
      100, 20
      104, 20
      105, 21
      """)
  void allowsTwentyPercentOfInFlightWithAFloorOfThree(int inFlight, int limit) {
    assertThat(new RetryBudget().limit(inFlight)).isEqualTo(limit);
  }

  @Test
  void capsConcurrentExtraAttemptsAndFreesThemOnRelease() {
    RetryBudget budget = new RetryBudget();
    for (int i = 0; i < 20; i++) {
      assertThat(budget.tryAcquire(100)).isTrue();
    }

    assertThat(budget.tryAcquire(100)).isFalse();
    assertThat(budget.tryAcquire(10)).isFalse();
    budget.release();
    assertThat(budget.tryAcquire(100)).isTrue();
    assertThat(budget.active()).isEqualTo(20);
  }

  @Test
  void allowsAtMostTwoRetriesPerRequest() {
    RetryBudget budget = new RetryBudget();

    assertThat(budget.tryAcquire(100, 0)).isTrue();
    assertThat(budget.tryAcquire(100, 1)).isTrue();
    assertThat(budget.tryAcquire(100, 2)).isFalse();
    assertThat(budget.active()).isEqualTo(2);
  }

  @Test
  void releaseNeverGoesBelowZero() {
    RetryBudget budget = new RetryBudget();
    budget.release();

    assertThat(budget.active()).isZero();
    assertThat(budget.tryAcquire(0)).isTrue();
  }

  @Test
  void racingThreadsNeverExceedTheLimit() throws Exception {
    RetryBudget budget = new RetryBudget();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Callable<Integer>> tasks = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        tasks.add(() -> {
          int won = 0;
          for (int i = 0; i < 1_000; i++) {
            if (budget.tryAcquire(250)) {
              won++;
            }
          }
          return won;
        });
      }
      int total = 0;
      for (Future<Integer> f : pool.invokeAll(tasks)) {
        total += f.get();
      }
      assertThat(total).isEqualTo(50);
      assertThat(budget.active()).isEqualTo(50);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aRetryStopsCountingAtItsFirstTokenNotAtTheEndOfItsAnswer() {
    RetryBudget budget = new RetryBudget(0.2, 3, 2);
    List<RetryBudget.Lease> streaming = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      RetryBudget.Lease lease = budget.tryStart(0, 0);
      assertThat(lease).isNotNull();
      streaming.add(lease);
    }
    assertThat(budget.tryStart(0, 0)).as("three retries trying at once: the floor is spent").isNull();
    streaming.forEach(RetryBudget.Lease::firstToken); // they answer now, for minutes perhaps
    assertThat(budget.active()).isZero();
    assertThat(budget.tryStart(0, 0)).as("the next failure can retry while they stream").isNotNull();
  }

  @Test
  void aLeaseGivesTheBudgetBackOnceWhateverEndsIt() {
    RetryBudget budget = new RetryBudget(0.2, 3, 2);
    RetryBudget.Lease answered = budget.tryStart(0, 0);
    RetryBudget.Lease failed = budget.tryStart(0, 0);
    answered.firstToken();
    answered.end();
    failed.end();
    failed.end();
    assertThat(budget.active()).isZero();
    RetryBudget.Lease other = budget.tryStart(0, 0);
    answered.end(); // late calls of an ended lease never release another retry's hold
    assertThat(budget.active()).isEqualTo(1);
    assertThat(other.held()).isTrue();
  }

  @Test
  void aRequestThatUsedItsRetriesGetsNoLease() {
    RetryBudget budget = new RetryBudget(0.2, 3, 2);
    assertThat(budget.tryStart(100, 2)).isNull();
    assertThat(budget.active()).isZero();
  }
}
