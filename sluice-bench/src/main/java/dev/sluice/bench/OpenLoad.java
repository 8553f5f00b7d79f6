package dev.sluice.bench;

import dev.sluice.support.Json;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import java.util.function.Predicate;

/**
 * The clients of {@link SilentChaos}, on their own Vertx: open-loop arrivals at a fixed rate (users keep arriving
 * whatever the gateway does; an arrival while {@code maxOutstanding} requests of that load are unanswered is counted
 * as not sent, as the operator's load generator did) and closed-loop clients with a minimum cycle time. Every request
 * ends as one {@link Result} with its send time, first body byte (the TTFT of a stream; the whole answer of a
 * non-streamed request), end, status, answering node ({@code x-sluice-node}) and {@link Outcome}. Times are
 * nanoseconds since the scenario's t0.
 */
final class OpenLoad implements AutoCloseable {
  /** What one request asks for. */
  record Shape(String model, boolean stream, int maxTokens, String prompt) {
    String body() {
      return "{\"model\":\"" + model + "\",\"stream\":" + stream + ",\"max_tokens\":" + maxTokens
          + ",\"messages\":[{\"role\":\"user\",\"content\":" + Json.MAPPER.getNodeFactory().textNode(prompt) + "}]}";
    }
  }

  /** What the client got. */
  enum Outcome { ANSWERED, DOWNGRADED, CACHED, STATIC, REJECTED, FAILED, UNFINISHED }

  /** One request; times in ns since t0, {@code firstByteNanos} -1 when no body byte came. */
  record Result(Shape shape, long sentNanos, long firstByteNanos, long doneNanos, int status, Outcome outcome,
      String node, String retryAfter, String detail) {
    double latencyMillis() {
      return (doneNanos - sentNanos) / 1e6;
    }

    double ttftMillis() {
      return ((firstByteNanos < 0 ? doneNanos : firstByteNanos) - sentNanos) / 1e6;
    }

    boolean sentIn(long from, long to) {
      return sentNanos >= from && sentNanos < to;
    }

    boolean doneIn(long from, long to) {
      return doneNanos >= from && doneNanos < to;
    }

    /** Answered by a real model (requested or downgraded). */
    boolean real() {
      return outcome == Outcome.ANSWERED || outcome == Outcome.DOWNGRADED;
    }

    boolean fallback() {
      return outcome == Outcome.STATIC || outcome == Outcome.DOWNGRADED;
    }
  }

  private static final long CLIENT_IDLE_TIMEOUT_MS = 120_000;

  private final Vertx vertx = Vertx.vertx();
  private final HttpClientAgent http;
  private final int port;
  private final long t0Nanos;
  private final ConcurrentLinkedQueue<Result> results = new ConcurrentLinkedQueue<>();
  private final Set<Pending> pending = ConcurrentHashMap.newKeySet();
  private final AtomicLong notSent = new AtomicLong();
  private final AtomicInteger sequence = new AtomicInteger();
  private final List<Long> timers = new ArrayList<>();
  private volatile boolean stopped;

  private record Pending(Shape shape, long sentNanos, long[] firstByte) {}

