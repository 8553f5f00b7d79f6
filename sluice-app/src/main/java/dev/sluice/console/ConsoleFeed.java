package dev.sluice.console;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.ApiFlavor;
import dev.sluice.api.ErrorKind;
import dev.sluice.config.ConfigHolder;
import dev.sluice.config.RoutingSettings;
import dev.sluice.config.SluiceConfig;
import dev.sluice.health.HealthSnapshot;
import dev.sluice.health.NodeState;
import dev.sluice.http.Responses;
import dev.sluice.node.NodeEntry;
import dev.sluice.node.NodeRegistry;
import dev.sluice.observe.ConsoleStats;
import dev.sluice.routing.GpuWeightedPolicy;
import dev.sluice.routing.NodeView;
import dev.sluice.routing.Policies;
import dev.sluice.support.Json;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * What the web console reads and the one setting it changes besides the node actions:
 * <ul>
 *   <li>{@code GET /admin/console/state}: one JSON with the nodes (as {@code GET /admin/nodes}, plus TTFT and E2E
 *       p50/p95, their traffic: requests, share of their provider's answers and failed attempts over 1/5/15 minutes,
 *       the 15-minute trends, and the routing policy's current pick in words, {@link RouteExplainer}),
 *       per-model latency histograms and percentiles, per-minute outcome counts and error rates ({@link ConsoleStats}), the
 *       degradation snapshot with its history, the recent node state changes, the routing policy and the valid ones,
 *       and the cache figures;</li>
 *   <li>{@code GET /admin/events}: Server-Sent Events, {@code event: state} with that JSON every second and at once on
 *       a node state change, until the client leaves. A client that cannot keep up misses updates (nothing queues
 *       beyond one write buffer) and is disconnected after {@value #MAX_MISSED} missed in a row;</li>
 *   <li>{@code POST /admin/routing {"policy": "gpu-weighted"}}: switches the routing policy, and/or
 *       {@code {"affinity": false}} least-delay's session and prefix affinity, kept across config reloads until the
 *       gateway restarts (like nodes added at run time).</li>
 * </ul>
 */
public final class ConsoleFeed {
  /** Seconds between pushed states: the console's refresh rate. */
  static final long PUSH_INTERVAL_MILLIS = 1_000;
  /** Open event streams at most: a console per operator, with room for forgotten tabs. */
  static final int MAX_CLIENTS = 32;
  /** Updates a slow client may miss in a row before it is disconnected (its EventSource reconnects). */
  static final int MAX_MISSED = 10;
  /** One state is a few KiB (more with many nodes): two states' worth may wait in the socket's queue, no more. */
  static final int WRITE_QUEUE_BYTES = 128 * 1024;

  private final Vertx vertx;
  private final NodeRegistry registry;
  private final ConfigHolder configs;
  private final Ladder ladder;
  private final ConsoleStats stats;
  private final Predicate<HttpServerRequest> signedIn;
  private final Function<NodeEntry, ObjectNode> nodeView;
  private final Set<Client> clients = ConcurrentHashMap.newKeySet();
  /** The flow-control queues' view (the gateway sets it); null: the state has no "queues". */
  private volatile Supplier<?> queues;

  ConsoleFeed(Vertx vertx, NodeRegistry registry, ConfigHolder configs, Ladder ladder, ConsoleStats stats,
      Predicate<HttpServerRequest> signedIn, Function<NodeEntry, ObjectNode> nodeView) {
    this.vertx = vertx;
    this.registry = registry;
    this.configs = configs;
    this.ladder = ladder;
    this.stats = stats;
    this.signedIn = signedIn;
    this.nodeView = nodeView;
  }

  /** Handles the paths above; false when {@code path} is none of them. */
  boolean handle(HttpServerRequest req, String path) {
    switch (path) {
      case "/admin/console/state" -> {
        if (req.method() != HttpMethod.GET) return methodNotAllowed(req, "GET /admin/console/state");
        Responses.json(req.response(), 200, state().toString());
        return true;
      }
      case "/admin/events" -> {
        if (req.method() != HttpMethod.GET) return methodNotAllowed(req, "GET /admin/events");
        subscribe(req);
        return true;
      }
      case "/admin/routing" -> {
        if (req.method() == HttpMethod.GET) {
          Responses.json(req.response(), 200, routing().toString());
        } else if (req.method() == HttpMethod.POST) {
          req.body().onSuccess(body -> switchPolicy(req, body.getBytes()));
        } else {
          methodNotAllowed(req, "GET|POST /admin/routing");
        }
        return true;
      }
      default -> {
        return false;
      }
    }
  }

  private static boolean methodNotAllowed(HttpServerRequest req, String usage) {
    Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.METHOD_NOT_ALLOWED, "use " + usage, null);
    return true;
  }

  /**
   * Where the state's {@code queues} is read: per model and band the requests waiting, wait p50/p99 of the recent ones,
   * dispatched, refused, timed out and cancelled counts, and each tenant's share of the dispatched GPU time.
   */
  public void queues(Supplier<?> view) {
    this.queues = view;
  }

  /** A node changed state: every open console hears it now rather than at its next tick. */
  public void nodeTransition() {
    for (Client c : clients) c.context.runOnContext(v -> c.push());
  }

  // ------------------------------------------------------------------ the state

  ObjectNode state() {
    var config = configs.current();
    stats.track(config.models().keySet());
    ConsoleStats.Snapshot s = stats.snapshot();
    ObjectNode root = Json.MAPPER.createObjectNode();
    root.put("atMillis", s.atMillis()).put("minutes", s.minutes());
    root.set("routing", routing());
    ArrayNode outcomes = root.putArray("outcomes");
    ConsoleStats.OUTCOMES.forEach(outcomes::add);
    root.put("errorRateDefinition", "(failed + static) / all requests of the minute");
    ArrayNode nodes = root.putArray("nodes");
    List<NodeEntry> entries = registry.all().stream().toList();
    Map<String, RouteExplainer.Explanation> route = explain(config, entries, s.atMillis());
    Map<String, long[]> groupTotals = new HashMap<>();
    for (NodeEntry e : entries) {
      ConsoleStats.NodeTraffic t = s.nodeTraffic().get(e.id());
      long[] sum = groupTotals.computeIfAbsent(e.spec().provider(), k -> new long[3]);
      if (t != null) {
        sum[0] += t.requests().m1();
        sum[1] += t.requests().m5();
        sum[2] += t.requests().m15();
      }
    }
    for (NodeEntry e : entries) {
      ObjectNode n = nodeView.apply(e);
      ConsoleStats.TtftView t = s.ttft().get(e.id());
      if (t == null) n.putNull("ttft");
      else n.putObject("ttft").put("count", t.count()).put("p50Millis", t.p50Millis()).put("p95Millis", t.p95Millis());
      traffic(n, s.nodeTraffic().get(e.id()), groupTotals.get(e.spec().provider()));
      RouteExplainer.Explanation why = route.get(e.id());
      if (why != null) n.putObject("route").put("chosen", why.chosen()).put("text", why.text());
      nodes.add(n);
    }
    root.set("models", Json.MAPPER.valueToTree(s.models()));
    root.set("degradation", Json.MAPPER.valueToTree(ladder.degradation().snapshot()));
    root.set("cache", Json.MAPPER.valueToTree(ladder.cache().stats()));
    root.set("changes", Json.MAPPER.valueToTree(s.changes()));
    Supplier<?> q = queues;
    if (q != null) root.set("queues", Json.MAPPER.valueToTree(q.get()));
    return root;
  }

  /**
   * A node's traffic: requests answered over 1, 5 and 15 minutes and its share of its provider's nodes' answers
   * (null without any), failed attempts (all kinds, and by kind over 15 minutes), end-to-end p50/p95, and the trends.
   */
  private static void traffic(ObjectNode n, ConsoleStats.NodeTraffic t, long[] group) {
    if (t == null) {
      n.putNull("traffic");
      n.putNull("e2e");
      n.putNull("trends");
      return;
    }
    ObjectNode traffic = n.putObject("traffic");
    traffic.set("requests", Json.MAPPER.valueToTree(t.requests()));
    ObjectNode share = traffic.putObject("share");
    long[] counts = {t.requests().m1(), t.requests().m5(), t.requests().m15()};
    String[] keys = {"m1", "m5", "m15"};
    for (int i = 0; i < 3; i++) {
      if (group == null || group[i] == 0) share.putNull(keys[i]);
      else share.put(keys[i], Math.round(1000.0 * counts[i] / group[i]) / 1000.0);
    }
    traffic.set("errors", Json.MAPPER.valueToTree(t.errors()));
    traffic.set("errorKinds", Json.MAPPER.valueToTree(t.errorKinds()));
    if (t.e2e() == null) n.putNull("e2e");
    else n.putObject("e2e").put("count", t.e2e().count()).put("p50Millis", t.e2e().p50Millis())
        .put("p95Millis", t.e2e().p95Millis());
    ObjectNode trends = n.putObject("trends");
    trends.set("ttftP50Millis", Json.MAPPER.valueToTree(t.ttftTrend()));
    trends.set("gpuUtilPercent", Json.MAPPER.valueToTree(t.gpuUtilTrend()));
    trends.set("gpuTempCelsius", Json.MAPPER.valueToTree(t.gpuTempTrend()));
    trends.set("memoryUsedPercent", Json.MAPPER.valueToTree(t.memoryTrend()));
  }

  /** The routing policy's view of each model's nodes now, in words ({@link RouteExplainer}), by node id. */
  private Map<String, RouteExplainer.Explanation> explain(SluiceConfig config, List<NodeEntry> entries, long now) {
    Map<String, RouteExplainer.Explanation> out = new HashMap<>();
    Map<String, List<RouteExplainer.Candidate>> byProvider = new LinkedHashMap<>();
    boolean flow = config.routing().flow().enabled();
    for (NodeEntry e : entries) {
      NodeView v = e.view(now);
      byProvider.computeIfAbsent(e.spec().provider(), k -> new ArrayList<>()).add(new RouteExplainer.Candidate(v,
          outOfRotation(e, now, flow), GpuWeightedPolicy.weight(v, config.routing().gpuBases())));
    }
    for (List<RouteExplainer.Candidate> group : byProvider.values()) {
      out.putAll(RouteExplainer.explain(config.routing().policy(), group));
    }
    return out;
  }

  /** Why {@code e} is not a routing candidate now, or null when it is. */
  static String outOfRotation(NodeEntry e, long now, boolean flow) {
    HealthSnapshot h = e.health().snapshot();
    if (h.ejection().ejectedAt(now)) {
      return "ejected: back in " + RouteExplainer.duration(h.ejection().ejectedUntilMillis() - now)
          + (h.reason() == null ? "" : " (" + h.reason() + ")");
    }
    if (h.suspected()) return "suspected: " + h.suspicion();
    if (!h.eligible(now)) {
      return h.state() == NodeState.DRAINING ? "draining: takes no new request"
          : "out of rotation: " + h.state() + (h.reason() == null ? "" : " (" + h.reason() + ")");
    }
    if (e.coolingUntilMillis() > now) {
      return "cooling down after a busy answer: back in " + RouteExplainer.duration(e.coolingUntilMillis() - now);
    }
    if (flow && e.inFlight() >= e.cap().value()) {
      return "at its cap (" + e.inFlight() + "/" + e.cap().value() + "): new requests wait in the gateway";
    }
    return null;
  }

  private ObjectNode routing() {
    ObjectNode r = Json.MAPPER.createObjectNode();
    r.put("policy", configs.current().routing().policy()).put("failover", configs.current().routing().failover())
        .put("affinity", configs.current().routing().affinity().enabled());
    ArrayNode names = r.putArray("policies");
    Policies.NAMES.forEach(names::add);
    return r;
  }

  private void switchPolicy(HttpServerRequest req, byte[] body) {
    String usage = "send {\"policy\": \"<name>\"} with one of: " + String.join(", ", Policies.NAMES)
        + ", and/or {\"affinity\": true|false} (least-delay's session and prefix affinity)";
    String sent;
    Boolean affinity;
    try {
      AdminBody b = AdminBody.object(body, List.of("policy", "affinity"), usage);
      affinity = b.bool("affinity", "whether least-delay keeps sessions where their prompt is cached");
      sent = b.text("policy", affinity == null, 64, "one of " + Policies.NAMES);
    } catch (AdminBody.Refused r) {
      r.answer(req.response());
      return;
    }
    String policy = sent == null ? configs.current().routing().policy() : sent.trim().toLowerCase(Locale.ROOT);
    if (!Policies.NAMES.contains(policy)) {
      Responses.error(req.response(), ApiFlavor.OPENAI, ErrorKind.INVALID_REQUEST,
          "policy: \"" + sent + "\" is not a routing policy; " + usage, "policy");
      return;
    }
    configs.amend(c -> {
      RoutingSettings r = c.routing();
      RoutingSettings next = r.withPolicy(policy);
      if (affinity != null) next = next.withAffinity(next.affinity().withEnabled(affinity));
      return next.equals(r) ? c : c.withRouting(next);
    });
    Responses.json(req.response(), 200, routing().toString());
  }

  // ------------------------------------------------------------------ event stream

  private void subscribe(HttpServerRequest req) {
    HttpServerResponse resp = req.response();
    if (clients.size() >= MAX_CLIENTS) {
      resp.putHeader(HttpHeaders.RETRY_AFTER, "5");
      Responses.error(resp, ApiFlavor.OPENAI, ErrorKind.OVERLOADED, "too many open console event streams (at most "
          + MAX_CLIENTS + "): close a console tab", null);
      return;
    }
    Client c = new Client(req, vertx.getOrCreateContext());
    clients.add(c);
    resp.setChunked(true).setWriteQueueMaxSize(WRITE_QUEUE_BYTES)
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/event-stream; charset=utf-8")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
        .putHeader("X-Accel-Buffering", "no");
    resp.closeHandler(v -> c.stop());
    resp.exceptionHandler(t -> c.stop());
    resp.write("retry: 2000\n\n");
    c.push();
    c.timer = vertx.setPeriodic(PUSH_INTERVAL_MILLIS, id -> c.push());
  }

  /** One open event stream; its methods run on the event loop of its connection. */
  private final class Client {
    final HttpServerRequest req;
    final Context context;
    long timer = -1;
    int missed;
    boolean stopped;

    Client(HttpServerRequest req, Context context) {
      this.req = req;
      this.context = context;
    }

    void push() {
      if (stopped) return;
      HttpServerResponse resp = req.response();
      if (resp.closed() || resp.ended()) {
        stop();
        return;
      }
      if (!signedIn.test(req)) { // signed out, or the session expired
        stop();
        resp.end();
        return;
      }
      if (resp.writeQueueFull()) {
        if (++missed >= MAX_MISSED) {
          stop();
          resp.reset();
        }
        return;
      }
      missed = 0;
      resp.write("event: state\ndata: " + state() + "\n\n");
    }

    void stop() {
      if (stopped) return;
      stopped = true;
      clients.remove(this);
      if (timer >= 0) vertx.cancelTimer(timer);
    }
  }
}
