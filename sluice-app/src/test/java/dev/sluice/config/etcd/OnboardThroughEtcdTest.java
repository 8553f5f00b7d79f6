package dev.sluice.config.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.cli.Main;
import dev.sluice.health.NodeState;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.testkit.EtcdCluster;
import dev.sluice.testkit.TestCluster;
import io.vertx.core.Vertx;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sluice onboard --etcd … --gateway …}: the node goes into the config every replica watches, and both replicas
 * take it, warm it up and route to it; the command follows it to READY on the replica it was given.
 */
class OnboardThroughEtcdTest {
  @TempDir Path dir;

  @Test
  void onboardThroughEtcdAddsTheNodeToEveryReplicaAndEndsReady() throws Exception {
    Vertx simVertx = Vertx.vertx();
    try (EtcdCluster etcd = EtcdCluster.start(1)) {
      SimNode a = TestCluster.await(SimNode.start(simVertx, SimOptions.defaults().withId("node-a")
          .withGpu(GpuProfile.A10).withModels(Configs.MODEL).withTimeScale(0)));
      SimNode fresh = TestCluster.await(SimNode.start(simVertx, SimOptions.defaults().withId("fresh")
          .withGpu(GpuProfile.H100).withModels(Configs.MODEL).withTimeScale(0)));
      String url = etcd.url("/sluice");
      try (EtcdConfigStore store = EtcdConfigStore.open(url)) {
        store.push(Configs.text(Configs.of("none", null, a)), null);
      }
      try (Replica r1 = Replica.start("r1", url, dir.resolve("r1"));
          Replica r2 = Replica.start("r2", url, dir.resolve("r2"))) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.commandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
            .execute("onboard", "--node-url", fresh.baseUrl(), "--gpu-type", "H100", "--model", Configs.MODEL,
                "--id", "h100-new", "--etcd", url, "--gateway", r1.url(""), "--timeout", "60s");

        assertThat(code).as("stdout:\n%s\nstderr:\n%s", out, err).isZero();
        assertThat(out.toString()).contains("[3/5] register h100-new in " + url + " … ok (provider qwen; written to "
            + "etcd at revision").contains("[5/5] ready … ok (the router shows h100-new READY");
        assertThat(r1.gateway.registry().get("h100-new").health().state()).isEqualTo(NodeState.READY);
        await().atMost(Duration.ofSeconds(30)).until(() -> r2.gateway.registry().get("h100-new") != null
            && r2.gateway.registry().get("h100-new").health().state() == NodeState.READY);

        StringWriter again = new StringWriter();
        int second = Main.commandLine().setOut(new PrintWriter(again, true)).setErr(new PrintWriter(again, true))
            .execute("onboard", "--node-url", fresh.baseUrl(), "--gpu-type", "H100", "--model", Configs.MODEL,
                "--id", "h100-other", "--etcd", url, "--gateway", r2.url(""));
        assertThat(second).as(again.toString()).isEqualTo(1);
        assertThat(again.toString()).contains("is already registered").contains("h100-new");
      }
    } finally {
      TestCluster.await(simVertx.close());
    }
  }
}
