package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.CorsSettings;
import dev.sluice.config.ServerSettings;
import dev.sluice.sim.GpuProfile;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.TestCluster;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Browser access: only the gateway's own origin and the configured ones; nothing is reflected to other origins. */
class CorsTest {
  private static final String CHAT = "{\"model\":\"qwen3:32b\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\","
      + "\"content\":\"hi\"}]}";
  private static final String EVIL = "https://evil.example";
  private static final String APP = "https://app.example.com";

  private static TestCluster cluster(List<String> origins, boolean credentials) {
    ServerSettings d = ServerSettings.defaults();
    return new TestCluster().server(new ServerSettings(d.host(), d.port(), d.maxBodyBytes(), d.maxJsonDepth(),
            d.maxHeaderBytes(), new CorsSettings(origins, credentials, Duration.ofMinutes(10))))
        .node("a", GpuProfile.A10, "qwen3:32b", 0).start();
  }

  private static HttpResponse<String> post(TestCluster c, String origin) {
    return Http.send(HttpRequest.newBuilder(URI.create(c.url("/v1/chat/completions"))).header("Origin", origin)
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(CHAT)).build());
  }

  @Test
  void withoutConfiguredOriginsAForeignPageIsRefusedAndNothingIsReflected() {
    try (TestCluster c = cluster(List.of(), false)) {
      HttpResponse<String> r = post(c, EVIL);
      assertThat(r.statusCode()).isEqualTo(403);
      assertThat(r.body()).contains("origin_not_allowed").contains("server.cors.allowedOrigins").doesNotContain(EVIL);
      assertThat(r.headers().firstValue("access-control-allow-origin")).isEmpty();
      assertThat(c.sim("a").stats().count("/v1/chat/completions")).isZero();

      HttpResponse<String> preflight = Http.send(HttpRequest.newBuilder(URI.create(c.url("/v1/chat/completions")))
          .header("Origin", EVIL).header("Access-Control-Request-Method", "POST")
          .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).build());
      assertThat(preflight.statusCode()).isEqualTo(403);
      assertThat(preflight.headers().firstValue("access-control-allow-origin")).isEmpty();
    }
  }

  @Test
  void theGatewaysOwnOriginIsAlwaysAllowed() {
    try (TestCluster c = cluster(List.of(), false)) {
      HttpResponse<String> r = post(c, "http://127.0.0.1:" + c.port());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("access-control-allow-origin")).isEmpty();
    }
  }

  @Test
  void aConfiguredOriginGetsItsOwnOriginBackAndAPreflightAnswer() {
    try (TestCluster c = cluster(List.of(APP), false)) {
      HttpResponse<String> r = post(c, APP);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("access-control-allow-origin")).hasValue(APP);
      assertThat(r.headers().firstValue("vary")).hasValue("Origin");
      assertThat(r.headers().firstValue("access-control-allow-credentials")).isEmpty();
      assertThat(post(c, EVIL).statusCode()).isEqualTo(403);

      HttpResponse<String> preflight = Http.send(HttpRequest.newBuilder(URI.create(c.url("/v1/chat/completions")))
          .header("Origin", APP).header("Access-Control-Request-Method", "POST")
          .header("Access-Control-Request-Headers", "authorization, content-type, x-stainless-os, x-sluice-node")
          .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).build());
      assertThat(preflight.statusCode()).isEqualTo(204);
      assertThat(preflight.headers().firstValue("access-control-allow-methods")).hasValue("GET, POST");
      assertThat(preflight.headers().firstValue("access-control-allow-headers"))
          .hasValue("authorization, content-type, x-stainless-os");
      assertThat(preflight.headers().firstValue("access-control-max-age")).hasValue("600");
    }
  }

  @Test
  void everyOriginMeansStarAndNeverWithCredentials() {
    try (TestCluster c = cluster(List.of("*"), false)) {
      HttpResponse<String> r = post(c, EVIL);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("access-control-allow-origin")).hasValue("*");
      assertThat(r.headers().firstValue("access-control-allow-credentials")).isEmpty();
    }
  }
}
