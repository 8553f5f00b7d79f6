package dev.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.limit.PromptText;
import dev.sluice.loadtest.AgentWorkload;
import dev.sluice.routing.Affinity;
import dev.sluice.routing.PrefixChain;
import dev.sluice.routing.Warmth;
import dev.sluice.support.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What affinity adds to a request: the prefix hash chain of an agent-sized body (~190 KB: system prompt, tools and
 * turns, see {@link #agentBody()}) and the warmth lookup over six nodes whose index holds the chain's
 * first turns (a warm node, five holding only the shared system prompt and tools). {@code promptText} is the baseline
 * the chain is built from (the gateway reads it anyway for the token estimate and context guard).
 *
 * <p>Run: {@code java -jar sluice-bench/target/benchmarks.jar AffinityBench -f 1 -wi 3 -i 5}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class AffinityBench {
  static final String MODEL = "qwen3:32b";
  static final List<String> NODES = List.of("h100-01", "a100-01", "a100-02", "a10-01", "a10-02", "a10-03");

  private ObjectNode body;
  private String text;
  private PrefixChain chain;
  private Affinity affinity;
  private long session;
  private int bodyBytes;

  /**
   * An agent-sized body: the largest request of 100 {@link AgentWorkload} sessions (seed 1; ~98 KB: their contexts
   * end sooner), its turns after the system prompt repeated until the body passes 185 KB, as a longer session's
   * would grow.
   */
  static byte[] agentBody() throws IOException {
    AgentWorkload workload = new AgentWorkload(new AgentWorkload.Settings(1, 1.0, 1.0, 60_000));
    byte[] largest = new byte[0];
    for (long s = 0; s < 100; s++) {
      AgentWorkload.Session session = workload.session(s);
      for (AgentWorkload.Step step = session.next(); step != null; step = session.next()) {
        for (AgentWorkload.Request r : step.requests()) {
          byte[] body = r.body(MODEL);
          if (body.length > largest.length) largest = body;
        }
      }
    }
    ObjectNode json = (ObjectNode) Json.MAPPER.readTree(largest);
    ArrayNode messages = (ArrayNode) json.get("messages");
    List<JsonNode> turns = new ArrayList<>();
    messages.forEach(turns::add);
    byte[] body = largest;
    for (int i = 1; body.length < 185_000; i = i % (turns.size() - 1) + 1) {
      messages.add(turns.get(i).deepCopy());
      body = Json.MAPPER.writeValueAsBytes(json);
    }
    return body;
  }

  @Setup
  public void setup() throws IOException {
    byte[] raw = agentBody();
    bodyBytes = raw.length;
    body = (ObjectNode) Json.MAPPER.readTree(raw);
    text = PromptText.of(body).text();
    chain = PrefixChain.of(MODEL, text);
    affinity = new Affinity(Affinity.Settings.DEFAULT);
    session = Affinity.sessionKey(MODEL, "bench-session");
    PrefixChain shared = PrefixChain.of(MODEL, text.substring(0, Math.min(text.length(), 40 * 1024)));
    for (String node : NODES) {
      affinity.sent(Warmth.NONE, shared, node);
    }
    PrefixChain earlier = PrefixChain.of(MODEL, text.substring(0, text.length() * 9 / 10));
    affinity.sent(affinity.warmth(session, earlier, 40_000, NODES), earlier, NODES.get(0));
    System.err.printf("agent body %,d bytes, prompt text %,d chars, %d chunks%n", bodyBytes, text.length(),
        chain.chunks());
  }

  @Benchmark
  public PromptText promptText() {
    return PromptText.of(body);
  }

  @Benchmark
  public PrefixChain prefixChain() {
    return PrefixChain.of(MODEL, text);
  }

  @Benchmark
  public Warmth warmthOverSixNodes() {
    return affinity.warmth(session, chain, 46_000, NODES);
  }
}
