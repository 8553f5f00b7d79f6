package dev.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.sim.GpuProfile;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.testkit.NginxProcess;
import dev.sluice.testkit.SluiceProcess;
import dev.sluice.testkit.TestCerts;
import dev.sluice.testkit.TestCluster;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped deploy/nginx/sluice.conf (only ports and paths replaced) in front of two gateway replicas, each a real
 * child JVM ({@code sluice serve}), over two simulated nodes in this JVM. 50 clients send chat completions, half of
 * them streamed, through HTTPS; one replica is SIGKILLed mid-run, later restarted.
 *
 * <p>Replicas run with {@code auth.mode: none} so the test needs no token plumbing and can read each replica's
 * {@code /metrics} directly (nginx itself is what is under test, not authentication).
 *
 * <p>Figures go to stdout and {@code target/ha-nginx-report.txt}. Rerun with
 * {@code mvn -B -o -pl sluice-app verify -Dtest=HaNginxTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class HaNginxTest {
  private static final int CLIENTS = 50;
  /** Output tokens per request: with {@link #TIME_SCALE} a request takes a few hundred ms, so many are in flight. */
  private static final int MAX_TOKENS = 24;
  private static final double TIME_SCALE = 4;
  private static final Duration BEFORE_KILL = Duration.ofSeconds(8);
  private static final Duration KILL_TO_RESTART = Duration.ofSeconds(4);
  /** After the restarted replica got this many requests through nginx, the load stops. */
  private static final int REQUESTS_ON_RESTARTED_REPLICA = 20;
  private static final Duration LOAD_CAP = Duration.ofSeconds(60);
  private static final Pattern LOG_LINE = Pattern.compile("rid=(\\S+) upstream=(.*?) upstream_status=(.*?) rt=");

  enum Kind { PLAIN, STREAM }

  enum Outcome {
    OK,
    /** No answer at all, or an error status: the client got nothing to show. */
    FAILED_BEFORE_START,
    /** A 200 stream that ended before [DONE]: bytes had reached the client, nginx could not retry. */
    TRUNCATED,
    /** A 200 carrying Sluice's fallback (static/cached) rather than the model's answer. */
    DEGRADED
  }

  record Result(String id, Kind kind, long startNanos, long headersNanos, long endNanos, Outcome outcome, String why) {
    boolean failed() {
      return outcome != Outcome.OK;
    }
  }

  @Test
  void killingAReplicaUnderLoadFailsOnlyTheStreamsInFlightOnItAndNginxSendsTrafficToItAgainAfterARestart(
      @TempDir Path dir) throws Exception {
    Vertx simVertx = Vertx.vertx();
    List<AutoCloseable> cleanup = new ArrayList<>();
    try {
      SimNode a = start(simVertx, "a10-01");
      SimNode b = start(simVertx, "a10-02");
      Path config = dir.resolve("sluice.json");
      Files.writeString(config, replicaConfig(a, b));

      int portA = SluiceProcess.freePort();
      int portB = SluiceProcess.freePort();
      SluiceProcess replicaA = SluiceProcess.serve(config, portA, dir.resolve("replica-a.log"));
      cleanup.add(replicaA);
      SluiceProcess[] replicaB = {SluiceProcess.serve(config, portB, dir.resolve("replica-b.log"))};
      cleanup.add(() -> replicaB[0].close());
      replicaA.awaitReady(Duration.ofSeconds(90));
      replicaB[0].awaitReady(Duration.ofSeconds(90));

      TestCerts certs = TestCerts.create(Files.createDirectories(dir.resolve("certs")));
      TestCerts.Pair cert = certs.localhost();
      int httpPort = SluiceProcess.freePort();
      int httpsPort = SluiceProcess.freePort();
      Path nginxDir = Files.createDirectories(dir.resolve("nginx"));
      String conf = NginxProcess.forTest(nginxDir, "127.0.0.1:" + portA, "127.0.0.1:" + portB, httpPort, httpsPort,
          cert.cert(), cert.key()).apply(Files.readString(NginxProcess.SHIPPED_CONFIG));
      NginxProcess nginx = NginxProcess.start(nginxDir, conf, httpsPort);
      cleanup.add(nginx);

      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
          .sslContext(certs.clientContext()).connectTimeout(Duration.ofSeconds(5)).build();
      String base = "https://localhost:" + httpsPort;

      ConcurrentLinkedQueue<Result> results = new ConcurrentLinkedQueue<>();
      AtomicBoolean stop = new AtomicBoolean();
      ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
      cleanup.add(pool::shutdownNow);
      long t0 = System.nanoTime();
      for (int i = 0; i < CLIENTS; i++) {
        int clientNo = i;
        pool.submit(() -> {
          for (int n = 0; !stop.get(); n++) {
            Kind kind = (clientNo + n) % 2 == 0 ? Kind.STREAM : Kind.PLAIN;
            results.add(call(client, base, "ha-" + clientNo + "-" + n, kind));
          }
        });
      }

      letLoadRun(BEFORE_KILL);
      double gaugeBeforeKill = metric(replicaB[0], "sluice_node_in_flight_requests{");
      long killNanos = System.nanoTime();
      replicaB[0].kill();
      long killedNanos = System.nanoTime();

      letLoadRun(KILL_TO_RESTART);
      replicaB[0] = SluiceProcess.serve(config, portB, dir.resolve("replica-b.log"));
      replicaB[0].awaitReady(Duration.ofSeconds(90));
      long restartedReadyNanos = System.nanoTime();
      SluiceProcess restarted = replicaB[0];
      Awaitility.await("nginx sends the restarted replica traffic again").atMost(LOAD_CAP)
          .pollInterval(Duration.ofMillis(100))
          .until(() -> chatRequests(restarted) >= 1);
      long firstTrafficNanos = System.nanoTime();
      Awaitility.await().atMost(LOAD_CAP).pollInterval(Duration.ofMillis(200))
          .until(() -> chatRequests(restarted) >= REQUESTS_ON_RESTARTED_REPLICA);
      stop.set(true);
      pool.shutdown();
      assertThat(pool.awaitTermination(120, TimeUnit.SECONDS)).as("clients finished").isTrue();
      long t1 = System.nanoTime();
      double restartedServed = chatRequests(restarted);

      Map<String, String> upstreamById = upstreams(nginx);
      String killedAddr = "127.0.0.1:" + portB;
      List<Result> all = new ArrayList<>(results);
      Report r = new Report(all, killNanos, killedNanos, upstreamById, killedAddr, gaugeBeforeKill);
      String report = r.text(t0, t1, restartedReadyNanos, firstTrafficNanos, restartedServed);
      System.out.println(report);
      Files.createDirectories(Path.of("target"));
      Files.writeString(Path.of("target", "ha-nginx-report.txt"), report);

      assertThat(r.count(Kind.PLAIN, null)).as("non-streaming requests sent").isGreaterThan(100);
      assertThat(r.count(Kind.STREAM, null)).as("streams sent").isGreaterThan(100);
      assertThat(r.failures(Kind.PLAIN)).as("non-streaming failures (nginx retries them on the other replica)\n%s",
          report).isEmpty();
      assertThat(r.failures(Kind.STREAM)).as("only streams that had started on the killed replica may fail\n%s", report)
          .allSatisfy(f -> {
            assertThat(f.outcome()).isEqualTo(Outcome.TRUNCATED);
            assertThat(f.headersNanos()).isLessThan(killedNanos);
            assertThat(f.endNanos()).isGreaterThanOrEqualTo(killNanos);
            assertThat(upstreamById.get(f.id())).isEqualTo(killedAddr);
          });
      assertThat((long) r.failures(Kind.STREAM).size()).isLessThanOrEqualTo(r.streamsInFlightOnKilled());
      assertThat(r.retried()).as("requests nginx passed on to the other replica").isPositive();
    } finally {
      for (int i = cleanup.size() - 1; i >= 0; i--) {
        try {
          cleanup.get(i).close();
        } catch (Exception e) {
          System.err.println("cleanup: " + e);
        }
      }
      TestCluster.await(simVertx.close());
    }
  }

  private static SimNode start(Vertx vertx, String id) {
    return TestCluster.await(SimNode.start(vertx, SimOptions.defaults().withId(id).withGpu(GpuProfile.A10)
        .withModels("qwen3:32b").withTimeScale(TIME_SCALE)));
  }

  /**
   * Flow control is off here: this test counts what a replica's death costs the requests in flight on it. Fifty
   * clients on two A10s (about four chats each in KV) are an overload that, with flow control on, the surviving replica
   * sheds with 429 + Retry-After by design (FlowControlGatewayTest), which would blur that count.
   */
  private static String replicaConfig(SimNode a, SimNode b) {
    return """
        {"auth": {"mode": "none"},
         "health": {"probeInterval": "200ms", "probeTimeout": "200ms"},
         "routing": {"flow": {"enabled": false}},
         "providers": {"qwen3": {"api": "ollama", "models": [{"id": "qwen3:32b"}],
           "nodes": [{"id": "a10-01", "baseUrl": "%s", "gpuType": "A10"},
                     {"id": "a10-02", "baseUrl": "%s", "gpuType": "A10"}]}}}
        """.formatted(a.baseUrl(), b.baseUrl());
  }

  private static Result call(HttpClient client, String base, String id, Kind kind) {
    String body = "{\"model\":\"qwen3:32b\",\"max_tokens\":" + MAX_TOKENS + ",\"stream\":" + (kind == Kind.STREAM)
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"request " + id + "\"}]}";
    HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
        .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json").header("X-Request-Id", id)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    long start = System.nanoTime();
    long headers = 0;
    try {
      HttpResponse<InputStream> resp = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
      headers = System.nanoTime();
      String text;
      try (InputStream in = resp.body()) {
        text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return new Result(id, kind, start, headers, System.nanoTime(),
            resp.statusCode() == 200 ? Outcome.TRUNCATED : Outcome.FAILED_BEFORE_START, "body: " + e);
      }
      long end = System.nanoTime();
      if (resp.statusCode() != 200) {
        return new Result(id, kind, start, headers, end, Outcome.FAILED_BEFORE_START, "status " + resp.statusCode());
      }
      if (resp.headers().firstValue("X-Sluice-Degraded").isPresent()
          || resp.headers().firstValue("X-Sluice-Cache").isPresent()) {
        return new Result(id, kind, start, headers, end, Outcome.DEGRADED, "fallback answer");
      }
      boolean complete = kind == Kind.STREAM ? text.contains("data: [DONE]") : text.contains("\"choices\"");
      return new Result(id, kind, start, headers, end, complete ? Outcome.OK : Outcome.TRUNCATED,
          complete ? "" : "incomplete body (" + text.length() + " chars)");
    } catch (IOException e) {
      return new Result(id, kind, start, headers, System.nanoTime(), Outcome.FAILED_BEFORE_START, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(id, kind, start, headers, System.nanoTime(), Outcome.FAILED_BEFORE_START, "interrupted");
    }
  }

  /** Chat requests a replica counted on its /metrics (sluice_requests_total of the openai_chat endpoint). */
  private static double chatRequests(SluiceProcess replica) {
    if (replica.status("/healthz") != 200) return 0;
    return metric(replica, "sluice_requests_total{endpoint=\"openai_chat\"");
  }

  /** The sum of a replica's /metrics samples whose line starts with {@code prefix}. */
  private static double metric(SluiceProcess replica, String prefix) {
    double sum = 0;
    for (String line : replica.get("/metrics").split("\n")) {
      if (line.startsWith(prefix)) sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
    }
    return sum;
  }

  /** The load runs on its own threads; the test only lets time pass (a duration of load, not a state to wait for). */
  private static void letLoadRun(Duration d) {
    Awaitility.await().pollDelay(d).atMost(d.plusSeconds(5)).until(() -> true);
  }

  /** Request id → the replicas nginx tried, from its access log ("127.0.0.1:1, 127.0.0.1:2" = retried). */
  private static Map<String, String> upstreams(NginxProcess nginx) {
    Map<String, String> out = new HashMap<>();
    Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> !nginx.accessLogLines().isEmpty());
    for (String line : nginx.accessLogLines()) {
      Matcher m = LOG_LINE.matcher(line);
      if (m.find()) out.put(m.group(1), m.group(2).trim());
    }
    return out;
  }

  /** The figures of one run. */
  private record Report(List<Result> all, long killNanos, long killedNanos, Map<String, String> upstreamById,
      String killedAddr, double gaugeBeforeKill) {
    long count(Kind kind, Outcome outcome) {
      return all.stream().filter(r -> r.kind() == kind && (outcome == null || r.outcome() == outcome)).count();
    }

    List<Result> failures(Kind kind) {
      return all.stream().filter(r -> r.kind() == kind && r.failed()).toList();
    }

    /** Streams whose headers had reached the client before the kill, still open at the kill, on the killed replica. */
    long streamsInFlightOnKilled() {
      return all.stream().filter(r -> r.kind() == Kind.STREAM && r.headersNanos() != 0
          && r.headersNanos() < killedNanos && r.endNanos() >= killNanos
          && killedAddr.equals(upstreamById.get(r.id()))).count();
    }

    /** Requests in flight (started before, ended after the kill) whatever their replica. */
    long inFlightAtKill(Kind kind) {
      return all.stream().filter(r -> r.kind() == kind && r.startNanos() < killNanos && r.endNanos() >= killNanos)
          .count();
    }

    long retried() {
      return upstreamById.values().stream().filter(u -> u.contains(",")).count();
    }

    double ms(long nanos) {
      return nanos / 1e6;
    }

    String text(long t0, long t1, long restartedReady, long firstTraffic, double restartedServed) {
      StringBuilder s = new StringBuilder();
      s.append("HA through nginx (deploy/nginx/sluice.conf) — 2 replicas, ").append(CLIENTS)
          .append(" concurrent clients, half streaming; replica B SIGKILLed at +")
          .append(String.format(Locale.ROOT, "%.1f s", ms(killNanos - t0) / 1000)).append(", run ")
          .append(String.format(Locale.ROOT, "%.1f s", ms(t1 - t0) / 1000)).append('\n');
      s.append(String.format(Locale.ROOT, "%-8s %7s %7s %7s %12s %12s %9s%n", "kind", "total", "ok", "failed",
          "before-start", "truncated", "degraded"));
      for (Kind k : Kind.values()) {
        s.append(String.format(Locale.ROOT, "%-8s %7d %7d %7d %12d %12d %9d%n", k.name().toLowerCase(Locale.ROOT),
            count(k, null), count(k, Outcome.OK), failures(k).size(), count(k, Outcome.FAILED_BEFORE_START),
            count(k, Outcome.TRUNCATED), count(k, Outcome.DEGRADED)));
      }
      s.append("in flight at the kill: ").append(inFlightAtKill(Kind.PLAIN)).append(" non-streaming, ")
          .append(inFlightAtKill(Kind.STREAM)).append(" streams (both replicas); streams already answering on the ")
          .append("killed replica: ").append(streamsInFlightOnKilled()).append(String.format(Locale.ROOT,
              "; its own sluice_node_in_flight_requests just before the kill: %.0f (both kinds)%n", gaugeBeforeKill));
      s.append("requests nginx retried on the other replica (access log, two upstreams): ").append(retried())
          .append('\n');
      long lastFailureEnd = all.stream().filter(Result::failed).mapToLong(Result::endNanos).max().orElse(killNanos);
      long lastFailedStart = all.stream().filter(Result::failed).mapToLong(Result::startNanos).max().orElse(killNanos);
      s.append(String.format(Locale.ROOT, "recovery: last failure seen %.0f ms after the kill; every request started "
          + "later than %.0f ms after the kill succeeded%n", Math.max(0, ms(lastFailureEnd - killNanos)),
          Math.max(0, ms(lastFailedStart - killNanos))));
      List<Double> durations = all.stream().filter(r -> r.outcome() == Outcome.OK)
          .map(r -> ms(r.endNanos() - r.startNanos())).sorted().toList();
      List<Double> retriedDurations = all.stream()
          .filter(r -> r.outcome() == Outcome.OK && upstreamById.getOrDefault(r.id(), "").contains(","))
          .map(r -> ms(r.endNanos() - r.startNanos())).sorted().toList();
      s.append(String.format(Locale.ROOT, "request duration p50 %.0f ms, p95 %.0f ms; retried requests p50 %.0f ms, "
          + "max %.0f ms%n", pct(durations, 50), pct(durations, 95), pct(retriedDurations, 50),
          retriedDurations.isEmpty() ? 0 : retriedDurations.get(retriedDurations.size() - 1)));
      s.append(String.format(Locale.ROOT, "restart: replica B ready again %.1f s after the kill; nginx sent it a request "
          + "%.1f s after that (passive health: fail_timeout 10s); it served %.0f chat requests until the load stopped%n",
          ms(restartedReady - killNanos) / 1000, Math.max(0, ms(firstTraffic - restartedReady) / 1000),
          restartedServed));
      all.stream().filter(Result::failed).limit(20).forEach(f -> s.append("  failed ").append(f.id()).append(' ')
          .append(f.kind()).append(' ').append(f.outcome()).append(" upstream=")
          .append(upstreamById.get(f.id())).append(' ').append(f.why()).append('\n'));
      return s.toString();
    }

    private static double pct(List<Double> sorted, int p) {
      if (sorted.isEmpty()) return 0;
      return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
    }
  }
}
