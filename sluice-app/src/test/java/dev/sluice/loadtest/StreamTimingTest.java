package dev.sluice.loadtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.sluice.testkit.FakeClock;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How {@code sluice bench} times a stream's tokens, fed deliveries as the network hands them over, on a fake clock. */
class StreamTimingTest {
  private static String event(String text) {
    return "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + text + "\"}}]}\n\n";
  }

  private static List<ByteBuffer> delivery(String... parts) {
    return List.of(ByteBuffer.wrap(String.join("", parts).getBytes(StandardCharsets.UTF_8)));
  }

  /**
   * A node (or proxy) that writes three tokens at a time every 30 ms streams at 10 ms a token. Counted per network
   * read, two of every three gaps were zero and the ITL p50 read 0.0.
   */
  @Test
  void interTokenLatencyIsMeasuredPerTokenEventWhenOneDeliveryBringsSeveral() {
    FakeClock clock = new FakeClock();
    LoadRunner.Exchange x = new LoadRunner.Exchange(clock.nanos(), true, clock);
    x.status = 200;
    clock.advanceMillis(100);
    x.onNext(delivery(event("Hel")));
    for (int i = 0; i < 4; i++) {
      clock.advanceMillis(30);
      x.onNext(delivery(event("a"), event("b"), event("c")));
    }
    clock.advanceMillis(1);
    x.onNext(delivery("data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,"
        + "\"completion_tokens\":13,\"total_tokens\":16}}\n\n", "data: [DONE]\n\n"));
    x.onComplete();

    BenchResult.Sample s = x.sample(clock.nanos(), null);
    assertThat(s.errorClass()).isNull();
    assertThat(s.ttftMicros()).isEqualTo(100_000);
    assertThat(s.itlMicros()).hasSize(12).containsOnly(10_000L);
    assertThat(s.outputTokens()).isEqualTo(13);
    BenchResult r = new BenchResult(0, clock);
    r.record(s);
    assertThat(r.itlMillis(50)).isCloseTo(10.0, within(0.05));
  }

  @Test
  void eventsThatCameWithTheFirstTokenShareTheNextGapSoAStreamOfNTokensHasNMinusOneGaps() {
    FakeClock clock = new FakeClock();
    LoadRunner.Exchange x = new LoadRunner.Exchange(clock.nanos(), true, clock);
    x.status = 200;
    clock.advanceMillis(100);
    x.onNext(delivery(event("a"), event("b"))); // two at once: the first token and one owed a gap
    clock.advanceMillis(40);
    x.onNext(delivery(event("c"), event("d")));
    x.onNext(delivery("data: [DONE]\n\n"));
    BenchResult.Sample s = x.sample(clock.nanos(), null);
    assertThat(s.itlMicros()).containsExactly(13_333L, 13_333L, 13_333L);
  }

  @Test
  void anEventSplitAcrossDeliveriesCountsOnceWhenItsLineEnds() {
    FakeClock clock = new FakeClock();
    LoadRunner.Exchange x = new LoadRunner.Exchange(clock.nanos(), true, clock);
    x.status = 200;
    String first = event("x");
    clock.advanceMillis(50);
    x.onNext(delivery(first.substring(0, 20)));
    clock.advanceMillis(5);
    x.onNext(delivery(first.substring(20)));
    clock.advanceMillis(20);
    x.onNext(delivery(event("y"), "data: [DONE]\n\n"));
    x.onComplete();
    BenchResult.Sample s = x.sample(clock.nanos(), null);
    assertThat(s.ttftMicros()).isEqualTo(55_000);
    assertThat(s.itlMicros()).containsExactly(20_000L);
  }
}
