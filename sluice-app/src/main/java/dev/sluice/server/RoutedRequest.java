package dev.sluice.server;

import dev.sluice.api.ApiException;
import dev.sluice.api.ChatTranslation;
import dev.sluice.api.Dialect;
import dev.sluice.api.Endpoint;
import dev.sluice.api.ErrorKind;
import dev.sluice.api.ParsedRequest;
import dev.sluice.api.Usage;
import dev.sluice.auth.Principal;
import dev.sluice.config.FlowSettings;
import dev.sluice.config.ModelSpec;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.SluiceConfig;
import dev.sluice.degrade.DegradationDecision;
import dev.sluice.degrade.DegradationLevel;
import dev.sluice.degrade.DowngradeCap;
import dev.sluice.degrade.ResponseCache;
import dev.sluice.flow.Band;
import dev.sluice.flow.FlowQueue;
import dev.sluice.http.Responses;
import dev.sluice.limit.PromptText;
import dev.sluice.limit.RateLimiter;
import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.routing.Affinity;
import dev.sluice.routing.NodeSpeed;
import dev.sluice.routing.PrefixChain;
import dev.sluice.routing.Warmth;
import dev.sluice.support.Clock;
import dev.sluice.support.Durations;
import dev.sluice.upstream.Exchange;
import dev.sluice.upstream.ExchangeListener;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One request routed by model, from a validated body to exactly one outcome, in the order of ARCHITECTURE.md's
 * request flow: context-window guard → rate limits → degradation decision (cached answer, downgrade, static reply) →
 * routing and the {@link Exchange} → on a node-caused failure before the first byte, down the ladder (a cached answer
 * up to the stale TTL, the downgrade model, the static reply). Callbacks run on the client connection's event loop.
 *
 * <p>With shared state (Redis), admission and a cache lookup after a local miss are asynchronous: the request waits
 * for them without blocking its event loop (at most {@code shared.timeout}, then it goes on with local state), goes on
 * on its own context, and ends as cancelled if the client leaves meanwhile. Without shared state both complete at once
 * and the request runs straight through, as before.
 *
 * <p>Outcome labels: ok, cached, downgraded, static, client_error, failed, cancelled.
 */
final class RoutedRequest implements ExchangeListener {
  private static final Logger log = LoggerFactory.getLogger(RoutedRequest.class);
  static final String DOWNGRADED_HEADER = "X-Model-Downgraded";
  static final String CACHE_HEADER = "X-Sluice-Cache";
  static final String DEGRADED_HEADER = "X-Sluice-Degraded";
  /** On a token count the gateway made itself (no node of the model counts in that dialect): {@code estimate}. */
  static final String ESTIMATE_HEADER = "x-sluice-token-count";
  /**
   * On an answer routed with affinity: {@code hit}, {@code miss} or {@code moved} ({@link Affinity.Outcome}) and the
   * answering node's estimated cached share of the prompt, e.g. {@code hit; cached=0.93}.
   */
  static final String AFFINITY_HEADER = "x-sluice-affinity";
  /** Why the answering node was chosen (node, policy, short reason); only with {@code routing.explain}. */
  static final String ROUTE_HEADER = "x-sluice-route";
  /**
   * Request: the band the caller asks for ({@code interactive} or {@code batch}); it may lower the caller's highest band
   * (its key's or token's, else {@code routing.flow.tenants}), never raise it. Response: the band the request ran in.
   */
  static final String PRIORITY_HEADER = "x-sluice-priority";

  /**
   * What every routed request shares: one per gateway. {@code starting} is true until a node first turns READY after
   * the gateway started.
   */
  record Shared(Exchange.Shared exchanges, Clock clock, AtomicInteger inFlight, SluiceMetrics metrics,
      Protections protections, Observers observers, BooleanSupplier starting, FlowControl flow) {}

