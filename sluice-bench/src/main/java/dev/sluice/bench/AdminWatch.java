package dev.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.support.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Samples what a gateway says about its nodes ({@code GET /admin/nodes}: state, eligible, ejected, in flight) and its
 * degradation levels ({@code GET /admin/degradation}) every {@code period}, on a thread of its own, so a
 * {@link SilentChaos} scenario can say afterwards when a node left the rotation or a model changed level (the same
 * sampler as the test kit's {@code GatewayWatch}). Times are nanoseconds since the scenario's {@code t0Nanos} (the
 * poll's start: a change is seen at most one period plus one admin answer late).
 */
final class AdminWatch implements AutoCloseable {
  /** One node at one poll. */
  record NodeSample(long atNanos, String node, String state, boolean eligible, boolean ejected, int inFlight,
      String reason) {
    /** READY and eligible: in rotation. */
    public boolean inRotation() {
      return eligible && "READY".equals(state);
    }
  }

  /** One model's level at one poll. */
  record LevelSample(long atNanos, String model, String level) {}

  private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2)).build();

  private final String base;
  private final long t0Nanos;
  private final ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "gateway-watch");
    t.setDaemon(true);
    return t;
  });
  private final ConcurrentLinkedQueue<NodeSample> nodes = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<LevelSample> levels = new ConcurrentLinkedQueue<>();

  /**
   * @param base the gateway's admin base URL, e.g. {@code http://127.0.0.1:8080}
   * @param t0Nanos the {@link System#nanoTime()} every time is measured from
   */
  AdminWatch(String base, long t0Nanos, Duration period) {
    this.base = Objects.requireNonNull(base, "base");
    this.t0Nanos = t0Nanos;
    poller.scheduleWithFixedDelay(this::poll, 0, period.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void poll() {
    long at = System.nanoTime() - t0Nanos;
    try {
      JsonNode n = get("/admin/nodes");
      if (n != null) {
        for (JsonNode node : n.path("nodes")) {
          nodes.add(new NodeSample(at, node.path("id").asText(), node.path("state").asText(),
              node.path("eligible").asBoolean(), node.path("ejection").path("ejected").asBoolean(),
              node.path("inFlight").asInt(), node.path("reason").asText()));
        }
      }
      JsonNode d = get("/admin/degradation");
      if (d != null) {
        for (JsonNode m : d.path("models")) {
          levels.add(new LevelSample(at, m.path("scope").asText(), m.path("level").asText()));
        }
      }
    } catch (RuntimeException e) {
      // a missed poll is a gap in the samples, nothing more
    }
  }

  private JsonNode get(String path) {
    try {
      HttpResponse<String> r = CLIENT.send(HttpRequest.newBuilder(URI.create(base + path))
          .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? Json.MAPPER.readTree(r.body()) : null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (Exception e) {
      return null;
    }
  }

  /** Every sample of {@code node}, oldest first. */
  List<NodeSample> node(String node) {
    return nodes.stream().filter(s -> s.node().equals(node)).toList();
  }

  /** The first sample of {@code node} at or after {@code fromNanos} that matches, or null. */
  NodeSample first(String node, long fromNanos, Predicate<NodeSample> p) {
    return nodes.stream().filter(s -> s.node().equals(node) && s.atNanos() >= fromNanos && p.test(s)).findFirst()
        .orElse(null);
  }

  /** The samples of {@code node} in {@code [from, to)} that match. */
  List<NodeSample> matching(String node, long fromNanos, long toNanos, Predicate<NodeSample> p) {
    return nodes.stream().filter(s -> s.node().equals(node) && s.atNanos() >= fromNanos && s.atNanos() < toNanos)
        .filter(p).toList();
  }

  /** The latest level of {@code model} seen, or null. */
  String level(String model) {
    String last = null;
    for (LevelSample s : levels) if (s.model().equals(model)) last = s.level();
    return last;
  }

  /** The first time at or after {@code fromNanos} that {@code model} was at {@code level}, or -1. */
  long firstLevel(String model, String level, long fromNanos) {
    return levels.stream().filter(s -> s.model().equals(model) && s.level().equals(level) && s.atNanos() >= fromNanos)
        .mapToLong(LevelSample::atNanos).findFirst().orElse(-1);
  }

  /** {@code model}'s levels in {@code [from, to)} as a run, e.g. {@code NORMAL 0.0 s → STATIC 1.6 s → NORMAL 40.2 s}. */
  String levels(String model, long fromNanos, long toNanos) {
    List<String> out = new ArrayList<>();
    String last = null;
    for (LevelSample s : levels) {
      if (!s.model().equals(model) || s.atNanos() < fromNanos || s.atNanos() >= toNanos) continue;
      if (!s.level().equals(last)) out.add(s.level() + " " + SilentChaos.sec(s.atNanos()));
      last = s.level();
    }
    return out.isEmpty() ? "(no sample)" : String.join(" → ", out);
  }

  /** Each node's states in {@code [from, to)} as runs, e.g. {@code h100: READY 0.0 s → DEGRADED 15.8 s}. */
  String states(long fromNanos, long toNanos) {
    Map<String, List<String>> runs = new LinkedHashMap<>();
    Map<String, String> last = new LinkedHashMap<>();
    for (NodeSample s : nodes) {
      if (s.atNanos() < fromNanos || s.atNanos() >= toNanos) continue;
      String view = s.state() + (s.ejected() ? " ejected" : s.eligible() ? "" : " not eligible");
      if (!view.equals(last.get(s.node()))) {
        runs.computeIfAbsent(s.node(), k -> new ArrayList<>()).add(view + " " + SilentChaos.sec(s.atNanos()));
      }
      last.put(s.node(), view);
    }
    return runs.entrySet().stream().map(e -> e.getKey() + ": " + String.join(" → ", e.getValue()))
        .collect(Collectors.joining("; "));
  }

  @Override
  public void close() {
    poller.shutdownNow();
  }
}
