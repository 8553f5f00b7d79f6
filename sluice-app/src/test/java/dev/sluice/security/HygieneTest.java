package dev.sluice.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.auth.AuthMode;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.config.AdminSettings;
import dev.sluice.config.AuthSettings;
import dev.sluice.config.UpstreamSettings;
import dev.sluice.upstream.AddressPolicy;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.support.Json;
import dev.sluice.testkit.TestCluster;
import java.net.InetAddress;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What clients and admins cannot do: set the tenant, retries, timeouts or the upstream with headers (RELIABILITY.md
 * "auth" row 3), add a node pointing at link-local or metadata addresses ("admin" row), read another tenant's cached
 * answer ("cache" row), or get their gateway token forwarded to a node.
 */
@Order(3)
class HygieneTest {
  static final String ADMIN_TOKEN = GatewayTokensTest.ADMIN_TOKEN;
  @TempDir Path dir;

  private TestCluster cluster(Path keys) {
    return new TestCluster().auth(new AuthSettings(AuthMode.TOKENS, keys, null))
        .admin(AdminSettings.defaults().withToken(KeyGenerator.sha256Hex(ADMIN_TOKEN)));
  }

  @Test
  void clientHeadersCannotChooseTheTenantTheNodeTheRetriesOrTheUpstreamAndNeverReachTheNode() throws Exception {
    Path keys = dir.resolve("keys.json");
    var k = GatewayTokensTest.key(keys, "acme", Set.of(), null, null);
    // round-robin: without the header, 6 requests go 3 and 3 (least-delay may legitimately send them all to one node)
    try (TestCluster c = cluster(keys).upstream(new UpstreamSettings(8, 8, 2))
        .routing(dev.sluice.config.RoutingSettings.defaults().withPolicy("round-robin"))
        .node("a", GpuProfile.A10, "qwen3:32b", 0).node("b", GpuProfile.A10, "qwen3:32b", 0).start()) {
      String[] headers = {"Authorization", "Bearer " + k.secret(), "X-Sluice-Tenant", "other-tenant",
          "X-Sluice-Node", "b", "X-Sluice-Retries", "10", "X-Sluice-Timeout", "1ms", "X-Sluice-Upstream",
          "http://169.254.169.254/latest/meta-data/", "X-Forwarded-For", "10.9.9.9", "X-Real-IP", "10.9.9.9",
          "Forwarded", "for=10.9.9.9", "Cookie", "session=abc"};
      for (int i = 0; i < 6; i++) {
        assertThat(Calls.post(c.url("/v1/chat/completions"), GatewayTokensTest.CHAT, headers).statusCode())
            .isEqualTo(200);
      }
      long a = c.sim("a").stats().count("/v1/chat/completions");
      long b = c.sim("b").stats().count("/v1/chat/completions");
      assertThat(a + b).as("one attempt each: no client-chosen retries").isEqualTo(6);
      assertThat(a).as("X-Sluice-Node does not pin requests to b").isEqualTo(3);
      for (SimNode n : List.of(c.sim("a"), c.sim("b"))) {
        Map<String, String> seen = n.lastGenerationHeaders();
        if (seen.isEmpty()) continue;
        assertThat(seen.keySet()).noneMatch(h -> h.startsWith("x-sluice-"))
            .doesNotContain("x-forwarded-for", "x-real-ip", "forwarded", "cookie", "x-api-key");
        assertThat(seen.getOrDefault("authorization", "")).doesNotContain(k.secret());
      }

      // the node fails: the configured 2 attempts, whatever the client asked for
      c.sim("a").injectFault(SimFault.status(500, "{\"error\":\"boom\"}", 100));
      c.sim("b").injectFault(SimFault.status(500, "{\"error\":\"boom\"}", 100));
      long before = c.sim("a").stats().count("/v1/chat/completions") + c.sim("b").stats().count("/v1/chat/completions");
      Calls.post(c.url("/v1/chat/completions"), GatewayTokensTest.CHAT, headers);
      long after = c.sim("a").stats().count("/v1/chat/completions") + c.sim("b").stats().count("/v1/chat/completions");
      assertThat(after - before).isLessThanOrEqualTo(2);
    }
  }

