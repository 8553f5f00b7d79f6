package dev.sluice.flow;

import dev.sluice.support.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.ToIntFunction;

/**
 * One model's waiting room: requests that found no eligible node below its cap wait here, bounded in number and each
 * until its own deadline, and leave in this order when a slot frees:
 * <ol>
 *   <li>by {@link Band}, highest first (interactive before batch);</li>
 *   <li>within a band, tenants in <b>deficit round-robin</b> by weight, counted in each request's estimated GPU time,
 *       so a burst of fifty sub-agent requests from one tenant cannot push another tenant's single request to the
 *       back: on each tenant's turn its deficit grows by {@code quantum × weight} and its requests leave while their
 *       cost fits in it;</li>
 *   <li>within a tenant, first come first served.</li>
 * </ol>
 * Thread-safe (the gateway's event loops share one queue per model); pure: time only through the injected
 * {@link Clock}. The caller owns what happens to a request: it offers, polls when a slot frees, cancels on client
 * disconnect or deadline, and answers refusals with 429 + {@link #retryAfterMillis}.
 *
 * @param <T> what the caller keeps per waiting request
 */
public final class FlowQueue<T> {
  /**
   * @param maxLength requests that may wait at once (all bands and tenants); one more is refused
   * @param quantumMillis estimated GPU milliseconds a weight-1 tenant may dispatch per round-robin turn
   */
  public record Settings(int maxLength, double quantumMillis) {
    /** 512 waiting requests, a 1 s quantum. */
    public static final Settings DEFAULT = new Settings(512, 1_000);

    public Settings {
      if (maxLength < 0) throw new IllegalArgumentException("maxLength must be ≥ 0, got " + maxLength);
      if (!(quantumMillis > 0)) throw new IllegalArgumentException("quantumMillis must be > 0, got " + quantumMillis);
    }
  }

  /** A request's place in the queue. */
  public static final class Ticket<T> {
    private final T payload;
    private final String tenant;
    private final Band band;
    private final double cost;
    private final long enqueuedMillis;
    private final long deadlineMillis;
    private boolean queued = true;

    private Ticket(T payload, String tenant, Band band, double cost, long enqueuedMillis, long deadlineMillis) {
      this.payload = payload;
      this.tenant = tenant;
      this.band = band;
      this.cost = cost;
      this.enqueuedMillis = enqueuedMillis;
      this.deadlineMillis = deadlineMillis;
    }

    public T payload() { return payload; }

    public String tenant() { return tenant; }

    public Band band() { return band; }

    /** Estimated GPU milliseconds, what deficit round-robin counts. */
    public double cost() { return cost; }

    public long enqueuedMillis() { return enqueuedMillis; }

    /** When the request stops waiting and is refused. */
    public long deadlineMillis() { return deadlineMillis; }
  }

  /** The answer to {@link #offer}. */
  public sealed interface Offer<T> {}

  /** The request waits; keep the ticket to cancel it. */
  public record Queued<T>(Ticket<T> ticket) implements Offer<T> {}

  /**
   * The request cannot wait: the queue is full, or the wait ahead of it (estimated from the drain rate) ends after its
   * deadline. Answer 429 with Retry-After {@code retryAfterMillis}.
   */
  public record Refused<T>(long retryAfterMillis, String reason) implements Offer<T> {
    /** Whether it was refused because the queue is full (else: the wait ahead is longer than its deadline). */
    public boolean full() {
      return reason.startsWith(FULL);
    }
  }

  private static final String FULL = "the queue is full";

  /** One tenant's requests in one band. */
  private static final class TenantQueue<T> {
    final String tenant;
    final ArrayDeque<Ticket<T>> items = new ArrayDeque<>();
    double deficit;
    boolean turnStarted;
    boolean inRing;

    TenantQueue(String tenant) {
      this.tenant = tenant;
    }
  }

  /** One band: its tenants in round-robin order. */
  private static final class Lane<T> {
    final Map<String, TenantQueue<T>> byTenant = new HashMap<>();
    final ArrayDeque<TenantQueue<T>> ring = new ArrayDeque<>();
    int size;
  }

