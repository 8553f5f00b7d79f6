package dev.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class TraceContextTest {
  private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

  @Test
  void aValidTraceparentIsContinuedUnderANewSpanWithItsFlagsAndTracestate() {
    TraceContext t = TraceContext.continueOrStart("00-" + TRACE + "-00f067aa0ba902b7-00", "a=1,b=2");
    assertThat(t.traceId()).isEqualTo(TRACE);
    assertThat(t.spanId()).matches("[0-9a-f]{16}").isNotEqualTo("00f067aa0ba902b7");
    assertThat(t.traceparent()).isEqualTo("00-" + TRACE + "-" + t.spanId() + "-00");
    assertThat(t.tracestate()).isEqualTo("a=1,b=2");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "garbage", "01-" + TRACE + "-00f067aa0ba902b7-01",
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "00-" + TRACE + "-0000000000000000-01",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "00-" + TRACE + "-00f067aa0ba902b7-01-extra",
      "00-" + TRACE + "-00f067aa0ba902b-701"})
  void anythingElseStartsANewSampledTraceAndDropsTracestate(String header) {
    TraceContext t = TraceContext.continueOrStart(header, "a=1");
    assertThat(t.traceId()).matches("[0-9a-f]{32}").isNotEqualTo(TRACE);
    assertThat(t.flags()).isEqualTo("01");
    assertThat(t.tracestate()).isNull();
    assertThat(TraceContext.valid(t.traceparent())).isTrue();
  }
}