  OpenLoad(int port, int connections, long t0Nanos) {
    this.port = port;
    this.t0Nanos = t0Nanos;
    this.http = vertx.httpClientBuilder()
        .with(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true).setConnectTimeout(5_000))
        .with(new PoolOptions().setHttp1MaxSize(connections).setMaxWaitQueueSize(-1))
        .build();
  }

  long now() {
    return System.nanoTime() - t0Nanos;
  }

  /** Open-loop arrivals of {@code perSecond} a second until {@link #stop()}. */
  void open(double perSecond, int maxOutstanding, IntFunction<Shape> shapes) {
    AtomicInteger outstanding = new AtomicInteger();
    long start = now();
    long[] next = {0};
    long timer = vertx.setPeriodic(5, id -> {
      if (stopped) return;
      long due = (long) ((now() - start) / 1e9 * perSecond);
      while (next[0] <= due) {
        next[0]++;
        if (outstanding.get() >= maxOutstanding) {
          notSent.incrementAndGet();
          continue;
        }
        outstanding.incrementAndGet();
        send(shapes.apply(sequence.getAndIncrement())).onComplete(ar -> outstanding.decrementAndGet());
      }
    });
    synchronized (timers) {
      timers.add(timer);
    }
  }

  /** {@code clients} closed loops, each sending its next request no sooner than {@code minCycleMillis} after the last. */
  void closed(int clients, long minCycleMillis, IntFunction<Shape> shapes) {
    for (int i = 0; i < clients; i++) loop(minCycleMillis * 1_000_000, shapes);
  }

  private void loop(long minCycleNanos, IntFunction<Shape> shapes) {
    if (stopped) return;
    long sent = now();
    send(shapes.apply(sequence.getAndIncrement())).onComplete(ar -> {
      long wait = minCycleNanos - (now() - sent);
      if (wait <= 1_000_000) loop(minCycleNanos, shapes);
      else vertx.setTimer(wait / 1_000_000, id -> loop(minCycleNanos, shapes));
    });
  }

  private Future<Result> send(Shape shape) {
    long sent = now();
    long[] firstByte = {-1};
    Pending p = new Pending(shape, sent, firstByte);
    pending.add(p);
    RequestOptions o = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(port)
        .setURI("/v1/chat/completions").setIdleTimeout(CLIENT_IDLE_TIMEOUT_MS)
        .putHeader("content-type", "application/json");
    return http.request(o)
        .compose(req -> req.send(Buffer.buffer(shape.body())))
        .compose(resp -> {
          Buffer body = Buffer.buffer();
          resp.handler(b -> {
            if (firstByte[0] < 0) firstByte[0] = now();
            body.appendBuffer(b);
          });
          return resp.end().map(v -> classify(shape, sent, firstByte[0], resp, body));
        })
        .recover(e -> Future.succeededFuture(new Result(shape, sent, firstByte[0], now(), 0, Outcome.FAILED, null,
            null, e.getClass().getSimpleName() + ": " + e.getMessage())))
        .map(r -> {
          if (pending.remove(p)) results.add(r);
          return r;
        });
  }

  private Result classify(Shape shape, long sent, long firstByte, HttpClientResponse resp, Buffer body) {
    String node = resp.getHeader("x-sluice-node");
    String retryAfter = resp.getHeader("retry-after");
    String text = body.toString(StandardCharsets.UTF_8);
    int status = resp.statusCode();
    if (status == 429 || status == 503) {
      return new Result(shape, sent, firstByte, now(), status, Outcome.REJECTED, node, retryAfter,
          ChaosLoad.errorCode(text));
    }
    if (status != 200) {
      return new Result(shape, sent, firstByte, now(), status, Outcome.FAILED, node, retryAfter,
          "HTTP " + status + " " + ChaosLoad.errorCode(text));
    }
    String problem = shape.stream() ? ChaosLoad.streamProblem(text) : jsonProblem(text);
    Outcome outcome;
    if (problem != null) outcome = Outcome.FAILED;
    else if ("static".equals(resp.getHeader("x-sluice-degraded"))) outcome = Outcome.STATIC;
    else if (resp.getHeader("x-sluice-cache") != null) outcome = Outcome.CACHED;
    else if (resp.getHeader("x-model-downgraded") != null) outcome = Outcome.DOWNGRADED;
    else outcome = Outcome.ANSWERED;
    return new Result(shape, sent, firstByte, now(), status, outcome, node, retryAfter, problem);
  }

  private static String jsonProblem(String text) {
    try {
      var json = Json.MAPPER.readTree(text);
      if (json.has("error")) return "200 with error: " + ChaosLoad.errorCode(text);
      return json.path("choices").path(0).path("message").has("content") ? null : "200 without an answer";
    } catch (Exception e) {
      return "200 with a body that is not JSON";
    }
  }

  void stop() {
    stopped = true;
    synchronized (timers) {
      timers.forEach(vertx::cancelTimer);
    }
  }

  long notSent() {
    return notSent.get();
  }

  List<Result> results() {
    return List.copyOf(results);
  }

  List<Result> results(Predicate<Result> p) {
    return results.stream().filter(p).toList();
  }

  /** Stops, waits up to {@code drainMillis} for requests in flight, then records the rest as UNFINISHED. */
  void stopAndDrain(long drainMillis) throws InterruptedException {
    stop();
    long deadline = System.nanoTime() + drainMillis * 1_000_000;
    while (!pending.isEmpty() && System.nanoTime() < deadline) Thread.sleep(20);
    giveUpPending();
  }

  private void giveUpPending() {
    long at = now();
    for (Pending p : List.copyOf(pending)) {
      if (pending.remove(p)) {
        results.add(new Result(p.shape(), p.sentNanos(), p.firstByte()[0], at, 0, Outcome.UNFINISHED, null, null,
            "unanswered at the end of the drain"));
      }
    }
  }

  @Override
  public void close() {
    stop();
    giveUpPending();
    try {
      http.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      // shutting down
    }
  }

  // ------------------------------------------------------------------ figures

  static Map<Outcome, Long> outcomes(List<Result> rs) {
    Map<Outcome, Long> m = new EnumMap<>(Outcome.class);
    for (Result r : rs) m.merge(r.outcome(), 1L, Long::sum);
    return m;
  }

  static long count(List<Result> rs, Predicate<Result> p) {
    return rs.stream().filter(p).count();
  }

  static double percentile(List<Double> values, double p) {
    if (values.isEmpty()) return Double.NaN;
    double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(v);
    int rank = (int) Math.ceil(p / 100.0 * v.length);
    return v[Math.max(0, Math.min(v.length - 1, rank - 1))];
  }

  static double latency(List<Result> rs, double p) {
    return percentile(rs.stream().map(Result::latencyMillis).toList(), p);
  }

  static double ttft(List<Result> rs, double p) {
    return percentile(rs.stream().map(Result::ttftMillis).toList(), p);
  }

  static Map<String, Long> byNode(List<Result> rs) {
    Map<String, Long> m = new TreeMap<>();
    for (Result r : rs) m.merge(r.node() == null ? "-" : r.node(), 1L, Long::sum);
    return m;
  }
}
