package dev.sluice.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.auth.AuthMode;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.config.AdminSettings;
import dev.sluice.config.AuthSettings;
import dev.sluice.config.ModelSpec;
import dev.sluice.degrade.DegradationSettings;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.support.Json;
import dev.sluice.testkit.TestCluster;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A gateway token scoped to some models is never answered by another one: not by the context guard's overflow model,
 * not by the degradation ladder's downgrade model, and an unknown model's 404 names only the models it may use.
 * Through the real server, with a token allowed qwen3:32b only and qwen2:7b as both the overflow and the downgrade
 * model.
 */
@Order(6)
class ScopeFallbackTest {
  static final String ADMIN_TOKEN = GatewayTokensTest.ADMIN_TOKEN;
  private static final String BIG = "qwen3:32b";
  private static final String SMALL = "qwen2:7b";
  /** About 1,500 tokens: more than the big model's 1,000-token window in this test. */
  private static final String LONG = "The gateway checks every prompt against the model's context window. ".repeat(130);

  @TempDir Path dir;

  private static String chat(String content) {
    return "{\"model\":\"" + BIG + "\",\"max_tokens\":20,\"messages\":[{\"role\":\"user\",\"content\":\"" + content
        + "\"}]}";
  }

  private static TestCluster cluster(Path keys) {
    return new TestCluster().auth(new AuthSettings(AuthMode.TOKENS, keys, null))
        .admin(AdminSettings.defaults().withToken(KeyGenerator.sha256Hex(ADMIN_TOKEN)))
        .model(new ModelSpec(BIG, BIG, 1000, 200, null, SMALL))
        .model(new ModelSpec(SMALL, SMALL, 131072, 4096, null))
        .degradation(DegradationSettings.defaults().withDwell(Duration.ofSeconds(20))
            .withDowngrade(Map.of(BIG, SMALL)))
        .node("big", GpuProfile.A100, BIG, 0).node("small", GpuProfile.A10, SMALL, 0);
  }

  private static long smallCalls(TestCluster c) {
    var s = c.sim("small").stats();
    return s.count("/v1/chat/completions") + s.count("/v1/embeddings") + s.count("/api/embed");
  }

  @Test
  void aPaddedPromptFromAScopedTokenIsRejectedAsTooLongInsteadOfGoingToTheOverflowModel() throws Exception {
    Path keys = dir.resolve("keys.json");
    var scoped = GatewayTokensTest.key(keys, "acme", Set.of(BIG), null, null);
    var everyModel = GatewayTokensTest.key(keys, "beta", Set.of(), null, null);
    try (TestCluster c = cluster(keys).start()) {
      HttpResponse<String> r = Calls.post(c.url("/v1/chat/completions"), chat(LONG), Calls.bearer(scoped.secret()));
      assertThat(r.statusCode()).isEqualTo(400);
      JsonNode err = Json.MAPPER.readTree(r.body()).path("error");
      assertThat(err.path("code").asText()).isEqualTo("context_length_exceeded");
      assertThat(err.path("message").asText()).startsWith("context length exceeded: prompt ")
          .contains("> contextWindow 1,000 for qwen3:32b")
          .contains("the overflow model for longer prompts is not allowed for this gateway token")
          .doesNotContain(SMALL);
      assertThat(r.headers().firstValue("x-sluice-overflow-model")).isEmpty();
      assertThat(smallCalls(c)).as("no request reached the overflow model's node").isZero();

      HttpResponse<String> allowed = Calls.post(c.url("/v1/chat/completions"), chat(LONG),
          Calls.bearer(everyModel.secret()));
      assertThat(allowed.statusCode()).as("a token for every model still overflows").isEqualTo(200);
      assertThat(allowed.headers().firstValue("x-sluice-overflow-model")).hasValue(SMALL);
      assertThat(smallCalls(c)).isEqualTo(1);
    }
  }

