package dev.sluice.degrade;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DowngradeCapTest {
  @Test
  void downgradedRequestsTakeAtMostTheirShareOfTheSmallerModelsCapacity() {
    DowngradeCap cap = new DowngradeCap();
    int taken = 0;
    while (cap.tryAcquire("qwen2:7b", 8, 0.5)) taken++;
    assertThat(taken).isEqualTo(4);
    assertThat(cap.inFlight("qwen2:7b")).isEqualTo(4);
    cap.release("qwen2:7b");
    assertThat(cap.tryAcquire("qwen2:7b", 8, 0.5)).isTrue();
  }

  @Test
  void eachSmallerModelHasItsOwnCap() {
    DowngradeCap cap = new DowngradeCap();
    assertThat(cap.tryAcquire("a", 2, 0.5)).isTrue();
    assertThat(cap.tryAcquire("a", 2, 0.5)).isFalse();
    assertThat(cap.tryAcquire("b", 2, 0.5)).isTrue();
  }

  @Test
  void aModelWithoutCapacityTakesNoDowngradedRequestAndTinyCapacityTakesOne() {
    assertThat(DowngradeCap.limit(0, 0.5)).isZero();
    assertThat(DowngradeCap.limit(1, 0.5)).isEqualTo(1);
    assertThat(DowngradeCap.limit(8, 0)).isZero();
    assertThat(new DowngradeCap().tryAcquire("a", 0, 0.5)).isFalse();
  }

  @Test
  void releaseNeverGoesBelowZero() {
    DowngradeCap cap = new DowngradeCap();
    cap.release("a");
    assertThat(cap.inFlight("a")).isZero();
  }
}
