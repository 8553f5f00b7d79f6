package dev.sluice.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class HealthPolicyTest {
  @Test
  void defaultsFollowTheBriefAndTheReliabilityRules() {
    HealthPolicy p = HealthPolicy.defaults();
    assertThat(p.probeInterval()).isEqualTo(Duration.ofSeconds(5));
    assertThat(p.failuresToDegrade()).isEqualTo(3);
    assertThat(p.successesToRecover()).isEqualTo(2);
    assertThat(p.failuresToEject()).isEqualTo(3);
    assertThat(p.ejectionBase()).isEqualTo(Duration.ofSeconds(30));
    assertThat(p.ejectionMax()).isEqualTo(Duration.ofSeconds(300));
    assertThat(p.probeTimeout()).isLessThan(p.probeInterval());
  }

  private static HealthPolicy with(UnaryOperator<Object[]> change) {
    HealthPolicy d = HealthPolicy.defaults();
    Object[] a = {d.probeInterval(), d.probeTimeout(), d.probeJitter(), d.failuresToDegrade(), d.failuresToDown(),
        d.successesToRecover(), d.healthWindowProbes(), d.failuresToEject(), d.ejectionBase(), d.ejectionMax(),
        d.ejectionMemory()};
    a = change.apply(a);
    return new HealthPolicy((Duration) a[0], (Duration) a[1], (double) a[2], (int) a[3], (int) a[4], (int) a[5],
        (int) a[6], (int) a[7], (Duration) a[8], (Duration) a[9], (Duration) a[10]);
  }

  private static UnaryOperator<Object[]> set(int i, Object v) {
    return a -> {
      a[i] = v;
      return a;
    };
  }

  @Test
  void rejectsNonsenseWithAMessageNamingTheSettingAndValue() {
    assertThatThrownBy(() -> with(set(0, Duration.ZERO)))
        .hasMessage("health.probeInterval: PT0S must be positive");
    assertThatThrownBy(() -> with(set(2, 0.9)))
        .hasMessage("health.probeJitter: 0.9 is out of range (expected 0 to 0.5)");
    assertThatThrownBy(() -> with(set(3, 0)))
        .hasMessage("health.failuresToDegrade: 0 must be at least 1");
    assertThatThrownBy(() -> with(set(4, 2)))
        .hasMessage("health.failuresToDown: 2 is below failuresToDegrade 3 (a node must be DEGRADED before it is DOWN)");
    assertThatThrownBy(() -> with(set(9, Duration.ofSeconds(10))))
        .hasMessage("health.ejectionMax: PT10S is below ejectionBase PT30S");
  }
}
