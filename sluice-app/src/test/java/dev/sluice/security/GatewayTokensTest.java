package dev.sluice.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.models.ModelRetrieveParams;
import dev.sluice.auth.ApiKeys;
import dev.sluice.auth.AuthMode;
import dev.sluice.auth.Authenticator;
import dev.sluice.auth.KeyFile;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.auth.Principal;
import dev.sluice.cli.Main;
import dev.sluice.config.AdminSettings;
import dev.sluice.config.AuthSettings;
import dev.sluice.flow.Band;
import dev.sluice.limit.Limits;
import dev.sluice.sim.GpuProfile;
import dev.sluice.support.Clock;
import dev.sluice.support.Json;
import dev.sluice.testkit.SecretLedger;
import dev.sluice.testkit.TestCluster;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Gateway tokens (API keys) through the real server: the RELIABILITY.md "auth" rows for keys (missing, wrong,
 * revoked, expired, not allowed), both API formats, the official OpenAI client, and revocation by the admin API and by
 * the CLI.
 */
@Order(1)
class GatewayTokensTest {
  static final String CHAT = "{\"model\":\"qwen3:32b\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\","
      + "\"content\":\"hi\"}]}";
  static final String OLLAMA_CHAT = "{\"model\":\"qwen3:32b\",\"stream\":false,\"messages\":[{\"role\":\"user\","
      + "\"content\":\"hi\"}],\"options\":{\"num_predict\":5}}";
  static final String ADMIN_TOKEN = SecretLedger.secret("sluice-admin-CanaryAdminToken0123456789abcdefABCDEF");

  @TempDir Path dir;

  /** A keys file with one key per tenant; returns the secrets. */
  static KeyGenerator.Created key(Path file, String tenant, Set<String> models, Limits limits, Instant expires)
      throws Exception {
    KeyGenerator.Created k = KeyGenerator.create(tenant, models, limits, expires, null, Instant.now());
    KeyFile.write(file, KeyFile.read(file).with(k.key()));
    SecretLedger.secret(k.secret());
    return k;
  }

  static TestCluster cluster(Path keys) {
    return new TestCluster().auth(new AuthSettings(AuthMode.TOKENS, keys, null))
        .admin(AdminSettings.defaults().withToken(KeyGenerator.sha256Hex(ADMIN_TOKEN)))
        .node("a", GpuProfile.A10, "qwen3:32b", 0);
  }

