package dev.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.support.Json;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The closed-loop clients of {@link ChaosBench}: each sends a request, waits for the last byte, classifies the answer
 * and sends the next one at once. Every finished request is kept as a {@link Done} (for timings after the run) and its
 * latency goes into the HdrHistogram {@link Recorder} of the phase it was sent in.
 */
final class ChaosLoad {
  /** The three request shapes of the mix. */
  enum Kind {
    CHAT("/v1/chat/completions", false, false),
    CHAT_STREAM("/v1/chat/completions", true, false),
    OLLAMA_CHAT("/api/chat", false, true);

    final String path;
    final boolean stream;
    final boolean ollama;

    Kind(String path, boolean stream, boolean ollama) {
      this.path = path;
      this.stream = stream;
      this.ollama = ollama;
    }
  }

  /** What the client got, from the response alone. */
  enum Outcome { REQUESTED, CACHED, DOWNGRADED, STATIC, FAILED }

  /**
   * One finished request.
   *
   * @param phase index of the phase it was sent in
   * @param sentMicros send time, µs after the start of the run
   * @param doneMicros time of the last byte (or of the error), µs after the start of the run
   * @param reason why it failed, null when answered
   * @param resumed continuations of a stream the gateway reported (its {@code sluice-resumed} trailer), 0 for none
   * @param waitedMicros how long a continued stream waited for its continuations (the trailer's waited-ms), else 0
   * @param text 1 when the answer of the requested model is the same text as every other answer to its prompt, 0
   *     when it differs (duplicated or missing text), -1 when not compared (failed, cached, downgraded, static)
   */
  record Done(int phase, Kind kind, Outcome outcome, String reason, long sentMicros, long doneMicros, int resumed,
      long waitedMicros, int text) {
    long latencyMicros() {
      return doneMicros - sentMicros;
    }
  }

  /** Zipf exponent of the prompt popularity: rank 1 is asked ~1/H(300) ≈ 16 % of the time. */
  static final double ZIPF_EXPONENT = 1.0;
  /** Client-side limit: no byte for this long = failed (the gateway's own limits are lower). */
  static final long CLIENT_IDLE_TIMEOUT_MS = 30_000;
  static final String MODEL = "qwen3:32b";
  private static final String[] TOPICS = {"TCP slow start", "B-trees", "the CAP theorem", "Raft leader election",
      "GPU memory bandwidth", "KV caches", "consistent hashing", "backpressure", "bloom filters", "TLS 1.3",
      "garbage collection", "continuous batching", "HTTP keep-alive", "quantisation", "circuit breakers"};
  private static final String[] ASKS = {"Explain %s in two sentences.", "What is the main trade-off of %s?",
      "Give one real-world failure caused by %s.", "How would you test %s?", "Summarise %s for a new engineer.",
      "What metric shows problems with %s?", "Compare %s with its most common alternative.",
      "Which default of %s would you change first?", "Name a paper about %s.", "What breaks %s at scale?",
      "Write a haiku about %s.", "What does %s cost in latency?", "When should %s be avoided?",
      "Draw %s as an ASCII diagram.", "What is a common misconception about %s?", "How did %s evolve?",
      "List three knobs of %s.", "How do you monitor %s?", "Explain %s to a child.", "What is %s not good at?"};

  private final HttpClientAgent http;
  private final int port;
  private final int maxTokens;
  private final long t0Nanos;
  private final String[] prompts;
  private final double[] zipfCdf;
  private final Recorder[] recorders;
  private final AtomicLongArray sentByPhase;
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong finished = new AtomicLong();
  private final ConcurrentLinkedQueue<Done> done = new ConcurrentLinkedQueue<>();
  /**
   * The first requested-model answer's text per prompt: every node answers alike (same seed), so every later answer
   * to the prompt, continued streams included, must be the same text.
   */
  private final ConcurrentHashMap<Integer, String> texts = new ConcurrentHashMap<>();
  private volatile int phase;
  private volatile boolean stopped;

  ChaosLoad(HttpClientAgent http, int port, int maxTokens, int promptCount, int phases, long t0Nanos) {
    this.http = http;
    this.port = port;
    this.maxTokens = maxTokens;
    this.t0Nanos = t0Nanos;
    this.prompts = new String[promptCount];
    for (int i = 0; i < promptCount; i++) {
      prompts[i] = "#" + i + " " + String.format(Locale.ROOT, ASKS[i % ASKS.length],
          TOPICS[(i / ASKS.length) % TOPICS.length]);
    }
    this.zipfCdf = zipfCdf(promptCount, ZIPF_EXPONENT);
    this.recorders = new Recorder[phases];
    for (int i = 0; i < phases; i++) recorders[i] = new Recorder(3);
    this.sentByPhase = new AtomicLongArray(phases);
  }

