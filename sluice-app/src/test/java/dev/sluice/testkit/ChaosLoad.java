package dev.sluice.testkit;

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
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import java.util.function.Predicate;

/**
 * Client load for chaos tests, on its own Vertx: open-loop arrivals at a fixed rate (requests keep arriving whatever
 * the gateway does, as users do; an arrival while {@code maxOutstanding} requests are unanswered is counted as not
 * sent) and closed-loop clients (each sends its next request when the previous one ended, after at least a minimum
 * cycle time). Every request ends as one {@link Result}: when it was sent, its first body byte (the time to first
 * token of a stream; of a whole answer for a non-streaming request), its end, the status, the answering node and the
 * degradation headers, and the {@link Outcome} read from all of them. Times are nanoseconds since {@code t0Nanos}, the
 * test's own clock origin, so phases, faults and answers line up.
 */
public final class ChaosLoad implements AutoCloseable {
  /** What one request asks for. */
  public record Shape(String model, boolean stream, int maxTokens, String prompt) {
    String body() {
      return "{\"model\":\"" + model + "\",\"stream\":" + stream + ",\"max_tokens\":" + maxTokens
          + ",\"messages\":[{\"role\":\"user\",\"content\":" + Json.MAPPER.getNodeFactory().textNode(prompt) + "}]}";
    }
  }

  /** What the client got, from the response alone. */
  public enum Outcome {
    /** 200 from the requested model, whole. */
    ANSWERED,
    /** 200 from the downgrade model ({@code X-Model-Downgraded}). */
    DOWNGRADED,
    /** 200 from the response cache ({@code X-Sluice-Cache}). */
    CACHED,
    /** 200 with the static fallback ({@code X-Sluice-Degraded: static}). */
    STATIC,
    /** 429 or 503 (shed or busy), with or without Retry-After. */
    REJECTED,
    /** Any other status, a transport error, an error event in a stream or a stream without [DONE]. */
    FAILED,
    /** Still unanswered when the load was closed. */
    UNFINISHED
  }