  private final Shared shared;
  private final HttpServerRequest req;
  private final HttpServerResponse resp;
  private final SluiceConfig config;
  /** The router built from {@link #config}: every attempt of this request is routed by the config it arrived with. */
  private final Router router;
  private final Arrival arrival;
  private final String endpointLabel;
  private final String tenant;
  private final Principal who;
  private ParsedRequest parsed;
  private long promptTokens;
  private RateLimiter.Permit permit;
  private RequestCache cache;
  /** The model the current attempt goes to (the requested one, or its downgrade target). */
  private String currentModel;
  private boolean downgraded;
  private boolean triedCache;
  private boolean triedDowngrade;
  /** This request holds a place under the downgrade cap of {@link #currentModel}. */
  private boolean holdsDowngradePlace;
  private boolean done;
  // what the request record says: summed over the exchanges (the requested model, then its downgrade target)
  private Exchange exchange;
  private final RequestTally tally = new RequestTally();
  /** Waits on the shared store, going on on the context the request arrived on. */
  private SharedWait waits;
  // affinity (when the router has it on): the session the client named, the canonical prompt text (UTF-8), and per
  // exchange the prompt's chain under the model routed to and what affinity knew before routing
  private String sessionId;
  private byte[] promptUtf8;
  private PrefixChain chain;
  private String chainModel;
  private Affinity affinity;
  private Warmth warmth = Warmth.NONE;
  /** The plan's route explanation ({@code routing.explain} on), or null. */
  private String routeExplanation;
  // flow control: the request's band, and while it waits in the queue its ticket, model, timer and start
  private Band band = Band.INTERACTIVE;
  /** Set by the queue's dispatch: the next attempt neither queues behind others nor minds a cap by one. */
  private boolean dispatched;
  /** The ticket of a request the queue dispatched, until it starts on a node or goes back to the queue. */
  private FlowQueue.Ticket<FlowControl.Waiter> dispatchedTicket;
  private FlowQueue.Ticket<FlowControl.Waiter> ticket;
  private String waitingFor;
  private long waitTimer = -1;
  private long waitStartNanos;

  RoutedRequest(Shared shared, HttpServerRequest req, ConfigSnapshot snapshot, ParsedRequest parsed,
      Principal who, Arrival arrival) {
    this.shared = shared;
    this.req = req;
    this.resp = req.response();
    this.config = snapshot.config();
    this.router = snapshot.router();
    this.parsed = parsed.endpoint().dialect().prepare(parsed);
    this.arrival = arrival;
    this.endpointLabel = parsed.endpoint().name().toLowerCase(Locale.ROOT);
    this.who = who;
    this.tenant = who.tenant();
  }

  void start() {
    waits = new SharedWait(resp, () -> done, () -> finish(499, "cancelled"), this::failedAfterWait);
    if (!chooseBand()) return;
    Endpoint endpoint = parsed.endpoint();
    ModelSpec spec = config.model(parsed.model()).orElseThrow().model();
    PromptText prompt = PromptText.of(parsed.json(), parsed.raw().length());
    promptTokens = prompt.estimatedTokens();
    if (router.affinityOn()) {
      promptUtf8 = prompt.utf8();
      sessionId = SessionKey.of(req.headers(), parsed.json());
    }
    boolean counts = endpoint == Endpoint.OLLAMA_SHOW || endpoint == Endpoint.ANTHROPIC_COUNT_TOKENS; // no answer
    if (!counts && !guardContext(spec, prompt)) return;
    admit();
  }

  /** Admitted: the degradation decision, then a cached answer, the static reply, the downgrade model or the model. */
  private void serve() {
    DegradationDecision decision = shared.protections().degradation.decide(parsed.model(),
        ThreadLocalRandom.current().nextDouble());
    DegradationLevel level = decision.level();
    boolean degraded = level != DegradationLevel.NORMAL && !decision.probe();
    if (cacheable() && (degraded || config.cache().models().contains(parsed.model()))) {
      triedCache = degraded;
      lookUpCache(degraded, hit -> {
        if (!serveCached(hit)) serveUncached(decision, degraded);
      });
      return;
    }
    serveUncached(decision, degraded);
  }

  private void serveUncached(DegradationDecision decision, boolean degraded) {
    DegradationLevel level = decision.level();
    if (degraded && level == DegradationLevel.STATIC && renderable()) {
      serveStatic();
      return;
    }
    if (degraded && level.ordinal() >= DegradationLevel.DOWNGRADE.ordinal() && decision.downgradeTo() != null) {
      triedDowngrade = true;
      if (!who.mayUse(decision.downgradeTo())) {
        // the caller's token does not cover the smaller model: the ladder's next tier, never the smaller model
        belowDowngrade(ErrorKind.NO_HEALTHY_NODE, "model \"" + parsed.model() + "\" is degraded (level "
            + level.name().toLowerCase(Locale.ROOT) + ") and the model it is downgraded to is not allowed for this "
            + "gateway token; retry later");
        return;
      }
      attempt(decision.downgradeTo(), true);
      return;
    }
    attempt(parsed.model(), false);
  }

  // ------------------------------------------------------------------ admission

