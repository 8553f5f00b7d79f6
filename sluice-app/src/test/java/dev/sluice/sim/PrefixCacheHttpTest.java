package dev.sluice.sim;

import static dev.sluice.sim.SimHttp.get;
import static dev.sluice.sim.SimHttp.json;
import static dev.sluice.sim.SimHttp.post;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The prefix cache through a node's real HTTP API: a shared prefix answers faster and shows in {@code /metrics}. */
class PrefixCacheHttpTest extends SimNodesFixture {

  @Test
  void aSecondRequestSharingALongPrefixGetsItsFirstTokenSoonerAndMetricsCountTheHitTokens() throws Exception {
    SimNode node = start(SimOptions.defaults().withGpu(GpuProfile.A10).withTimeScale(10));
    String system = letters(4_000 * 4); // 4,000 tokens: 5.3 s of prefill on an A10, 0.53 s at time scale 10
    String first = "What is in the file?";
    String second = "Summarise the file.";

    long started = System.nanoTime();
    HttpResponse<String> one = post(node, "/v1/chat/completions", chat(system, first));
    long firstNanos = System.nanoTime() - started;
    started = System.nanoTime();
    HttpResponse<String> two = post(node, "/v1/chat/completions", chat(system, second));
    long secondNanos = System.nanoTime() - started;

    assertThat(one.statusCode()).isEqualTo(200);
    assertThat(two.statusCode()).isEqualTo(200);
    int firstTokens = TextGenerator.promptTokens(system + first);
    int secondTokens = TextGenerator.promptTokens(system + second);
    assertThat(json(one).path("usage").path("prompt_tokens").asInt()).isEqualTo(firstTokens);
    assertThat(json(two).path("usage").path("prompt_tokens").asInt()).isEqualTo(secondTokens);
    // max_tokens 1: the answer is its first token; the second prefills ~2 tokens instead of 4,005
    assertThat(secondNanos).isLessThan(firstNanos / 4);

    String metrics = get(node, "/metrics/vllm").body();
    assertThat(counter(metrics, Telemetry.PREFIX_CACHE_HITS)).isEqualTo(4_000); // the system prompt's 250 blocks
    assertThat(counter(metrics, Telemetry.PREFIX_CACHE_QUERIES)).isEqualTo(firstTokens + secondTokens);
    assertThat(counter(metrics, Telemetry.PROMPT_TOKENS)).isEqualTo(firstTokens + secondTokens);
  }

  private static String chat(String system, String user) {
    return "{\"model\":\"qwen3:32b\",\"max_tokens\":1,\"messages\":[{\"role\":\"system\",\"content\":\"" + system
        + "\"},{\"role\":\"user\",\"content\":\"" + user + "\"}]}";
  }

  /** The value of the one sample of {@code family} in a Prometheus text page. */
  private static long counter(String page, String family) {
    return page.lines().filter(line -> line.startsWith(family + "{") || line.startsWith(family + " "))
        .mapToLong(line -> Long.parseLong(line.substring(line.lastIndexOf(' ') + 1))).sum();
  }

  private static String letters(int count) {
    SplittableRandom random = new SplittableRandom(18);
    StringBuilder text = new StringBuilder(count);
    for (int i = 0; i < count; i++) {
      text.append((char) ('a' + random.nextInt(26)));
    }
    return text.toString();
  }
}
