package dev.sluice.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StreamFramerTest {
  private static final String SSE = "data: {\"a\":\"café 🚀\"}\n\ndata: {\"b\":2}\r\n\r\ndata: [DONE]\n\n";
  private static final String NDJSON = "{\"message\":\"日本語\"}\n{\"done\":false}\n{\"done\":true}\n";

  /** Feeds {@code input} split at {@code cut} and returns each non-empty output of push, then the drained tail. */
  private static List<String> feed(StreamFramer.Mode mode, byte[] input, int cut) {
    StreamFramer f = new StreamFramer(mode);
    List<String> out = new ArrayList<>();
    for (Buffer piece : List.of(Buffer.buffer(java.util.Arrays.copyOfRange(input, 0, cut)),
        Buffer.buffer(java.util.Arrays.copyOfRange(input, cut, input.length)))) {
      Buffer ready = f.push(piece);
      if (ready.length() > 0) out.add(ready.toString(StandardCharsets.UTF_8));
    }
    Buffer tail = f.drain();
    if (tail.length() > 0) out.add("TAIL:" + tail.toString(StandardCharsets.UTF_8));
    return out;
  }

  @Test
  void sseSplitAtEveryByteComesOutIdenticalAndOnlyAtEventBoundaries() {
    byte[] bytes = SSE.getBytes(StandardCharsets.UTF_8);
    for (int cut = 0; cut <= bytes.length; cut++) {
      List<String> out = feed(StreamFramer.Mode.SSE, bytes, cut);
      assertThat(String.join("", out)).as("cut at %d", cut).isEqualTo(SSE);
      assertThat(out).as("cut at %d", cut).allMatch(s -> s.endsWith("\n\n") || s.endsWith("\r\n\r\n"));
    }
  }

  @Test
  void ndjsonSplitAtEveryByteComesOutIdenticalAndOnlyAtLineBoundaries() {
    byte[] bytes = NDJSON.getBytes(StandardCharsets.UTF_8);
    for (int cut = 0; cut <= bytes.length; cut++) {
      List<String> out = feed(StreamFramer.Mode.NDJSON, bytes, cut);
      assertThat(String.join("", out)).as("cut at %d", cut).isEqualTo(NDJSON);
      assertThat(out).as("cut at %d", cut).allMatch(s -> s.endsWith("\n"));
    }
  }

  @Test
  void anIncompleteEventIsHeldUntilItCompletesAndReportedOnDrain() {
    StreamFramer f = new StreamFramer(StreamFramer.Mode.SSE);
    assertThat(f.push(Buffer.buffer("data: {\"x\"")).length()).isZero();
    assertThat(f.hasPartialEvent()).isTrue();
    assertThat(f.drain().toString()).isEqualTo("data: {\"x\"");
    assertThat(f.hasPartialEvent()).isFalse();
  }

  @Test
  void contentTypesMapToTheirFraming() {
    assertThat(StreamFramer.modeFor("text/event-stream; charset=utf-8")).isEqualTo(StreamFramer.Mode.SSE);
    assertThat(StreamFramer.modeFor("application/x-ndjson")).isEqualTo(StreamFramer.Mode.NDJSON);
    assertThat(StreamFramer.modeFor("application/json")).isNull();
    assertThat(StreamFramer.modeFor(null)).isNull();
  }
}