  /**
   * The request's band: the caller's highest ({@link Principal#maxBand()}, else {@code routing.flow.tenants}), lowered
   * by the {@value #PRIORITY_HEADER} header; said back in that header. False when the header's value is not a band
   * (answered 400).
   */
  private boolean chooseBand() {
    Band max = who.maxBand() != null ? who.maxBand() : config.routing().flow().maxBand(tenant);
    String asked = req.getHeader(PRIORITY_HEADER);
    Band chosen = max;
    if (asked != null) {
      try {
        chosen = Band.parse(asked).atMost(max);
      } catch (IllegalArgumentException e) {
        error(ErrorKind.INVALID_REQUEST, PRIORITY_HEADER + ": \"" + Outcomes.clip(asked) + "\" is not a priority band "
            + "(expected interactive or batch)", null);
        return false;
      }
    }
    band = chosen;
    resp.putHeader(PRIORITY_HEADER, chosen.label());
    tally.band(chosen.label());
    return true;
  }

  /** The context-window and max_tokens rules ({@link PromptFit}); false when the request was answered (rejected). */
  private boolean guardContext(ModelSpec spec, PromptText prompt) {
    PromptFit.Result fit = PromptFit.check(parsed, spec, prompt, who, config, shared.metrics(), resp);
    if (fit instanceof PromptFit.Rejected r) {
      error(r.kind(), r.message(), r.param());
      return false;
    }
    PromptFit.Fits fits = (PromptFit.Fits) fit;
    parsed = fits.request();
    promptTokens = fits.promptTokens();
    return true;
  }

  /** Tenant and model rate limits, then {@link #serve}; a refused request is answered 429. */
  private void admit() {
    int expected = parsed.requestedMaxTokens();
    long estimate = promptTokens + (expected > 0 ? expected : Router.DEFAULT_EXPECTED_OUTPUT_TOKENS);
    RateLimiter limiter = shared.protections().limiter;
    String credential = who.keyId() == null ? null : "gateway token " + who.keyId();
    CompletionStage<RateLimiter.Admission> stage =
        limiter.admitAsync(tenant, who.limits(), credential, parsed.model(), estimate);
    CompletableFuture<RateLimiter.Admission> now = stage.toCompletableFuture();
    if (now.isDone() && !now.isCompletedExceptionally()) { // local limits: no wait, no hop
      admitted(now.join());
      return;
    }
    waits.await(stage, (a, e) -> admitted(e == null ? a
            : limiter.admit(tenant, who.limits(), credential, parsed.model(), estimate)),
        a -> {
          // the client left while the shared store answered: the request counts, its tokens go back
          if (a instanceof RateLimiter.Admitted ok) ok.permit().complete(0);
        });
  }

  private void admitted(RateLimiter.Admission a) {
    a.headers().toHeaders().forEach(resp::putHeader);
    if (a instanceof RateLimiter.Limited l) {
      resp.putHeader(HttpHeaders.RETRY_AFTER, Long.toString(Durations.retryAfterSeconds(l.retryAfterMillis())));
      shared.metrics().rateLimited(l.scope(), l.kind());
      error(ErrorKind.RATE_LIMITED, l.message(), null);
      return;
    }
    permit = ((RateLimiter.Admitted) a).permit();
    serve();
  }

  /**
   * The cache entry for this request: the local tier, then (on a local miss) the shared tier. {@code then} gets the
   * hit or null, at once or after the shared tier answered; a shared tier that fails or is too slow is a miss.
   */
  private void lookUpCache(boolean allowStale, Consumer<ResponseCache.Lookup> then) {
    RequestCache.Found found = cache().lookUp(allowStale);
    if (found.later() == null) {
      tally.cache(cacheResult(found.now()));
      then.accept(found.now());
      return;
    }
    waits.await(found.later(), (answer, e) -> {
      ResponseCache.Lookup hit = cache().adopt(answer, e, allowStale);
      tally.cache(cacheResult(hit));
      then.accept(hit);
    }, null);
  }

  private static String cacheResult(ResponseCache.Lookup hit) {
    return hit == null ? "miss" : hit.fresh() ? "hit" : "stale";
  }

  /** The request's cache entry; its key is taken from the body as it is now (after the context guard's rewrites). */
  private RequestCache cache() {
    if (cache == null) cache = new RequestCache(shared.protections(), tenant, parsed);
    return cache;
  }

  /** A step after a wait on the shared store threw (a bug): the request still ends, with one outcome. */
  private void failedAfterWait(RuntimeException e) {
    log.error("{} {}: failed after a shared-store call", parsed.endpoint().path(), parsed.model(), e);
    if (!done && !resp.headWritten()) error(ErrorKind.INTERNAL, "internal error in the gateway", null);
    else finish(500, "failed");
  }

  // ------------------------------------------------------------------ attempts

