package dev.sluice.config.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.auth.KeyGenerator;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.testkit.Closer;
import dev.sluice.testkit.EtcdCluster;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.LogCapture;
import dev.sluice.testkit.TestCluster;
import io.vertx.core.Vertx;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One etcd member, gateway replicas on it: invalid changes, compaction, start-up without a config, the admin API. */
class EtcdConfigSourceTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path dir;
  private final Vertx simVertx = Vertx.vertx();
  private final Closer toClose = new Closer();
  private EtcdCluster etcd;
  private SimNode node;
  private String url;
  private EtcdConfigStore store;

  @BeforeEach
  void setUp() {
    etcd = closing(EtcdCluster.start(1));
    node = TestCluster.await(SimNode.start(simVertx, SimOptions.defaults().withId("node-a").withGpu(GpuProfile.A10)
        .withModels(Configs.MODEL).withTimeScale(0)));
    url = etcd.url("/team-a");
    store = closing(EtcdConfigStore.open(url));
  }

  @AfterEach
  void tearDown() {
    toClose.close();
    TestCluster.await(simVertx.close());
  }

  private <T extends AutoCloseable> T closing(T c) {
    return toClose.add(c);
  }

  @Test
  void anInvalidChangeIsRejectedByEveryReplicaWithOneLogLineAndTheOldConfigKeepsServing() throws Exception {
    store.push(Configs.text(Configs.of("none", null, node)), null);
    Replica r1 = closing(Replica.start("r1", url, dir.resolve("r1")));
    Replica r2 = closing(Replica.start("r2", url, dir.resolve("r2")));

    String bad = Configs.text(Configs.routing(Configs.of("none", null, node), "fastest-please", 30));
    long revision = etcd.put("/team-a/config", bad); // etcdctl-style, past the CLI's validation

    for (Replica r : List.of(r1, r2)) {
      await().atMost(WAIT).until(() -> r.source.rejections() == 1);
      assertThat(r.config().routing().policy()).isEqualTo("least-delay");
      assertThat(r.source.configRevision()).isLessThan(revision);
      await().atMost(WAIT).until(() -> r.gateway.registry().all().stream()
          .allMatch(e -> e.health().state() == dev.sluice.health.NodeState.READY));
      assertThat(r.chat(Configs.MODEL).statusCode()).isEqualTo(200);
      assertThat(r.metrics.scrape()).contains("sluice_config_reloads_total{result=\"rejected\"} 1.0");
    }
    List<String> lines = LogCapture.lines().stream()
        .filter(l -> l.contains("etcd config change at revision " + revision + " rejected")).toList();
    assertThat(lines).hasSize(2).allSatisfy(l -> assertThat(l.strip()).contains("WARN").contains("routing.policy")
        .contains("fastest-please").doesNotContain("\n"));

    // the next valid change is applied
    store.update(c -> Configs.routing(c, "round-robin", 31));
    for (Replica r : List.of(r1, r2)) {
      await().atMost(WAIT).until(() -> r.config().routing().policy().equals("round-robin"));
    }
  }

  @Test
  void aWatchWhoseRevisionWasCompactedAwayReReadsEverythingAndAppliesTheLatest() throws Exception {
    store.push(Configs.text(Configs.of("none", null, node)), null);
    Replica r = closing(Replica.start("r", url, dir.resolve("r")));
    long seen = r.source.watchedRevision();

    TestCluster.await(r.source.suspend()); // cut off from etcd while it changes and compacts
    store.update(c -> Configs.routing(c, "round-robin", 41));
    store.update(c -> Configs.routing(c, "least-request", 42));
    etcd.compact(etcd.revision());
    assertThat(r.config().routing().policy()).isEqualTo("least-delay");

    r.source.resumeFrom(seen + 1); // the watch resumes where it left off: that history is gone
    await().atMost(WAIT).until(() -> r.config().routing().policy().equals("least-request"));
    assertThat(r.config().routing().ttftBudget()).isEqualTo(Duration.ofSeconds(42));
    assertThat(LogCapture.lines()).anyMatch(l -> l.contains("etcd watch from revision " + (seen + 1)
        + " cancelled: history compacted"));
    // and it keeps following changes
    store.update(c -> Configs.routing(c, "round-robin", 43));
    await().atMost(WAIT).until(() -> r.config().routing().policy().equals("round-robin"));
  }

  @Test
  void tokensAndTheConfigAreMirroredIntoTheStateDirectoryReadableByTheOwnerOnly() throws Exception {
    store.push(Configs.text(Configs.of("tokens", null, node)), null);
    KeyGenerator.Created created = KeyGenerator.create("acme", java.util.Set.of(), null, null, null,
        java.time.Instant.now());
    store.updateKeys(k -> k.with(created.key()));
    Replica r = closing(Replica.start("r", url, dir.resolve("state")));
    Path keys = dir.resolve("state").resolve(EtcdConfigSource.KEYS_FILE);
    Path lkg = dir.resolve("state").resolve(EtcdConfigSource.LAST_KNOWN_GOOD_FILE);
    assertThat(r.config().auth().keysFile()).isEqualTo(keys.toAbsolutePath());
    assertThat(Files.readString(keys)).contains(created.key().id()).doesNotContain(created.secret());
    assertThat(Files.readString(lkg)).contains("\"revision\"").contains("\"savedAt\"").contains("node-a");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(lkg))).isEqualTo("rw-------");
    await().atMost(WAIT).until(() -> chatWith(r, created.secret()) == 200);
    assertThat(chatWith(r, "sk-sluice-not-a-real-token-000000000000000")).isEqualTo(401);
  }

  @Test
  void adminChangesOfKeysNodesAndRoutingOnAReplicaAnswer409NamingTheCliToUse() throws Exception {
    String adminToken = KeyGenerator.newAdminToken();
    store.push(Configs.text(Configs.of("none", KeyGenerator.sha256Hex(adminToken), node)), null);
    Replica r = closing(Replica.start("r", url, dir.resolve("r")));

    HttpResponse<String> key = admin(r, adminToken, "POST", "/admin/keys", "{\"tenant\":\"acme\"}");
    assertThat(key.statusCode()).isEqualTo(409);
    assertThat(key.body()).contains("sluice keys create").contains("--etcd " + url);
    HttpResponse<String> revoke = admin(r, adminToken, "DELETE", "/admin/keys/sk-sluice-AbCd1234", null);
    assertThat(revoke.statusCode()).isEqualTo(409);
    assertThat(revoke.body()).contains("sluice keys revoke");
    HttpResponse<String> addNode = admin(r, adminToken, "POST", "/admin/nodes",
        "{\"id\":\"gpu-9\",\"baseUrl\":\"http://127.0.0.1:9\",\"provider\":\"qwen\"}");
    assertThat(addNode.statusCode()).isEqualTo(409);
    assertThat(addNode.body()).contains("sluice onboard").contains("--etcd " + url);
    assertThat(admin(r, adminToken, "POST", "/admin/routing", "{\"policy\":\"round-robin\"}").statusCode())
        .isEqualTo(409);
    assertThat(r.config().node("gpu-9")).isEmpty();
    assertThat(admin(r, adminToken, "GET", "/admin/keys", null).statusCode()).isEqualTo(200);
    assertThat(admin(r, adminToken, "GET", "/admin/nodes", null).statusCode()).isEqualTo(200);
  }

  @Test
  void startingWithEtcdUpButNoConfigExitsWith2NamingThePushCommand() {
    String[] run = run("serve", "--config", url, "--state-dir", dir.resolve("s").toString(), "--port", "0");
    assertThat(run[2]).isEqualTo("2");
    assertThat(run[1]).contains("no config at /team-a/config").contains("sluice config push --file")
        .contains("--etcd " + url);
  }

  @Test
  void startingWithEtcdDownAndNoSavedConfigExitsWith2NamingTheFix() throws Exception {
    int dead;
    try (ServerSocket s = new ServerSocket(0)) {
      dead = s.getLocalPort();
    }
    String[] run = run("serve", "--config", "etcd://127.0.0.1:" + dead + "/sluice", "--state-dir",
        dir.resolve("s").toString(), "--port", "0");
    assertThat(run[2]).isEqualTo("2");
    assertThat(run[1]).contains("etcd unreachable (127.0.0.1:" + dead + " (connection refused))")
        .contains("no last-known-good config").contains("sluice config push --file");
  }

  @Test
  void aBadEtcdUrlExitsWith2ShowingTheExpectedForm() {
    String[] run = run("serve", "--config", "etcd://host:port:x/sluice");
    assertThat(run[2]).isEqualTo("2");
    assertThat(run[1]).contains("is not host:port").contains("etcd://127.0.0.1:2379,10.0.0.2:2379/sluice");
  }

  private static int chatWith(Replica r, String token) {
    return Http.send(HttpRequest.newBuilder(URI.create(r.url("/v1/chat/completions")))
        .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + Configs.MODEL
            + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4}")).build()).statusCode();
  }

  private static HttpResponse<String> admin(Replica r, String token, String method, String path, String body) {
    return Http.send(HttpRequest.newBuilder(URI.create(r.url(path))).header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .build());
  }

  /** Runs the CLI; {stdout, stderr, exit code}. */
  static String[] run(String... args) {
    return dev.sluice.testkit.Cli.run(args);
  }
}
