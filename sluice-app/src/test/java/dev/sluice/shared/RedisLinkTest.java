package dev.sluice.shared;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.config.SharedSettings;
import dev.sluice.testkit.RedisServer;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The link's dedicated per-event-loop connections against a real redis-server: opened, lost, reopened, closed. */
class RedisLinkTest {
  private Vertx vertx;
  private RedisServer redis;
  private RedisLink link;

  @BeforeEach
  void start() {
    redis = RedisServer.start();
    vertx = Vertx.vertx();
    link = RedisLink.open(vertx, SharedSettings.redis(URI.create(redis.url())).withTimeout(Duration.ofMillis(500)));
  }

  @AfterEach
  void stop() throws Exception {
    if (link != null) link.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    if (vertx != null) vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    if (redis != null) redis.close();
  }

  /** PING sent from {@code context}'s event loop, as a request handler would; null when it failed. */
  private String ping(Context context) throws Exception {
    Promise<Response> answer = Promise.promise();
    context.runOnContext(v -> link.send(Request.cmd(Command.PING)).onComplete(answer));
    Future<Response> f = answer.future();
    try {
      return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).toString();
    } catch (java.util.concurrent.ExecutionException e) {
      return null;
    }
  }

  private int clients() {
    return (int) redis.command("CLIENT", "LIST").lines().filter(l -> !l.isBlank()).count();
  }

  @Test
  void anEventLoopGetsItsOwnConnectionAndAnotherOneAfterRedisWasKilledAndRestarted() throws Exception {
    Context loop = vertx.getOrCreateContext();
    await().atMost(Duration.ofSeconds(10)).until(() -> "PONG".equals(ping(loop)) && link.lanesOpen() == 1);

    redis.kill();
    await().atMost(Duration.ofSeconds(10)).until(() -> ping(loop) == null && !link.up());
    assertThat(link.lanesOpen()).as("closed with the outage").isZero();

    redis.restart();
    await().atMost(Duration.ofSeconds(20)).until(link::up);
    await().atMost(Duration.ofSeconds(10)).until(() -> "PONG".equals(ping(loop)) && link.lanesOpen() == 1);
  }

  @Test
  void callsOffAnEventLoopTakeThePoolAndClosingTheLinkClosesEveryConnection() throws Exception {
    await().atMost(Duration.ofSeconds(10)).until(link::up);
    assertThat(link.send(Request.cmd(Command.PING)).toCompletionStage().toCompletableFuture().get(10,
        TimeUnit.SECONDS).toString()).isEqualTo("PONG");
    assertThat(link.lanesOpen()).isZero();
    Context loop = vertx.getOrCreateContext();
    Context other = vertx.getOrCreateContext();
    await().atMost(Duration.ofSeconds(10)).until(() -> "PONG".equals(ping(loop)) && "PONG".equals(ping(other))
        && link.lanesOpen() >= 1);

    link.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    link = null;
    await().atMost(Duration.ofSeconds(10)).until(() -> clients() == 1); // CLIENT LIST's own connection
  }
}