  private void attempt(String model, boolean isDowngrade) {
    currentModel = model;
    downgraded = isDowngrade;
    ParsedRequest request = isDowngrade ? parsed.withModel(model) : parsed;
    var route = config.model(model);
    if (route.isEmpty()) { // a downgrade target removed by a reload between decision and attempt
      fallBack(ErrorKind.NO_HEALTHY_NODE, "model \"" + model + "\" is no longer configured");
      return;
    }
    if (isDowngrade) {
      // the smaller model has its own level; its probes (a share, at least one a second) are how it recovers,
      // since nobody may ask for it by name
      DegradationDecision own = shared.protections().degradation.decide(model, ThreadLocalRandom.current().nextDouble());
      if (own.level().ordinal() >= DegradationLevel.DOWNGRADE.ordinal() && !own.probe()) {
        fallBack(ErrorKind.NO_HEALTHY_NODE, "downgrade model \"" + model + "\" is degraded as well");
        return;
      }
      int window = route.get().model().contextWindowTokens();
      int out = parsed.requestedMaxTokens();
      if (window > 0 && promptTokens + Math.max(out, 1) > window) {
        fallBack(ErrorKind.NO_HEALTHY_NODE, "the prompt does not fit downgrade model \"" + model + "\"");
        return;
      }
    }
    int expectedOut = request.requestedMaxTokens();
    Dialect dialect = request.endpoint().dialect();
    ChatTranslation overChat = null;
    ApiException untranslatable = null;
    if (!router.allSpeak(route.get().nodes(), dialect.nodeDialect())) {
      try {
        overChat = dialect.overChat(request);
      } catch (ApiException e) {
        untranslatable = e; // only nodes that speak the dialect may take it
      }
    }
    // flow control: a request the queue dispatched does not queue behind others again; if it finds no node to start
    // on after all, it goes back to the head of the queue (docs/flow-control.md, "The race")
    boolean wasDispatched = dispatched;
    dispatched = false;
    Router.Result routed = router.route(model, request.endpoint(), route.get().nodes(), promptTokens, expectedOut,
        request.stream(), overChat != null, sessionId, chainFor(model), band,
        band == Band.INTERACTIVE ? tally.queuedMillis() : 0);
    if (routed instanceof Router.NoNodeSpeaksApi) {
      if (isDowngrade) {
        fallBack(ErrorKind.NO_HEALTHY_NODE, "downgrade model \"" + model + "\" has no node that speaks this API");
        return;
      }
      Buffer local = dialect.localAnswer(promptTokens);
      if (local != null) {
        answerLocally(local);
        return;
      }
      if (untranslatable != null) {
        error(untranslatable.kind(), untranslatable.getMessage() + " (no node of model \"" + model + "\" speaks "
            + dialect.nodeDialect().configName() + " itself)", untranslatable.param());
        return;
      }
      error(ErrorKind.MODEL_NOT_FOUND, noNodeSpeaks(model, dialect), "model");
      return;
    }
    if (routed instanceof Router.Busy busy) {
      // the model's nodes said they are full: back off (503 + Retry-After), not a failure to degrade from
      long seconds = Durations.retryAfterSeconds(busy.retryAfterMillis());
      if (isDowngrade) {
        fallBack(ErrorKind.UPSTREAM_BUSY, "downgrade model \"" + model + "\" is busy (" + busy.why() + ")");
        return;
      }
      resp.putHeader(HttpHeaders.RETRY_AFTER, Long.toString(seconds));
      error(ErrorKind.UPSTREAM_BUSY, "every node of \"" + model + "\" is busy right now: retry in " + seconds + " s ("
          + busy.why() + ")", null);
      return;
    }
    if (routed instanceof Router.NoHealthyNode none) {
      // a model whose nodes are still warming up is not failing: its requests take the ladder but raise no level
      if (!none.warmingUp()) shared.protections().degradation.record(model, true);
      resp.putHeader(HttpHeaders.RETRY_AFTER, Long.toString(Math.max(1, router.healthProbeSeconds())));
      if (shared.starting().getAsBoolean()) { // not a failure to degrade from: let the client or balancer go elsewhere
        error(ErrorKind.NO_HEALTHY_NODE, "this gateway is starting: no node has passed its first health probes yet "
            + "(model \"" + model + "\": " + none.why() + "); retry shortly, or through another replica", null);
        return;
      }
      fallBack(ErrorKind.NO_HEALTHY_NODE, "no healthy node for model \"" + model + "\" right now: " + none.why());
      return;
    }
    if (routed instanceof Router.Overloaded over) {
      long seconds = Durations.retryAfterSeconds(over.retryAfterMillis());
      if (isDowngrade) {
        fallBack(ErrorKind.OVERLOADED, "downgrade model \"" + model + "\" is too busy (" + over.reason() + ")");
        return;
      }
      resp.putHeader(HttpHeaders.RETRY_AFTER, Long.toString(seconds));
      error(ErrorKind.OVERLOADED, "every node of \"" + model + "\" is too busy to start this request within the "
          + "time-to-first-token budget (routing.ttftBudget): retry in " + seconds + " s (" + over.reason() + ")", null);
      return;
    }
    if (routed instanceof Router.Plan && router.flowOn() && !isDowngrade && !wasDispatched
        && shared.flow().waitingAtOrAbove(model, band)) { // a node has room, but others wait for it: no overtaking
      queue(model, route.get().nodes(), expectedOut, "requests of its band or a higher one wait ahead of it");
      return;
    }
    if (routed instanceof Router.Full full) {
      // not a node error: the ladder's level is not touched; a downgrade attempt never waits
      if (wasDispatched && dispatchedTicket != null && !isDowngrade) {
        // dispatched, yet no node would start it: back to the head of the queue, same turn, same deadline
        ticket = dispatchedTicket;
        dispatchedTicket = null;
        shared.flow().putBack(model, ticket);
        return;
      }
      if (isDowngrade) {
        fallBack(ErrorKind.OVERLOADED, "downgrade model \"" + model + "\" has every node at its concurrency cap ("
            + full.why() + ")");
        return;
      }
      queue(model, route.get().nodes(), expectedOut, full.why());
      return;
    }
    if (isDowngrade) {
      double share = config.degradation().downgradeShare();
      int capacity = router.capacity(model, route.get().nodes());
      if (!shared.protections().downgrades.tryAcquire(model, capacity, share)) {
        shared.metrics().downgradeCapped(shared.metrics().modelLabel(model));
        fallBack(ErrorKind.OVERLOADED, "downgrade model \"" + model + "\" already serves its share of downgraded "
            + "requests (" + DowngradeCap.limit(capacity, share) + " at once, degradation.downgradeShare "
            + share + " of its capacity): its own users keep the rest");
        return;
      }
      holdsDowngradePlace = true;
      resp.putHeader(DOWNGRADED_HEADER, model);
    }
    Router.Plan plan = (Router.Plan) routed;
    affinity = router.affinity();
    warmth = plan.warmth();
    routeExplanation = plan.route();
    shared.inFlight().incrementAndGet();
    Exchange x = new Exchange(shared.exchanges(), req, config, request, overChat, ((Router.Plan) routed).targets(),
        arrival.origin(), promptTokens, captureLimit(), this);
    exchange = x;
    // docs/stream-resumption.md: off for a model in upstream.resumption.offModels, or a key/token with resume false
    x.allowResumption(who.resumeStreams() ? config.upstream().resumption().maxFor(model) : 0);
    x.start();
  }

