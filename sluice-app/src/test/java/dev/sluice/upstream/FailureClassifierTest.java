package dev.sluice.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.api.ApiFlavor;
import dev.sluice.config.ModelSpec;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.ProviderSpec;
import dev.sluice.config.ServerSettings;
import dev.sluice.config.SluiceConfig;
import dev.sluice.config.Timeouts;
import dev.sluice.config.UpstreamSettings;
import dev.sluice.sim.SimFault;
import dev.sluice.sim.SimNode;
import dev.sluice.sim.SimOptions;
import dev.sluice.testkit.TestCluster;
import dev.sluice.health.Failure;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.DecoderException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.ConnectionPoolTooBusyException;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.impl.NoStackTraceTimeoutException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.stream.Stream;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every row of the classifier: what kind a status, an exception or a first stream event is, whether another node is
 * tried, and whether it counts against the node (busy never does). Then the two Vert.x timeouts produced for real:
 * a request that gets no pooled connection is busy, a TCP connect that hangs is a node failure.
 */
class FailureClassifierTest {

  /** One row: what happened, and the kind it must be (null: not a failure, the answer is relayed). */
  record Row(String what, Supplier<Failure> classify, Failure.Kind kind, boolean retryable, boolean countsAgainstNode) {
    @Override
    public String toString() {
      return what;
    }
  }

  private static Row relayed(String what, Supplier<Failure> classify) {
    return new Row(what, classify, null, false, false);
  }

  private static Row busy(String what, Supplier<Failure> classify) {
    return new Row(what, classify, Failure.Kind.BUSY, true, false);
  }

  private static Row nodeFailure(String what, Supplier<Failure> classify, Failure.Kind kind) {
    return new Row(what, classify, kind, true, true);
  }

