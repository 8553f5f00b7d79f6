package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.auth.AuthMode;
import dev.sluice.auth.KeyFile;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.config.AuthSettings;
import dev.sluice.config.SharedSettings;
import dev.sluice.config.SluiceConfig;
import dev.sluice.limit.Limits;
import dev.sluice.sim.GpuProfile;
import dev.sluice.testkit.RedisServer;
import dev.sluice.testkit.SecretLedger;
import dev.sluice.testkit.TestCluster;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The "per-key limit of N requests/minute enforced to within ±5 % across 2 replicas with Redis": two real
 * gateways (each its own Vertx) in front of the same simulated nodes and the same redis-server, many concurrent clients
 * alternating between them. The same run without Redis shows each replica enforcing the limit on its own (≈ 2N).
 * Figures go to stdout and {@code target/shared-limits.txt}.
 */
class SharedLimitsTest {
  /** Requests per minute: large enough for ±5 % to be a count, small enough that a minute's refill is small. */
  private static final int N = 300;
  /** Requests sent: three times the limit, so the bucket is exhausted and every refilled token is used. */
  private static final int REQUESTS = 3 * N;
  private static final int CLIENTS = 32;
  private static final String CHAT = "{\"model\":\"qwen3:32b\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\","
      + "\"content\":\"hi\"}]}";

  @TempDir Path dir;

  /** What one run saw. */
  record Run(int admitted, int limited, int other, long elapsedMillis) {
    /** What a bucket of {@code replicas} × N per minute allows over the run: full at start, then the refill. */
    double expected(int buckets) {
      return buckets * (N + N * elapsedMillis / 60_000.0);
    }
  }

  @Test
  void aPerKeyLimitHoldsWithinFivePercentAcrossTwoReplicasWithRedisAndDoublesWithout() throws Exception {
    Path keys = dir.resolve("keys.json");
    KeyGenerator.Created key = KeyGenerator.create("team-a", Set.of(), new Limits(N, 0, 0), null, null, Instant.now());
    KeyFile.write(keys, KeyFile.read(keys).with(key.key()));
    String secret = SecretLedger.secret(key.secret());
    try (RedisServer redis = RedisServer.start();
        TestCluster nodes = new TestCluster().auth(new AuthSettings(AuthMode.TOKENS, keys, null))
            .node("a", GpuProfile.A10, "qwen3:32b", 0).node("b", GpuProfile.A10, "qwen3:32b", 0)) {
      SluiceConfig local = nodes.config();
      // a generous timeout: this test measures the limit across replicas, not Redis's latency on a busy test machine
      // (a call that times out is admitted locally, which the fallback tests cover)
      SluiceConfig shared = local.withShared(SharedSettings.redis(URI.create(redis.url()))
          .withTimeout(Duration.ofSeconds(2)));

      Run withRedis;
      try (Replica r1 = new Replica(shared); Replica r2 = new Replica(shared)) {
        withRedis = hammer(List.of(r1, r2), secret);
        assertThat(r1.scrape()).contains("sluice_shared_store_up{store=\"redis\"} 1.0");
        assertThat(r1.scrape() + r2.scrape()).doesNotContain("sluice_shared_store_fallbacks_total");
      }
      Run withoutRedis;
      try (Replica r1 = new Replica(local); Replica r2 = new Replica(local)) {
        withoutRedis = hammer(List.of(r1, r2), secret);
      }

      double expected = withRedis.expected(1);
      double deviation = 100.0 * (withRedis.admitted() - expected) / expected;
      double expectedLocal = withoutRedis.expected(2);
      double deviationLocal = 100.0 * (withoutRedis.admitted() - expectedLocal) / expectedLocal;
      String report = String.format(Locale.ROOT, """
          shared limits: 1 key, limit N = %d requests/min, %d requests from %d concurrent clients alternating between 2 replicas
            with Redis:    admitted %d, refused %d in %d ms; expected N + N*elapsed/60s = %.1f; deviation %+.2f %%
            without Redis: admitted %d, refused %d in %d ms; expected 2 x (N + N*elapsed/60s) = %.1f; deviation %+.2f %%
          """, N, REQUESTS, CLIENTS, withRedis.admitted(), withRedis.limited(), withRedis.elapsedMillis(), expected,
          deviation, withoutRedis.admitted(), withoutRedis.limited(), withoutRedis.elapsedMillis(), expectedLocal,
          deviationLocal);
      System.out.print(report);
      Files.createDirectories(Path.of("target"));
      Files.writeString(Path.of("target", "shared-limits.txt"), report, StandardCharsets.UTF_8);

      assertThat(withRedis.other()).as("every request is answered 200 or 429").isZero();
      assertThat(withoutRedis.other()).isZero();
      assertThat(Math.abs(deviation)).as(report).isLessThanOrEqualTo(5.0);
      assertThat(Math.abs(deviationLocal)).as(report).isLessThanOrEqualTo(5.0);
    }
  }

  /** {@link #REQUESTS} requests, {@link #CLIENTS} at a time, to the replicas in turn. */
  private static Run hammer(List<Replica> replicas, String secret) throws Exception {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10)).build();
    Semaphore slots = new Semaphore(CLIENTS);
    AtomicInteger admitted = new AtomicInteger();
    AtomicInteger limited = new AtomicInteger();
    Map<Integer, Integer> others = new ConcurrentHashMap<>();
    List<CompletableFuture<?>> all = new ArrayList<>(REQUESTS);
    long start = System.nanoTime();
    for (int i = 0; i < REQUESTS; i++) {
      slots.acquire();
      HttpRequest request = HttpRequest.newBuilder(URI.create(replicas.get(i % replicas.size())
              .url("/v1/chat/completions")))
          .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
          .header("Authorization", "Bearer " + secret).POST(HttpRequest.BodyPublishers.ofString(CHAT)).build();
      all.add(client.sendAsync(request, HttpResponse.BodyHandlers.ofString()).whenComplete((r, e) -> {
        slots.release();
        int status = e != null ? -1 : r.statusCode();
        if (status == 200) admitted.incrementAndGet();
        else if (status == 429) limited.incrementAndGet();
        else others.merge(status, 1, Integer::sum);
      }));
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).exceptionally(e -> null).get(120, TimeUnit.SECONDS);
    long elapsed = (System.nanoTime() - start) / 1_000_000;
    return new Run(admitted.get(), limited.get(), others.values().stream().mapToInt(Integer::intValue).sum(), elapsed);
  }
}
