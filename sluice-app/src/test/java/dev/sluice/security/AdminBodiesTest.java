package dev.sluice.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.auth.AuthMode;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.config.AdminSettings;
import dev.sluice.config.AuthSettings;
import dev.sluice.health.NodeState;
import dev.sluice.sim.GpuProfile;
import dev.sluice.support.Json;
import dev.sluice.testkit.TestCluster;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Admin request bodies are read strictly: an unknown field, a wrong type, a duplicate key or anything but a JSON
 * object is a 400 naming the field, and nothing is created or changed. A body that is not understood must not fail
 * open (a misspelled "modles" or a "models" string creating a token for every model).
 */
class AdminBodiesTest {
  static final String ADMIN_TOKEN = GatewayTokensTest.ADMIN_TOKEN;
  @TempDir Path dir;

  private TestCluster cluster() {
    return new TestCluster().auth(new AuthSettings(AuthMode.TOKENS, dir.resolve("keys.json"), null))
        .admin(AdminSettings.defaults().withToken(KeyGenerator.sha256Hex(ADMIN_TOKEN)))
        .node("a", GpuProfile.A10, "qwen3:32b", 0).node("b", GpuProfile.A10, "qwen2:7b", 0);
  }

  private static HttpResponse<String> send(TestCluster c, String method, String path, String body) {
    return Calls.send(method, c.url(path), body, Calls.bearer(ADMIN_TOKEN));
  }

