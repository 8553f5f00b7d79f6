package dev.sluice.degrade;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.degrade.DegradationSettings.Scope;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DegradationSettingsTest {
  private static final DegradationSettings D = DegradationSettings.defaults();

  @Test
  void defaultsFollowTheBrief() {
    assertThat(D.enabled()).isTrue();
    assertThat(D.scope()).isEqualTo(Scope.MODEL);
    assertThat(D.window()).isEqualTo(Duration.ofSeconds(60));
    assertThat(D.minRequests()).isEqualTo(20);
    assertThat(D.dwell()).isEqualTo(Duration.ofSeconds(20));
    assertThat(D.minEvidenceTime()).isEqualTo(Duration.ofSeconds(5));
    assertThat(D.recoveryWindow()).isEqualTo(Duration.ofSeconds(5));
    assertThat(D.probeShare()).isEqualTo(0.10);
    assertThat(D.fallbackOnFailure()).isTrue();
    assertThat(D.downgrade()).isEmpty();
    assertThat(D.staticMessage()).isEqualTo("High load, using fallback response");
    assertThat(D.staticReply().toString())
        .isEqualTo("{\"status\":\"degraded\",\"message\":\"High load, using fallback response\"}");
  }

  @Test
  void disabledIsTheDefaultsWithDegradationOff() {
    assertThat(DegradationSettings.disabled()).isEqualTo(D.withEnabled(false));
    assertThat(DegradationSettings.disabled().enabled()).isFalse();
  }

  @Test
  void eachLevelStartsAtItsThresholdAndNormalAtZero() {
    assertThat(D.threshold(DegradationLevel.NORMAL)).isZero();
    assertThat(D.threshold(DegradationLevel.CACHE)).isEqualTo(0.05);
    assertThat(D.threshold(DegradationLevel.DOWNGRADE)).isEqualTo(0.15);
    assertThat(D.threshold(DegradationLevel.STATIC)).isEqualTo(0.30);
  }

  @Test
  void levelsAreOrderedBySeverityWithLowerCaseLabels() {
    assertThat(DegradationLevel.values())
        .containsExactly(DegradationLevel.NORMAL, DegradationLevel.CACHE, DegradationLevel.DOWNGRADE,
            DegradationLevel.STATIC);
    assertThat(DegradationLevel.DOWNGRADE.label()).isEqualTo("downgrade");
    assertThat(DegradationLevel.STATIC.milder()).isEqualTo(DegradationLevel.DOWNGRADE);
    assertThat(DegradationLevel.NORMAL.milder()).isEqualTo(DegradationLevel.NORMAL);
  }

  static Stream<Arguments> invalidSettings() {
    return Stream.of(
        bad(() -> D.withThresholds(0.2, 0.15, 0.3),
            "degradation.thresholds: cache 0.2 must be below downgrade 0.15 "
                + "(levels escalate cache < downgrade < static)"),
        bad(() -> D.withThresholds(0.05, 0.3, 0.3), "downgrade 0.3 must be below static 0.3"),
        bad(() -> D.withThresholds(0, 0.15, 0.3), "cache 0.0 is out of range"),
        bad(() -> D.withThresholds(0.05, 0.15, 1.5), "static 1.5 is out of range"),
        bad(() -> D.withThresholds(Double.NaN, 0.15, 0.3), "cache NaN is out of range"),
        bad(() -> D.withMinRequests(0), "degradation.minRequests: 0 is below 1"),
        bad(() -> D.withWindow(Duration.ofMillis(500)), "degradation.window: PT0.5S is below 1 s"),
        bad(() -> D.withDwell(Duration.ofSeconds(-1)), "degradation.dwell: PT-1S is negative"),
        bad(() -> D.withMinEvidenceTime(Duration.ofSeconds(-1)), "degradation.minEvidenceTime: PT-1S is negative "
            + "(use 0s or more, default 5s)"),
        bad(() -> D.withRecoveryWindow(Duration.ofMillis(999)), "degradation.recoveryWindow: PT0.999S is below 1 s "
            + "(the window counts requests per second; use at least 1s, default 5s)"),
        bad(() -> D.withProbeShare(1.1), "degradation.probeShare: 1.1 is out of range"),
        bad(() -> D.withProbeShare(-0.1), "degradation.probeShare: -0.1 is out of range"),
        bad(() -> D.withDowngrade(Map.of("qwen3:32b", "qwen3:32b")),
            "degradation.downgrade.qwen3:32b: downgrades to itself"),
        bad(() -> D.withDowngrade(Map.of("qwen3:32b", " ")), "has a blank model id"),
        bad(() -> D.withScope(null), "degradation.scope: missing"));
  }

  private static Arguments bad(Supplier<DegradationSettings> settings, String message) {
    return Arguments.of(settings, message);
  }

  @ParameterizedTest(name = "{1}")
  @MethodSource("invalidSettings")
  void rejectsInvalidSettingsNamingTheKeyAndTheFix(Supplier<DegradationSettings> settings, String message) {
    assertThatThrownBy(settings::get).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message);
  }

  @Test
  void acceptsTheEdgesOfEachRange() {
    DegradationSettings edges = D.withThresholds(0.01, 0.5, 1.0).withMinRequests(1).withWindow(Duration.ofSeconds(1))
        .withDwell(Duration.ZERO).withMinEvidenceTime(Duration.ofSeconds(1)).withRecoveryWindow(Duration.ofSeconds(1))
        .withProbeShare(1.0);
    assertThat(edges.threshold(DegradationLevel.STATIC)).isEqualTo(1.0);
    assertThat(D.withMinEvidenceTime(Duration.ZERO).minEvidenceTime()).isZero();
    assertThat(D.withProbeShare(0).probeShare()).isZero();
  }

  @Test
  void copiesTheDowngradeMapAndTheStaticReply() {
    Map<String, String> downgrade = new HashMap<>(Map.of("qwen3:32b", "qwen2:7b"));
    ObjectNode reply = DegradationSettings.defaultStaticReply("busy");
    DegradationSettings s = new DegradationSettings(true, Scope.CLUSTER, D.window(), 20, 0.05, 0.15, 0.3, D.dwell(),
        D.minEvidenceTime(), D.recoveryWindow(), 0.1, false, downgrade, 0.5, "busy", reply);
    downgrade.put("llama3:70b", "llama3:8b");
    reply.put("status", "changed");

    assertThat(s.downgrade()).containsExactly(Map.entry("qwen3:32b", "qwen2:7b"));
    assertThat(s.downgradeTarget("qwen3:32b")).isEqualTo("qwen2:7b");
    assertThat(s.downgradeTarget("llama3:70b")).isNull();
    assertThat(s.staticReply().get("status").asText()).isEqualTo("degraded");

    s.staticReply().put("status", "changed by a caller");
    assertThat(s.staticReply().get("status").asText()).as("the accessor hands out a copy").isEqualTo("degraded");
  }
}