  // ------------------------------------------------------------------ flow control: waiting for a slot

  /**
   * Waits in {@code model}'s queue for a node below its cap ({@code why}: what the nodes are doing), until its deadline
   * (arrival + {@code routing.flow.maxWait}); refused at once (429 + Retry-After) when the queue is full or the wait
   * ahead of it is longer than that.
   */
  private void queue(String model, List<NodeSpec> nodes, int expectedOut, String why) {
    FlowSettings flow = config.routing().flow();
    long maxWait = (band == Band.BATCH ? flow.batchMaxWait() : flow.maxWait(config.routing().ttftBudget())).toMillis();
    long deadline = arrival.startEpochMillis + maxWait;
    NodeSpeed speed = router.bestSpeed(model, nodes);
    double cost = FlowQueue.gpuMillis(promptTokens, expectedOut > 0 ? expectedOut
        : Router.DEFAULT_EXPECTED_OUTPUT_TOKENS, speed.prefillTokensPerSecond(), speed.decodeMillisPerToken());
    Context context = Vertx.currentContext();
    if (context == null) context = shared.exchanges().vertx().getOrCreateContext();
    long now = shared.clock().nanos();
    FlowQueue.Offer<FlowControl.Waiter> offer = shared.flow().offer(model,
        new FlowControl.Waiter(context, () -> dispatchedFromQueue(model), now), tenant, who.weight(), band, cost,
        deadline);
    if (offer instanceof FlowQueue.Refused<FlowControl.Waiter> r) {
      String fix = r.full() ? "raise routing.flow.queueLength" : "raise routing.flow.maxWait (" + maxWait + " ms)";
      refuseWait(r.retryAfterMillis(), "every node of \"" + model + "\" is at its concurrency cap (" + why
          + ") and this request cannot wait for a slot: " + r.reason(), fix);
      return;
    }
    ticket = ((FlowQueue.Queued<FlowControl.Waiter>) offer).ticket();
    waitingFor = model;
    waitStartNanos = now;
    resp.closeHandler(v -> clientLeftQueue());
    long left = Math.max(1, deadline - shared.clock().millis());
    waitTimer = shared.exchanges().vertx().setTimer(left, id -> waitTimedOut(maxWait, why));
    shared.flow().kick(model); // room may have come meanwhile
  }

