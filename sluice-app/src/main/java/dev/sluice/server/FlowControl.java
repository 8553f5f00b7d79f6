package dev.sluice.server;

import dev.sluice.config.FlowSettings;
import dev.sluice.config.SluiceConfig;
import dev.sluice.flow.Band;
import dev.sluice.flow.FlowQueue;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.support.Clock;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The gateway's waiting room: one {@link FlowQueue} per model, kept across config swaps like the affinity
 * ({@link AffinityKeeper}). A request that finds every eligible node of its model at its concurrency cap waits here
 * ({@link #offer}) instead of being pushed into a saturated node; {@link #kick} dispatches waiting requests while a node
 * of the model has room for the head's band, each on its own Vert.x context. A kick follows every attempt that ends on
 * a node (a slot freed), and a timer kicks every {@value #KICK_EVERY_MILLIS} ms while any queue holds a request (caps
 * grow, nodes return to rotation).
 *
 * <p>The race: a slot is counted free when the queue dispatches a request, but the request routes on its own event loop
 * a moment later, and a new arrival may take the slot meanwhile. Dispatches not yet routed are counted against the room
 * ({@code pending}); a dispatched request that still finds no node to start on goes back to the head of its tenant's
 * queue ({@link #putBack}), keeping its turn and deadline. See docs/flow-control.md.
 */
final class FlowControl {
  /** How often waiting requests are looked at without a slot freeing: caps grow, nodes come back. */
  static final long KICK_EVERY_MILLIS = 50;
  /** Waits remembered per model and band for the console's p50/p99. */
  static final int RECENT_WAITS = 256;
  /** Tenants whose credential carried a weight, remembered at most (then forgotten and relearned). */
  static final int MAX_REMEMBERED_WEIGHTS = 10_000;

  /** One waiting request: where it continues, and what its record and metrics need. */
  static final class Waiter {
    final Context context;
    final Runnable dispatch;
    final long enqueuedNanos;

    Waiter(Context context, Runnable dispatch, long enqueuedNanos) {
      this.context = context;
      this.dispatch = dispatch;
      this.enqueuedNanos = enqueuedNanos;
    }
  }

  /** A model's queue and what the console shows of it. */
  private final class ModelQueue {
    final String model;
    final FlowQueue<Waiter> queue;
    final int maxLength;
    /** Dispatched, not yet routed: counted against the room (guarded by {@code this}). */
    int pending;
    final BandStats[] bands = new BandStats[Band.values().length];
    /** Estimated GPU ms dispatched per tenant label. */
    final Map<String, Double> tenantGpuMillis = new ConcurrentHashMap<>();

    ModelQueue(String model, int maxLength) {
      this.model = model;
      this.maxLength = maxLength;
      this.queue = new FlowQueue<>(new FlowQueue.Settings(maxLength, FlowQueue.Settings.DEFAULT.quantumMillis()),
          clock, FlowControl.this::weight);
      for (Band b : Band.values()) {
        bands[b.ordinal()] = new BandStats();
        metrics.bindFlowQueue(model, b.label(), () -> waiting(model, b));
      }
    }
  }

  /** Counts and recent waits of one model's band (guarded by itself). */
  private static final class BandStats {
    long dispatched;
    long refused;
    long timedOut;
    long cancelled;
    final long[] waits = new long[RECENT_WAITS];
    int next;
    int count;

    synchronized void waited(long millis) {
      waits[next] = millis;
      next = (next + 1) % RECENT_WAITS;
      count = Math.min(RECENT_WAITS, count + 1);
    }

    synchronized long percentile(double p) {
      if (count == 0) return -1;
      long[] sorted = Arrays.copyOf(waits, count);
      Arrays.sort(sorted);
      return sorted[Math.min(count - 1, (int) Math.ceil(p * count) - 1)];
    }
  }

  private final Vertx vertx;
  private final Clock clock;
  private final SluiceMetrics metrics;
  private final Supplier<ConfigSnapshot> snapshot;
  private final ConcurrentHashMap<String, ModelQueue> queues = new ConcurrentHashMap<>();
  /** Weights carried by credentials (Principal.weight() > 0), by tenant; others come from the config. */
  private final ConcurrentHashMap<String, Integer> carriedWeights = new ConcurrentHashMap<>();
  private long timer = -1;

  FlowControl(Vertx vertx, Clock clock, SluiceMetrics metrics, Supplier<ConfigSnapshot> snapshot) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.snapshot = Objects.requireNonNull(snapshot, "snapshot");
  }

  /** A tenant's weight: the one its credential carried, else the config's ({@link FlowSettings#weight}). */
  private int weight(String tenant) {
    Integer carried = carriedWeights.get(tenant);
    if (carried != null) return carried;
    return snapshot.get().config().routing().flow().weight(tenant);
  }

  /** The queue of {@code model}; a new one when none exists, or when the queue length changed and it is empty. */
  private ModelQueue current(String model) {
    int length = snapshot.get().config().routing().flow().queueLength();
    ModelQueue q = queues.get(model);
    if (q != null && (q.maxLength == length || q.queue.size() > 0)) return q;
    return queues.compute(model, (m, was) ->
        was != null && (was.maxLength == length || was.queue.size() > 0) ? was : new ModelQueue(m, length));
  }

  /**
   * Offers a request of {@code tenant} in {@code band} to {@code model}'s queue. {@code carriedWeight}: the weight its
   * credential carries (0: none). On {@link FlowQueue.Queued}, the caller arms its deadline timer and the queue is
   * kicked once (room may have appeared meanwhile); on {@link FlowQueue.Refused}, the refusal is counted.
   */
  FlowQueue.Offer<Waiter> offer(String model, Waiter waiter, String tenant, int carriedWeight, Band band, double cost,
      long deadlineMillis) {
    if (carriedWeight > 0) {
      if (carriedWeights.size() >= MAX_REMEMBERED_WEIGHTS) carriedWeights.clear();
      carriedWeights.put(tenant, carriedWeight);
    }
    ModelQueue q = current(model);
    FlowQueue.Offer<Waiter> offer = q.queue.offer(waiter, tenant, band, cost, deadlineMillis);
    if (offer instanceof FlowQueue.Refused<Waiter> r) {
      String reason = r.full() ? "queue_full" : "wait_too_long";
      BandStats s = q.bands[band.ordinal()];
      synchronized (s) {
        s.refused++;
      }
      metrics.flowNotDispatched(model, band.label(), reason, 0);
      return offer;
    }
    armTimer();
    return offer;
  }

  /** Whether a request of {@code band} or a higher one waits for {@code model}: a new one may not overtake it. */
  boolean waitingAtOrAbove(String model, Band band) {
    ModelQueue q = queues.get(model);
    return q != null && q.queue.waitingAtOrAbove(band);
  }

  /**
   * Takes a waiting request out: its deadline passed ({@code timedOut}) or its client left. False when it was
   * dispatched meanwhile (its dispatch then runs and must see that it ended).
   */
  boolean leave(String model, FlowQueue.Ticket<Waiter> ticket, boolean timedOut) {
    ModelQueue q = queues.get(model);
    if (q == null || !q.queue.cancel(ticket)) return false;
    long waited = clock.nanos() - ticket.payload().enqueuedNanos;
    BandStats s = q.bands[ticket.band().ordinal()];
    synchronized (s) {
      if (timedOut) s.timedOut++;
      else s.cancelled++;
    }
    s.waited(waited / 1_000_000);
    metrics.flowNotDispatched(model, ticket.band().label(), timedOut ? "timeout" : "cancelled", waited);
    return true;
  }

  /**
   * A dispatched request found no node to start on after all (another request took the slot it was dispatched for, or
   * the nodes with room would not start it within its budget): it goes back to the head of its tenant's queue,
   * keeping its turn and its deadline, for the next kick.
   */
  void putBack(String model, FlowQueue.Ticket<Waiter> ticket) {
    ModelQueue q = current(model);
    q.queue.putBack(ticket);
    armTimer();
  }

  /** A dispatched request has routed (or ended without): its slot no longer counts as pending. */
  void routed(String model) {
    ModelQueue q = queues.get(model);
    if (q == null) return;
    synchronized (q) {
      q.pending = Math.max(0, q.pending - 1);
    }
  }

  /** A slot may have freed on a node: every model with waiting requests is looked at. */
  void slotFreed() {
    for (ModelQueue q : queues.values()) {
      if (q.queue.size() > 0) kick(q);
    }
  }

  /** Dispatches {@code model}'s waiting requests while one of its nodes has room for the head's band. */
  void kick(String model) {
    ModelQueue q = queues.get(model);
    if (q != null) kick(q);
  }

  private void kick(ModelQueue q) {
    ConfigSnapshot snap = snapshot.get();
    var route = snap.config().model(q.model);
    if (route.isEmpty()) return; // removed by a reload: its waiters time out
    List<FlowQueue.Ticket<Waiter>> out = new ArrayList<>();
    synchronized (q) {
      if (q.queue.size() == 0) return;
      int[] room = snap.router().room(q.model, route.get().nodes());
      int interactive = room[0] - q.pending;
      int batch = room[1] - q.pending;
      while (interactive > 0) {
        FlowQueue.Ticket<Waiter> t = q.queue.poll(batch > 0 ? Band.BATCH : Band.INTERACTIVE);
        if (t == null) break;
        q.pending++;
        interactive--;
        batch--;
        out.add(t);
      }
    }
    long now = clock.nanos();
    for (FlowQueue.Ticket<Waiter> t : out) {
      Waiter w = t.payload();
      long waited = now - w.enqueuedNanos;
      BandStats s = q.bands[t.band().ordinal()];
      synchronized (s) {
        s.dispatched++;
      }
      s.waited(waited / 1_000_000);
      String label = metrics.tenantLabel(t.tenant());
      q.tenantGpuMillis.merge(label, t.cost(), Double::sum);
      metrics.flowDispatched(q.model, t.band().label(), t.tenant(), waited, t.cost());
      w.context.runOnContext(v -> {
        try {
          w.dispatch.run();
        } finally {
          routed(q.model);
        }
      });
    }
  }

  /** The periodic kick, on while any queue holds a request. */
  private synchronized void armTimer() {
    if (timer >= 0) return;
    timer = vertx.setPeriodic(KICK_EVERY_MILLIS, id -> tick());
  }

  private void tick() {
    boolean any = false;
    for (ModelQueue q : queues.values()) {
      if (q.queue.size() == 0) continue;
      any = true;
      kick(q);
    }
    if (any) return;
    synchronized (this) {
      for (ModelQueue q : queues.values()) {
        if (q.queue.size() > 0) return;
      }
      if (timer >= 0) vertx.cancelTimer(timer);
      timer = -1;
    }
  }

  /** Stops the periodic kick (the gateway closes). */
  synchronized void close() {
    if (timer >= 0) vertx.cancelTimer(timer);
    timer = -1;
  }

  /** Retry-After for a request that waited out its deadline: the time to drain {@code model}'s queue as it is. */
  long retryAfterMillis(String model) {
    ModelQueue q = queues.get(model);
    return q == null ? FlowQueue.UNKNOWN_RETRY_AFTER_MILLIS : q.queue.retryAfterMillis(q.queue.size());
  }

  /** Requests waiting for {@code model} in {@code band} now. */
  int waiting(String model, Band band) {
    ModelQueue q = queues.get(model);
    return q == null ? 0 : q.queue.size(band);
  }

  /** One row of the console's Queues panel. */
  record BandView(String model, String band, int waiting, long waitP50Millis, long waitP99Millis, long dispatched,
      long refused, long timedOut, long cancelled) {}

  /** The console's Queues panel: per model and band, and each tenant's share of the dispatched GPU time. */
  record View(boolean enabled, List<BandView> bands, Map<String, Map<String, Double>> tenantShares) {}

  /** What the console shows: the configured models' queues (those that have had a request), shares in 0–1. */
  View view() {
    SluiceConfig config = snapshot.get().config();
    List<BandView> rows = new ArrayList<>();
    Map<String, Map<String, Double>> shares = new LinkedHashMap<>();
    for (String model : config.models().keySet()) {
      ModelQueue q = queues.get(model);
      if (q == null) continue;
      for (Band b : Band.values()) {
        BandStats s = q.bands[b.ordinal()];
        synchronized (s) {
          rows.add(new BandView(model, b.label(), q.queue.size(b), s.percentile(0.5), s.percentile(0.99),
              s.dispatched, s.refused, s.timedOut, s.cancelled));
        }
      }
      double total = q.tenantGpuMillis.values().stream().mapToDouble(Double::doubleValue).sum();
      Map<String, Double> share = new LinkedHashMap<>();
      if (total > 0) q.tenantGpuMillis.forEach((t, ms) -> share.put(t, Math.round(ms / total * 1000) / 1000.0));
      shares.put(model, share);
    }
    return new View(config.routing().flow().enabled(), rows, shares);
  }
}
