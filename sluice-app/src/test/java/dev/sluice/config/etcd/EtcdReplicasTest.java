package dev.sluice.config.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.health.NodeState;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.testkit.Closer;
import dev.sluice.testkit.EtcdCluster;
import dev.sluice.testkit.TestCluster;
import io.vertx.core.Vertx;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 3-member etcd cluster and two gateway replicas: config changes reach both while one member is lost; with two lost
 * the replicas keep serving, a restarted replica serves its persisted config, and both catch up when etcd is back.
 * Propagation times are written to {@code target/etcd-propagation.txt} (measured, not asserted: CI hosts are shared).
 */
class EtcdReplicasTest {
  /** Changes measured per phase. */
  private static final int CHANGES = 30;
  private static final Duration PROPAGATION_WAIT = Duration.ofSeconds(30);

  @TempDir Path dir;
  private final Vertx simVertx = Vertx.vertx();
  private final Closer toClose = new Closer();
  private long marker = 100;

  @AfterEach
  void tearDown() throws Exception {
    toClose.close();
    TestCluster.await(simVertx.close());
  }

  private <T extends AutoCloseable> T closing(T c) {
    return toClose.add(c);
  }

  /** A node's answer: 200 and not the degradation ladder's static reply. */
  private static void assertRealAnswer(HttpResponse<String> answer) {
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    assertThat(answer.headers().firstValue("x-sluice-degraded")).as("a node's answer, not the static reply").isEmpty();
  }

  private SimNode sim(String id) {
    return TestCluster.await(SimNode.start(simVertx, SimOptions.defaults().withId(id).withGpu(GpuProfile.A10)
        .withModels(Configs.MODEL).withTimeScale(0)));
  }

  @Test
  void replicasFollowEtcdThroughTheLossOfOneAndThenTwoMembersAndRestartOnTheirPersistedConfig() throws Exception {
    EtcdCluster etcd = closing(EtcdCluster.start(3));
    SimNode a = sim("node-a");
    SimNode b = sim("node-b");
    String url = etcd.url("/sluice");
    EtcdConfigStore store = closing(EtcdConfigStore.open(url));
    store.push(Configs.text(Configs.of("none", null, a)), null);
    Replica r1 = closing(Replica.start("r1", url, dir.resolve("r1")));
    Replica r2 = closing(Replica.start("r2", url, dir.resolve("r2")));
    List<Replica> replicas = List.of(r1, r2);
    for (Replica r : replicas) {
      await().atMost(PROPAGATION_WAIT).until(() -> r.gateway.registry().get("node-a").health().state()
          == NodeState.READY); // before that a replica that just started answers 503 (it is starting)
      assertRealAnswer(r.chat(Configs.MODEL));
    }

    // a new node and a routing policy change reach both replicas
    store.update(c -> Configs.addNode(c, b));
    store.update(c -> Configs.routing(c, "round-robin", 30));
    for (Replica r : replicas) {
      await().atMost(PROPAGATION_WAIT).until(() -> r.config().node("node-b").isPresent()
          && r.config().routing().policy().equals("round-robin"));
      await().atMost(PROPAGATION_WAIT).until(() -> r.gateway.registry().get("node-b") != null
          && r.gateway.registry().get("node-b").health().state() == NodeState.READY);
    }

    List<Double> threeMembers = measure(store, replicas);

    etcd.kill(0); // the member both replicas use first
    List<Double> twoMembers = measure(store, replicas);

    etcd.kill(1); // quorum lost: nothing can change, replicas serve what they have
    for (Replica r : replicas) {
      await().atMost(PROPAGATION_WAIT).until(() -> !r.source.up());
      assertThat(r.metrics.scrape()).contains("sluice_config_source_up{source=\"etcd\"} 0.0");
      for (int i = 0; i < 5; i++) assertRealAnswer(r.chat(Configs.MODEL));
    }
    String lastPolicy = r1.config().routing().policy();

    // a replica restarted while etcd is down serves its persisted config, node-b included
    r2.close();
    toClose.remove(r2);
    Replica r2again = closing(Replica.start("r2", url, dir.resolve("r2")));
    assertThat(r2again.config().node("node-b")).isPresent();
    assertThat(r2again.config().routing().policy()).isEqualTo(lastPolicy);
    assertThat(r2again.source.up()).isFalse();
    await().atMost(PROPAGATION_WAIT).until(() -> r2again.gateway.registry().all().stream()
        .allMatch(e -> e.health().state() == NodeState.READY));
    for (int i = 0; i < 5; i++) assertRealAnswer(r2again.chat(Configs.MODEL));

    // members back: both replicas reconnect and apply the next change
    long restarted = System.nanoTime();
    etcd.restart(0);
    etcd.restart(1);
    List<Replica> now = List.of(r1, r2again);
    for (Replica r : now) await().atMost(PROPAGATION_WAIT).until(() -> r.source.up());
    double reconnectMillis = (System.nanoTime() - restarted) / 1e6;
    List<Double> afterReturn = measure(store, now, 1);
    for (Replica r : now) assertThat(r.metrics.scrape()).contains("sluice_config_source_up{source=\"etcd\"} 1.0");

    String report = String.format(Locale.ROOT, """
        etcd config propagation, %d changes per phase:
        update sent (read + compare-and-swap txn) -> both replicas swapped it in (ConfigHolder.onSwap)
        3 members:            %s
        2 members (1 killed): %s
        members restarted -> both replicas reconnected: %.0f ms (etcd start-up and leader election included)
        first change after reconnect: %.1f ms
        """, CHANGES, summary(threeMembers), summary(twoMembers), reconnectMillis, afterReturn.get(0));
    System.out.print(report);
    Path out = Path.of("target", "etcd-propagation.txt");
    Files.createDirectories(out.getParent());
    Files.writeString(out, report, StandardCharsets.UTF_8);
    assertThat(threeMembers).hasSize(CHANGES);
    assertThat(twoMembers).hasSize(CHANGES);
  }

  private List<Double> measure(EtcdConfigStore store, List<Replica> replicas) throws Exception {
    return measure(store, replicas, CHANGES);
  }

  /**
   * Makes {@code n} changes (the routing policy alternates; ttftBudget marks each one) and returns, per change, the
   * milliseconds from sending the put until both replicas had swapped it in.
   */
  private List<Double> measure(EtcdConfigStore store, List<Replica> replicas, int n) throws Exception {
    List<Double> millis = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      long m = ++marker;
      String policy = m % 2 == 0 ? "least-request" : "round-robin";
      long sent = System.nanoTime();
      store.update(c -> Configs.routing(c, policy, m));
      for (Replica r : replicas) await().atMost(PROPAGATION_WAIT).until(() -> r.swappedAt(m) > 0);
      long swapped = replicas.stream().mapToLong(r -> r.swappedAt(m)).max().orElseThrow();
      millis.add((swapped - sent) / 1e6);
      for (Replica r : replicas) assertThat(r.config().routing().policy()).isEqualTo(policy);
    }
    return millis;
  }

  private static String summary(List<Double> millis) {
    List<Double> sorted = new ArrayList<>(millis);
    sorted.sort(null);
    return String.format(Locale.ROOT, "p50 %.1f ms, p95 %.1f ms, max %.1f ms", percentile(sorted, 50),
        percentile(sorted, 95), sorted.get(sorted.size() - 1));
  }

  /** Nearest-rank percentile of sorted values. */
  private static double percentile(List<Double> sorted, int p) {
    int rank = (int) Math.ceil(p / 100.0 * sorted.size());
    return sorted.get(Math.max(0, rank - 1));
  }
}