  /** Asserts a 400 whose error names {@code field} (as param and in the message); returns the message. */
  private static String refused(HttpResponse<String> r, String field) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
    JsonNode error = Json.MAPPER.readTree(r.body()).path("error");
    assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
    if (field != null) {
      assertThat(error.path("param").asText()).as(r.body()).isEqualTo(field);
      assertThat(error.path("message").asText()).as(r.body()).contains(field);
    }
    return error.path("message").asText();
  }

  /** The operator overrides in force ({@code GET /admin/degradation}): scope → level. */
  private static Map<String, String> overrides(TestCluster c) throws Exception {
    JsonNode d = Json.MAPPER.readTree(send(c, "GET", "/admin/degradation", null).body());
    Map<String, String> out = new java.util.TreeMap<>();
    java.util.List<JsonNode> scopes = new java.util.ArrayList<>();
    scopes.add(d.path("cluster"));
    d.path("models").forEach(scopes::add);
    for (JsonNode s : scopes) {
      if (!s.path("override").isNull() && !s.path("override").isMissingNode()) {
        out.put(s.path("scope").asText(), s.path("override").asText());
      }
    }
    return out;
  }

  @Test
  void aModelsStringOrAMisspelledModelsFieldCreatesNoTokenForEveryModel() throws Exception {
    try (TestCluster c = cluster().start()) {
      String before = send(c, "GET", "/admin/keys", null).body();

      String string = refused(send(c, "POST", "/admin/keys", "{\"tenant\":\"acme\",\"models\":\"qwen2:7b\"}"),
          "models");
      assertThat(string).contains("\"qwen2:7b\"").contains("must be an array");
      String misspelled = refused(send(c, "POST", "/admin/keys", "{\"tenant\":\"acme\",\"modles\":[\"qwen2:7b\"]}"),
          "modles");
      assertThat(misspelled).contains("unknown field")
          .contains("accepted: tenant, models, limits, weight, maxPriority, expiresAt, note");

      Map<String, String> more = Map.of(
          "{\"tenant\":\"acme\",\"models\":[\"qwen2:7b\",5]}", "models[1]",
          "{\"tenant\":\"acme\",\"models\":[\"llama3:70b\"]}", "models",
          "{\"tenant\":\"acme\",\"limits\":{\"requestsPerMinute\":-1}}", "limits.requestsPerMinute",
          "{\"tenant\":\"acme\",\"limits\":{\"requestsPerMinute\":\"60\"}}", "limits.requestsPerMinute",
          "{\"tenant\":\"acme\",\"limits\":{\"concurrent\":1.5}}", "limits.concurrent",
          "{\"tenant\":\"acme\",\"limits\":{\"rpm\":60}}", "limits.rpm",
          "{\"tenant\":\"acme\",\"limits\":60}", "limits",
          "{\"tenant\":\"acme\",\"expiresAt\":\"next tuesday\"}", "expiresAt",
          "{\"tenant\":\"acme\",\"note\":\"" + "x".repeat(501) + "\"}", "note",
          "{\"tenant\":7}", "tenant");
      for (var e : more.entrySet()) refused(send(c, "POST", "/admin/keys", e.getKey()), e.getValue());
      refused(send(c, "POST", "/admin/keys", "{\"tenant\":\"acme\",\"tenant\":\"other\"}"), "tenant");
      assertThat(refused(send(c, "POST", "/admin/keys", "[\"acme\"]"), null)).contains("must be a JSON object");
      assertThat(refused(send(c, "POST", "/admin/keys", "{\"tenant\":"), null)).contains("not valid JSON");
      assertThat(refused(send(c, "POST", "/admin/keys", ""), null)).contains("must be a JSON object");

      assertThat(send(c, "GET", "/admin/keys", null).body()).as("no key was created").isEqualTo(before);

      HttpResponse<String> ok = send(c, "POST", "/admin/keys", "{\"tenant\":\"acme\",\"models\":[\"qwen2:7b\"],"
          + "\"limits\":{\"requestsPerMinute\":60},\"expiresAt\":\"2099-01-01T00:00:00Z\",\"note\":\"ci\"}");
      assertThat(ok.statusCode()).as(ok.body()).isEqualTo(201);
      JsonNode created = Json.MAPPER.readTree(ok.body());
      assertThat(created.path("models").toString()).isEqualTo("[\"qwen2:7b\"]");
      String secret = dev.sluice.testkit.SecretLedger.secret(created.path("key").asText());
      HttpResponse<String> other = Calls.post(c.url("/v1/chat/completions"), GatewayTokensTest.CHAT,
          Calls.bearer(secret));
      assertThat(other.statusCode()).as("the key is scoped to qwen2:7b").isEqualTo(403);
    }
  }

  @Test
  void aWeightOrHighestBandOutsideTheAcceptedValuesIsRefusedNamingTheFieldAndWhatIsAccepted() throws Exception {
    try (TestCluster c = cluster().start()) {
      String before = send(c, "GET", "/admin/keys", null).body();
      for (String w : new String[] {"0", "1001", "-3", "1.5", "\"2\"", "null"}) {
        String m = refused(send(c, "POST", "/admin/keys", "{\"tenant\":\"acme\",\"weight\":" + w + "}"), "weight");
        assertThat(m).as(w).contains("weight: " + w).contains("an integer from 1 to 1000")
            .contains("leave \"weight\" out for the tenant's");
      }
      for (String p : new String[] {"\"urgent\"", "\"BATCH\"", "\"\"", "1", "[\"batch\"]"}) {
        String m = refused(send(c, "POST", "/admin/keys", "{\"tenant\":\"acme\",\"maxPriority\":" + p + "}"),
            "maxPriority");
        assertThat(m).as(p).contains("\"interactive\" or \"batch\"")
            .contains("leave \"maxPriority\" out for the tenant's");
      }
      assertThat(send(c, "GET", "/admin/keys", null).body()).as("no key was created").isEqualTo(before);
    }
  }

  @Test
  void nodeDegradationAndRoutingBodiesRefuseUnknownFieldsAndWrongTypesAndChangeNothing() throws Exception {
    try (TestCluster c = cluster().start()) {
      String node = "\"id\":\"extra\",\"baseUrl\":\"" + c.sim("a").baseUrl() + "\",\"model\":\"qwen3:32b\"";
      assertThat(refused(send(c, "POST", "/admin/nodes", "{" + node + ",\"gpu_type\":\"A10\"}"), "gpu_type"))
          .contains("accepted: id, baseUrl, api, dialects, gpuType, metricsUrl, labels, apiKey, provider, model");
      refused(send(c, "POST", "/admin/nodes", "{\"id\":\"extra\",\"baseUrl\":\"" + c.sim("a").baseUrl()
          + "\",\"model\":[\"qwen3:32b\"]}"), "model");
      refused(send(c, "POST", "/admin/nodes", "{" + node + ",\"provider\":5}"), "provider");
      refused(send(c, "POST", "/admin/nodes", "{" + node + ",\"id\":\"twice\"}"), "id");
      refused(send(c, "POST", "/admin/nodes", "{" + node + ",\"gpuType\":5}"), "gpuType");
      refused(send(c, "POST", "/admin/nodes", "{" + node + ",\"labels\":{\"rack\":7}}"), "labels");
      assertThat(c.gateway.registry().get("extra")).isNull();

      assertThat(overrides(c)).isEmpty();
      refused(send(c, "POST", "/admin/degradation", "{\"level\":\"static\",\"modle\":\"qwen3:32b\"}"), "modle");
      refused(send(c, "POST", "/admin/degradation", "{\"level\":3}"), "level");
      refused(send(c, "POST", "/admin/degradation", "{\"level\":\"static\",\"model\":[\"qwen3:32b\"]}"), "model");
      assertThat(overrides(c)).as("no override was set").isEmpty();

      refused(send(c, "POST", "/admin/routing", "{\"policy\":\"round-robin\",\"sticky\":true}"), "sticky");
      refused(send(c, "POST", "/admin/routing", "{\"policy\":[\"round-robin\"]}"), "policy");
      assertThat(Json.MAPPER.readTree(send(c, "GET", "/admin/routing", null).body()).path("policy").asText())
          .isEqualTo(c.config().routing().policy());

      // valid bodies still work
      assertThat(send(c, "POST", "/admin/routing", "{\"policy\":\"round-robin\"}").statusCode()).isEqualTo(200);
      assertThat(send(c, "POST", "/admin/degradation", "{\"level\":\"cache\",\"model\":\"qwen3:32b\"}").statusCode())
          .isEqualTo(200);
      HttpResponse<String> added = send(c, "POST", "/admin/nodes", "{\"id\":\"extra\",\"baseUrl\":\""
          + c.sim("b").baseUrl() + "\",\"api\":\"ollama\",\"gpuType\":\"A10\",\"model\":\"qwen2:7b\"}");
      assertThat(added.statusCode()).as(added.body()).isEqualTo(201);
    }
  }

  @Test
  void actionsWithoutABodyAcceptNoneOrAnEmptyObjectAndRefuseAnythingElse() throws Exception {
    Path keys = dir.resolve("keys.json");
    var k = GatewayTokensTest.key(keys, "acme", Set.of(), null, null);
    try (TestCluster c = cluster().start()) {
      refused(send(c, "POST", "/admin/nodes/a/drain", "{\"force\":true}"), "force");
      refused(send(c, "POST", "/admin/nodes/a/drain", "[]"), null);
      assertThat(c.gateway.registry().get("a").health().state()).isEqualTo(NodeState.READY);
      assertThat(send(c, "POST", "/admin/nodes/a/drain", "{}").statusCode()).isEqualTo(200);
      assertThat(c.gateway.registry().get("a").health().state()).isEqualTo(NodeState.DRAINING);
      refused(send(c, "POST", "/admin/nodes/a/undrain", "\"now\""), null);
      assertThat(send(c, "POST", "/admin/nodes/a/undrain", "").statusCode()).isEqualTo(200);
      refused(send(c, "POST", "/admin/nodes/a/probe", "{\"deep\":1}"), "deep");
      assertThat(send(c, "POST", "/admin/nodes/a/probe", null).statusCode()).isEqualTo(200);

      refused(send(c, "POST", "/admin/cache/purge", "{\"model\":\"qwen3:32b\"}"), "model");
      assertThat(send(c, "POST", "/admin/cache/purge", " ").statusCode()).isEqualTo(200);

      send(c, "POST", "/admin/degradation", "{\"level\":\"static\"}");
      refused(send(c, "DELETE", "/admin/degradation", "{\"model\":\"qwen3:32b\"}"), "model");
      assertThat(overrides(c)).as("the override stays").isNotEmpty();
      assertThat(send(c, "DELETE", "/admin/degradation", null).statusCode()).isEqualTo(200);

      String id = k.key().id();
      refused(send(c, "DELETE", "/admin/keys/" + id, "{\"reason\":\"left\"}"), "reason");
      assertThat(Calls.post(c.url("/v1/chat/completions"), GatewayTokensTest.CHAT, Calls.bearer(k.secret()))
          .statusCode()).as("still valid").isEqualTo(200);
      assertThat(send(c, "DELETE", "/admin/keys/" + id, "{}").statusCode()).isEqualTo(200);
    }
  }
}