  /**
   * One request.
   *
   * @param sentNanos when it was sent, since t0
   * @param firstByteNanos its first response body byte since t0, -1 if none came
   * @param doneNanos when it ended (or was given up at close), since t0
   * @param node the {@code x-sluice-node} header, null if none
   * @param retryAfter the {@code Retry-After} header, null if none
   * @param detail the error or the problem with the body, null when none
   */
  public record Result(String tag, Shape shape, long sentNanos, long firstByteNanos, long doneNanos, int status,
      Outcome outcome, String node, String retryAfter, String detail) {
    /** Send to end, milliseconds. */
    public double latencyMillis() {
      return (doneNanos - sentNanos) / 1e6;
    }

    /** Send to first body byte, milliseconds; the whole latency when no byte came. */
    public double ttftMillis() {
      return ((firstByteNanos < 0 ? doneNanos : firstByteNanos) - sentNanos) / 1e6;
    }

    /** Whether it was sent in {@code [from, to)} (nanoseconds since t0). */
    public boolean sentIn(long from, long to) {
      return sentNanos >= from && sentNanos < to;
    }

    /** Whether it ended in {@code [from, to)}. */
    public boolean doneIn(long from, long to) {
      return doneNanos >= from && doneNanos < to;
    }

    /** Whether a real model answered (requested or downgraded), not a fallback, a rejection or a failure. */
    public boolean real() {
      return outcome == Outcome.ANSWERED || outcome == Outcome.DOWNGRADED;
    }

    /** Whether the ladder answered instead of the requested model (the static reply or the downgrade model). */
    public boolean fallback() {
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

  /** A request in flight, for {@link #close()} to give up. */
  private record Pending(String tag, Shape shape, long sentNanos, long[] firstByte) {}

  /**
   * @param port the gateway's port on 127.0.0.1
   * @param connections most connections to the gateway (requests beyond wait for one)
   * @param t0Nanos the {@link System#nanoTime()} every time is measured from
   */
  public ChaosLoad(int port, int connections, long t0Nanos) {
    this.port = port;
    this.t0Nanos = t0Nanos;
    this.http = vertx.httpClientBuilder()
        .with(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true).setConnectTimeout(5_000))
        .with(new PoolOptions().setHttp1MaxSize(connections).setMaxWaitQueueSize(-1))
        .build();
  }

  /** Nanoseconds since t0. */
  public long now() {
    return System.nanoTime() - t0Nanos;
  }

  /**
   * Starts open-loop arrivals of {@code perSecond} requests a second, the {@code n}-th shaped by {@code shapes},
   * until {@link #stop()}; an arrival while {@code maxOutstanding} requests of this tag are unanswered is not sent
   * (counted by {@link #notSent()}).
   */
  public void open(String tag, double perSecond, int maxOutstanding, IntFunction<Shape> shapes) {
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
        send(tag, shapes.apply(sequence.getAndIncrement())).onComplete(ar -> outstanding.decrementAndGet());
      }
    });
    synchronized (timers) {
      timers.add(timer);
    }
  }

  /**
   * Starts {@code clients} closed loops: each sends a request shaped by {@code shapes}, waits for its end, and sends
   * the next one no sooner than {@code minCycle} after the previous was sent (so fast fallbacks do not become a
   * flood), until {@link #stop()}.
   */
  public void closed(String tag, int clients, Duration minCycle, IntFunction<Shape> shapes) {
    for (int i = 0; i < clients; i++) loop(tag, minCycle.toNanos(), shapes);
  }

  private void loop(String tag, long minCycleNanos, IntFunction<Shape> shapes) {
    if (stopped) return;
    long sent = now();
    send(tag, shapes.apply(sequence.getAndIncrement())).onComplete(ar -> {
      long wait = minCycleNanos - (now() - sent);
      if (wait <= 1_000_000) {
        loop(tag, minCycleNanos, shapes);
      } else {
        vertx.setTimer(wait / 1_000_000, id -> loop(tag, minCycleNanos, shapes));
      }
    });
  }

  /** Sends one request now; the future completes when it ended (its {@link Result} is recorded by then). */
  public Future<Result> send(String tag, Shape shape) {
    long sent = now();
    long[] firstByte = {-1};
    Pending p = new Pending(tag, shape, sent, firstByte);
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
          return resp.end().map(v -> classify(tag, shape, sent, firstByte[0], resp, body));
        })
        .recover(e -> Future.succeededFuture(new Result(tag, shape, sent, firstByte[0], now(), 0, Outcome.FAILED,
            null, null, e.getClass().getSimpleName() + ": " + e.getMessage())))
        .map(r -> {
          if (pending.remove(p)) results.add(r); // else close() gave it up and recorded it
          return r;
        });
  }

  private Result classify(String tag, Shape shape, long sent, long firstByte, HttpClientResponse resp, Buffer body) {
    String node = resp.getHeader("x-sluice-node");
    String retryAfter = resp.getHeader("retry-after");
    String text = body.toString(StandardCharsets.UTF_8);
    int status = resp.statusCode();
    if (status == 429 || status == 503) {
      return new Result(tag, shape, sent, firstByte, now(), status, Outcome.REJECTED, node, retryAfter, cut(text));
    }
    if (status != 200) {
      return new Result(tag, shape, sent, firstByte, now(), status, Outcome.FAILED, node, retryAfter, cut(text));
    }
    String problem = shape.stream() ? streamProblem(text) : jsonProblem(text);
    Outcome outcome;
    if (problem != null) outcome = Outcome.FAILED;
    else if ("static".equals(resp.getHeader("x-sluice-degraded"))) outcome = Outcome.STATIC;
    else if (resp.getHeader("x-sluice-cache") != null) outcome = Outcome.CACHED;
    else if (resp.getHeader("x-model-downgraded") != null) outcome = Outcome.DOWNGRADED;
    else outcome = Outcome.ANSWERED;
    return new Result(tag, shape, sent, firstByte, now(), status, outcome, node, retryAfter, problem);
  }

  /** Null when an SSE body is a whole stream: events, no error event, last data line {@code [DONE]}. */
  private static String streamProblem(String text) {
    String last = null;
    for (String line : text.split("\n")) {
      String l = line.strip();
      if (!l.startsWith("data:")) continue;
      String data = l.substring(5).strip();
      if (data.startsWith("{\"error\"")) return "error event: " + cut(data);
      last = data;
    }
    if (last == null) return "stream without events: " + cut(text);
    return "[DONE]".equals(last) ? null : "stream ended without [DONE]";
  }

  private static String jsonProblem(String text) {
    try {
      var json = Json.MAPPER.readTree(text);
      if (json.has("error")) return "200 with an error: " + cut(text);
      return json.path("choices").path(0).path("message").has("content") ? null : "200 without an answer";
    } catch (Exception e) {
      return "200 with a body that is not JSON";
    }
  }

  private static String cut(String s) {
    String one = s.replace('\n', ' ');
    return one.length() <= 160 ? one : one.substring(0, 160) + "…";
  }

  /** No new arrivals or loops from now on; requests in flight go on. */
  public void stop() {
    stopped = true;
    synchronized (timers) {
      timers.forEach(vertx::cancelTimer);
    }
  }

  /** Requests in flight now. */
  public int inFlight() {
    return pending.size();
  }

  /** Arrivals not sent because too many requests were unanswered. */
  public long notSent() {
    return notSent.get();
  }

  /** Every ended request so far (and, after {@link #close()}, the ones given up). */
  public List<Result> results() {
    return List.copyOf(results);
  }

  /** The ended requests that match. */
  public List<Result> results(Predicate<Result> filter) {
    return results.stream().filter(filter).toList();
  }

  /**
   * Stops, waits up to {@code drain} for requests in flight, records the rest as {@link Outcome#UNFINISHED} (their
   * latency runs to now, a lower bound) and closes the client, which cancels them at the gateway.
   */
  public void stopAndDrain(Duration drain) {
    stop();
    long deadline = System.nanoTime() + drain.toNanos();
    org.awaitility.Awaitility.await().atMost(drain.plusSeconds(1)).pollInterval(Duration.ofMillis(20))
        .until(() -> pending.isEmpty() || System.nanoTime() >= deadline);
    giveUpPending();
  }

  private void giveUpPending() {
    long at = now();
    for (Pending p : List.copyOf(pending)) {
      if (pending.remove(p)) {
        results.add(new Result(p.tag(), p.shape(), p.sentNanos(), p.firstByte()[0], at, 0, Outcome.UNFINISHED, null,
            null, "unanswered when the load was closed"));
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
      // closing: nothing left to measure
    }
  }

  // ------------------------------------------------------------------ figures

  /** Counts by outcome, e.g. {@code ANSWERED=312, STATIC=4}. */
  public static Map<Outcome, Long> outcomes(List<Result> rs) {
    Map<Outcome, Long> m = new java.util.EnumMap<>(Outcome.class);
    for (Result r : rs) m.merge(r.outcome(), 1L, Long::sum);
    return m;
  }

  /** The {@code p}-th percentile (0-100, nearest rank) of {@code values}, 0 when empty. */
  public static double percentile(List<Double> values, double p) {
    if (values.isEmpty()) return 0;
    double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(v);
    int rank = (int) Math.ceil(p / 100.0 * v.length);
    return v[Math.max(0, Math.min(v.length - 1, rank - 1))];
  }

  /** p-th percentile of the latencies (ms) of {@code rs}. */
  public static double latencyPercentile(List<Result> rs, double p) {
    return percentile(rs.stream().map(Result::latencyMillis).toList(), p);
  }

  /** p-th percentile of the times to first byte (ms) of {@code rs}. */
  public static double ttftPercentile(List<Result> rs, double p) {
    return percentile(rs.stream().map(Result::ttftMillis).toList(), p);
  }

  /** Requests by answering node, e.g. {@code {a100=120, h100=340}}. */
  public static Map<String, Long> byNode(List<Result> rs) {
    Map<String, Long> m = new java.util.TreeMap<>();
    for (Result r : rs) m.merge(r.node() == null ? "-" : r.node(), 1L, Long::sum);
    return m;
  }

  /** Seconds, two decimals. */
  public static String sec(long nanos) {
    return String.format(Locale.ROOT, "%.2f s", nanos / 1e9);
  }

  /** Milliseconds, no decimals. */
  public static String ms(double millis) {
    return String.format(Locale.ROOT, "%.0f ms", millis);
  }
}
