package dev.sluice.probe;

import dev.sluice.api.ApiFlavor;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.UpstreamTls;
import dev.sluice.node.NodeEntry;
import dev.sluice.node.NodeRegistry;
import dev.sluice.node.NodeTelemetry;
import dev.sluice.support.Json;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.net.PemTrustOptions;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scrapes each node's {@code metricsUrl} (DCGM exporter and/or vLLM {@code /metrics}; any host and port) every
 * {@link #DEFAULT_INTERVAL} and stores the gauges the routing weights use as the node's {@link NodeTelemetry}, with
 * vLLM's KV cache size and prefix-cache counters (the hit rate between two scrapes is derived from the previous
 * telemetry: {@link NodeTelemetry.PrefixCache#next}). A failed scrape keeps the previous values, so their age grows and
 * the router can discount them.
 */
public final class TelemetryScraper {
  private static final Logger log = LoggerFactory.getLogger(TelemetryScraper.class);

  /**
   * DCGM exporter samples every 30 s by default; scraping at 15 s sees each sample within half its life, as
   * Prometheus' usual 15 s scrape interval does.
   */
  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(15);
  /** A metrics page is served from memory; 5 s covers a busy exporter and ends well before the next scrape. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

  /** The one place mapping exporter names to {@link NodeTelemetry} fields. */
  static final String GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL";
  static final String GPU_TEMP = "DCGM_FI_DEV_GPU_TEMP";
  static final String FB_USED = "DCGM_FI_DEV_FB_USED";
  static final String FB_FREE = "DCGM_FI_DEV_FB_FREE";
  static final String REQUESTS_RUNNING = "vllm:num_requests_running";
  static final String REQUESTS_WAITING = "vllm:num_requests_waiting";
  static final String KV_CACHE_USAGE = "vllm:kv_cache_usage_perc"; // a share, 1 = full, despite its name
  /** vLLM's v0 engine and v1 before 0.10 named it so; later versions still serve it beside the new name for a while. */
  static final String KV_CACHE_USAGE_V0 = "vllm:gpu_cache_usage_perc";
  static final Set<String> NAMES = Set.of(GPU_UTIL, GPU_TEMP, FB_USED, FB_FREE, REQUESTS_RUNNING, REQUESTS_WAITING,
      KV_CACHE_USAGE, KV_CACHE_USAGE_V0);
  /** Prefix-cache counters, in tokens, one sample per engine (vllm/v1/metrics/loggers.py). */
  static final String PREFIX_CACHE_QUERIES = "vllm:prefix_cache_queries_total";
  static final String PREFIX_CACHE_HITS = "vllm:prefix_cache_hits_total";
  /** The same counters' earlier names (vLLM v1 up to 0.10, deprecated after): read when the new ones are absent. */
  static final String PREFIX_CACHE_QUERIES_OLD = "vllm:gpu_prefix_cache_queries_total";
  static final String PREFIX_CACHE_HITS_OLD = "vllm:gpu_prefix_cache_hits_total";
  /** An info metric: its labels {@code num_gpu_blocks} and {@code block_size} give the KV cache in tokens. */
  static final String CACHE_CONFIG = "vllm:cache_config_info";
  static final Set<String> LABELLED_NAMES = Set.of(PREFIX_CACHE_QUERIES, PREFIX_CACHE_HITS, PREFIX_CACHE_QUERIES_OLD,
      PREFIX_CACHE_HITS_OLD, CACHE_CONFIG);

  private final Vertx vertx;
  private final Context context;
  private final NodeRegistry registry;
  private volatile Duration interval;
  private final Duration timeout;
  private volatile HttpClient client;
  private volatile UpstreamTls tls = UpstreamTls.defaults();
  private final Set<String> inFlight = new HashSet<>();
  private final Set<String> failing = new HashSet<>();
  private long timer = -1;

  public TelemetryScraper(Vertx vertx, NodeRegistry registry) {
    this(vertx, registry, DEFAULT_INTERVAL, DEFAULT_TIMEOUT);
  }

  public TelemetryScraper(Vertx vertx, NodeRegistry registry, Duration interval, Duration timeout) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.context = vertx.getOrCreateContext();
    this.registry = Objects.requireNonNull(registry, "registry");
    this.interval = Objects.requireNonNull(interval, "interval");
    this.timeout = Objects.requireNonNull(timeout, "timeout");
    this.client = newClient(tls);
  }

  /** A client trusting what the node clients trust ({@code upstream.tls}), for https metricsUrls and Ollama roots. */
  private HttpClient newClient(UpstreamTls t) {
    HttpClientOptions options = new HttpClientOptions().setKeepAlive(true).setName("telemetry")
        .setConnectTimeout((int) timeout.toMillis()).setVerifyHost(t.verifyHostname()).setForceSni(true);
    if (t.caFile() != null) {
      options.setTrustOptions(new PemTrustOptions().addCertPath(t.caFile().toString()));
    }
    return vertx.httpClientBuilder().with(options)
        .with(new PoolOptions().setHttp1MaxSize(2).setMaxWaitQueueSize(64))
        .build();
  }

  /** Takes the upstream TLS settings of a new config: the client is replaced when they changed. */
  public void applyTls(UpstreamTls next) {
    if (next == null || next.equals(tls)) return;
    context.runOnContext(v -> {
      if (next.equals(tls)) return;
      HttpClient old = client;
      tls = next;
      client = newClient(next);
      old.close();
    });
  }

  /** The period between scrapes: what "stale" is measured in (two periods without a successful scrape). */
  public Duration interval() {
    return interval;
  }

  /** Sets the period between scrapes; takes effect at {@link #start()} (tests scrape faster than the default). */
  public void interval(Duration period) {
    this.interval = Objects.requireNonNull(period, "period");
  }

  /** Scrapes every node now and every interval after. */
  public void start() {
    context.runOnContext(v -> {
      if (timer >= 0) return;
      scrapeAll();
      timer = vertx.setPeriodic(interval.toMillis(), id -> scrapeAll());
    });
  }

  public Future<Void> stop() {
    Promise<Void> p = Promise.promise();
    context.runOnContext(v -> {
      if (timer >= 0) vertx.cancelTimer(timer);
      timer = -1;
      client.close().onComplete(x -> p.complete());
    });
    return p.future();
  }

  /** Scrapes one node now; completes with whether its telemetry was updated. */
  public Future<Boolean> scrapeNow(String nodeId) {
    Promise<Boolean> p = Promise.promise();
    context.runOnContext(v -> scrape(nodeId).onComplete(p));
    return p.future();
  }

  private void scrapeAll() {
    for (NodeEntry e : registry.all()) {
      if (e.spec().metricsUrl() != null) scrape(e.id());
      if (e.spec().api() == ApiFlavor.OLLAMA) scrapeOllamaPs(e.id());
    }
  }

  /** Ollama has no /metrics; its /api/ps tells whether a loaded model spilled out of GPU memory (size_vram < size). */
  /** Reads an Ollama node's /api/ps now (tests, admin); completes when the value is stored or left as it was. */
  public Future<Void> scrapeOllamaPsNow(String nodeId) {
    Promise<Void> p = Promise.promise();
    context.runOnContext(v -> scrapeOllamaPs(nodeId).onComplete(ar -> p.complete()));
    return p.future();
  }

  private Future<Void> scrapeOllamaPs(String nodeId) {
    NodeEntry e = registry.get(nodeId);
    if (e == null || !inFlight.add(nodeId + "/api/ps")) return Future.succeededFuture();
    URI ps = URI.create(e.spec().root().toString() + "/api/ps");
    return ProbeHttp.call(vertx, client, e.spec(), HttpMethod.GET, ps, null, null, timeout.toMillis()).transform(ar -> {
      inFlight.remove(nodeId + "/api/ps");
      NodeEntry now = registry.get(nodeId);
      if (now == null || ar.failed() || !ar.result().ok()) return Future.succeededFuture();
      try {
        double share = Double.NaN;
        for (var m : Json.MAPPER.readTree(ar.result().body().getBytes()).path("models")) {
          double size = m.path("size").asDouble(0);
          if (size > 0 && m.has("size_vram")) {
            double s2 = m.path("size_vram").asDouble() / size;
            share = Double.isNaN(share) ? s2 : Math.min(share, s2);
          }
        }
        now.vramShare(share);
      } catch (IOException | RuntimeException ex) {
        // a malformed answer leaves the last value: telemetry is advisory
      }
      return Future.succeededFuture();
    });
  }

  private Future<Boolean> scrape(String nodeId) {
    NodeEntry e = registry.get(nodeId);
    if (e == null || e.spec().metricsUrl() == null || !inFlight.add(nodeId)) return Future.succeededFuture(false);
    NodeSpec n = e.spec();
    long timeoutMs = timeout.toMillis();
    return ProbeHttp.call(vertx, client, n, HttpMethod.GET, n.metricsUrl(), null, null, timeoutMs).transform(ar -> {
      inFlight.remove(nodeId);
      NodeEntry now = registry.get(nodeId);
      if (now == null) return Future.succeededFuture(false);
      String why = null;
      if (ar.failed()) {
        why = ProbeHttp.why(ar.cause(), timeoutMs);
      } else if (!ar.result().ok()) {
        why = ProbeHttp.httpWhy(ar.result());
      }
      if (why == null) {
        String page = ar.result().body().toString();
        Map<String, Double> v = PrometheusReader.firstSamples(page, NAMES);
        List<PrometheusReader.Sample> labelled = PrometheusReader.samples(page, LABELLED_NAMES);
        if (v.isEmpty() && labelled.isEmpty()) why = "no known metric in the page";
        else {
          NodeTelemetry next = toTelemetry(v, labelled, now.telemetry().prefixCache(), registry.nowMillis());
          if (next.prefixCache().resetNow()) {
            log.info("prefix-cache counters of {} went down: the node restarted, its KV cache is empty", nodeId);
          }
          now.telemetry(next);
          if (failing.remove(nodeId)) log.info("telemetry of {} scraped again", nodeId);
          return Future.succeededFuture(true);
        }
      }
      now.telemetryFailed(why);
      if (failing.add(nodeId)) {
        log.warn("telemetry scrape of {} failed: {} (keeping the last values)", nodeId, why);
      }
      return Future.succeededFuture(false);
    });
  }

  /** Exporter gauges → telemetry; missing ones are NaN, and no prefix-cache counters. */
  static NodeTelemetry toTelemetry(Map<String, Double> v, long nowMillis) {
    return toTelemetry(v, List.of(), NodeTelemetry.PrefixCache.NONE, nowMillis);
  }

  /**
   * Exporter gauges ({@code v}, first samples) and vLLM's counters and cache config ({@code labelled}, every sample)
   * → telemetry, its prefix-cache state advanced from {@code previous}; missing values are NaN (0 KV tokens).
   */
  static NodeTelemetry toTelemetry(Map<String, Double> v, List<PrometheusReader.Sample> labelled,
      NodeTelemetry.PrefixCache previous, long nowMillis) {
    double used = v.getOrDefault(FB_USED, Double.NaN);
    double free = v.getOrDefault(FB_FREE, Double.NaN);
    double memPct = used + free > 0 ? used / (used + free) * 100 : Double.NaN;
    double kvUsage = v.getOrDefault(KV_CACHE_USAGE, v.getOrDefault(KV_CACHE_USAGE_V0, Double.NaN));
    double queries = sum(labelled, PREFIX_CACHE_QUERIES);
    double hits = sum(labelled, PREFIX_CACHE_HITS);
    if (Double.isNaN(queries) && Double.isNaN(hits)) {
      queries = sum(labelled, PREFIX_CACHE_QUERIES_OLD);
      hits = sum(labelled, PREFIX_CACHE_HITS_OLD);
    }
    return new NodeTelemetry(
        v.getOrDefault(GPU_UTIL, Double.NaN),
        v.getOrDefault(GPU_TEMP, Double.NaN),
        memPct,
        v.getOrDefault(REQUESTS_RUNNING, Double.NaN),
        v.getOrDefault(REQUESTS_WAITING, Double.NaN),
        Math.max(1, nowMillis),
        kvCacheTokens(labelled),
        kvUsage * 100,
        previous.next(queries, hits));
  }

  /** The sum of every sample of {@code name} (one per engine of a data-parallel vLLM); NaN when there is none. */
  private static double sum(List<PrometheusReader.Sample> samples, String name) {
    double total = Double.NaN;
    for (PrometheusReader.Sample s : samples) {
      if (s.name().equals(name)) total = Double.isNaN(total) ? s.value() : total + s.value();
    }
    return total;
  }

  /** num_gpu_blocks × block_size of each engine's cache_config_info, summed; 0 when absent or unreadable. */
  static long kvCacheTokens(List<PrometheusReader.Sample> samples) {
    long total = 0;
    for (PrometheusReader.Sample s : samples) {
      if (!s.name().equals(CACHE_CONFIG)) continue;
      try {
        long blocks = Long.parseLong(s.labels().getOrDefault("num_gpu_blocks", "").strip());
        long blockSize = Long.parseLong(s.labels().getOrDefault("block_size", "").strip());
        if (blocks > 0 && blockSize > 0) total += blocks * blockSize;
      } catch (NumberFormatException e) {
        // "None" before the engine profiled its memory: unknown
      }
    }
    return total;
  }
}