  @Test
  void aSamePromptFromASecondTenantIsACacheMissEvenWhenItClaimsTheFirstTenant() throws Exception {
    Path keys = dir.resolve("keys.json");
    var first = GatewayTokensTest.key(keys, "tenant-one", Set.of(), null, null);
    var second = GatewayTokensTest.key(keys, "tenant-two", Set.of(), null, null);
    try (TestCluster c = cluster(keys).node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      assertThat(Calls.post(c.url("/v1/chat/completions"), GatewayTokensTest.CHAT, Calls.bearer(first.secret()))
          .statusCode()).isEqualTo(200);
      assertThat(Calls.post(c.url("/admin/degradation"), "{\"level\":\"cache\"}", Calls.bearer(ADMIN_TOKEN))
          .statusCode()).isEqualTo(200);
      HttpResponse<String> other = Calls.post(c.url("/v1/chat/completions"), GatewayTokensTest.CHAT,
          "Authorization", "Bearer " + second.secret(), "X-Sluice-Tenant", "tenant-one");
      assertThat(other.statusCode()).isEqualTo(200);
      assertThat(other.headers().firstValue("x-sluice-cache")).as("cross-tenant hits = 0").isEmpty();
      assertThat(c.sim("a").stats().count("/v1/chat/completions")).isEqualTo(2);
      HttpResponse<String> same = Calls.post(c.url("/v1/chat/completions"), GatewayTokensTest.CHAT,
          Calls.bearer(first.secret()));
      assertThat(same.headers().firstValue("x-sluice-cache")).hasValue("hit");
    }
  }

  @Test
  void nodeUrlsAddedThroughTheAdminApiCannotPointAtLinkLocalOrMetadataAddresses() throws Exception {
    try (TestCluster c = cluster(dir.resolve("k.json")).node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      for (String url : List.of("http://169.254.169.254", "http://169.254.169.254:80/latest", "http://[fe80::1]:11434",
          "http://metadata.google.internal", "http://100.100.100.200", "http://0.0.0.0:11434", "http://[fd00:ec2::254]",
          "http://user:pw@127.0.0.1:11434", "file:///etc/passwd", "gopher://127.0.0.1:70")) {
        HttpResponse<String> r = Calls.post(c.url("/admin/nodes"), "{\"id\":\"evil\",\"baseUrl\":\"" + url
            + "\",\"model\":\"qwen3:32b\"}", Calls.bearer(ADMIN_TOKEN));
        assertThat(r.statusCode()).as(url).isEqualTo(400);
        assertThat(Json.MAPPER.readTree(r.body()).path("error").path("message").asText()).as(url).isNotBlank();
      }
      assertThat(c.gateway.registry().get("evil")).isNull();
    }
  }

  @Test
  void aNodeOnAnAllowedAddressJoinsTheRotationAndStaysAcrossReloads() throws Exception {
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    try (TestCluster c = cluster(dir.resolve("k.json")).node("a", GpuProfile.A10, "qwen3:32b", 0).start()) {
      SimNode extra = SimNode.start(vertx, SimOptions.defaults().withId("extra").withTimeScale(0))
          .toCompletionStage().toCompletableFuture().get();
      HttpResponse<String> r = Calls.post(c.url("/admin/nodes"), "{\"id\":\"extra\",\"baseUrl\":\"" + extra.baseUrl()
          + "\",\"api\":\"ollama\",\"gpuType\":\"A10\",\"model\":\"qwen3:32b\"}", Calls.bearer(ADMIN_TOKEN));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
      assertThat(Json.MAPPER.readTree(r.body()).path("id").asText()).isEqualTo("extra");
      await().atMost(Duration.ofSeconds(10)).until(() ->
          c.gateway.registry().get("extra").health().snapshot().state().name().equals("READY"));
      HttpResponse<String> dup = Calls.post(c.url("/admin/nodes"), "{\"id\":\"extra\",\"baseUrl\":\"" + extra.baseUrl()
          + "\",\"model\":\"qwen3:32b\"}", Calls.bearer(ADMIN_TOKEN));
      assertThat(dup.statusCode()).isEqualTo(400);
      assertThat(dup.body()).contains("already used");
      c.configs.swap(c.config()); // a config reload keeps the node added at run time
      assertThat(c.gateway.registry().get("extra")).isNotNull();
    } finally {
      vertx.close();
    }
  }

  @Test
  void theAddressPolicyAllowsPrivateAndLoopbackNodesAndRangesTheOperatorAllows() throws Exception {
    AddressPolicy.Resolver dns = host -> new InetAddress[] {InetAddress.getByName(
        host.equals("gpu.internal") ? "10.0.0.5" : host.equals("sneaky.example") ? "169.254.169.254" : host)};
    assertThat(AddressPolicy.problem("http://10.0.0.5:11434", List.of(), dns)).isNull();
    assertThat(AddressPolicy.problem("http://127.0.0.1:8000/v1", List.of(), dns)).isNull();
    assertThat(AddressPolicy.problem("https://gpu.internal:8000", List.of(), dns)).isNull();
    assertThat(AddressPolicy.problem("http://sneaky.example", List.of(), dns))
        .as("a name resolving to the metadata address").contains("169.254.169.254").contains("admin.allowNodeNetworks");
    assertThat(AddressPolicy.problem("http://169.254.10.20:11434", List.of("169.254.10.0/24"), dns)).isNull();
    assertThat(AddressPolicy.problem("http://169.254.169.254", List.of("169.254.10.0/24"), dns)).isNotNull();
  }
}
