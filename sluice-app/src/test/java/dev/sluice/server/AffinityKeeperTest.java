package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.AffinitySettings;
import dev.sluice.config.ProviderSpec;
import dev.sluice.config.SluiceConfig;
import dev.sluice.routing.Affinity;
import dev.sluice.routing.PrefixChain;
import dev.sluice.routing.Warmth;
import dev.sluice.sim.GpuProfile;
import dev.sluice.testkit.TestCluster;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The gateway's one affinity across config swaps, node departures and cache resets. */
class AffinityKeeperTest {
  private static final PrefixChain CHAIN = PrefixChain.of("m", "x".repeat(8 * PrefixChain.CHUNK_BYTES));

  private static SluiceConfig config(TestCluster c, AffinitySettings a) {
    SluiceConfig base = c.config();
    return base.withRouting(base.routing().withAffinity(a));
  }

  private static void warm(Affinity a, String node) {
    a.sent(a.warmth(Affinity.sessionKey("m", "s-" + node), CHAIN, 2_000, List.of(node)), CHAIN, node);
  }

  @Test
  void aConfigSwapKeepsWhatWasLearnedUnlessTheAffinitySettingsChange() {
    try (TestCluster c = new TestCluster().node("a", GpuProfile.H100, "m", 0).node("b", GpuProfile.H100, "m", 0)) {
      AffinityKeeper keeper = new AffinityKeeper(config(c, AffinitySettings.defaults()));
      Affinity first = keeper.current();
      warm(first, "a");
      keeper.apply(config(c, AffinitySettings.defaults()));
      assertThat(keeper.current()).isSameAs(first);
      assertThat(keeper.current().sessions("a")).isEqualTo(1);

      AffinitySettings more = new AffinitySettings(true, AffinitySettings.DEFAULT_RELEASE_PENALTY, 10, 1 << 20);
      keeper.apply(config(c, more));
      assertThat(keeper.current()).isNotSameAs(first);
      assertThat(keeper.current().settings().maxSessions()).isEqualTo(10);
      assertThat(keeper.current().settings().indexEntriesPerNode()).isEqualTo((1 << 20) / 72 / 2);
    }
  }

  @Test
  void aNodeThatLeavesRotationOrTheConfigIsForgotten() {
    try (TestCluster c = new TestCluster().node("a", GpuProfile.H100, "m", 0).node("b", GpuProfile.H100, "m", 0)) {
      AffinityKeeper keeper = new AffinityKeeper(config(c, AffinitySettings.defaults()));
      warm(keeper.current(), "a");
      warm(keeper.current(), "b");
      keeper.leftRotation("a");
      assertThat(keeper.current().sessions("a")).isZero();
      assertThat(keeper.current().indexEntries("a")).isZero();
      assertThat(keeper.current().sessions("b")).isEqualTo(1);

      SluiceConfig withoutB = config(c, AffinitySettings.defaults());
      withoutB = withoutB.withProviders(List.of(new ProviderSpec("m", withoutB.providers().get(0)
          .models(), withoutB.nodes().subList(0, 1))));
      warm(keeper.current(), "b");
      keeper.apply(withoutB);
      assertThat(keeper.current().sessions("b")).isZero();
      assertThat(keeper.current().indexEntries("b")).isZero();
    }
  }

  @Test
  void aCacheResetInTheNodesTelemetryForgetsItAndItsReportedSizeBoundsItsIndex() {
    try (TestCluster c = new TestCluster().node("a", GpuProfile.H100, "m", 0)) {
      AffinityKeeper keeper = new AffinityKeeper(config(c, AffinitySettings.defaults()));
      keeper.observeTelemetry("a", 0, 0);
      warm(keeper.current(), "a");
      keeper.observeTelemetry("a", 0, 0);
      assertThat(keeper.current().indexEntries("a")).isEqualTo(8);
      keeper.observeTelemetry("a", 0, 1); // the counters went down: a restart
      assertThat(keeper.current().indexEntries("a")).isZero();
      assertThat(keeper.current().sessions("a")).isZero();

      warm(keeper.current(), "a");
      keeper.observeTelemetry("a", 2 * 256, 1); // a KV cache of two chunks
      assertThat(keeper.current().indexEntries("a")).isEqualTo(2);
      Warmth w = keeper.current().warmth(0, CHAIN, 2_000, List.of("a"));
      assertThat(w.cachedTokens("a")).isEqualTo(500); // its first two chunks of eight are what it still holds
    }
  }
}
