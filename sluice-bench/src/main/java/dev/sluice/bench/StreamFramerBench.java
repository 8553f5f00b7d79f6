package dev.sluice.bench;

import dev.sluice.api.StreamFramer;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * {@link StreamFramer#push} on an OpenAI SSE stream of {@value #EVENTS} {@code chat.completion.chunk} events
 * (~190 bytes each, as the simulator sends them), per event: {@code wholeEvents} pushes one complete event per buffer
 * (the common case: the node writes one event per chunk), {@code splitEvents} pushes every event in two pieces cut
 * mid-way (the first push returns nothing and holds the head, the second joins it with the tail), {@code
 * coalescedEvents} pushes four events per buffer (a node or kernel that batches writes).
 *
 * <p>Run: {@code java -jar sluice-bench/target/benchmarks.jar StreamFramerBench -f 1 -wi 3 -i 5}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class StreamFramerBench {
  static final int EVENTS = 20;

  private Buffer[] whole;
  private Buffer[] heads;
  private Buffer[] tails;
  private Buffer[] fours;

  @Setup
  public void setup() {
    whole = new Buffer[EVENTS];
    heads = new Buffer[EVENTS];
    tails = new Buffer[EVENTS];
    fours = new Buffer[EVENTS / 4];
    for (int i = 0; i < EVENTS; i++) {
      byte[] ev = ("data: {\"id\":\"chatcmpl-42\",\"object\":\"chat.completion.chunk\",\"created\":1795635452,"
          + "\"model\":\"qwen3:32b\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok" + i + " \"},"
          + "\"logprobs\":null,\"finish_reason\":null}]}\n\n").getBytes(StandardCharsets.UTF_8);
      whole[i] = Buffer.buffer(ev);
      heads[i] = Buffer.buffer(ev).getBuffer(0, ev.length / 2);
      tails[i] = Buffer.buffer(ev).getBuffer(ev.length / 2, ev.length);
    }
    for (int i = 0; i < EVENTS / 4; i++) {
      Buffer b = Buffer.buffer();
      for (int k = 0; k < 4; k++) b.appendBuffer(whole[i * 4 + k]);
      fours[i] = b;
    }
  }

  /** Cost per event when every buffer holds exactly one whole event. */
  @Benchmark
  @OperationsPerInvocation(EVENTS)
  public void wholeEvents(Blackhole bh) {
    StreamFramer f = new StreamFramer(StreamFramer.Mode.SSE);
    for (int i = 0; i < EVENTS; i++) bh.consume(f.push(whole[i]));
  }

  /** Cost per event when every event arrives in two buffers split mid-event. */
  @Benchmark
  @OperationsPerInvocation(EVENTS)
  public void splitEvents(Blackhole bh) {
    StreamFramer f = new StreamFramer(StreamFramer.Mode.SSE);
    for (int i = 0; i < EVENTS; i++) {
      bh.consume(f.push(heads[i]));
      bh.consume(f.push(tails[i]));
    }
  }

  /** Cost per event when four whole events arrive in one buffer. */
  @Benchmark
  @OperationsPerInvocation(EVENTS)
  public void coalescedEvents(Blackhole bh) {
    StreamFramer f = new StreamFramer(StreamFramer.Mode.SSE);
    for (int i = 0; i < EVENTS / 4; i++) bh.consume(f.push(fours[i]));
  }
}
