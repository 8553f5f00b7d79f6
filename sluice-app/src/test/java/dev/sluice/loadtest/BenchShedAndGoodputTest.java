package dev.sluice.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.sluice.testkit.FakeClock;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What the bench counts as goodput and as a proper 429, and the headers it sends. */
class BenchShedAndGoodputTest {
  private HttpServer server;

  @AfterEach
  void stop() {
    if (server != null) server.stop(0);
  }

  private static BenchResult.Sample answered(long ttftMillis, long e2eMillis, long tokens, boolean stream) {
    return new BenchResult.Sample(0, e2eMillis * 1000, stream ? ttftMillis * 1000 : -1, stream ? new long[0] : null,
        200, null, "n1", "normal", tokens, stream);
  }

  @Test
  void goodputCountsOnlyAnswersWithinTheFirstTokenAndPerTokenBars() {
    BenchResult r = new BenchResult(0, new FakeClock(), new LoadPlan.Slo(Duration.ofSeconds(5),
        Duration.ofMillis(200)));

    r.record(answered(1_000, 11_000, 51, true)); // 1 s to first token, 200 ms per token after it: good
    r.record(answered(6_000, 7_000, 5, true)); // first token too late
    r.record(answered(1_000, 21_000, 51, true)); // 400 ms per token
    r.record(answered(-1, 9_000, 20, false)); // plain: 9 s ≤ 5 s + 20 × 200 ms
    r.record(answered(-1, 10_000, 20, false)); // plain: 10 s > 9 s

    assertThat(r.summary().get("goodput")).isEqualTo(2.0);
  }

  /** A stand-in gateway: 429s, with or without Retry-After, and the headers each request carried. */
  private URI gateway(boolean retryAfter, List<Map<String, List<String>>> seen) throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    AtomicInteger n = new AtomicInteger();
    server.createContext("/", x -> {
      seen.add(Map.copyOf(x.getRequestHeaders()));
      x.getRequestBody().readAllBytes();
      byte[] body = ("{\"error\":{\"message\":\"every node is at its cap\",\"type\":\"rate_limit_error\"}}")
          .getBytes(StandardCharsets.UTF_8);
      if (retryAfter || n.getAndIncrement() % 2 == 0) x.getResponseHeaders().add("Retry-After", "2");
      x.getResponseHeaders().add("Content-Type", "application/json");
      x.sendResponseHeaders(429, body.length);
      x.getResponseBody().write(body);
      x.close();
    });
    server.start();
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  @Test
  void a429CountsAsShedAndAsProperOnlyWhenItSaysWhenToComeBackInTheApisFormat() throws Exception {
    List<Map<String, List<String>>> seen = new CopyOnWriteArrayList<>();
    URI url = gateway(false, seen);
    LoadPlan plan = new LoadPlan(url, null, "m", 1, 0, Duration.ZERO, null, 4, 0.5, Duration.ofSeconds(5),
        Map.of("x-sluice-priority", "batch"), LoadPlan.Slo.DEFAULT);

    BenchResult r = new LoadRunner(plan, PromptMix.builtIn(1, 0.1)).run(null);

    assertThat(r.summary().get("shed_429")).isEqualTo(4.0);
    assertThat(r.summary().get("shed_429_with_retry_after")).isEqualTo(2.0);
    assertThat(r.errors()).containsEntry("429", 2L).containsEntry("429-no-retry-after", 2L);
    assertThat(r.table()).contains("429 4, of them 2 with Retry-After");
    assertThat(seen).allSatisfy(h -> assertThat(h.get("X-sluice-priority")).containsExactly("batch"));
  }
}
