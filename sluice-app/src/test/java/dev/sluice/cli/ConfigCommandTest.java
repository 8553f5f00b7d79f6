package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.config.etcd.EtcdConfigStore;
import dev.sluice.config.etcd.EtcdUrl;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.testkit.EtcdCluster;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import io.vertx.core.Vertx;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sluice config push|pull|diff} and {@code sluice keys --etcd} against a real etcd member. */
class ConfigCommandTest {
  private static final String CONFIG = """
      {
        "auth": { "mode": "tokens" },
        "routing": { "policy": "least-delay" },
        "health": { "probeInterval": "200ms" },
        "providers": {
          "qwen": {
            "api": "ollama",
            "models": [{ "id": "qwen3:32b", "contextWindow": 24576, "maxTokens": 4096 }],
            "nodes": [{ "id": "node-a", "baseUrl": "BASE_URL", "gpuType": "A10" }]
          }
        }
      }
      """;

  private static EtcdCluster etcd;
  private static final Vertx simVertx = Vertx.vertx();
  private static SimNode node;
  @TempDir Path dir;

  @BeforeAll
  static void startEtcd() {
    etcd = EtcdCluster.start(1);
    node = TestCluster.await(SimNode.start(simVertx, SimOptions.defaults().withId("node-a").withGpu(GpuProfile.A10)
        .withModels("qwen3:32b").withTimeScale(0)));
  }

  @AfterAll
  static void stopEtcd() {
    if (etcd != null) etcd.close();
    TestCluster.await(simVertx.close());
  }

  private Path configFile(String name, String policy) throws Exception {
    Path f = dir.resolve(name);
    Files.writeString(f, CONFIG.replace("BASE_URL", node.baseUrl()).replace("least-delay", policy));
    return f;
  }

  @Test
  void pushPullAndDiffRoundTripAConfigFile() throws Exception {
    String url = etcd.url("/roundtrip");
    Path file = configFile("sluice.json", "least-delay");
    String[] push = run("config", "push", "--file", file.toString(), "--etcd", url);
    assertThat(push[2]).as(push[1]).isEqualTo("0");
    assertThat(push[0]).contains("pushed").contains("at revision");

    String[] pull = run("config", "pull", "--etcd", url);
    assertThat(pull[2]).isEqualTo("0");
    assertThat(pull[0]).isEqualTo(Files.readString(file));
    Path pulled = dir.resolve("pulled.json");
    assertThat(run("config", "pull", "--etcd", url, "--out", pulled.toString())[2]).isEqualTo("0");
    assertThat(Files.readString(pulled)).isEqualTo(Files.readString(file));

    String[] same = run("config", "diff", "--file", file.toString(), "--etcd", url);
    assertThat(same[2]).isEqualTo("0");
    assertThat(same[0]).isEmpty();

    // key order and layout do not count; values do
    Path changed = configFile("changed.json", "round-robin");
    String[] diff = run("config", "diff", "--file", changed.toString(), "--etcd", url);
    assertThat(diff[2]).isEqualTo("1");
    assertThat(diff[0]).contains("--- /roundtrip/config (revision").contains("+++ " + changed)
        .contains("-    \"policy\" : \"least-delay\"").contains("+    \"policy\" : \"round-robin\"")
        .doesNotContain("-    \"auth\"");
  }

  @Test
  void anInvalidConfigIsNotPushedAndExitsWith2ListingItsProblems() throws Exception {
    String url = etcd.url("/invalid");
    Path file = configFile("bad.json", "fastest-please");
    String[] push = run("config", "push", "--file", file.toString(), "--etcd", url);
    assertThat(push[2]).isEqualTo("2");
    assertThat(push[1]).contains("routing.policy").contains("fastest-please");
    try (EtcdConfigStore store = EtcdConfigStore.open(url)) {
      assertThat(store.read()).isEmpty();
    }
    String[] pull = run("config", "pull", "--etcd", url);
    assertThat(pull[2]).isEqualTo("1");
    assertThat(pull[1]).contains("no config at /invalid/config").contains("sluice config push");
  }

  @Test
  void anUnreachableEtcdIsOneLineNamingTheEndpointsAndExits1Or2ForDiff() throws Exception {
    int dead1;
    int dead2;
    try (ServerSocket a = new ServerSocket(0); ServerSocket b = new ServerSocket(0)) {
      dead1 = a.getLocalPort();
      dead2 = b.getLocalPort();
    }
    String url = "etcd://127.0.0.1:" + dead1 + ",127.0.0.1:" + dead2 + "/sluice";
    for (String[] args : new String[][] {
        {"config", "push", "--file", configFile("ok.json", "least-delay").toString(), "--etcd", url},
        {"config", "pull", "--etcd", url},
        {"config", "diff", "--file", configFile("ok.json", "least-delay").toString(), "--etcd", url},
        {"keys", "list", "--etcd", url}}) {
      String[] r = run(args);
      assertThat(r[2]).as(String.join(" ", args)).isEqualTo(args[1].equals("diff") ? "2" : "1");
      assertThat(r[1].strip()).startsWith("sluice " + args[0] + " " + args[1] + ": ").doesNotContain("\n").doesNotContain("\tat ")
          .contains("etcd unreachable at 127.0.0.1:" + dead1 + " (connection refused), 127.0.0.1:" + dead2
              + " (connection refused)");
    }
  }

  @Test
  void aTokenCreatedInEtcdIsAcceptedByAReplicaAndRevokingItLocksItOut() throws Exception {
    String url = etcd.url("/keys");
    assertThat(run("config", "push", "--file", configFile("sluice.json", "least-delay").toString(), "--etcd",
        url)[2]).isEqualTo("0");
    ServeCommand.Running replica = ServeCommand.startOnEtcd(EtcdUrl.parse(url), dir.resolve("state"), "127.0.0.1", 0,
        1);
    try {
      String[] created = run("keys", "create", "--etcd", url, "--tenant", "acme", "--model", "qwen3:32b");
      assertThat(created[2]).as(created[1]).isEqualTo("0");
      String secret = created[0].strip();
      assertThat(created[1]).contains("saved to /keys/keys at revision");
      String chat = "http://127.0.0.1:" + replica.port() + "/v1/chat/completions";
      await().atMost(Duration.ofSeconds(30)).until(() -> chat(chat, secret) == 200);

      String[] unknownModel = run("keys", "create", "--etcd", url, "--tenant", "acme", "--model", "nope");
      assertThat(unknownModel[2]).isEqualTo("2");
      assertThat(unknownModel[1]).contains("--model nope is not a model of " + url);

      String[] listed = run("keys", "list", "--etcd", url);
      assertThat(listed[0]).contains("acme").contains("active").doesNotContain(secret);
      assertThat(run("keys", "revoke", "--etcd", url, secret)[2]).isEqualTo("0");
      await().atMost(Duration.ofSeconds(30)).until(() -> chat(chat, secret) == 401);
    } finally {
      replica.stop();
    }
  }

  private static int chat(String url, String token) {
    return Http.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
            "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4}"))
        .build()).statusCode();
  }

  /** Runs the CLI; {stdout, stderr, exit code}. */
  private static String[] run(String... args) {
    return dev.sluice.testkit.Cli.run(args);
  }
}