  static double[] zipfCdf(int n, double s) {
    double[] cdf = new double[n];
    double sum = 0;
    for (int k = 1; k <= n; k++) {
      sum += 1 / Math.pow(k, s);
      cdf[k - 1] = sum;
    }
    for (int i = 0; i < n; i++) cdf[i] /= sum;
    return cdf;
  }

  /** A prompt index drawn from the Zipf distribution. */
  int prompt(SplittableRandom rnd) {
    double u = rnd.nextDouble();
    int lo = 0;
    int hi = zipfCdf.length - 1;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (zipfCdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The mix: {@link #streamShare} % streaming chat (10 by default), the rest 8 : 1 non-streaming chat and Ollama chat
   * (80 % and 10 % by default).
   */
  Kind kind(SplittableRandom rnd) {
    int r = rnd.nextInt(100);
    if (r < streamShare) return Kind.CHAT_STREAM;
    return rnd.nextInt(9) < 8 ? Kind.CHAT : Kind.OLLAMA_CHAT;
  }

  /** Percent of requests that are streamed chat (default 10). */
  private int streamShare = 10;

  ChaosLoad streamShare(int percent) {
    this.streamShare = percent;
    return this;
  }

  String body(Kind kind, int prompt) {
    String messages = "[{\"role\":\"user\",\"content\":" + Json.MAPPER.getNodeFactory().textNode(prompts[prompt])
        + "}]";
    return switch (kind) {
      case CHAT -> "{\"model\":\"" + MODEL + "\",\"max_tokens\":" + maxTokens + ",\"messages\":" + messages + "}";
      case CHAT_STREAM -> "{\"model\":\"" + MODEL + "\",\"stream\":true,\"max_tokens\":" + maxTokens
          + ",\"messages\":" + messages + "}";
      case OLLAMA_CHAT -> "{\"model\":\"" + MODEL + "\",\"stream\":false,\"options\":{\"num_predict\":" + maxTokens
          + "},\"messages\":" + messages + "}";
    };
  }

  /** Starts {@code clients} closed loops, each with its own seeded random stream. */
  void start(int clients, long seed) {
    for (int i = 0; i < clients; i++) {
      SplittableRandom rnd = new SplittableRandom(seed * 1_000_003L + i);
      next(rnd);
    }
  }

  void phase(int index) {
    phase = index;
  }

  /** No new requests from now on; the ones in flight finish. */
  void stop() {
    stopped = true;
  }

  long sent() {
    return sent.get();
  }

  long finished() {
    return finished.get();
  }

  long sentInPhase(int p) {
    return sentByPhase.get(p);
  }

  List<Done> done() {
    return List.copyOf(done);
  }

  /** The latencies of phase {@code p} so far (each call returns what was recorded since the previous one). */
  Histogram histogram(int p) {
    return recorders[p].getIntervalHistogram();
  }

  private long micros() {
    return (System.nanoTime() - t0Nanos) / 1000;
  }

  private void next(SplittableRandom rnd) {
    if (stopped) return;
    Kind kind = kind(rnd);
    int prompt = prompt(rnd);
    String body = body(kind, prompt);
    int p = phase;
    sent.incrementAndGet();
    sentByPhase.incrementAndGet(p);
    long sentAt = micros();
    send(kind, body).onComplete(ar -> {
      long doneAt = micros();
      String[] result = ar.succeeded() ? ar.result()
          : new String[] {Outcome.FAILED.name(), reason(ar.cause()), null, null};
      Outcome outcome = Outcome.valueOf(result[0]);
      int textOk = -1;
      if (outcome == Outcome.REQUESTED && result[3] != null) {
        String first = texts.putIfAbsent(prompt, result[3]);
        textOk = first == null || first.equals(result[3]) ? 1 : 0;
      }
      int resumed = 0;
      long waited = 0;
      if (result[2] != null) { // "1; waited-ms=12"
        String[] parts = result[2].split(";");
        resumed = Integer.parseInt(parts[0].strip());
        if (parts.length > 1) waited = Long.parseLong(parts[1].strip().replace("waited-ms=", "")) * 1000;
      }
      done.add(new Done(p, kind, outcome, result[1], sentAt, doneAt, resumed, waited, textOk));
      recorders[p].recordValue(Math.max(1, doneAt - sentAt));
      finished.incrementAndGet();
      next(rnd);
    });
  }

  /** Completes with {outcome, reason, the sluice-resumed trailer or null, the answer's text or null}. */
  private Future<String[]> send(Kind kind, String body) {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(port)
        .setURI(kind.path).setIdleTimeout(CLIENT_IDLE_TIMEOUT_MS)
        .putHeader("content-type", "application/json");
    if (kind.stream) options.putHeader("te", "trailers"); // the gateway marks a continued stream in a trailer
    return http.request(options)
        .compose(req -> req.send(Buffer.buffer(body)))
        .compose(resp -> resp.body().map(b -> {
          String[] c = classify(kind, resp, b);
          String text = c[0].equals(Outcome.FAILED.name()) ? null : text(kind, b.toString(StandardCharsets.UTF_8));
          return new String[] {c[0], c[1], resp.trailers().get("sluice-resumed"), text};
        }));
  }

  /** The text of an answer: the streamed pieces joined, or the message's content; null when it cannot be read. */
  static String text(Kind kind, String body) {
    try {
      if (!kind.stream) {
        JsonNode json = Json.MAPPER.readTree(body);
        return kind.ollama ? json.path("message").path("content").asText(null)
            : json.path("choices").path(0).path("message").path("content").asText(null);
      }
      StringBuilder text = new StringBuilder();
      for (String line : body.split("\n")) {
        if (!line.startsWith("data: {")) continue;
        text.append(Json.MAPPER.readTree(line.substring(6)).path("choices").path(0).path("delta").path("content")
            .asText(""));
      }
      return text.toString();
    } catch (Exception e) {
      return null;
    }
  }

  /** The outcome of a complete response, from its status, headers and body. */
  static String[] classify(Kind kind, HttpClientResponse resp, Buffer body) {
    String text = body.toString(StandardCharsets.UTF_8);
    if (resp.statusCode() != 200) {
      return failed("HTTP " + resp.statusCode() + " " + errorCode(text));
    }
    if (kind.stream) {
      String problem = streamProblem(text);
      if (problem != null) return failed(problem);
    } else {
      String problem = jsonProblem(kind, text);
      if (problem != null) return failed(problem);
    }
    Outcome outcome;
    if (resp.getHeader("x-sluice-cache") != null) outcome = Outcome.CACHED;
    else if (resp.getHeader("x-model-downgraded") != null) outcome = Outcome.DOWNGRADED;
    else if ("static".equals(resp.getHeader("x-sluice-degraded"))) outcome = Outcome.STATIC;
    else outcome = Outcome.REQUESTED;
    return new String[] {outcome.name(), null};
  }

  private static String[] failed(String reason) {
    return new String[] {Outcome.FAILED.name(), reason};
  }

  /** Null when an SSE body is a whole stream: events, no error event, last data line {@code [DONE]}. */
  static String streamProblem(String text) {
    String lastData = null;
    for (String line : text.split("\n")) {
      String l = line.strip();
      if (!l.startsWith("data:")) continue;
      String data = l.substring(5).strip();
      if (data.startsWith("{\"error\"")) return "stream error event: " + errorCode(data);
      lastData = data;
    }
    if (lastData == null) return "stream without events";
    return "[DONE]".equals(lastData) ? null : "stream ended without [DONE]";
  }

  /** Null when a non-streaming body is an answer of its API. */
  static String jsonProblem(Kind kind, String text) {
    try {
      JsonNode json = Json.MAPPER.readTree(text);
      if (json.has("error")) return "200 with error: " + errorCode(text);
      boolean ok = kind.ollama ? json.path("message").has("content") && json.path("done").asBoolean(false)
          : json.path("choices").path(0).path("message").has("content");
      return ok ? null : "200 without an answer";
    } catch (Exception e) {
      return "200 with a body that is not JSON";
    }
  }

  /** OpenAI error code (else type), or the start of an Ollama error string. */
  static String errorCode(String text) {
    try {
      JsonNode e = Json.MAPPER.readTree(text).path("error");
      if (e.isObject()) {
        String code = e.path("code").asText("");
        return code.isEmpty() ? e.path("type").asText("?") : code;
      }
      if (e.isTextual()) return cut(e.asText(), 48);
    } catch (Exception ignored) {
      // fall through
    }
    return "(no error body)";
  }

  static String reason(Throwable t) {
    String m = t.getMessage();
    return t.getClass().getSimpleName() + (m == null ? "" : ": " + cut(m, 60));
  }

  private static String cut(String s, int max) {
    String one = s.replace('\n', ' ');
    return one.length() <= max ? one : one.substring(0, max) + "…";
  }
}