  /** Longest cost one request may count, in quanta: bounds the rounds a poll walks. */
  static final double MAX_COST_QUANTA = 64;
  /** Weight of a new interval in the drain-rate average. */
  private static final double RATE_ALPHA = 0.2;
  /** Retry-After when nothing has drained yet to estimate from. */
  public static final long UNKNOWN_RETRY_AFTER_MILLIS = 1_000;

  private final Settings settings;
  private final Clock clock;
  private final ToIntFunction<String> weights;
  private final EnumMap<Band, Lane<T>> lanes = new EnumMap<>(Band.class);
  private int size;
  private long dispatched;
  private long lastDispatchNanos = Long.MIN_VALUE;
  /** When the queue last went from empty to holding a request. */
  private long busySinceNanos = Long.MIN_VALUE;
  /** The ticket the last poll returned (until anything else changes the queue), and the rate before it. */
  private Ticket<T> lastPolled;
  private long previousDispatchNanos = Long.MIN_VALUE;
  private double previousIntervalMillis = Double.NaN;
  /** Smoothed milliseconds between dispatches; NaN until two dispatches were seen. */
  private double intervalMillis = Double.NaN;

  /**
   * @param weights a tenant's weight (≥ 1; values below count as 1)
   */
  public FlowQueue(Settings settings, Clock clock, ToIntFunction<String> weights) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.weights = Objects.requireNonNull(weights, "weights");
    for (Band b : Band.values()) lanes.put(b, new Lane<>());
  }

  /**
   * Queues a request, or refuses it when the queue is full or the wait ahead of it would end after {@code
   * deadlineMillis}.
   *
   * @param cost estimated GPU milliseconds of the request (see {@link #gpuMillis})
   */
  public synchronized Offer<T> offer(T payload, String tenant, Band band, double cost, long deadlineMillis) {
    Objects.requireNonNull(tenant, "tenant");
    Objects.requireNonNull(band, "band");
    lastPolled = null;
    long now = clock.millis();
    if (size >= settings.maxLength()) {
      return new Refused<>(retryAfterMillis(size),
          FULL + " (" + size + " requests wait; routing.flow.queueLength " + settings.maxLength() + ")");
    }
    Lane<T> lane = lanes.get(band);
    TenantQueue<T> own = lane.byTenant.get(tenant);
    long ahead = ahead(band, own == null ? 0 : own.items.size());
    // nothing ahead: it leaves with the next free slot, which no drain rate predicts (its deadline still bounds it)
    if (ahead > 0 && !Double.isNaN(intervalMillis)) {
      long wait = (long) ((ahead + 1) * intervalMillis);
      if (now + wait > deadlineMillis) {
        return new Refused<>(Math.max(wait, 1), "about " + wait + " ms of waiting ahead (" + ahead
            + " requests before it at the current drain rate) is longer than it may wait (" + Math.max(0,
            deadlineMillis - now) + " ms)");
      }
    }
    double capped = Math.min(Math.max(0, cost), MAX_COST_QUANTA * settings.quantumMillis());
    Ticket<T> t = new Ticket<>(payload, tenant, band, capped, now, deadlineMillis);
    if (own == null) {
      own = new TenantQueue<>(tenant);
      lane.byTenant.put(tenant, own);
    }
    own.items.addLast(t);
    if (!own.inRing) {
      own.inRing = true;
      lane.ring.addLast(own);
    }
    lane.size++;
    if (size++ == 0) busySinceNanos = clock.nanos();
    return new Queued<>(t);
  }

  /**
   * Requests estimated to leave before a new one of {@code band} whose tenant already has {@code ownQueued} waiting:
   * every request of the higher bands, and in its own band its tenant's queue plus one turn of each other tenant per
   * request of its own (deficit round-robin), at most the band's length.
   */
  private long ahead(Band band, int ownQueued) {
    long n = 0;
    for (Band b : Band.values()) {
      if (b.ordinal() < band.ordinal()) n += lanes.get(b).size;
    }
    Lane<T> lane = lanes.get(band);
    long tenants = lane.ring.size() + (ownQueued == 0 ? 1 : 0);
    return n + Math.min(lane.size, (long) (ownQueued + 1) * tenants - 1);
  }

  /**
   * The next request to dispatch from the bands up to {@code lowest} (interactive only, or interactive then batch), or
   * null when none of them holds one. Counts the dispatch for the drain rate.
   */
  public synchronized Ticket<T> poll(Band lowest) {
    lastPolled = null;
    for (Band b : Band.values()) {
      if (b.ordinal() > lowest.ordinal()) break;
      Ticket<T> t = poll(lanes.get(b));
      if (t != null) {
        t.queued = false;
        size--;
        lastPolled = t;
        previousDispatchNanos = lastDispatchNanos;
        previousIntervalMillis = intervalMillis;
        countDispatch();
        return t;
      }
    }
    return null;
  }

  /**
   * Undoes the last {@link #poll}: the caller could not dispatch {@code ticket} after all (no node with room would
   * start it within its TTFT budget). It goes back to the head of its tenant's queue with its cost credited back to
   * the tenant's deficit and is not counted as dispatched, so it keeps its turn for the next poll.
   *
   * @throws IllegalStateException when {@code ticket} is not the one the last poll returned, or anything was offered,
   *     polled or cancelled since
   */
  public synchronized void unpoll(Ticket<T> ticket) {
    if (ticket == null || ticket != lastPolled) {
      throw new IllegalStateException("only the ticket of the last poll can be put back");
    }
    lastPolled = null;
    putBack(ticket);
    lastDispatchNanos = previousDispatchNanos;
    intervalMillis = previousIntervalMillis;
  }

  /**
   * Puts back a request polled earlier that could not start after all (the node it was dispatched for was taken, or
   * none of the nodes with room would start it within its budget): it goes to the head of its tenant's queue with its
   * cost credited back, keeping its turn, and waits for the next dispatch. No-op for a ticket that is queued already.
   */
  public synchronized void putBack(Ticket<T> ticket) {
    if (ticket == null || ticket.queued) return;
    Lane<T> lane = lanes.get(ticket.band);
    TenantQueue<T> q = lane.byTenant.get(ticket.tenant);
    if (q == null) {
      q = new TenantQueue<>(ticket.tenant);
      lane.byTenant.put(ticket.tenant, q);
    }
    q.items.addFirst(ticket);
    q.deficit += ticket.cost;
    q.turnStarted = true;
    q.inRing = true;
    lane.ring.remove(q);
    lane.ring.addFirst(q);
    ticket.queued = true;
    lane.size++;
    if (size++ == 0) busySinceNanos = clock.nanos();
    dispatched--;
  }

  private Ticket<T> poll(Lane<T> lane) {
    while (!lane.ring.isEmpty()) {
      TenantQueue<T> q = lane.ring.peekFirst();
      if (!q.turnStarted) {
        q.deficit += settings.quantumMillis() * Math.max(1, weights.applyAsInt(q.tenant));
        q.turnStarted = true;
      }
      Ticket<T> head = q.items.peekFirst();
      if (head.cost <= q.deficit) {
        q.items.pollFirst();
        q.deficit -= head.cost;
        lane.size--;
        if (q.items.isEmpty()) leave(lane, q);
        return head;
      }
      q.turnStarted = false;
      lane.ring.addLast(lane.ring.pollFirst());
    }
    return null;
  }

  /** A tenant with nothing left waiting leaves the ring and forgets its deficit (DRR: no credit for idling). */
  private void leave(Lane<T> lane, TenantQueue<T> q) {
    lane.ring.remove(q);
    lane.byTenant.remove(q.tenant);
    q.inRing = false;
    q.deficit = 0;
    q.turnStarted = false;
  }

  /**
   * Takes a waiting request out (its client left, or its deadline passed).
   *
   * @return true when it was still waiting; false when it was dispatched or cancelled before
   */
  public synchronized boolean cancel(Ticket<T> ticket) {
    if (ticket == null || !ticket.queued) return false;
    lastPolled = null;
    ticket.queued = false;
    Lane<T> lane = lanes.get(ticket.band);
    TenantQueue<T> q = lane.byTenant.get(ticket.tenant);
    if (q == null || !q.items.remove(ticket)) return false;
    lane.size--;
    size--;
    if (q.items.isEmpty()) leave(lane, q);
    return true;
  }

  /** Takes out and returns every request whose deadline is at or before now (for callers without per-request timers). */
  public synchronized List<Ticket<T>> expire() {
    long now = clock.millis();
    lastPolled = null;
    List<Ticket<T>> out = new ArrayList<>();
    for (Lane<T> lane : lanes.values()) {
      for (TenantQueue<T> q : List.copyOf(lane.ring)) {
        q.items.removeIf(t -> {
          if (t.deadlineMillis > now) return false;
          t.queued = false;
          out.add(t);
          return true;
        });
      }
    }
    for (Lane<T> lane : lanes.values()) {
      for (TenantQueue<T> q : List.copyOf(lane.ring)) {
        if (q.items.isEmpty()) leave(lane, q);
      }
      lane.size = 0;
      for (TenantQueue<T> q : lane.ring) lane.size += q.items.size();
    }
    size -= out.size();
    return out;
  }

  private void countDispatch() {
    long now = clock.nanos();
    if (lastDispatchNanos != Long.MIN_VALUE) {
      // only time the queue held requests counts: an idle hour before a burst says nothing about how fast it drains
      double gap = Math.max(0, now - Math.max(lastDispatchNanos, busySinceNanos)) / 1e6;
      intervalMillis = Double.isNaN(intervalMillis) ? gap : intervalMillis + RATE_ALPHA * (gap - intervalMillis);
    }
    lastDispatchNanos = now;
    dispatched++;
  }

  /** Requests waiting, every band. */
  public synchronized int size() {
    return size;
  }

  /** Requests waiting in {@code band}. */
  public synchronized int size(Band band) {
    return lanes.get(band).size;
  }

  /** Whether a request of {@code band} or a higher one waits. */
  public synchronized boolean waitingAtOrAbove(Band band) {
    for (Band b : Band.values()) {
      if (b.ordinal() <= band.ordinal() && lanes.get(b).size > 0) return true;
    }
    return false;
  }

  /** Requests waiting per tenant in {@code band}. */
  public synchronized Map<String, Integer> waitingByTenant(Band band) {
    Map<String, Integer> out = new HashMap<>();
    for (TenantQueue<T> q : lanes.get(band).ring) out.put(q.tenant, q.items.size());
    return out;
  }

  /** Requests dispatched from this queue so far. */
  public synchronized long dispatched() {
    return dispatched;
  }

  /**
   * Retry-After for a request refused behind {@code waiting} others: how long the queue takes to drain that many at
   * the smoothed dispatch rate ({@value #UNKNOWN_RETRY_AFTER_MILLIS} ms before any rate is known).
   */
  public synchronized long retryAfterMillis(long waiting) {
    if (Double.isNaN(intervalMillis)) return UNKNOWN_RETRY_AFTER_MILLIS;
    return Math.max(1, (long) Math.ceil(Math.max(1, waiting) * intervalMillis));
  }

  /**
   * A request's estimated GPU time in milliseconds on a node of the given speed: its prompt at the prefill rate plus
   * its expected output at the decode rate. What fair share counts, so a tenant's share is in GPU time, not requests.
   */
  public static double gpuMillis(long promptTokens, long outputTokens, double prefillTokensPerSecond,
      double decodeMillisPerToken) {
    double prefill = prefillTokensPerSecond > 0 ? Math.max(0, promptTokens) * 1000.0 / prefillTokensPerSecond : 0;
    return prefill + Math.max(0, outputTokens) * Math.max(0, decodeMillisPerToken);
  }
}
