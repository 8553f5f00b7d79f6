package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.config.RoutingSettings;
import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimFault;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.LogCapture;
import dev.sluice.testkit.TestCluster;
import dev.sluice.upstream.ForwardedHeaders;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@code routing.explain}: each answer says which node answered, under which policy and why, in the
 * {@code x-sluice-route} header and the access log's {@code route} field; off by default.
 */
class RouteHeaderTest {
  private static final String MODEL = "qwen3:32b";
  private static final String BODY = "{\"model\":\"" + MODEL + "\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\","
      + "\"content\":\"hello\"}]}";

  private static TestCluster cluster(boolean explain) {
    return new TestCluster().routing(RoutingSettings.defaults().withExplain(explain))
        .node("a10-01", GpuProfile.A10, MODEL, 10).node("h100-01", GpuProfile.H100, MODEL, 10).start();
  }

  private static String route(HttpResponse<String> r) {
    return r.headers().firstValue(RoutedRequest.ROUTE_HEADER).orElse(null);
  }

  /** The access-log line of the request that got {@code r} (by its X-Request-Id). */
  private static String accessLine(HttpResponse<String> r) {
    String id = r.headers().firstValue("x-request-id").orElseThrow();
    AtomicReference<String> line = new AtomicReference<>();
    await().atMost(Duration.ofSeconds(5)).until(() -> {
      List<String> lines = LogCapture.lines();
      for (int i = lines.size() - 1; i >= 0; i--) {
        if (lines.get(i).contains("\"requestId\":\"" + id + "\"")) {
          line.set(lines.get(i));
          return true;
        }
      }
      return false;
    });
    return line.get();
  }

  @Test
  void namesTheAnsweringNodeThePolicyAndWhyInTheHeaderAndTheAccessLogWhenExplainIsOn() {
    try (TestCluster c = cluster(true)) {
      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), BODY);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      String node = r.headers().firstValue(ForwardedHeaders.NODE_HEADER).orElseThrow();
      assertThat(route(r)).startsWith("node=" + node + "; policy=least-delay; reason=")
          .matches(".*reason=(lowest est\\. answer \\d+ ms \\(TTFT \\d+ ms\\); next \\S+ \\d+ ms"
              + "|idle for 5 s or more: one request to keep its speed estimate current)");
      assertThat(accessLine(r)).contains("\"route\":\"" + route(r) + "\"");
    }
  }

  @Test
  void saysWhenAnotherNodeAnsweredBecauseThePlannedOneFailed() {
    try (TestCluster c = cluster(true)) {
      c.sim("h100-01").injectFault(SimFault.status(500, "{\"error\":\"boom\"}", 100));
      // least-delay plans the H100 first (an idle A10 may be explored first once: then the next request)
      AtomicReference<HttpResponse<String>> failedOver = new AtomicReference<>();
      await().atMost(Duration.ofSeconds(20)).until(() -> {
        HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), BODY);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        failedOver.set(r);
        return route(r).contains("failover");
      });
      assertThat(route(failedOver.get()))
          .isEqualTo("node=a10-01; policy=least-delay; reason=failover: h100-01 failed first");
      assertThat(accessLine(failedOver.get())).contains("\"route\":\"node=a10-01; policy=least-delay; "
          + "reason=failover: h100-01 failed first\"");
    }
  }

  @Test
  void isOffByDefault() {
    try (TestCluster c = cluster(false)) {
      HttpResponse<String> r = Http.post(c.url("/v1/chat/completions"), BODY);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(route(r)).isNull();
      assertThat(accessLine(r)).doesNotContain("\"route\"");
    }
  }
}
