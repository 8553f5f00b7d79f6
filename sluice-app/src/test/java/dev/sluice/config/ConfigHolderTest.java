package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigHolderTest {
  private static SluiceConfig config(String source) {
    return new SluiceConfig(
        ServerSettings.defaults(), Timeouts.defaults(), UpstreamSettings.defaults(), List.of(), source);
  }

  @Test
  void swapInstallsTheNextSnapshotAndReturnsThePreviousOne() {
    SluiceConfig first = config("first");
    SluiceConfig second = config("second");
    ConfigHolder holder = new ConfigHolder(first);

    assertThat(holder.swap(second)).isSameAs(first);
    assertThat(holder.current()).isSameAs(second);
  }

  @Test
  void notifiesListenersInRegistrationOrderAfterTheSnapshotIsInstalled() {
    ConfigHolder holder = new ConfigHolder(config("first"));
    List<String> calls = new ArrayList<>();
    holder.onSwap(c -> calls.add("a:" + c.source() + ":" + holder.current().source()));
    holder.onSwap(c -> calls.add("b:" + c.source()));

    holder.swap(config("second"));

    assertThat(calls).containsExactly("a:second:second", "b:second");
  }

  @Test
  void aFailingListenerDoesNotStopTheOthersNorTheSwap() {
    ConfigHolder holder = new ConfigHolder(config("first"));
    List<String> calls = new ArrayList<>();
    holder.onSwap(c -> {
      throw new IllegalStateException("listener bug");
    });
    holder.onSwap(c -> calls.add(c.source()));

    holder.swap(config("second"));

    assertThat(calls).containsExactly("second");
    assertThat(holder.current().source()).isEqualTo("second");
  }
}
