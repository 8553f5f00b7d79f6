package dev.sluice.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The backoff policy after failed credentials, on a fake clock. */
class FailureBackoffTest {
  private final AtomicLong now = new AtomicLong(1_000_000);
  private final FailureBackoff backoff = new FailureBackoff(FailureBackoff.Settings.defaults(), now::get);
  private static final long FIRST = FailureBackoff.FIRST_BACKOFF.toMillis();

  private void advance(Duration d) {
    now.addAndGet(d.toMillis());
  }

  @Test
  void fourFailuresInAMinuteAreToleratedAndTheFifthStartsTheFirstWaitOnce() {
    for (int i = 1; i <= 4; i++) {
      FailureBackoff.Failure f = backoff.failed("203.0.113.7");
      assertThat(f.retryAfterMillis()).as("failure %d", i).isZero();
      assertThat(f.burstStarted()).isFalse();
      assertThat(f.failuresInWindow()).isEqualTo(i);
      advance(Duration.ofSeconds(10));
    }
    assertThat(backoff.retryAfterMillis("203.0.113.7")).isZero();
    FailureBackoff.Failure fifth = backoff.failed("203.0.113.7");
    assertThat(fifth.burstStarted()).isTrue();
    assertThat(fifth.failuresInWindow()).isEqualTo(5);
    assertThat(fifth.retryAfterMillis()).isEqualTo(FIRST);
    assertThat(backoff.retryAfterMillis("203.0.113.7")).isEqualTo(FIRST);
    advance(Duration.ofSeconds(4));
    assertThat(backoff.retryAfterMillis("203.0.113.7")).isEqualTo(FIRST - 4_000);
    assertThat(backoff.retryAfterMillis("198.51.100.1")).as("another address").isZero();
  }

  @Test
  void anyWaitingIsTrueExactlyWhileSomeAddressWaits() {
    assertThat(backoff.anyWaiting()).as("nothing failed yet").isFalse();
    for (int i = 0; i < 4; i++) backoff.failed("203.0.113.7");
    assertThat(backoff.anyWaiting()).as("failures below the threshold").isFalse();
    backoff.failed("203.0.113.7");
    assertThat(backoff.anyWaiting()).isTrue();
    advance(Duration.ofMillis(FIRST - 1));
    assertThat(backoff.anyWaiting()).isTrue();
    advance(Duration.ofMillis(1));
    assertThat(backoff.anyWaiting()).as("the only wait is over").isFalse();
    assertThat(new FailureBackoff(FailureBackoff.Settings.off(), now::get).anyWaiting()).isFalse();
  }

  @Test
  void failuresSpreadWiderThanTheWindowNeverStartAWait() {
    for (int i = 0; i < 50; i++) {
      assertThat(backoff.failed("203.0.113.7").retryAfterMillis()).isZero();
      advance(Duration.ofSeconds(16)); // 5 failures span 64 s > the 60 s window
    }
    assertThat(backoff.retryAfterMillis("203.0.113.7")).isZero();
  }

  @Test
  void eachFurtherFailureDoublesTheWaitUpToTheCapAndOnlyTheFirstIsABurst() {
    for (int i = 0; i < 5; i++) backoff.failed("a");
    long expected = FIRST;
    long max = FailureBackoff.Settings.DEFAULT_MAX_BACKOFF.toMillis();
    for (int i = 0; i < 12; i++) {
      advance(Duration.ofMillis(backoff.retryAfterMillis("a"))); // waits it out, then guesses again
      assertThat(backoff.retryAfterMillis("a")).isZero();
      expected = Math.min(expected * 2, max);
      FailureBackoff.Failure f = backoff.failed("a");
      assertThat(f.burstStarted()).isFalse();
      assertThat(f.retryAfterMillis()).as("wait after further failure %d", i + 1).isEqualTo(expected);
    }
    assertThat(expected).isEqualTo(max);
  }

  @Test
  void anAddressIsForgottenAfterWindowPlusMaxBackoffWithoutFailuresAndThenStartsANewBurst() {
    for (int i = 0; i < 5; i++) backoff.failed("a");
    advance(Duration.ofMinutes(6).minusMillis(1));
    assertThat(backoff.failed("a").retryAfterMillis()).as("still remembered: doubled").isEqualTo(2 * FIRST);
    advance(Duration.ofMinutes(6));
    for (int i = 0; i < 4; i++) assertThat(backoff.failed("a").retryAfterMillis()).isZero();
    assertThat(backoff.failed("a").burstStarted()).isTrue();
  }

  @Test
  void aCredentialThatVerifiedStaysRecentForAnHourAfterItsLastUseAndIsForgottenWhenItFails() {
    backoff.verified("hash-1");
    assertThat(backoff.recentlyVerified("hash-1")).isTrue();
    assertThat(backoff.recentlyVerified("hash-2")).isFalse();
    advance(Duration.ofMinutes(59));
    backoff.verified("hash-1"); // used again
    advance(Duration.ofMinutes(59));
    assertThat(backoff.recentlyVerified("hash-1")).isTrue();
    advance(Duration.ofMinutes(61));
    assertThat(backoff.recentlyVerified("hash-1")).isFalse();
    backoff.verified("hash-3");
    backoff.forget("hash-3");
    assertThat(backoff.recentlyVerified("hash-3")).isFalse();
  }

  @Test
  void turnedOffItNeverThrottles() {
    FailureBackoff off = new FailureBackoff(FailureBackoff.Settings.off(), now::get);
    for (int i = 0; i < 100; i++) assertThat(off.failed("a").retryAfterMillis()).isZero();
    assertThat(off.retryAfterMillis("a")).isZero();
  }

  @Test
  void settingsOutsideTheirRangesAreRefusedWithTheFix() {
    assertThatThrownBy(() -> new FailureBackoff.Settings(-1, Duration.ofMinutes(1), Duration.ofMinutes(5)))
        .hasMessageContaining("0 = never throttle");
    assertThatThrownBy(() -> new FailureBackoff.Settings(5, Duration.ZERO, Duration.ofMinutes(5)))
        .hasMessageContaining("window");
    assertThatThrownBy(() -> new FailureBackoff.Settings(5, Duration.ofMinutes(1), Duration.ofSeconds(1)))
        .hasMessageContaining("at least");
  }
}
