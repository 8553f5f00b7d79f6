package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.auth.AuthMode;
import dev.sluice.auth.KeyFile;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.config.AuthSettings;
import dev.sluice.config.SharedSettings;
import dev.sluice.config.SluiceConfig;
import dev.sluice.degrade.CacheSettings;
import dev.sluice.limit.LimitSettings;
import dev.sluice.limit.Limits;
import dev.sluice.observe.RequestRecord;
import dev.sluice.sim.GpuProfile;
import dev.sluice.support.Json;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.LogCapture;
import dev.sluice.testkit.RedisServer;
import dev.sluice.testkit.SecretLedger;
import dev.sluice.testkit.TestCluster;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replicas sharing limits and cache through a real redis-server: what happens when Redis dies and returns, an answer
 * cached by one replica served by another (never to another tenant), and a client leaving while Redis is slow.
 */
class SharedStateTest {
  private static final String CHAT = "{\"model\":\"qwen3:32b\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\","
      + "\"content\":\"hi\"}]}";
  private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @TempDir Path dir;

  private static HttpResponse<String> chat(Replica r, String body, String key) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(r.url("/v1/chat/completions")))
        .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (key != null) b.header("Authorization", "Bearer " + key);
    return Http.send(b.build());
  }

  /** The default cache settings, with qwen3:32b's answers cached (and served) at every level. */
  private static CacheSettings cachingQwen() {
    CacheSettings d = CacheSettings.defaults();
    return new CacheSettings(d.maxBytes(), d.maxEntryBytes(), d.freshTtl(), d.staleTtl(), Set.of("qwen3:32b"));
  }

  private static SharedSettings shared(RedisServer redis) {
    return SharedSettings.redis(URI.create(redis.url()));
  }

  private static long count(List<String> lines, String text) {
    return lines.stream().filter(l -> l.contains(text)).count();
  }

  /** How many connections are subscribed to the purge channel (PUBSUB NUMSUB). */
  private static int purgeSubscribers(RedisServer redis) {
    return Integer.parseInt(redis.command("PUBSUB", "NUMSUB", "sluice:purge").split("\n")[1]);
  }

  /** The answers in each replica's local tier ({@code sluice_cache_entries}). */
  private static List<Integer> cacheEntries(Replica... replicas) {
    return java.util.Arrays.stream(replicas).map(r -> r.scrape().lines()
        .filter(l -> l.startsWith("sluice_cache_entries ")).findFirst()
        .map(l -> (int) Double.parseDouble(l.substring(l.indexOf(' ') + 1))).orElse(-1)).toList();
  }

  @Test
  void whenRedisDiesRequestsKeepBeingAnsweredUnderLocalLimitsAndSharingResumesWhenItReturns() throws Exception {
    LimitSettings limits = new LimitSettings(new Limits(100_000, 0, 0), Map.of(), Map.of(), null);
    try (RedisServer redis = RedisServer.start();
        TestCluster nodes = new TestCluster().limits(limits).node("a", GpuProfile.A10, "qwen3:32b", 0)) {
      SluiceConfig config = nodes.config().withShared(shared(redis));
      String unreachable = "redis at 127.0.0.1:" + redis.port() + " unreachable";
      String back = "redis at 127.0.0.1:" + redis.port() + " answers again";
      try (Replica r1 = new Replica(config); Replica r2 = new Replica(config)) {
        List<Replica> replicas = List.of(r1, r2);
        Map<Integer, Integer> statuses = new ConcurrentHashMap<>();
        AtomicInteger sent = new AtomicInteger();
        AtomicBoolean running = new AtomicBoolean(true);
        ExecutorService clients = Executors.newFixedThreadPool(8);
        try {
          for (int t = 0; t < 8; t++) {
            clients.submit(() -> {
              while (running.get()) {
                int status = chat(replicas.get(sent.getAndIncrement() % 2), CHAT, null).statusCode();
                statuses.merge(status, 1, Integer::sum);
              }
              return null;
            });
          }
          await().atMost(Duration.ofSeconds(20)).until(() -> statuses.getOrDefault(200, 0) >= 50);
          assertThat(redis.keys("sluice:rl:*")).as("buckets live in Redis").isNotEmpty();

          redis.kill();
          for (Replica r : replicas) {
            await().atMost(Duration.ofSeconds(20)).until(() ->
                r.scrape().contains("sluice_shared_store_up{store=\"redis\"} 0.0"));
          }
          int answeredBefore = statuses.getOrDefault(200, 0);
          await().atMost(Duration.ofSeconds(20)).until(() -> statuses.getOrDefault(200, 0) >= answeredBefore + 100);
          assertThat(count(LogCapture.lines(), unreachable)).as("one WARN per replica, not one per request")
              .isEqualTo(2);
          assertThat(LogCapture.lines()).anySatisfy(l -> assertThat(l).contains("WARN", unreachable,
              "rate limits and cache are per replica until it returns"));
          for (Replica r : replicas) {
            assertThat(r.scrape()).containsPattern("sluice_shared_store_fallbacks_total\\{use=\"limits\"} [1-9]");
          }

          redis.restart();
          for (Replica r : replicas) {
            await().atMost(Duration.ofSeconds(20)).until(() ->
                r.scrape().contains("sluice_shared_store_up{store=\"redis\"} 1.0"));
          }
          await().atMost(Duration.ofSeconds(20)).until(() -> !redis.keys("sluice:rl:*").isEmpty());
          assertThat(count(LogCapture.lines(), back)).isEqualTo(2);
        } finally {
          running.set(false);
          clients.shutdown();
          assertThat(clients.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(statuses.keySet()).as("every request was answered, Redis or not: %s", statuses).containsOnly(200);
      }
    }
  }

  @Test
  void anAnswerCachedByOneReplicaIsServedByAnotherButNeverToAnotherTenant() throws Exception {
    Path keys = dir.resolve("keys.json");
    KeyGenerator.Created a = KeyGenerator.create("team-a", Set.of(), null, null, null, Instant.now());
    KeyGenerator.Created b = KeyGenerator.create("team-b", Set.of(), null, null, null, Instant.now());
    KeyFile.write(keys, KeyFile.read(keys).with(a.key()).with(b.key()));
    String keyA = SecretLedger.secret(a.secret());
    String keyB = SecretLedger.secret(b.secret());
    CacheSettings cacheModel = cachingQwen();
    try (RedisServer redis = RedisServer.start();
        TestCluster nodes = new TestCluster().auth(new AuthSettings(AuthMode.TOKENS, keys, null)).cache(cacheModel)
            .node("a", GpuProfile.A10, "qwen3:32b", 0)) {
      SluiceConfig config = nodes.config().withShared(shared(redis));
      try (Replica r1 = new Replica(config); Replica r2 = new Replica(config)) {
        HttpResponse<String> first = chat(r1, CHAT, keyA);
        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(first.headers().firstValue(RoutedRequest.CACHE_HEADER)).isEmpty();
        await().atMost(Duration.ofSeconds(10)).until(() -> redis.keys("sluice:c:*").size() == 1);
        assertThat(redis.keys("sluice:c:*").get(0)).startsWith("sluice:c:team-a\n");
        long ttl = Long.parseLong(redis.command("PTTL", redis.keys("sluice:c:*").get(0)));
        assertThat(ttl).as("kept for the stale TTL").isBetween(1L, cacheModel.staleTtl().toMillis());
        long calls = nodes.sim("a").stats().count("/v1/chat/completions");

        HttpResponse<String> second = chat(r2, CHAT, keyA);
        assertThat(second.statusCode()).isEqualTo(200);
        assertThat(second.headers().firstValue(RoutedRequest.CACHE_HEADER)).hasValue("hit");
        assertThat(content(second)).isEqualTo(content(first));
        assertThat(nodes.sim("a").stats().count("/v1/chat/completions")).as("no node was asked").isEqualTo(calls);
        assertThat(r2.scrape()).contains("sluice_shared_cache_lookups_total{result=\"hit\"} 1.0");

        HttpResponse<String> otherTenant = chat(r2, CHAT, keyB);
        assertThat(otherTenant.statusCode()).isEqualTo(200);
        assertThat(otherTenant.headers().firstValue(RoutedRequest.CACHE_HEADER)).as("team-b never gets team-a's answer")
            .isEmpty();
        assertThat(nodes.sim("a").stats().count("/v1/chat/completions")).isEqualTo(calls + 1);
        assertThat(r2.scrape()).contains("sluice_shared_cache_lookups_total{result=\"miss\"} 1.0");
        await().atMost(Duration.ofSeconds(10)).until(() -> redis.keys("sluice:c:*").size() == 2);

        HttpResponse<String> again = chat(r2, CHAT, keyA);
        assertThat(again.headers().firstValue(RoutedRequest.CACHE_HEADER)).hasValue("hit");
        assertThat(r2.scrape()).as("the answer is now in r2's own cache: no second Redis lookup")
            .contains("sluice_shared_cache_lookups_total{result=\"hit\"} 1.0");
      }
    }
  }

  @Test
  void aPurgeOnOneReplicaAlsoEmptiesTheSharedCacheSoNoReplicaServesThePurgedAnswer() throws Exception {
    CacheSettings cacheModel = cachingQwen();
    try (RedisServer redis = RedisServer.start();
        TestCluster nodes = new TestCluster().cache(cacheModel).node("a", GpuProfile.A10, "qwen3:32b", 0)) {
      SluiceConfig config = nodes.config().withShared(shared(redis));
      try (Replica r1 = new Replica(config); Replica r2 = new Replica(config)) {
        await().atMost(Duration.ofSeconds(10)).until(() -> purgeSubscribers(redis) == 2);
        assertThat(chat(r1, CHAT, null).statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> redis.keys("sluice:c:*").size() == 1);

        HttpResponse<String> purge = Http.post(r1.url("/admin/cache/purge"), "");

        assertThat(purge.statusCode()).as(purge.body()).isEqualTo(200);
        assertThat(purge.body()).isEqualTo("{\"purged\":1,\"purgedShared\":1,\"replicasNotified\":2}");
        assertThat(redis.keys("sluice:c:*")).isEmpty();
        long calls = nodes.sim("a").stats().count("/v1/chat/completions");
        HttpResponse<String> fromR2 = chat(r2, CHAT, null);
        assertThat(fromR2.headers().firstValue(RoutedRequest.CACHE_HEADER)).as("r2 finds nothing to serve").isEmpty();
        assertThat(nodes.sim("a").stats().count("/v1/chat/completions")).isEqualTo(calls + 1);

        redis.kill();
        HttpResponse<String> purgeWithoutRedis = Http.post(r1.url("/admin/cache/purge"), "");
        assertThat(purgeWithoutRedis.statusCode()).isEqualTo(503);
        assertThat(purgeWithoutRedis.body()).contains("shared_store_unavailable")
            .contains("the shared cache in redis could not be purged").contains("retry when redis is back");
      }
    }
  }

  @Test
  void aPurgeOnOneReplicaEmptiesEveryReplicasLocalCacheAndReachesThemAgainAfterRedisReturns() throws Exception {
    CacheSettings cacheModel = cachingQwen();
    try (RedisServer redis = RedisServer.start();
        TestCluster nodes = new TestCluster().cache(cacheModel).node("a", GpuProfile.A10, "qwen3:32b", 0)) {
      SluiceConfig config = nodes.config().withShared(shared(redis));
      try (Replica r1 = new Replica(config); Replica r2 = new Replica(config)) {
        await().atMost(Duration.ofSeconds(10)).until(() -> purgeSubscribers(redis) == 2);
        assertThat(chat(r1, CHAT, null).headers().firstValue(RoutedRequest.CACHE_HEADER)).isEmpty();
        await().atMost(Duration.ofSeconds(10)).until(() -> redis.keys("sluice:c:*").size() == 1);
        assertThat(chat(r2, CHAT, null).headers().firstValue(RoutedRequest.CACHE_HEADER)).hasValue("hit");
        await("the answer is in both local tiers").atMost(Duration.ofSeconds(10))
            .untilAsserted(() -> assertThat(cacheEntries(r1, r2)).containsExactly(1, 1));
        long droppedElsewhere = count(LogCapture.lines(), "answers dropped here too");

        HttpResponse<String> purge = Http.post(r1.url("/admin/cache/purge"), "");

        assertThat(purge.statusCode()).as(purge.body()).isEqualTo(200);
        assertThat(purge.body()).isEqualTo("{\"purged\":1,\"purgedShared\":1,\"replicasNotified\":2}");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(cacheEntries(r2)).containsExactly(0));
        long calls = nodes.sim("a").stats().count("/v1/chat/completions");
        HttpResponse<String> fromR2 = chat(r2, CHAT, null);
        assertThat(fromR2.statusCode()).isEqualTo(200);
        assertThat(fromR2.headers().firstValue(RoutedRequest.CACHE_HEADER)).as("r2 forgot the answer too").isEmpty();
        assertThat(nodes.sim("a").stats().count("/v1/chat/completions")).isEqualTo(calls + 1);
        assertThat(LogCapture.lines()).anySatisfy(l -> assertThat(l).contains("INFO", "cache purged on replica ",
            "1 answers dropped here too"));
        assertThat(count(LogCapture.lines(), "answers dropped here too")).as("r1 ignores its own announcement")
            .isEqualTo(droppedElsewhere + 1);

        redis.kill();
        for (Replica r : List.of(r1, r2)) {
          await().atMost(Duration.ofSeconds(20)).until(() ->
              r.scrape().contains("sluice_shared_store_up{store=\"redis\"} 0.0"));
        }
        redis.restart();
        for (Replica r : List.of(r1, r2)) {
          await().atMost(Duration.ofSeconds(20)).until(() ->
              r.scrape().contains("sluice_shared_store_up{store=\"redis\"} 1.0"));
        }
        // r2 kept its answer through the outage; r1 caches another one
        assertThat(chat(r1, CHAT.replace("hi", "hi again"), null).statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10))
            .untilAsserted(() -> assertThat(cacheEntries(r1, r2)).containsExactly(1, 1));

        HttpResponse<String> again = Http.post(r2.url("/admin/cache/purge"), "");

        assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
        assertThat(again.body()).as("both replicas subscribed again once redis was back")
            .contains("\"purged\":1,").endsWith("\"replicasNotified\":2}");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(cacheEntries(r1)).containsExactly(0));
        assertThat(LogCapture.lines()).as("one Redis client's meters do not collide with another's")
            .noneMatch(l -> l.contains("already registered") && l.contains("vertx.redis"));
      }
    }
  }

  @Test
  void aClientThatLeavesWhileRedisHangsEndsAsCancelledOnceAndTheReplicaGoesOn() throws Exception {
    LimitSettings limits = new LimitSettings(new Limits(1_000, 0, 0), Map.of(), Map.of(), null);
    try (RedisServer redis = RedisServer.start();
        TestCluster nodes = new TestCluster().limits(limits).node("a", GpuProfile.A10, "qwen3:32b", 0)) {
      SluiceConfig config = nodes.config().withShared(shared(redis).withTimeout(Duration.ofSeconds(3)));
      try (Replica r = new Replica(config)) {
        List<RequestRecord> records = new CopyOnWriteArrayList<>();
        r.gateway.addRequestObserver(records::add);
        assertThat(chat(r, CHAT, null).statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> records.size() == 1);
        records.clear();

        redis.freeze();
        try (Http.RawClient client = new Http.RawClient(r.gateway.port(), "POST", "/v1/chat/completions", CHAT)) {
          // a call waiting in the pool of calls (not the subscriber's pool, whose one connection is always in use)
          Pattern waiting = Pattern.compile(
              "vertx_pool_in_use\\{[^}]*pool_name=\"(?!pubsub-)[^\"]*\"[^}]*pool_type=\"redis\"[^}]*} [1-9]");
          await().atMost(Duration.ofSeconds(10)).until(() -> waiting.matcher(r.scrape()).find());
        } // the client leaves while its admission waits on Redis
        await().atMost(Duration.ofSeconds(10)).until(() -> !records.isEmpty());
        assertThat(records).singleElement().satisfies(rec -> {
          assertThat(rec.outcome()).isEqualTo("cancelled");
          assertThat(rec.status()).isEqualTo(499);
        });
        redis.thaw();

        HttpResponse<String> next = chat(r, CHAT, null);
        assertThat(next.statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> records.size() >= 2);
        assertThat(records).extracting(RequestRecord::outcome).containsExactly("cancelled", "ok");
      }
    }
  }

  @Test
  void aReloadToAnotherRedisMovesTheSharedStateThereAndAReloadWithoutSharedMakesItLocal() {
    LimitSettings limits = new LimitSettings(new Limits(1_000, 0, 0), Map.of(), Map.of(), null);
    try (RedisServer first = RedisServer.start(); RedisServer second = RedisServer.start();
        TestCluster nodes = new TestCluster().limits(limits).node("a", GpuProfile.A10, "qwen3:32b", 0)) {
      SluiceConfig config = nodes.config().withShared(shared(first));
      try (Replica r = new Replica(config)) {
        assertThat(chat(r, CHAT, null).statusCode()).isEqualTo(200);
        assertThat(first.keys("sluice:rl:*")).isNotEmpty();

        await().atMost(Duration.ofSeconds(10)).until(() -> purgeSubscribers(first) == 1);
        r.configs.swap(config.withShared(shared(second)));
        assertThat(chat(r, CHAT, null).statusCode()).isEqualTo(200);
        assertThat(second.keys("sluice:rl:*")).isNotEmpty();
        await().atMost(Duration.ofSeconds(10)).until(() -> purgeSubscribers(second) == 1);
        await("the old link's subscriber is closed").atMost(Duration.ofSeconds(10))
            .until(() -> purgeSubscribers(first) == 0);
        assertThat(LogCapture.lines()).anySatisfy(l -> assertThat(l).contains("shared state now in redis at 127.0.0.1:"
            + second.port() + " (was 127.0.0.1:" + first.port() + ")"));

        second.command("FLUSHALL");
        r.configs.swap(config.withShared(SharedSettings.none()));
        assertThat(chat(r, CHAT, null).statusCode()).isEqualTo(200);
        assertThat(second.keys("*")).isEmpty();
        assertThat(r.scrape()).contains("sluice_shared_store_up{store=\"redis\"} NaN");
        await().atMost(Duration.ofSeconds(10)).until(() -> purgeSubscribers(second) == 0);
      }
    }
  }

  private static String content(HttpResponse<String> r) throws Exception {
    JsonNode j = Json.MAPPER.readTree(r.body());
    return j.at("/choices/0/message/content").asText();
  }
}
