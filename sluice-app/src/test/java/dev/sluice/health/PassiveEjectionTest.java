package dev.sluice.health;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.health.Failure;
import dev.sluice.health.Failure.Kind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class PassiveEjectionTest {
  private final AtomicLong now = new AtomicLong(1_000_000);
  private final List<String> events = new ArrayList<>();
  private final NodeHealth node = new NodeHealth("a10-01", HealthPolicy.defaults(), now::get,
      EjectionGuard.allowAll(), new HealthListener() {
        @Override
        public void onTransition(String nodeId, NodeState from, NodeState to, String reason) {
          events.add(from + " → " + to);
        }

        @Override
        public void onEjected(String nodeId, EjectionState ejection, String reason) {
          events.add("ejected: " + reason);
        }
      });

  PassiveEjectionTest() {
    node.probeSucceeded();
    node.generationProbeSucceeded();
    events.clear();
  }

  private void observe(Kind kind, int times) {
    for (int i = 0; i < times; i++) node.observe(kind);
  }

  private long ejectionLeftMillis() {
    return node.ejection().ejectedUntilMillis() - now.get();
  }

  @Test
  void aNodeReadmittedByARealGenerationIsNoLongerEjectedButARelapseIsEjectedForLonger() {
    observe(Kind.CONNECT, 3);
    assertThat(ejectionLeftMillis()).isEqualTo(30_000);
    for (int i = 0; i < 3; i++) node.probeFailed("connect refused"); // the process is down: DEGRADED, then DOWN
    now.addAndGet(5_000);
    node.probeSucceeded();
    node.probeSucceeded();
    assertThat(node.eligible(now.get())).as("reachable, but no generation yet").isFalse();

    node.generationProbeSucceeded();
    assertThat(node.state()).isEqualTo(NodeState.READY);
    assertThat(node.eligible(now.get())).as("READY after a real generation lifts the ejection").isTrue();
    assertThat(node.snapshot().reason()).endsWith("(passive ejection lifted)");

    observe(Kind.CONNECT, 3);
    assertThat(ejectionLeftMillis()).as("the second ejection in a row doubles").isEqualTo(60_000);
  }

  @Test
  void theKindsThatCountAgainstANodeAreTheOnesReliabilityNames() {
    assertThat(List.of(Kind.values())).filteredOn(Kind::countsAgainstNode).containsExactlyInAnyOrder(
        Kind.CONNECT, Kind.RESET_BEFORE_FIRST_BYTE, Kind.NODE_ERROR, Kind.FIRST_TOKEN_TIMEOUT, Kind.STREAM_BROKEN);
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void ejectsAfterThreeFailuresOnlyOfKindsThatCountAgainstTheNode(Kind kind) {
    observe(kind, 2);
    assertThat(node.eligible(now.get())).isTrue();

    observe(kind, 8);
    assertThat(node.eligible(now.get())).isEqualTo(!kind.countsAgainstNode());
    assertThat(node.state()).as("ejection does not change the state").isEqualTo(NodeState.READY);
  }

  @Test
  void ejectionIsAnnouncedWithItsTimeAndCause() {
    node.observe(Kind.NODE_ERROR);
    node.observe(Kind.FIRST_TOKEN_TIMEOUT);
    node.observe(new Failure(Kind.CONNECT, "connect failed (Connection refused)"));

    assertThat(events).containsExactly(
        "ejected: ejected for 30 s: 3 consecutive node failures (last: connect failed (Connection refused))");
    assertThat(node.ejection()).isEqualTo(new EjectionState(0, 1, now.get() + 30_000));
  }

  @Test
  void aSuccessResetsTheCount() {
    observe(Kind.CONNECT, 2);
    node.observeSuccess();
    observe(Kind.CONNECT, 2);

    assertThat(node.eligible(now.get())).isTrue();
    assertThat(node.ejection().consecutiveFailures()).isEqualTo(2);
  }

  @Test
  void busyAndClientCancelsNeitherCountNorReset() {
    observe(Kind.CONNECT, 2);
    node.observe(Kind.BUSY);
    node.observe(Kind.CLIENT_CANCELLED);
    observe(Kind.CONNECT, 1);

    assertThat(node.eligible(now.get())).isFalse();
  }

  @ParameterizedTest(name = "ejection {0} lasts {1} s")
  @CsvSource({"1, 30", "2, 60", "3, 120", "4, 240", "5, 300", "6, 300", "40, 300"})
  void ejectionTimeDoublesUpToTheCap(int n, long seconds) {
    assertThat(HealthPolicy.defaults().ejectionTime(n)).isEqualTo(Duration.ofSeconds(seconds));
  }

  @Test
  void reEjectionsInAStreakLast30Then60Then120AndAreCappedAt300Seconds() {
    List<Long> seconds = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      observe(Kind.CONNECT, 3);
      seconds.add(ejectionLeftMillis() / 1000);
      now.set(node.ejection().ejectedUntilMillis());
    }
    assertThat(seconds).containsExactly(30L, 60L, 120L, 240L, 300L, 300L);
    assertThat(node.ejection().ejectionCount()).isEqualTo(6);
  }

  @Test
  void ejectionExpiresByTheClockAlone() {
    observe(Kind.CONNECT, 3);
    long until = node.ejection().ejectedUntilMillis();

    assertThat(node.eligible(until - 1)).isFalse();
    assertThat(node.eligible(until)).isTrue();
    now.set(until);
    assertThat(node.eligible(now.get())).isTrue();
  }

  @Test
  void failuresReportedWhileEjectedAreIgnored() {
    observe(Kind.CONNECT, 3);
    long until = node.ejection().ejectedUntilMillis();
    now.addAndGet(10_000);
    observe(Kind.CONNECT, 5);

    assertThat(node.ejection()).isEqualTo(new EjectionState(0, 1, until));
  }

  @Test
  void aStreakIsForgottenAfterTenCleanMinutes() {
    observe(Kind.CONNECT, 3);
    now.set(node.ejection().ejectedUntilMillis() + Duration.ofMinutes(9).toMillis());
    observe(Kind.CONNECT, 3);
    assertThat(ejectionLeftMillis()).as("9 clean minutes: still a flapper").isEqualTo(60_000);

    now.set(node.ejection().ejectedUntilMillis() + Duration.ofMinutes(10).toMillis());
    observe(Kind.CONNECT, 3);
    assertThat(ejectionLeftMillis()).isEqualTo(30_000);
    assertThat(node.ejection().ejectionCount()).isEqualTo(1);
  }
}
