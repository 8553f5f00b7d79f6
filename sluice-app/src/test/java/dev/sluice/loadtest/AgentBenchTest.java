package dev.sluice.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.sluice.loadtest.BenchCommandTest.Run;
import dev.sluice.support.Json;
import dev.sluice.sim.GpuProfile;
import dev.sluice.testkit.TestCluster;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sluice bench --preset agents} over real HTTP: through a tap that records each request's session header, to
 * the gateway of a cluster of simulated nodes (an A100 and an H100).
 */
class AgentBenchTest {
  static TestCluster cluster;
  static HttpServer tap;
  static final List<String> sessionHeaders = new CopyOnWriteArrayList<>();
  static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  @TempDir Path dir;

  @BeforeAll
  static void start() throws IOException {
    // no A10: its KV holds 5,700 tokens, and the gateway does not yet know a node's context length, so an agent
    // prompt routed there is refused with vLLM's context 400 (the bench is under test here, not that routing gap)
    cluster = new TestCluster()
        .node("a100-01", GpuProfile.A100, LoadRunnerTest.BIG, 50)
        .node("h100-01", GpuProfile.H100, LoadRunnerTest.BIG, 50)
        .start();
    tap = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    tap.setExecutor(Executors.newCachedThreadPool());
    tap.createContext("/", AgentBenchTest::forward);
    tap.start();
  }

  @AfterAll
  static void stop() {
    tap.stop(0);
    cluster.close();
  }

  /** Records x-session-id of chat requests and passes the exchange on to the gateway, streaming the answer back. */
  static void forward(HttpExchange x) throws IOException {
    try (x) {
      if (x.getRequestURI().getPath().endsWith("/chat/completions")) {
        sessionHeaders.add(String.valueOf(x.getRequestHeaders().getFirst(AgentWorkload.SESSION_HEADER)));
      }
      byte[] body = x.getRequestBody().readAllBytes();
      HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(cluster.url(x.getRequestURI().toString())))
          .method(x.getRequestMethod(), body.length == 0 ? HttpRequest.BodyPublishers.noBody()
              : HttpRequest.BodyPublishers.ofByteArray(body));
      String type = x.getRequestHeaders().getFirst("Content-Type");
      if (type != null) req.header("Content-Type", type);
      HttpResponse<InputStream> r = client.send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
      r.headers().firstValue("content-type").ifPresent(v -> x.getResponseHeaders().add("Content-Type", v));
      r.headers().firstValue("x-sluice-node").ifPresent(v -> x.getResponseHeaders().add("x-sluice-node", v));
      x.sendResponseHeaders(r.statusCode(), 0);
      try (InputStream in = r.body(); OutputStream out = x.getResponseBody()) {
        byte[] buf = new byte[8192];
        for (int n; (n = in.read(buf)) > 0; ) {
          out.write(buf, 0, n);
          out.flush();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void agentSessionsCarryTheirSessionHeaderAndTheReportSplitsTtftByCachedEligibleTurns() throws Exception {
    Path json = dir.resolve("agents.json");
    Path html = dir.resolve("agents.html");
    String nodes = cluster.sims.values().stream().map(s -> s.baseUrl()).collect(Collectors.joining(","));

    Run run = BenchCommandTest.bench("--url", "http://127.0.0.1:" + tap.getAddress().getPort(), "--preset",
        "agents", "--users", "4", "--requests", "40", "--think-scale", "0.001", "--max-tokens-scale", "0.05",
        "--node-metrics", nodes, "--json", json.toString(), "--report", html.toString());

    System.out.print(run.out());
    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out()).contains("requests 40, errors 0").contains("first token by turn")
        .contains("cached-eligible").contains("other").containsPattern("prefix cache hit rate: (n/a|\\d+\\.\\d %)")
        .contains("agent workload: ").contains("prefix reuse:");
    assertThat(sessionHeaders).hasSize(40).allSatisfy(h -> assertThat(h).startsWith("agent-42-"));
    assertThat(sessionHeaders.stream().distinct().count()).as("several turns per session").isLessThan(40);
    JsonNode summary = Json.MAPPER.readTree(json.toFile()).path("summary");
    long cached = summary.path("ttft_cached_eligible_turns").asLong();
    long other = summary.path("ttft_other_turns").asLong();
    assertThat(other).as("each session's first turn").isGreaterThanOrEqualTo(4);
    assertThat(cached).isPositive();
    assertThat(cached + other).isEqualTo(summary.path("stream_requests").asLong());
    assertThat(Json.MAPPER.readTree(json.toFile()).path("prefix_cache_hit_rate").asText()).isNotEmpty();
    assertThat(Files.readString(html)).contains("id=\"prefix-cache\"").contains("id=\"agent-stats\"");
  }

  @Test
  void openLoopStartsSessionsAtTheRateAndStopsAtTheRequestCount() {
    Run run = BenchCommandTest.bench("--url", cluster.url(""), "--preset", "agents", "--rate", "5", "--requests",
        "24", "--think-scale", "0.001", "--max-tokens-scale", "0.05");

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out()).contains("requests 24, errors 0").contains("prefix cache hit rate: n/a")
        .contains("cached-eligible");
  }

  @Test
  void dryRunPrintsTheWorkloadStatisticsWithoutSendingLoad() {
    int before = sessionHeaders.size();

    Run run = BenchCommandTest.bench("--url", "http://127.0.0.1:1", "--preset", "agents", "--dry-run",
        "--requests", "500");

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out()).contains("500 requests").contains("prefix reuse:").contains("bursts:")
        .contains("prompt size:");
    assertThat(sessionHeaders).hasSize(before);
  }

  @Test
  void optionsThatDoNotFitTheAgentPresetExitWithTwoAndSayWhy() {
    Run prompts = BenchCommandTest.bench("--preset", "agents", "--prompts", "p.jsonl", "--dry-run");
    Run think = BenchCommandTest.bench("--preset", "agents", "--think-scale", "-1", "--dry-run");
    Run unknown = BenchCommandTest.bench("--preset", "agent", "--dry-run");

    assertThat(prompts.exit()).isEqualTo(2);
    assertThat(prompts.err()).contains("--prompts does not apply to --preset agents");
    assertThat(think.exit()).isEqualTo(2);
    assertThat(think.err()).contains("--think-scale -1.0 must be >= 0");
    assertThat(unknown.exit()).isEqualTo(2);
    assertThat(unknown.err()).contains("(known: brief, agents)");
  }

  @Test
  void prefixCacheCountersAreSummedOverEverySeriesOfANode() {
    String exposition = """
        # HELP vllm:prefix_cache_hits_total Prefix cache hits, in tokens.
        # TYPE vllm:prefix_cache_hits_total counter
        vllm:prefix_cache_hits_total{model_name="qwen3:32b"} 900.0
        vllm:prefix_cache_hits_total{model_name="qwen2:7b"} 100.0
        vllm:prefix_cache_queries_total{model_name="qwen3:32b"} 1500.0
        vllm:prefix_cache_queries_total 500
        vllm:prefix_cache_hits_created 1.7e9
        """;

    assertThat(AgentRunner.parse(exposition)).containsExactly(1000.0, 2000.0);
    assertThat(AgentRunner.parse("vllm:num_requests_running 3\n")).isNull();
  }
}