  @Test
  void aRequestWithoutATokenGets401GatewayTokenMissingInEachApisFormatAndNoNodeIsCalled() throws Exception {
    Path keys = dir.resolve("keys.json");
    key(keys, "acme", Set.of(), null, null);
    try (TestCluster c = cluster(keys).start()) {
      HttpResponse<String> openai = Calls.post(c.url("/v1/chat/completions"), CHAT);
      assertThat(openai.statusCode()).isEqualTo(401);
      assertThat(openai.headers().firstValue("www-authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
      JsonNode err = Json.MAPPER.readTree(openai.body()).path("error");
      assertThat(err.path("message").asText()).startsWith("unauthorized: gateway token missing");
      assertThat(err.path("code").asText()).isEqualTo("invalid_api_key");

      HttpResponse<String> ollama = Calls.post(c.url("/api/chat"), OLLAMA_CHAT);
      assertThat(ollama.statusCode()).isEqualTo(401);
      assertThat(Json.MAPPER.readTree(ollama.body()).path("error").asText()).startsWith("unauthorized: gateway token missing");

      assertThat(Calls.get(c.url("/v1/models")).statusCode()).isEqualTo(401);
      assertThat(Calls.get(c.url("/api/tags")).statusCode()).isEqualTo(401);
      assertThat(Calls.get(c.url("/api/version")).statusCode()).as("Ollama's heartbeat stays open").isEqualTo(200);
      assertThat(c.sim("a").stats().count("/v1/chat/completions") + c.sim("a").stats().count("/api/chat")).isZero();
    }
  }

  @Test
  void aTokenLimitedToOneModelRetrievesOnlyThatModelAndEmbedsOnlyWithIt() throws Exception {
    Path keys = dir.resolve("keys.json");
    KeyGenerator.Created small = key(keys, "acme", Set.of("qwen2:7b"), null, null);
    try (TestCluster c = cluster(keys).node("b", GpuProfile.A10, "qwen2:7b", 0).start()) {
      OpenAIClient openai = OpenAIOkHttpClient.builder().baseUrl(c.url("/v1")).apiKey(small.secret())
          .maxRetries(0).build();
      assertThat(openai.models().retrieve(ModelRetrieveParams.builder().model("qwen2:7b").build()).id())
          .isEqualTo("qwen2:7b");
      // as the list hides it, retrieve does not find it
      assertThatThrownBy(() -> openai.models().retrieve(ModelRetrieveParams.builder().model("qwen3:32b").build()))
          .isInstanceOf(NotFoundException.class).hasMessageContaining("available to this gateway token: qwen2:7b");
      assertThat(Calls.get(c.url("/v1/models/qwen2:7b")).statusCode()).isEqualTo(401);

      String legacy = "{\"model\":\"qwen3:32b\",\"prompt\":\"hi\"}";
      HttpResponse<String> refused = Calls.post(c.url("/api/embeddings"), legacy, Calls.bearer(small.secret()));
      assertThat(refused.statusCode()).isEqualTo(403);
      assertThat(Json.MAPPER.readTree(refused.body()).path("error").asText()).contains("allowed: qwen2:7b");
      assertThat(Calls.post(c.url("/api/embeddings"), legacy.replace("qwen3:32b", "qwen2:7b"),
          Calls.bearer(small.secret())).statusCode()).isEqualTo(200);
      assertThat(c.sim("a").stats().count("/api/embeddings")).isZero();
      openai.close();
    }
  }

  @Test
  void aWrongTokenGets401InvalidGatewayTokenAndTheTokenIsNotEchoed() throws Exception {
    Path keys = dir.resolve("keys.json");
    KeyGenerator.Created good = key(keys, "acme", Set.of(), null, null);
    String wrong = SecretLedger.secret(good.secret().substring(0, good.secret().length() - 4) + "zzzz");
    String unknownShape = SecretLedger.secret("not-a-sluice-token-canary-1234567890");
    try (TestCluster c = cluster(keys).start()) {
      for (String t : new String[] {wrong, unknownShape}) {
        HttpResponse<String> r = Calls.post(c.url("/v1/chat/completions"), CHAT, Calls.bearer(t));
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(Json.MAPPER.readTree(r.body()).path("error").path("message").asText())
            .startsWith("invalid gateway token");
        assertThat(r.body()).doesNotContain(t);
      }
      HttpResponse<String> viaHeader = Calls.post(c.url("/v1/chat/completions"), CHAT, "x-api-key", wrong);
      assertThat(viaHeader.statusCode()).isEqualTo(401);
      assertThat(c.sim("a").stats().count("/v1/chat/completions")).isZero();
    }
  }

  @Test
  void aValidTokenWorksThroughAuthorizationThroughXApiKeyForOllamaClientsAndForTheOfficialOpenAiClient()
      throws Exception {
    Path keys = dir.resolve("keys.json");
    KeyGenerator.Created k = key(keys, "acme", Set.of(), null, null);
    try (TestCluster c = cluster(keys).start()) {
      assertThat(Calls.post(c.url("/v1/chat/completions"), CHAT, Calls.bearer(k.secret())).statusCode()).isEqualTo(200);
      assertThat(Calls.post(c.url("/v1/chat/completions"), CHAT, "x-api-key", k.secret()).statusCode()).isEqualTo(200);
      HttpResponse<String> ollama = Calls.post(c.url("/api/chat"), OLLAMA_CHAT, Calls.bearer(k.secret()));
      assertThat(ollama.statusCode()).isEqualTo(200);
      assertThat(Json.MAPPER.readTree(ollama.body()).path("done").asBoolean()).isTrue();

      OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(c.url("/v1")).apiKey(k.secret()).build();
      ChatCompletion done = client.chat().completions().create(ChatCompletionCreateParams.builder()
          .model("qwen3:32b").addUserMessage("hello").maxCompletionTokens(5).build());
      assertThat(done.choices()).hasSize(1);
      OpenAIClient wrong = OpenAIOkHttpClient.builder().baseUrl(c.url("/v1"))
          .apiKey(SecretLedger.secret("sk-sluice-WrongKeyForTheOpenAiClient0123456789abc")).maxRetries(0).build();
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> wrong.chat().completions().create(
              ChatCompletionCreateParams.builder().model("qwen3:32b").addUserMessage("hello").build()))
          .isInstanceOf(UnauthorizedException.class).hasMessageContaining("invalid gateway token");
    }
  }

  @Test
  void aTokenLimitedToOneModelGets403ForAnotherAndSeesOnlyItsModels() throws Exception {
    Path keys = dir.resolve("keys.json");
    KeyGenerator.Created small = key(keys, "acme", Set.of("qwen2:7b"), null, null);
    try (TestCluster c = cluster(keys).node("b", GpuProfile.A10, "qwen2:7b", 0).start()) {
      HttpResponse<String> r = Calls.post(c.url("/v1/chat/completions"), CHAT, Calls.bearer(small.secret()));
      assertThat(r.statusCode()).isEqualTo(403);
      JsonNode err = Json.MAPPER.readTree(r.body()).path("error");
      assertThat(err.path("code").asText()).isEqualTo("model_not_allowed");
      assertThat(err.path("message").asText()).contains("qwen3:32b").contains("allowed: qwen2:7b");
      assertThat(Calls.post(c.url("/api/chat"), OLLAMA_CHAT, Calls.bearer(small.secret())).statusCode()).isEqualTo(403);
      assertThat(Calls.post(c.url("/v1/chat/completions"), CHAT.replace("qwen3:32b", "qwen2:7b"),
          Calls.bearer(small.secret())).statusCode()).isEqualTo(200);
      JsonNode models = Json.MAPPER.readTree(Calls.get(c.url("/v1/models"), Calls.bearer(small.secret())).body());
      assertThat(models.path("data")).hasSize(1);
      assertThat(models.path("data").get(0).path("id").asText()).isEqualTo("qwen2:7b");
      assertThat(c.sim("a").stats().count("/v1/chat/completions") + c.sim("a").stats().count("/api/chat")).isZero();
    }
  }

  @Test
  void aTokensOwnLimitsAreWhatTheRateLimiterApplies() throws Exception {
    Path keys = dir.resolve("keys.json");
    KeyGenerator.Created two = key(keys, "small", Set.of(), new Limits(2, 0, 0), null);
    KeyGenerator.Created free = key(keys, "big", Set.of(), null, null);
    try (TestCluster c = cluster(keys).start()) {
      assertThat(Calls.post(c.url("/v1/chat/completions"), CHAT, Calls.bearer(two.secret())).statusCode()).isEqualTo(200);
      assertThat(Calls.post(c.url("/v1/chat/completions"), CHAT, Calls.bearer(two.secret())).statusCode()).isEqualTo(200);
      HttpResponse<String> third = Calls.post(c.url("/v1/chat/completions"), CHAT, Calls.bearer(two.secret()));
      assertThat(third.statusCode()).isEqualTo(429);
      assertThat(third.body()).contains("tenant small").contains("limit 2 requests/min");
      for (int i = 0; i < 3; i++) {
        assertThat(Calls.post(c.url("/v1/chat/completions"), CHAT, Calls.bearer(free.secret())).statusCode())
            .as("a token without limits of its own is not limited").isEqualTo(200);
      }
    }
  }

  @Test
  void anExpiredTokenGets401SayingItExpired() throws Exception {
    Path keys = dir.resolve("keys.json");
    KeyGenerator.Created old = key(keys, "acme", Set.of(), null, Instant.now().minusSeconds(60));
    try (TestCluster c = cluster(keys).start()) {
      HttpResponse<String> r = Calls.post(c.url("/v1/chat/completions"), CHAT, Calls.bearer(old.secret()));
      assertThat(r.statusCode()).isEqualTo(401);
      assertThat(r.body()).contains("invalid gateway token (expired");
    }
  }

  @Test
  void aTokenRevokedThroughTheAdminApiIsRefusedAtOnceAndTheKeysFileHoldsOnlyHashes() throws Exception {
    Path keys = dir.resolve("keys.json");
    try (TestCluster c = cluster(keys).start()) {
      HttpResponse<String> created = Calls.post(c.url("/admin/keys"),
          "{\"tenant\":\"acme\",\"models\":[\"qwen3:32b\"],\"note\":\"ci\"}", Calls.bearer(ADMIN_TOKEN));
      assertThat(created.statusCode()).isEqualTo(201);
      JsonNode k = Json.MAPPER.readTree(created.body());
      String secret = SecretLedger.secret(k.path("key").asText());
      assertThat(secret).startsWith("sk-sluice-");
      assertThat(Calls.post(c.url("/v1/chat/completions"), CHAT, Calls.bearer(secret)).statusCode()).isEqualTo(200);
      String file = Files.readString(keys);
      assertThat(file).contains(k.path("id").asText()).contains(KeyGenerator.sha256Hex(secret)).doesNotContain(secret);

      JsonNode listed = Json.MAPPER.readTree(Calls.get(c.url("/admin/keys"), Calls.bearer(ADMIN_TOKEN)).body());
      assertThat(listed.path("keys").get(0).path("tenant").asText()).isEqualTo("acme");
      assertThat(listed.toString()).doesNotContain(secret).doesNotContain(KeyGenerator.sha256Hex(secret));

      assertThat(Calls.send("DELETE", c.url("/admin/keys/" + k.path("id").asText()), null, Calls.bearer(ADMIN_TOKEN))
          .statusCode()).isEqualTo(200);
      HttpResponse<String> after = Calls.post(c.url("/v1/chat/completions"), CHAT, Calls.bearer(secret));
      assertThat(after.statusCode()).isEqualTo(401);
      assertThat(after.body()).contains("invalid gateway token (revoked)");
    }
  }

  @Test
  void aTokenCreatedWithAWeightAndHighestBandIsListedWithThemAndItsCallerCarriesThem() throws Exception {
    Path keys = dir.resolve("keys.json");
    try (TestCluster c = cluster(keys).start()) {
      HttpResponse<String> created = Calls.post(c.url("/admin/keys"),
          "{\"tenant\":\"reports\",\"weight\":4,\"maxPriority\":\"batch\"}", Calls.bearer(ADMIN_TOKEN));
      assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
      JsonNode k = Json.MAPPER.readTree(created.body());
      assertThat(k.path("weight").asInt()).isEqualTo(4);
      assertThat(k.path("maxPriority").asText()).isEqualTo("batch");
      String secret = SecretLedger.secret(k.path("key").asText());
      HttpResponse<String> plain = Calls.post(c.url("/admin/keys"), "{\"tenant\":\"acme\"}",
          Calls.bearer(ADMIN_TOKEN));
      assertThat(plain.statusCode()).isEqualTo(201);
      SecretLedger.secret(Json.MAPPER.readTree(plain.body()).path("key").asText());
      assertThat(Calls.post(c.url("/v1/chat/completions"), CHAT, Calls.bearer(secret)).statusCode()).isEqualTo(200);

      JsonNode listed = Json.MAPPER.readTree(Calls.get(c.url("/admin/keys"), Calls.bearer(ADMIN_TOKEN)).body())
          .path("keys");
      assertThat(listed.get(0).path("weight").asInt()).isEqualTo(4);
      assertThat(listed.get(0).path("maxPriority").asText()).isEqualTo("batch");
      assertThat(listed.get(1).has("weight")).as("a key without a weight lists none").isFalse();
      assertThat(listed.get(1).has("maxPriority")).isFalse();

      // what the gateway stored is what authenticates the next caller (and the next replica reading the file)
      Principal who = TestCluster.await(new Authenticator(AuthMode.TOKENS, () -> {
        try {
          return KeyFile.read(keys);
        } catch (java.io.IOException e) {
          throw new IllegalStateException(e);
        }
      }, null, Clock.SYSTEM).authenticate("Bearer " + secret, null));
      assertThat(who.tenant()).isEqualTo("reports");
      assertThat(who.weight()).isEqualTo(4);
      assertThat(who.maxBand()).isEqualTo(Band.BATCH);
    }
  }

  @Test
  void aTokenRevokedWithTheCliInTheKeysFileIsRefusedWithinSeconds() throws Exception {
    Path keys = dir.resolve("keys.json");
    KeyGenerator.Created k = key(keys, "acme", Set.of(), null, null);
    try (TestCluster c = cluster(keys).start()) {
      assertThat(Calls.post(c.url("/v1/chat/completions"), CHAT, Calls.bearer(k.secret())).statusCode()).isEqualTo(200);
      int exit = Main.commandLine().execute("keys", "revoke", "--keys-file", keys.toString(), k.key().id());
      assertThat(exit).isZero();
      long revokedAt = System.nanoTime();
      await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).until(() ->
          Calls.post(c.url("/v1/chat/completions"), CHAT, Calls.bearer(k.secret())).statusCode() == 401);
      long millis = (System.nanoTime() - revokedAt) / 1_000_000;
      System.out.println("revocation by CLI effective after " + millis + " ms");
      assertThat(KeyFile.read(keys).find(k.secret(), System.currentTimeMillis())).isInstanceOf(ApiKeys.Revoked.class);
    }
  }

  @Test
  void theCliCreatesATokenThatTheRunningGatewayAcceptsWithinSeconds() throws Exception {
    Path keys = dir.resolve("keys.json");
    // polled every 50 ms until the gateway knows it: without the backoff after failed credentials, which would make
    // the address wait after the fifth 401 (CredentialThrottleTest)
    try (TestCluster c = cluster(keys).server(dev.sluice.config.ServerSettings.defaults()
        .withFailedCredentials(dev.sluice.auth.FailureBackoff.Settings.off())).start()) {
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      java.io.PrintStream old = System.out;
      int exit;
      try {
        System.setOut(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8));
        exit = Main.commandLine().execute("keys", "create", "--keys-file", keys.toString(), "--tenant", "cli",
            "--rpm", "100", "--expires", "1d");
      } finally {
        System.setOut(old);
      }
      assertThat(exit).isZero();
      String secret = SecretLedger.secret(out.toString(java.nio.charset.StandardCharsets.UTF_8).trim());
      assertThat(secret).startsWith("sk-sluice-");
      await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).until(() ->
          Calls.post(c.url("/v1/chat/completions"), CHAT, Calls.bearer(secret)).statusCode() == 200);
    }
  }
}