  /** The queue dispatched this request (on its own context): route it now, or end it if its client left. */
  private void dispatchedFromQueue(String model) {
    if (ticket == null) return;
    FlowQueue.Ticket<FlowControl.Waiter> was = ticket;
    ticket = null;
    long now = shared.clock().nanos();
    tally.queued(now - waitStartNanos);
    waitStartNanos = now;
    if (done) {
      cancelWaitTimer();
      return;
    }
    if (resp.closed()) {
      cancelWaitTimer();
      finish(499, "cancelled");
      return;
    }
    dispatched = true;
    dispatchedTicket = was; // its deadline timer stays armed until it starts (it may go back to the queue)
    attempt(model, false);
    if (dispatchedTicket != null) { // it started, or ended without waiting again
      dispatchedTicket = null;
      cancelWaitTimer();
    }
  }

  /** The client left while the request waited: it leaves the queue at once; no node ever sees it. */
  private void clientLeftQueue() {
    if (ticket == null || done) return;
    if (!shared.flow().leave(waitingFor, ticket, false)) return; // dispatched meanwhile: the dispatch ends it
    ticket = null;
    cancelWaitTimer();
    tally.queued(shared.clock().nanos() - waitStartNanos);
    finish(499, "cancelled");
  }

  /** The request's deadline passed while it waited: 429 + Retry-After. */
  private void waitTimedOut(long maxWait, String why) {
    waitTimer = -1;
    if (ticket == null || done) return;
    if (!shared.flow().leave(waitingFor, ticket, true)) return; // dispatched meanwhile
    ticket = null;
    long waited = shared.clock().nanos() - waitStartNanos;
    tally.queued(waited);
    refuseWait(shared.flow().retryAfterMillis(waitingFor), "waited " + waited / 1_000_000 + " ms for a node of \""
        + waitingFor + "\" below its concurrency cap (" + why + ") and none came free within routing.flow.maxWait ("
        + maxWait + " ms)", "raise routing.flow.maxWait, or the nodes' caps (nodes[].maxConcurrent, "
        + "routing.flow.maxConcurrent) if they can run more at once");
  }

  private void cancelWaitTimer() {
    if (waitTimer >= 0) shared.exchanges().vertx().cancelTimer(waitTimer);
    waitTimer = -1;
  }

  /**
   * 429 + Retry-After for a request the queue could not take or hold: back off and retry; not a node error, so the
   * degradation level is not touched.
   */
  private void refuseWait(long retryAfterMillis, String message, String fix) {
    long seconds = Durations.retryAfterSeconds(retryAfterMillis);
    resp.putHeader(HttpHeaders.RETRY_AFTER, Long.toString(seconds));
    error(ErrorKind.OVERLOADED, message + ": retry in " + seconds + " s, or " + fix, null);
  }

  /** The policy's choice now for continuing this request's broken stream (docs/stream-resumption.md). */
  @Override
  public List<Exchange.Target> resumeTargets() {
    var route = config.model(currentModel);
    if (route.isEmpty() || exchange == null) return List.of();
    ParsedRequest request = downgraded ? parsed.withModel(currentModel) : parsed;
    return router.resumeTargets(currentModel, request.endpoint(), route.get().nodes(), promptTokens,
        request.requestedMaxTokens(), exchange.translated(), sessionId, chainFor(currentModel));
  }

  @Override
  public void attemptEnded(String nodeId) {
    shared.flow().slotFreed();
  }

  /**
   * The prompt's prefix chain under {@code model} (once per model); null when the router has affinity off. The
   * prompt's bytes are let go once the chain under the requested model is made (a stream holds its request for
   * minutes: 186 KB each of a 190 KB agent prompt); another model's chain (a downgrade, the overflow model) takes them
   * from the body again.
   */
  private PrefixChain chainFor(String model) {
    if (!router.affinityOn()) return null;
    if (!model.equals(chainModel)) {
      byte[] utf8 = promptUtf8 != null ? promptUtf8 : PromptText.of(parsed.json(), parsed.raw().length()).utf8();
      promptUtf8 = null;
      chain = PrefixChain.of(model, utf8, utf8.length);
      chainModel = model;
    }
    return chain;
  }

  @Override
  public void attemptSent(String nodeId) {
    if (affinity != null) affinity.sent(warmth, chain, nodeId);
  }

