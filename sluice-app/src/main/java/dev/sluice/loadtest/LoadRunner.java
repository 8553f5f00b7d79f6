package dev.sluice.loadtest;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.api.Dialect;
import dev.sluice.api.Endpoint;
import dev.sluice.support.Clock;
import dev.sluice.support.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * Runs a {@link LoadPlan} against a gateway's {@code /v1/chat/completions} on one JDK {@link HttpClient} (HTTP/1.1,
 * asynchronous: no thread per user). Streams are read line by line as they arrive, so the first token and every gap
 * between tokens are timed when the bytes come in, not when the answer ends.
 */
public final class LoadRunner {
  /** The gateway did not answer at all before the run (exit code 1 of {@code sluice bench}). */
  public static final class UnreachableException extends IOException {
    UnreachableException(String message) {
      super(message);
    }
  }

  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5); // a gateway on the LAN answers in ms
  private static final Duration DRAIN_GRACE = Duration.ofSeconds(5); // beyond the request timeout, for the last ones
  /** The wire format of the answers read: the gateway's OpenAI chat completions. */
  private static final Dialect CHAT = Endpoint.OPENAI_CHAT.dialect();

  private final LoadPlan plan;
  private final PromptMix prompts;
  private final HttpClient client;
  private final URI chat;
  private final SplittableRandom streamDraw = new SplittableRandom(7);
  private final Clock clock;

  public LoadRunner(LoadPlan plan, PromptMix prompts) {
    this(plan, prompts, Clock.SYSTEM);
  }

  /** A runner that paces and times requests on {@code clock}'s monotonic time. */
  public LoadRunner(LoadPlan plan, PromptMix prompts, Clock clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
    this.plan = Objects.requireNonNull(plan, "plan");
    this.prompts = Objects.requireNonNull(prompts, "prompts");
    this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(CONNECT_TIMEOUT)
        .executor(Executors.newFixedThreadPool(Math.max(4, Runtime.getRuntime().availableProcessors() * 2), r -> {
          Thread t = new Thread(r, "bench-http");
          t.setDaemon(true);
          return t;
        })).build();
    String base = plan.url().toString().replaceAll("/+$", "");
    this.chat = URI.create(base + "/v1/chat/completions");
  }

  /** Fails with {@link UnreachableException} when nothing answers at the gateway's address. */
  public void checkReachable() throws IOException, InterruptedException {
    HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(chat.toString().replace("/chat/completions",
        "/models"))).timeout(CONNECT_TIMEOUT).GET();
    if (plan.token() != null) req.header("Authorization", "Bearer " + plan.token());
    try {
      client.send(req.build(), HttpResponse.BodyHandlers.discarding());
    } catch (ConnectException | HttpTimeoutException e) {
      throw new UnreachableException("the gateway at " + plan.url() + " did not answer (" + e.getClass()
          .getSimpleName() + "); is it running? (--url, default http://127.0.0.1:8080)");
    }
  }

  /** Runs the plan to its end; {@code progress} is called once a second with the result so far. */
  public BenchResult run(Consumer<BenchResult> progress) throws InterruptedException {
    long start = clock.nanos();
    BenchResult result = new BenchResult(start, clock, plan.slo());
    long deadline = plan.duration() == null ? Long.MAX_VALUE : start + plan.duration().toNanos();
    AtomicLong issued = new AtomicLong();
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "bench-timer");
      t.setDaemon(true);
      return t;
    });
    try {
      if (progress != null) timer.scheduleAtFixedRate(() -> progress.accept(result), 1, 1, TimeUnit.SECONDS);
      if (plan.openLoop()) {
        openLoop(result, start, deadline, issued);
      } else {
        closedLoop(result, timer, deadline, issued);
      }
    } finally {
      timer.shutdownNow();
    }
    result.finish(clock.nanos(), plan.describe());
    return result;
  }

  /** Takes a ticket for one more request, or false when the plan is done. */
  private boolean take(AtomicLong issued, long deadline) {
    if (clock.nanos() >= deadline) return false;
    if (plan.requests() <= 0) return true;
    return issued.incrementAndGet() <= plan.requests();
  }

  private void closedLoop(BenchResult result, ScheduledExecutorService timer, long deadline, AtomicLong issued)
      throws InterruptedException {
    CountDownLatch users = new CountDownLatch(plan.users());
    long stepNanos = plan.users() <= 1 ? 0 : plan.rampUp().toNanos() / plan.users();
    for (int i = 0; i < plan.users(); i++) {
      timer.schedule(() -> user(result, deadline, issued, users), i * stepNanos, TimeUnit.NANOSECONDS);
    }
    users.await();
  }

  /** One user: the next request when the last one ended, until the plan is done. */
  private void user(BenchResult result, long deadline, AtomicLong issued, CountDownLatch done) {
    if (!take(issued, deadline)) {
      done.countDown();
      return;
    }
    one(result).whenComplete((v, e) -> user(result, deadline, issued, done));
  }

  private void openLoop(BenchResult result, long start, long deadline, AtomicLong issued)
      throws InterruptedException {
    long periodNanos = (long) (1e9 / plan.rate());
    AtomicInteger inFlight = new AtomicInteger();
    Object lock = new Object();
    for (long i = 0; ; i++) {
      long at = start + i * periodNanos;
      long wait;
      while ((wait = at - clock.nanos()) > 0) LockSupport.parkNanos(wait);
      if (!take(issued, deadline)) break;
      inFlight.incrementAndGet();
      one(result).whenComplete((v, e) -> {
        if (inFlight.decrementAndGet() == 0) synchronized (lock) {
          lock.notifyAll();
        }
      });
    }
    long giveUp = clock.nanos() + plan.requestTimeout().plus(DRAIN_GRACE).toNanos();
    synchronized (lock) {
      while (inFlight.get() > 0 && clock.nanos() < giveUp) lock.wait(100);
    }
  }

  /** Sends one request and records it; the future never fails. */
  private CompletableFuture<Void> one(BenchResult result) {
    PromptMix.Prompt p = prompts.next();
    boolean stream;
    synchronized (streamDraw) {
      stream = streamDraw.nextDouble() < plan.streamShare();
    }
    byte[] body;
    try {
      body = Json.MAPPER.writeValueAsBytes(PromptMix.body(plan.model(), p, stream));
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
    return send(body, stream, Map.of()).thenAccept(result::record);
  }

  /** Sends one chat completions body with {@code headers} added; the future never fails (errors are in the sample). */
  CompletableFuture<BenchResult.Sample> send(byte[] body, boolean stream, Map<String, String> headers) {
    HttpRequest.Builder req = HttpRequest.newBuilder(chat).header("Content-Type", "application/json")
        .timeout(plan.requestTimeout()).POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (plan.token() != null) req.header("Authorization", "Bearer " + plan.token());
    plan.headers().forEach(req::header);
    headers.forEach(req::header);
    long t0 = clock.nanos();
    Exchange x = new Exchange(t0, stream, clock);
    return client.sendAsync(req.build(), info -> {
      x.status = info.statusCode();
      x.retryAfter = info.headers().firstValue("retry-after").isPresent();
      x.node = info.headers().firstValue("x-sluice-node").orElse(null);
      x.outcome = outcome(info.headers());
      return HttpResponse.BodySubscribers.fromSubscriber(x);
    }).orTimeout(plan.requestTimeout().plus(Duration.ofSeconds(1)).toMillis(), TimeUnit.MILLISECONDS)
        .handle((resp, error) -> x.sample(clock.nanos(), error));
  }

  HttpClient client() {
    return client;
  }

  static String outcome(HttpHeaders h) {
    var cache = h.firstValue("x-sluice-cache");
    if (cache.isPresent()) return "cache-" + cache.get();
    var degraded = h.firstValue("x-sluice-degraded");
    if (degraded.isPresent()) return "degraded-" + degraded.get();
    if (h.firstValue("x-model-downgraded").isPresent()) return "downgraded";
    return "normal";
  }

  /**
   * One request in flight: reads the answer as the network delivers it and times the tokens of a stream. Inter-token
   * latency is measured per token event: when one delivery brings k token events (the node or a proxy wrote them
   * together, or they queued in a socket buffer), the gap since the previous delivery is shared among the k of them,
   * rather than counted as one gap and k - 1 gaps of zero (which made the ITL p50 read 0.0); see {@link #tokens}.
   */
  static final class Exchange implements Flow.Subscriber<List<ByteBuffer>> {
    final long t0;
    final boolean stream;
    private final Clock clock;
    volatile int status;
    volatile String node;
    volatile String outcome = "normal";
    volatile boolean retryAfter;
    private final StringBuilder plain = new StringBuilder();
    /** Bytes of a line not yet ended by its newline. */
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
    private long firstToken = -1;
    private long lastToken = -1;
    /** Token events that came with the first token: the next delivery's gap is shared with them. */
    private int owed;
    private long[] gaps = new long[16];
    private int gapCount;
    private long chunks;
    private long usageTokens = -1;
    private boolean done;
    private boolean streamError;

    Exchange(long t0, boolean stream, Clock clock) {
      this.t0 = t0;
      this.stream = stream;
      this.clock = clock;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      s.request(Long.MAX_VALUE);
    }

    /** One delivery from the network: its complete lines, its token events timed together. */
    @Override
    public synchronized void onNext(List<ByteBuffer> buffers) {
      long now = clock.nanos();
      int tokens = 0;
      for (ByteBuffer b : buffers) {
        while (b.hasRemaining()) {
          byte c = b.get();
          if (c != '\n') {
            partial.write(c);
            continue;
          }
          String line = partial.toString(StandardCharsets.UTF_8);
          partial.reset();
          if (line(line.endsWith("\r") ? line.substring(0, line.length() - 1) : line)) tokens++;
        }
      }
      tokens(now, tokens);
    }

    /** Reads one line; true when it is a stream event carrying generated tokens. */
    private boolean line(String line) {
      if (!stream || status != 200) {
        plain.append(line).append('\n');
        return false;
      }
      if (!line.startsWith("data:")) return false;
      String data = line.substring(5).trim();
      if (data.equals("[DONE]")) {
        done = true;
        return false;
      }
      JsonNode chunk;
      try {
        chunk = Json.MAPPER.readTree(data);
      } catch (IOException e) {
        streamError = true;
        return false;
      }
      if (chunk.has("error")) streamError = true;
      long usage = CHAT.usage(data.getBytes(StandardCharsets.UTF_8)).completionTokens();
      if (usage >= 0) usageTokens = usage;
      return carriesTokens(chunk.path("choices").path(0).path("delta"));
    }

    /**
     * {@code count} token events arrived at {@code now}. The first delivery's events set the first token; every later
     * delivery shares its gap among its events and those that came along with the first token (still owed a gap), so
     * a stream of n tokens has n - 1 gaps that add up to its last token's time less its first's.
     */
    private void tokens(long now, int count) {
      if (count == 0) return;
      chunks += count;
      if (firstToken < 0) {
        firstToken = now;
        owed = count - 1;
      } else {
        int share = count + owed;
        owed = 0;
        long each = (now - lastToken) / 1000 / share;
        for (int i = 0; i < share; i++) {
          if (gapCount == gaps.length) gaps = Arrays.copyOf(gaps, Math.max(gapCount * 2, gapCount + share));
          gaps[gapCount++] = each;
        }
      }
      lastToken = now;
    }

    /**
     * Whether a chunk's delta carries generated tokens: answer text, reasoning ({@code reasoning_content}) or a tool
     * call (its name or a piece of its arguments). All of them are tokens the client waits for, so the first of any
     * kind is the first token.
     */
    private static boolean carriesTokens(JsonNode delta) {
      return !delta.path("content").asText("").isEmpty() || !delta.path("reasoning_content").asText("").isEmpty()
          || delta.path("tool_calls").size() > 0;
    }

    @Override
    public void onError(Throwable t) {}

    @Override
    public synchronized void onComplete() {
      if (partial.size() == 0) return; // a last line without its newline
      String line = partial.toString(StandardCharsets.UTF_8);
      partial.reset();
      tokens(clock.nanos(), line(line) ? 1 : 0);
    }

    synchronized BenchResult.Sample sample(long end, Throwable error) {
      long e2e = (end - t0) / 1000;
      String errorClass = error == null ? null : errorClass(error);
      long tokens = 0;
      if (errorClass == null && status == 429) errorClass = shedClass();
      if (errorClass == null && status >= 500) errorClass = "5xx";
      if (errorClass == null && status >= 400) errorClass = "4xx";
      if (errorClass == null && status != 200) errorClass = "http-" + status;
      if (errorClass == null && stream && (!done || streamError)) errorClass = "stream";
      if (errorClass == null && !stream) {
        try {
          Json.MAPPER.readTree(plain.toString()); // only a JSON body counts
          tokens = Math.max(0, CHAT.usage(plain.toString().getBytes(StandardCharsets.UTF_8)).completionTokens());
        } catch (IOException e) {
          errorClass = "bad-body";
        }
      }
      if (stream) tokens = usageTokens >= 0 ? usageTokens : chunks;
      if (owed > 0) { // the whole answer came in one delivery: its tokens reached the client with no gap
        gaps = Arrays.copyOf(gaps, Math.max(gaps.length, gapCount + owed));
        gapCount += owed;
        owed = 0;
      }
      long ttft = stream && firstToken >= 0 ? (firstToken - t0) / 1000 : -1;
      return new BenchResult.Sample(t0, e2e, ttft, stream ? Arrays.copyOf(gaps, gapCount) : null,
          status, errorClass, node, outcome, tokens, stream);
    }

    /**
     * A 429 as the client sees it: {@code 429} when it says when to come back (Retry-After) in the API's error format
     * ({@code {"error": {"message": …}}}), else {@code 429-no-retry-after} or {@code 429-bad-body}.
     */
    private String shedClass() {
      if (!retryAfter) return "429-no-retry-after";
      try {
        JsonNode body = Json.MAPPER.readTree(plain.toString());
        return body != null && body.path("error").path("message").isTextual() ? "429" : "429-bad-body";
      } catch (IOException e) {
        return "429-bad-body";
      }
    }

    private static String errorClass(Throwable e) {
      Throwable c = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
      if (c instanceof HttpConnectTimeoutException || c instanceof ConnectException) return "connect";
      if (c instanceof HttpTimeoutException || c instanceof TimeoutException) return "timeout";
      if (c.getCause() instanceof ConnectException) return "connect";
      return "io";
    }
  }
}
