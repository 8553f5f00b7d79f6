package dev.sluice.bench;

import dev.sluice.api.ApiException;
import dev.sluice.api.Endpoint;
import dev.sluice.api.ParsedRequest;
import dev.sluice.api.RequestValidator;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
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
 * {@link RequestValidator#parse(Endpoint, Buffer)} on a typical ~600-byte OpenAI chat body (system +
 * user + assistant + user messages, sampling parameters, one tool-free request), i.e. the JSON parse and parameter
 * checks every generation request pays before it is forwarded.
 *
 * <p>Run: {@code java -jar sluice-bench/target/benchmarks.jar RequestValidatorBench -f 1 -wi 3 -i 5}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RequestValidatorBench {
  /** A typical chat body, 600 bytes give or take. */
  public static final String CHAT_BODY = "{\"model\":\"qwen3:32b\",\"messages\":["
      + "{\"role\":\"system\",\"content\":\"You are a helpful assistant. Answer briefly and cite sources when you can.\"},"
      + "{\"role\":\"user\",\"content\":\"What does an AI gateway do in front of self-hosted GPU nodes?\"},"
      + "{\"role\":\"assistant\",\"content\":\"It routes each request to a node serving the model, balances load and hides"
      + " node failures from clients.\"},"
      + "{\"role\":\"user\",\"content\":\"Explain in two sentences how it handles a node that dies mid-stream.\"}],"
      + "\"max_tokens\":256,\"temperature\":0.2,\"top_p\":0.95,\"presence_penalty\":0,\"frequency_penalty\":0.1,"
      + "\"n\":1,\"stream\":true,\"stop\":[\"\\n\\n\\n\"],\"user\":\"bench-user-0001\"}";

  private Buffer body;

  @Setup
  public void setup() {
    body = Buffer.buffer(CHAT_BODY.getBytes(StandardCharsets.UTF_8));
    if (body.length() < 500 || body.length() > 700) throw new IllegalStateException("body is " + body.length() + " bytes");
  }

  @Benchmark
  public ParsedRequest parseChat() throws ApiException {
    return RequestValidator.parse(Endpoint.OPENAI_CHAT, body);
  }
}