  /** The answering node: the affinity header, the metric and the record's fields (affinity on only). */
  @Override
  public void committing(String nodeId) {
    if (routeExplanation != null) explainRoute(nodeId);
    if (affinity == null) return;
    Affinity.Outcome outcome = Affinity.outcome(warmth, nodeId);
    int cached = (int) Math.min(Math.max(0, promptTokens), warmth.cachedTokens(nodeId));
    double share = promptTokens > 0 ? (double) cached / promptTokens : 0;
    resp.putHeader(AFFINITY_HEADER, outcome.label() + "; cached=" + twoDecimals(share));
    shared.metrics().affinityRequest(currentModel, outcome.label());
    tally.affinity(outcome.label(), cached);
  }

  /**
   * The {@value #ROUTE_HEADER} header and the record's route ({@code routing.explain} on): the plan's explanation when
   * its first choice answers; otherwise the node that answered after the first choice failed.
   */
  private void explainRoute(String nodeId) {
    String text = routeExplanation;
    if (!text.startsWith("node=" + nodeId + ";")) {
      int policy = text.indexOf("; policy=");
      int reason = text.indexOf("; reason=");
      String first = text.substring("node=".length(), policy);
      text = "node=" + nodeId + text.substring(policy, reason) + "; reason=failover: " + first + " failed first";
    }
    if (downgraded) text += "; downgraded to " + currentModel;
    resp.putHeader(ROUTE_HEADER, text);
    tally.route(text);
  }

  /** A share 0–1 with two decimals ("0.93"), without String.format's cost on every answer. */
  static String twoDecimals(double share) {
    long hundredths = Math.round(Math.max(0, Math.min(1, share)) * 100);
    return hundredths / 100 + "." + (hundredths % 100 < 10 ? "0" : "") + hundredths % 100;
  }

  /** Why a model's nodes cannot take a request of {@code dialect}, and the fix. */
  private static String noNodeSpeaks(String model, Dialect dialect) {
    return switch (dialect.nodeDialect()) {
      case OLLAMA -> "model \"" + model + "\" has no node that speaks the Ollama API (its nodes speak OpenAI): call "
          + "/v1/chat/completions instead, or set \"api\": \"ollama\" on nodes that run Ollama";
      case OPENAI -> "model \"" + model + "\" has no node that speaks the OpenAI API: set \"dialects\" on its nodes "
          + "to include \"openai\" where they serve it";
      default -> "model \"" + model + "\" has no node that speaks " + dialect.nodeDialect().configName()
          + " or OpenAI chat completions: list \"" + dialect.nodeDialect().configName()
          + "\" in the \"dialects\" of nodes that serve " + dialect.path();
    };
  }

  /**
   * The gateway's own answer where no node of the model speaks the dialect and the dialect has one (count_tokens:
   * the gateway's estimate, said in {@value #ESTIMATE_HEADER}).
   */
  private void answerLocally(Buffer body) {
    tally.answeredLocally(shared.clock().nanos());
    resp.setStatusCode(200).putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .putHeader(ESTIMATE_HEADER, "estimate").end(body);
    finish(200, "ok");
  }

  /** Bytes of the answer to keep: for the cache (answers of the requested model only) and for token usage. */
  private int captureLimit() {
    boolean forCache = !downgraded && cacheable()
        && (config.degradation().enabled() || config.cache().models().contains(parsed.model()));
    boolean forUsage = permit != null && permit.countsTokens();
    return forCache || forUsage ? (int) Math.min(Integer.MAX_VALUE, config.cache().maxEntryBytes()) : 0;
  }

  @Override
  public boolean failedBeforeCommit(ErrorKind kind, String message, boolean nodeCaused) {
    if (!nodeCaused || !ladderOn()) { // the error itself; finished() follows
      if (kind == ErrorKind.UPSTREAM_BUSY) resp.putHeader(HttpHeaders.RETRY_AFTER, "1");
      Responses.error(resp, parsed.endpoint().flavor(), kind, message, null);
      return false;
    }
    boolean modelFailed = exchange != null && exchange.modelFailed();
    absorbExchange();
    shared.inFlight().decrementAndGet();
    releaseDowngradePlace();
    // the model's error rate counts requests the model could not answer: not one node's fault while others answer
    if (modelFailed) shared.protections().degradation.record(currentModel, true);
    fallBack(kind, message);
    return true;
  }

  /**
   * Yes when a failure would go down to the downgrade model: a healthy node of the requested model is the better
   * extra attempt (the downgrade would cost one as well). See {@link ExchangeListener#retryBeyondBudget}.
   */
  @Override
  public boolean retryBeyondBudget() {
    if (!ladderOn() || downgraded || triedDowngrade) return false;
    String target = config.degradation().downgrade().get(parsed.model());
    return target != null && who.mayUse(target);
  }