  @Test
  void atTheForcedDowngradeLevelAScopedTokenGetsTheStaticReplyOrTheErrorAndOthersStillGetTheSmallerModel()
      throws Exception {
    Path keys = dir.resolve("keys.json");
    var scoped = GatewayTokensTest.key(keys, "acme", Set.of(BIG), null, null);
    var everyModel = GatewayTokensTest.key(keys, "beta", Set.of(), null, null);
    try (TestCluster c = cluster(keys).start()) {
      // the big model only (a cluster-wide level would put the smaller model at DOWNGRADE as well)
      assertThat(Calls.post(c.url("/admin/degradation"), "{\"level\":\"downgrade\",\"model\":\"" + BIG + "\"}",
          Calls.bearer(ADMIN_TOKEN)).statusCode()).isEqualTo(200);

      HttpResponse<String> r = Calls.post(c.url("/v1/chat/completions"), chat("hello"), Calls.bearer(scoped.secret()));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-sluice-degraded")).hasValue("static");
      assertThat(r.headers().firstValue("x-model-downgraded")).isEmpty();
      assertThat(Json.MAPPER.readTree(r.body()).at("/choices/0/message/content").asText())
          .isEqualTo(DegradationSettings.defaults().staticMessage());

      HttpResponse<String> embed = Calls.post(c.url("/v1/embeddings"),
          "{\"model\":\"" + BIG + "\",\"input\":\"hello\"}", Calls.bearer(scoped.secret()));
      assertThat(embed.statusCode()).as("no static reply for embeddings: the error").isEqualTo(503);
      assertThat(Json.MAPPER.readTree(embed.body()).at("/error/message").asText())
          .contains("is degraded (level downgrade)").contains("not allowed for this gateway token")
          .doesNotContain(SMALL);
      assertThat(smallCalls(c)).as("the scoped token never reached the downgrade model's node").isZero();

      HttpResponse<String> other = Calls.post(c.url("/v1/chat/completions"), chat("hello"),
          Calls.bearer(everyModel.secret()));
      assertThat(other.statusCode()).isEqualTo(200);
      assertThat(other.headers().firstValue("x-model-downgraded")).hasValue(SMALL);
      assertThat(Json.MAPPER.readTree(other.body()).path("model").asText()).isEqualTo(SMALL);
    }
  }

  @Test
  void whenTheModelsNodesFailAScopedTokenSkipsTheDowngradeTierOfTheLadder() throws Exception {
    Path keys = dir.resolve("keys.json");
    var scoped = GatewayTokensTest.key(keys, "acme", Set.of(BIG), null, null);
    var everyModel = GatewayTokensTest.key(keys, "beta", Set.of(), null, null);
    try (TestCluster c = cluster(keys).start()) {
      c.sim("big").injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS));
      HttpResponse<String> r = Calls.post(c.url("/v1/chat/completions"), chat("question 1"),
          Calls.bearer(scoped.secret()));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-sluice-degraded")).hasValue("static");
      assertThat(r.headers().firstValue("x-model-downgraded")).isEmpty();
      assertThat(smallCalls(c)).isZero();

      HttpResponse<String> other = Calls.post(c.url("/v1/chat/completions"), chat("question 2"),
          Calls.bearer(everyModel.secret()));
      assertThat(other.statusCode()).isEqualTo(200);
      assertThat(other.headers().firstValue("x-model-downgraded")).hasValue(SMALL);
    }
  }

  @Test
  void theUnknownModelAnswerListsOnlyTheModelsTheTokenMayUse() throws Exception {
    Path keys = dir.resolve("keys.json");
    var scoped = GatewayTokensTest.key(keys, "acme", Set.of(BIG), null, null);
    var everyModel = GatewayTokensTest.key(keys, "beta", Set.of(), null, null);
    try (TestCluster c = cluster(keys).start()) {
      String unknown = "{\"model\":\"llama9:1t\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
      HttpResponse<String> r = Calls.post(c.url("/v1/chat/completions"), unknown, Calls.bearer(scoped.secret()));
      assertThat(r.statusCode()).isEqualTo(404);
      String message = Json.MAPPER.readTree(r.body()).at("/error/message").asText();
      assertThat(message).contains("\"llama9:1t\" is not served by this gateway")
          .contains("available to this gateway token: qwen3:32b)").doesNotContain(SMALL);

      HttpResponse<String> all = Calls.post(c.url("/v1/chat/completions"), unknown, Calls.bearer(everyModel.secret()));
      assertThat(Json.MAPPER.readTree(all.body()).at("/error/message").asText()).contains(BIG).contains(SMALL);
    }
  }
}
