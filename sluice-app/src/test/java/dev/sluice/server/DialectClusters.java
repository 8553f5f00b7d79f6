package dev.sluice.server;

import dev.sluice.api.NodeDialect;
import dev.sluice.auth.AuthMode;
import dev.sluice.auth.KeyFile;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.config.AuthSettings;
import dev.sluice.limit.Limits;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimOptions;
import dev.sluice.testkit.TestCluster;
import java.nio.file.Path;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;

/**
 * The gateways the dialect tests run against, one per {@link Mode}: simulated nodes of qwen3:32b ("a", A100) and
 * qwen2:7b ("s", A10), gateway tokens required, and three tokens: every model, qwen2:7b only, one request a minute.
 */
final class DialectClusters implements AutoCloseable {
  static final String MODEL = "qwen3:32b";

  /** Whether the nodes speak the client's dialect. */
  enum Mode {
    PASSED_THROUGH, TRANSLATED;

    /** A node of this mode: speaking every dialect, or only Ollama's and OpenAI's (chat completions). */
    SimOptions sim(String id, GpuProfile gpu, String model) {
      SimOptions o = SimOptions.defaults().withId(id).withGpu(gpu).withModels(model).withTimeScale(0);
      return this == PASSED_THROUGH ? o : o.withDialects("ollama", "openai");
    }

    /** The node's dialects as the config lists them: every one when passed through; discovery left alone else. */
    TestCluster declare(TestCluster c, String id) {
      return this == PASSED_THROUGH
          ? c.dialects(id, NodeDialect.OLLAMA, NodeDialect.OPENAI, NodeDialect.ANTHROPIC, NodeDialect.RESPONSES) : c;
    }
  }

  private final Map<Mode, TestCluster> clusters = new EnumMap<>(Mode.class);
  final String allKey;
  final String smallOnlyKey;
  final String oneRequestKey;

  DialectClusters(Path dir) throws Exception {
    Path keys = dir.resolve("keys.json");
    KeyGenerator.Created all = KeyGenerator.create("acme", Set.of(), null, null, null, Instant.now());
    KeyGenerator.Created small = KeyGenerator.create("acme", Set.of("qwen2:7b"), null, null, null, Instant.now());
    KeyGenerator.Created one = KeyGenerator.create("slow", Set.of(), new Limits(1, 0, 0), null, null, Instant.now());
    KeyFile.write(keys, KeyFile.read(keys).with(all.key()).with(small.key()).with(one.key()));
    allKey = all.secret();
    smallOnlyKey = small.secret();
    oneRequestKey = one.secret();
    for (Mode mode : Mode.values()) {
      TestCluster c = new TestCluster().auth(new AuthSettings(AuthMode.TOKENS, keys, null))
          .node(mode.sim("a", GpuProfile.A100, MODEL)).node(mode.sim("s", GpuProfile.A10, "qwen2:7b"));
      clusters.put(mode, mode.declare(mode.declare(c, "a"), "s").start());
    }
  }

  TestCluster get(Mode mode) {
    return clusters.get(mode);
  }

  @Override
  public void close() {
    clusters.values().forEach(TestCluster::close);
  }
}