  @Override
  public void finished(int status, String outcome, boolean nodeFailure, Buffer captured) {
    boolean modelFailed = nodeFailure && exchange != null && exchange.modelFailed();
    absorbExchange();
    shared.inFlight().decrementAndGet();
    releaseDowngradePlace();
    boolean ok = "ok".equals(outcome);
    if (ok || modelFailed) shared.protections().degradation.record(currentModel, modelFailed);
    if (ok && status / 100 == 2 && captured != null) {
      byte[] body = captured.getBytes();
      if (!downgraded && cacheable()) {
        cache().store(body, resp.headers().get(HttpHeaders.CONTENT_TYPE), currentModel, shared.clock().millis(),
            config.cache().staleTtl());
      }
      if (permit != null && permit.countsTokens()) {
        Usage usage = parsed.endpoint().dialect().usage(body);
        if (usage.known()) permit.complete(usage.total());
      }
    }
    finish(status, ok && downgraded ? "downgraded" : outcome);
  }

  private void releaseDowngradePlace() {
    if (!holdsDowngradePlace) return;
    holdsDowngradePlace = false;
    shared.protections().downgrades.release(currentModel);
  }

  /** Adds what the exchange that just ended learned to the request's record; once per exchange. */
  private void absorbExchange() {
    Exchange x = exchange;
    if (x == null) return;
    exchange = null;
    tally.absorb(x);
  }

  // ------------------------------------------------------------------ the ladder

  private boolean ladderOn() {
    return config.degradation().enabled() && config.degradation().fallbackOnFailure();
  }

  /**
   * The tier that was tried failed because of the nodes: try the next one down — a cached answer (fresh or stale),
   * the downgrade model, the static reply — or, with the ladder off or nothing left, the error itself.
   */
  private void fallBack(ErrorKind kind, String message) {
    if (downgraded) resp.headers().remove(DOWNGRADED_HEADER);
    if (!ladderOn()) {
      error(kind, message, null);
      return;
    }
    if (!triedCache && cacheable()) {
      triedCache = true;
      lookUpCache(true, hit -> {
        if (!serveCached(hit)) fallBelowCache(kind, message);
      });
      return;
    }
    fallBelowCache(kind, message);
  }

  /**
   * The ladder below the cache: the downgrade model (when the caller may use it: a token scoped to other models skips
   * this tier), the static reply, or the error.
   */
  private void fallBelowCache(ErrorKind kind, String message) {
    String target = config.degradation().downgrade().get(parsed.model());
    if (!triedDowngrade && !downgraded && target != null && who.mayUse(target)) {
      triedDowngrade = true;
      attempt(target, true);
      return;
    }
    belowDowngrade(kind, message);
  }

  /** The ladder below the downgrade tier: the static reply, or the error. */
  private void belowDowngrade(ErrorKind kind, String message) {
    if (renderable()) {
      serveStatic();
      return;
    }
    error(kind, message, null);
  }

  /** Replays a cached answer in the client's format; false when there is none (or it no longer parses). */
  private boolean serveCached(ResponseCache.Lookup hit) {
    if (hit == null) return false;
    long now = shared.clock().nanos();
    if (!OwnAnswers.replay(resp, parsed, hit, shared.clock())) {
      cache().invalidate();
      return false;
    }
    tally.answeredLocally(now);
    finish(200, "cached");
    return true;
  }

  /** The configured static reply, as a normal answer of the requested model in the client's format. */
  private void serveStatic() {
    tally.answeredLocally(shared.clock().nanos());
    OwnAnswers.staticReply(resp, parsed, config.degradation().staticMessage(), shared.clock());
    finish(200, "static");
  }

  // ------------------------------------------------------------------ endings

  private void error(ErrorKind kind, String message, String param) {
    Responses.error(resp, parsed.endpoint().flavor(), kind, message, param);
    finish(kind.status(), kind.status() < 500 ? "client_error" : "failed");
  }

  /** The one place a routed request's outcome is counted. */
  private void finish(int status, String outcome) {
    if (done) return;
    done = true;
    if (permit != null) {
      // a cached or static answer used no GPU: give its tokens back (the request itself still counts)
      if ("cached".equals(outcome) || "static".equals(outcome)) permit.complete(0);
      else permit.release();
    }
    shared.observers().publish(tally.record(arrival, shared.metrics(), tenant, endpointLabel, parsed, currentModel,
        promptTokens, status, outcome));
  }

  // ------------------------------------------------------------------ helpers

  /** Chat, completions and embeddings answers can be cached; /api/show is cheap and changes with the node. */
  private boolean cacheable() {
    return parsed.endpoint() != Endpoint.OLLAMA_SHOW;
  }

  /** Endpoints whose answer Sluice can write itself (a cached answer in another shape, the static reply). */
  private boolean renderable() {
    return OwnAnswers.renderable(parsed);
  }
}
