package dev.sluice.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.ApiException;
import dev.sluice.api.Endpoint;
import dev.sluice.api.ParsedRequest;
import dev.sluice.api.RequestValidator;
import dev.sluice.degrade.CacheKey;
import dev.sluice.limit.PromptText;
import dev.sluice.limit.TokenEstimator;
import dev.sluice.routing.PrefixChain;
import dev.sluice.support.Json;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a chat request's body costs the gateway before it is routed, by body size: the parse and validation
 * ({@link RequestValidator#parse}), the prompt's text and token estimate ({@link PromptText#of}), the prefix chain
 * ({@link PrefixChain}), the raw body's hash (the cache fingerprint), and all of them together ({@code path}); with,
 * as baselines in the same run, the one-pass estimate of the same text ({@link TokenEstimator#estimate}, what
 * {@code PromptText} cost before its segment memo) and the response cache's canonical key with SHA-256
 * ({@link CacheKey#of}, paid when an answer is stored, at most once a second per distinct body).
 *
 * <p>Sizes: {@code small} (a 0.6 KB chat, {@link RequestValidatorBench#CHAT_BODY}), {@code 20k} and {@code 190k} (the
 * shared harness's agent request: system prompt, 20 tool definitions, 90 turns; 20k is its first turns). {@code
 * seen}: {@code true} sends the same body every time (agents resend their prefix with every turn: its segments are in
 * the estimate's memo); {@code false} writes the call's number into four letters in every 512 bytes of the body before
 * each call, so no segment was seen before (the estimate's worst case).
 *
 * <p>Run: {@code mvn -B -q -o -pl sluice-bench -am package -DskipTests -Pbenchmarks && java -jar
 * sluice-bench/target/benchmarks.jar ParsePathBench -f 1 -wi 3 -i 5} (body file: {@code -p
 * agentBody=/work/shared/bench/bodies-agent/chat.json}, the default).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class ParsePathBench {
  @Param({"small", "20k", "190k"})
  public String size;

  @Param({"true", "false"})
  public boolean seen;

  @Param("/work/shared/bench/bodies-agent/chat.json")
  public String agentBody;

  private byte[] bytes;
  private Buffer body;
  private ParsedRequest parsed;
  private String text;
  private int round;

  @Setup(Level.Trial)
  public void load() throws IOException, ApiException {
    if (size.equals("small")) {
      bytes = RequestValidatorBench.CHAT_BODY.getBytes(StandardCharsets.UTF_8);
    } else {
      ObjectNode agent = (ObjectNode) Json.MAPPER.readTree(Files.readAllBytes(Path.of(agentBody)));
      agent.put("model", "qwen3:32b");
      if (size.equals("20k")) {
        ArrayNode all = (ArrayNode) agent.get("messages");
        ArrayNode first = agent.putArray("messages");
        for (int i = 0; i < all.size() && agent.toString().length() < 20_000; i++) first.add(all.get(i));
        while (agent.toString().length() > 20_000 && agent.get("tools").size() > 1) {
          ((ArrayNode) agent.get("tools")).remove(agent.get("tools").size() - 1);
        }
      } else if (!size.equals("190k")) {
        throw new IllegalArgumentException("size: " + size + " (small, 20k or 190k)");
      }
      bytes = agent.toString().getBytes(StandardCharsets.UTF_8);
    }
    next();
  }

  /** The body of the next call: the same, or (seen=false) the call's number written into it every 512 bytes. */
  @Setup(Level.Invocation)
  public void next() throws ApiException {
    if (!seen) {
      round++;
      for (int i = 256; i + 4 <= bytes.length; i += 512) {
        boolean letters = true;
        for (int k = 0; k < 4; k++) letters &= bytes[i + k] >= 'a' && bytes[i + k] <= 'z';
        if (!letters) continue;
        for (int k = 0, r = round; k < 4; k++, r /= 26) bytes[i + k] = (byte) ('a' + r % 26); // unique per call
      }
    }
    body = Buffer.buffer(bytes);
    parsed = RequestValidator.parse(Endpoint.OPENAI_CHAT, body);
    text = PromptText.of(parsed.json()).text();
  }

  @Benchmark
  public ParsedRequest parse() throws ApiException {
    return RequestValidator.parse(Endpoint.OPENAI_CHAT, body);
  }

  @Benchmark
  public int promptText() {
    return PromptText.of(parsed.json(), body.length()).estimatedTokens();
  }

  @Benchmark
  public int onePassEstimateBaseline() {
    return TokenEstimator.estimate(text);
  }

  @Benchmark
  public PrefixChain prefixChain() {
    byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
    return PrefixChain.of("qwen3:32b", utf8, utf8.length);
  }

  @Benchmark
  public long rawHash() {
    return parsed.rawHash();
  }

  @Benchmark
  public String cacheKeyBaseline() {
    return CacheKey.of("bench", Endpoint.OPENAI_CHAT.name(), parsed.json());
  }

  /** Everything a request pays for its body before routing: parse, prompt and estimate, chain, fingerprint. */
  @Benchmark
  public long path() throws ApiException {
    ParsedRequest p = RequestValidator.parse(Endpoint.OPENAI_CHAT, body);
    PromptText prompt = PromptText.of(p.json(), body.length());
    byte[] utf8 = prompt.utf8();
    return PrefixChain.of("qwen3:32b", utf8, utf8.length).chunks() + prompt.estimatedTokens() + p.rawHash();
  }
}