  static Stream<Row> rows() {
    return Stream.of(
        relayed("200: an answer", () -> FailureClassifier.ofStatus(200)),
        relayed("400: the request's fault", () -> FailureClassifier.ofStatus(400)),
        relayed("404: unknown model on the node, the request's fault", () -> FailureClassifier.ofStatus(404)),
        busy("429: the node is full", () -> FailureClassifier.ofStatus(429)),
        nodeFailure("500: the engine failed", () -> FailureClassifier.ofStatus(500), Failure.Kind.NODE_ERROR),
        nodeFailure("502: something in front of the engine failed", () -> FailureClassifier.ofStatus(502),
            Failure.Kind.NODE_ERROR),
        busy("503: Ollama's server busy", () -> FailureClassifier.ofStatus(503)),
        nodeFailure("504: the engine did not answer its proxy", () -> FailureClassifier.ofStatus(504),
            Failure.Kind.NODE_ERROR),
        nodeFailure("connection refused", () -> FailureClassifier.ofException(
            new ConnectException("Connection refused: /10.0.0.5:11434"), false), Failure.Kind.CONNECT),
        nodeFailure("unknown host", () -> FailureClassifier.ofException(
            new UnknownHostException("gpu-07.internal"), false), Failure.Kind.CONNECT),
        nodeFailure("TCP connect timed out", () -> FailureClassifier.ofException(
            new ConnectTimeoutException("connection timed out after 2000 ms: /10.0.0.5:11434"), false),
            Failure.Kind.CONNECT),
        busy("wait queue of the node's pool full", () -> FailureClassifier.ofException(
            new ConnectionPoolTooBusyException("Connection pool reached max wait queue size of 1024"), false)),
        busy("no pooled connection within the acquire timeout", () -> FailureClassifier.ofException(
            new NoStackTraceTimeoutException("The timeout of 4000 ms has been exceeded when getting a connection to "
                + "10.0.0.5:11434"), false)),
        nodeFailure("connection closed after the request was sent", () -> FailureClassifier.ofException(
            new HttpClosedException("Connection was closed"), true), Failure.Kind.RESET_BEFORE_FIRST_BYTE),
        nodeFailure("connection reset after the request was sent", () -> FailureClassifier.ofException(
            new IOException("Connection reset by peer"), true), Failure.Kind.RESET_BEFORE_FIRST_BYTE),
        nodeFailure("TLS handshake failed", () -> FailureClassifier.ofException(new DecoderException(
            new SSLHandshakeException("PKIX path building failed")), false), Failure.Kind.CONNECT),
        nodeFailure("an error as the first stream event", () -> FailureClassifier.ofFirstEvent(
            "data: {\"error\":{\"message\":\"CUDA out of memory\"}}\n\n".getBytes(StandardCharsets.UTF_8)),
            Failure.Kind.NODE_ERROR),
        new Row("a Responses stream's response.failed mid-answer (a broken stream: continued, never retried)",
            () -> FailureClassifier.ofStreamEvent(("event: response.failed\ndata: {\"type\":\"response.failed\","
                + "\"response\":{\"status\":\"failed\"}}\n\n").getBytes(StandardCharsets.UTF_8)),
            Failure.Kind.STREAM_BROKEN, false, true),
        relayed("a Responses text delta mid-answer", () -> FailureClassifier.ofStreamEvent(
            "event: response.output_text.delta\ndata: {\"delta\":\"Hi\"}\n\n".getBytes(StandardCharsets.UTF_8))),
        relayed("a token as the first stream event", () -> FailureClassifier.ofFirstEvent(
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n".getBytes(StandardCharsets.UTF_8))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void eachErrorShapeHasOneKindAndSaysWhetherToRetryAndWhetherItCountsAgainstTheNode(Row row) {
    Failure f = row.classify().get();
    if (row.kind() == null) {
      assertThat(f).as(row.what()).isNull();
      return;
    }
    assertThat(f).as(row.what()).isNotNull();
    assertThat(f.kind()).as(row.what()).isEqualTo(row.kind());
    assertThat(f.kind().retryable()).as(row.what() + ": retryable").isEqualTo(row.retryable());
    assertThat(f.kind().countsAgainstNode()).as(row.what() + ": counts against the node")
        .isEqualTo(row.countsAgainstNode());
  }

  @Test
  void aPoolAcquireTimeoutNamesTheWaitAndTheSettingInItsDetail() {
    Failure f = FailureClassifier.ofException(new NoStackTraceTimeoutException(
        "The timeout of 4000 ms has been exceeded when getting a connection to 10.0.0.5:11434"), false);
    assertThat(f.detail())
        .isEqualTo("no free connection to the node within 4000 ms (all its upstream.maxConnectionsPerNode connections "
            + "in use)");
  }

  // ---- the two Vert.x timeouts, for real ----

  private static final Timeouts TIMEOUTS = new Timeouts(Duration.ofMillis(300), Duration.ofSeconds(30),
      Duration.ofSeconds(30), Duration.ofMinutes(1));

  private static SluiceConfig config(URI node, int connections) {
    NodeSpec n = new NodeSpec("n", node, URI.create(node + "/v1"), ApiFlavor.OLLAMA, "A10", null, Map.of(), null, "p");
    return new SluiceConfig(ServerSettings.defaults(), TIMEOUTS, new UpstreamSettings(connections, 8, 3),
        List.of(new ProviderSpec("p", List.of(new ModelSpec("m", "m", 24576, 4096, null)), List.of(n))), "test");
  }

  /** A request to the node as the data path makes it (connect timeout from NodeClients), or why it got none. */
  private static Throwable requestFailure(NodeClient c) throws Exception {
    Future<HttpClientRequest> f = c.http().request(c.target(new RequestOptions().setMethod(HttpMethod.POST)
        .setURI("/api/generate").setConnectTimeout(NodeClients.acquireTimeoutMillis(TIMEOUTS))));
    try {
      f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS).reset();
      return null;
    } catch (ExecutionException e) {
      return e.getCause();
    }
  }

  @Test
  void aRequestThatGetsNoPooledConnectionBecauseEveryOneIsInUseIsBusy() throws Exception {
    Vertx vertx = Vertx.vertx();
    SimNode sim = TestCluster.await(SimNode.start(vertx, SimOptions.defaults().withId("n").withModels("m")
        .withTimeScale(0)));
    NodeClients clients = new NodeClients(vertx);
    try {
      clients.apply(config(URI.create(sim.baseUrl()), 1));
      NodeClient c = clients.get("n");
      sim.injectFault(SimFault.hangBeforeFirstByte(1));
      HttpClientRequest holder = TestCluster.await(c.http().request(new RequestOptions().setMethod(HttpMethod.POST)
          .setURI("/api/generate")));
      holder.send("{\"model\":\"m\",\"prompt\":\"x\",\"stream\":false}");
      await().atMost(Duration.ofSeconds(5)).until(() -> sim.stats().active() == 1);

      Throwable t = requestFailure(c);
      assertThat(t).as("Vert.x's pool timeout").isInstanceOf(TimeoutException.class)
          .hasMessageContaining("getting a connection");
      Failure f = FailureClassifier.ofException(t, false);
      assertThat(f.kind()).isEqualTo(Failure.Kind.BUSY);
      assertThat(f.kind().countsAgainstNode()).isFalse();
      holder.reset();
    } finally {
      clients.close();
      TestCluster.await(sim.close());
      TestCluster.await(vertx.close());
    }
  }

  @Test
  void aTcpConnectThatHangsFailsAsAConnectTimeoutThatCountsAgainstTheNode() throws Exception {
    // A listener whose accept queue is full and that never accepts: the kernel drops further SYNs, so a connect hangs
    try (ServerSocket full = new ServerSocket()) {
      full.bind(new InetSocketAddress("127.0.0.1", 0), 1);
      List<Socket> fillers = new ArrayList<>();
      Vertx vertx = Vertx.vertx();
      NodeClients clients = new NodeClients(vertx);
      try {
        for (int i = 0; i < 16; i++) {
          Socket s = new Socket();
          fillers.add(s);
          try {
            s.connect(full.getLocalSocketAddress(), 300);
          } catch (SocketTimeoutException queueFull) {
            break;
          }
        }
        clients.apply(config(URI.create("http://127.0.0.1:" + full.getLocalPort()), 4));

        Throwable t = requestFailure(clients.get("n"));
        assertThat(t).as("Netty's connect timeout, before the pool's").isInstanceOf(ConnectTimeoutException.class);
        Failure f = FailureClassifier.ofException(t, false);
        assertThat(f.kind()).isEqualTo(Failure.Kind.CONNECT);
        assertThat(f.kind().countsAgainstNode()).isTrue();
      } finally {
        clients.close();
        TestCluster.await(vertx.close());
        for (Socket s : fillers) s.close();
      }
    }
  }
}
