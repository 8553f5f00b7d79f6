package dev.sluice.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.LongConsumer;

/**
 * A vLLM-like continuous-batching engine of one GPU node, in simulated nanoseconds, with no I/O and no clock of its
 * own: the caller says what time it is ({@link #submit}, {@link #cancel}, {@link #advanceTo}) and the engine calls
 * back each sequence's {@link Listener} with the simulated time of every event. Same calls, same times: it is
 * deterministic, so the routing lab can drive it in virtual time and a node can drive it from a Vert.x timer.
 *
 * <p><b>Scheduling.</b> Requests wait in a FIFO. At the start of every step the engine admits sequences from the
 * head of the FIFO while the running set is below {@code maxRunning} and the head's KV reservation fits in the free
 * KV; the head blocks the ones behind it (no overtaking). A step then carries one decode token for every running
 * sequence that has finished its prefill, plus prefill chunks for the sequences still prefilling, in admission
 * order, up to {@code stepTokenBudget} tokens in all (chunked prefill). A sequence's first token is emitted at the
 * end of the step that completes its prefill; every later step that includes it emits its next token. A sequence
 * that has produced its output leaves the running set at the end of that step and frees its KV.
 *
 * <p><b>Step time.</b> With {@code b} sequences decoding and {@code n} tokens in the step (decodes plus prefill
 * chunk tokens):
 * <pre>
 *   step = max(T1 × (1 + β × (b − 1)), n / prefillTokensPerSecond) / speedFactor
 * </pre>
 * where T1 is {@code decodeMillisPerToken} (one weight read per step; also the floor of a prefill-only step, b = 0)
 * and β is {@link EngineProfile#batchSlope()}, calibrated so that 8 decoding sequences take
 * {@code 8 / batch8TokensPerSecond} per step (the KV reads and per-sequence work that make decode latency creep up
 * by 1–3 % per sequence). The second term is compute: prefill is compute-bound, so a step that carries a 2,048-token
 * prefill chunk lasts 2,048 / prefill rate and stretches every decode in it; decode steps stay weight-bound until
 * the tokens per step pass the knee {@code T1 × prefillTokensPerSecond} (≈ 36 on A10, 134 on A100 BF16, 180 on
 * H100), after which step time grows linearly with tokens. {@code speedFactor} and {@code hung} come from
 * {@link EngineControl} and are read when a step starts; while hung, no step starts.
 *
 * <p><b>KV.</b> A sequence reserves its prompt plus its whole output in the KV cache when admitted and keeps it
 * until it ends or is cancelled; so the engine never runs out mid-generation and never preempts
 * ({@link #preemptionsTotal()} stays 0), at the price of admitting fewer sequences than vLLM's optimistic
 * allocation would. {@link #kvUsedTokens()} reports the reservations. On Ollama profiles a sequence holds one slot
 * ({@code maxRunning = parallel}) and reserves at most {@code contextPerSlot} tokens (Ollama shifts the context
 * rather than fail). A request that could never fit is refused by {@link #admission} before it is submitted.
 *
 * <p><b>Prefix caching.</b> A sequence built with its prompt's token ids ({@link PromptTokens}) can skip the prefill
 * of a prefix the node still holds. vLLM profiles keep a {@link PrefixCache} of 16-token blocks, each known by a hash
 * chained over the blocks before it: when a sequence is admitted, its longest run of leading full blocks found in
 * the cache (at most {@code (promptTokens − 1) / 16} blocks, so that at least one token is computed, as vLLM does) is
 * taken as already prefilled, which shortens its prefill and so its time to first token, and the step-time formula
 * counts only the tokens still to prefill. Its prompt blocks join the cache as its prefill completes them, and are
 * pinned while it runs; the KV they take is counted once however many sequences share them, so
 * {@link #kvUsedTokens()} is the running sequences' reservations less what they share. When it ends its blocks stay
 * cached but free, and free blocks live in the KV no running sequence reserves: each admission evicts the least
 * recently freed ones (a prompt's tail before its head) until they fit in {@code (kvCapacityTokens −
 * kvUsedTokens) / 16} blocks. Ollama profiles have no block cache: each of the {@code parallel} slots keeps the
 * tokens of the last prompt it processed ({@link SlotCache}); a sequence takes the free slot with the longest common
 * prefix (the first on a tie) and skips that prefix (at most {@code promptTokens − 1} tokens). Only prompt tokens are
 * cached, not generated ones. {@link #prefixCacheQueriesTotal()} and {@link #prefixCacheHitsTotal()} count the prompt
 * tokens of such sequences and the cached tokens they skipped.
 *
 * <p>Not thread-safe: call it from one thread (the node's event loop). Listeners may call {@link #submit} and
 * {@link #cancel} from a callback; those take effect at the time of the event.
 */
public final class BatchEngine implements EngineState {
  /** Ollama's answer when {@code OLLAMA_MAX_QUEUE} requests already wait (two spaces, as Ollama writes it). */
  static final String OLLAMA_BUSY = "server busy, please try again.  maximum pending requests exceeded";
  /** Time-to-first-token samples kept for {@link #drainTtftSamples}; older ones are dropped. */
  private static final int TTFT_SAMPLES_KEPT = 1 << 16;

  private final EngineProfile profile;
  private final EngineControl control;
  private final double beta;
  private final PrefixCache prefixCache;
  private final SlotCache slots;
  private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
  private final List<Sequence> running = new ArrayList<>();
  private List<Sequence> stepMembers = new ArrayList<>();
  private List<Sequence> spareMembers = new ArrayList<>();
  private final long[] ttftSamples = new long[TTFT_SAMPLES_KEPT];
  private int ttftCount;

  private long clock;
  private boolean stepRunning;
  private long stepStart;
  private long stepEnd;
  private long kvReserved;
  private long busyCompleted;
  private long promptTokensTotal;
  private long generationTokensTotal;
  private long prefixQueriesTotal;
  private long prefixHitsTotal;
  private boolean advancing;

  public BatchEngine(EngineProfile profile, EngineControl control) {
    this.profile = Objects.requireNonNull(profile, "profile");
    this.control = Objects.requireNonNull(control, "control");
    this.beta = profile.batchSlope();
    this.prefixCache = profile.ollama() ? null : new PrefixCache();
    this.slots = profile.ollama() ? new SlotCache(profile.maxRunning()) : null;
  }

  public EngineProfile profile() {
    return profile;
  }

  /**
   * Whether a new request may queue, and with what prompt and output limit. Ollama: HTTP 503 when
   * {@code queueLimit} requests wait; a prompt longer than {@code contextPerSlot} is silently truncated. vLLM: HTTP
   * 400 with vLLM's message when prompt plus {@code max_tokens} (or the prompt alone, without a limit) does not fit
   * in {@code max_model_len}; otherwise output stops at {@code max_model_len}.
   *
   * @param maxTokens the client's output limit, 0 for none
   */
  public Admission admission(int promptTokens, int maxTokens) {
    if (profile.ollama()) {
      if (waiting.size() >= profile.queueLimit()) {
        return new Admission.Refused(503, OLLAMA_BUSY);
      }
      return new Admission.Accepted(Math.min(promptTokens, profile.contextPerSlot()), Integer.MAX_VALUE);
    }
    int limit = profile.maxModelLenTokens();
    if (maxTokens > 0 && (long) promptTokens + maxTokens > limit) {
      return new Admission.Refused(400, String.format(Locale.ROOT, "This model's maximum context length is %d "
          + "tokens. However, you requested %d tokens (%d in the messages, %d in the completion). Please reduce the "
          + "length of the messages or completion.", limit, (long) promptTokens + maxTokens, promptTokens, maxTokens));
    }
    if (promptTokens >= limit) {
      return new Admission.Refused(400, String.format(Locale.ROOT, "This model's maximum context length is %d "
          + "tokens. However, your messages resulted in %d tokens. Please reduce the length of the messages.",
          limit, promptTokens));
    }
    return new Admission.Accepted(promptTokens, limit - promptTokens);
  }

  /** Queues {@code sequence} at {@code nowNanos} (or at the engine's time, if later). */
  public void submit(Sequence sequence, long nowNanos) {
    Objects.requireNonNull(sequence, "sequence");
    if (sequence.state != State.NEW) {
      throw new IllegalStateException("sequence already submitted (" + sequence.state + ")");
    }
    sequence.kvReservation = reservation(sequence);
    if (sequence.kvReservation > profile.kvCapacityTokens()) {
      throw new IllegalArgumentException("sequence needs " + sequence.kvReservation + " KV tokens, more than the "
          + "capacity " + profile.kvCapacityTokens() + " (check admission() first)");
    }
    if (prefixCache != null && sequence.promptIds != null) {
      sequence.blockHashes = PrefixCache.blockHashes(sequence.promptIds, sequence.promptTokens);
      sequence.promptIds = null; // the block hashes are all the cache needs
    }
    if (advancing) {
      enqueue(sequence);
      return;
    }
    advancing = true;
    try {
      runTo(nowNanos);
      enqueue(sequence);
      startStep(clock);
    } finally {
      advancing = false;
    }
  }

  /** Drops {@code sequence} (waiting or running) at {@code nowNanos}, freeing its KV and slot; no-op once ended. */
  public void cancel(Sequence sequence, long nowNanos) {
    Objects.requireNonNull(sequence, "sequence");
    if (sequence.state != State.WAITING && sequence.state != State.RUNNING) {
      return;
    }
    if (advancing) {
      remove(sequence);
      return;
    }
    advancing = true;
    try {
      runTo(nowNanos);
      remove(sequence);
      startStep(clock);
    } finally {
      advancing = false;
    }
  }

  /** Runs every step that ends at or before {@code nowNanos}, calling listeners, and starts the next ones. */
  public void advanceTo(long nowNanos) {
    if (advancing) {
      return;
    }
    advancing = true;
    try {
      runTo(nowNanos);
    } finally {
      advancing = false;
    }
  }

  /**
   * When the next event happens (the end of the running step), or the engine's time if work waits to start, or
   * {@link Long#MAX_VALUE} when nothing will happen without a new call (idle, or hung).
   */
  public long nextEventAt() {
    if (stepRunning) {
      return stepEnd;
    }
    return hasWork() && !control.hung() ? clock : Long.MAX_VALUE;
  }

  /** Whether any sequence waits or runs. */
  public boolean hasWork() {
    return !running.isEmpty() || !waiting.isEmpty();
  }

  /**
   * The schedule of a sequence alone on an idle engine, relative to its arrival, without running the engine:
   * {@code [firstTokenNanos, endNanos]} (equal for a prefill-only sequence). Used when the node answers instantly.
   */
  public long[] soloSchedule(int promptTokens, int outputTokens) {
    long t = 0;
    for (int remaining = Math.max(1, promptTokens); remaining > 0; ) {
      int chunk = Math.min(remaining, profile.stepTokenBudget());
      t += stepDuration(0, chunk);
      remaining -= chunk;
    }
    long end = outputTokens <= 1 ? t : t + (outputTokens - 1) * stepDuration(1, 1);
    return new long[] {t, end};
  }

  /** Counts a request answered without the engine (time scale 0): tokens and its solo time to first token. */
  public void recordInstant(int promptTokens, int outputTokens, long ttftNanos) {
    promptTokensTotal += promptTokens;
    generationTokensTotal += outputTokens;
    if (outputTokens > 0) {
      recordTtft(ttftNanos);
    }
  }

  /** The step-time formula of the class comment at full speed, in nanoseconds. */
  public double stepNanos(int decoding, int tokensInStep) {
    double weightBound = profile.decodeMillisPerToken() * 1e6 * (1 + beta * Math.max(0, decoding - 1));
    double computeBound = tokensInStep * 1e9 / profile.prefillTokensPerSecond();
    return Math.max(weightBound, computeBound);
  }

  private long stepDuration(int decoding, int tokensInStep) {
    return Math.max(1, Math.round(stepNanos(decoding, tokensInStep) / control.speedFactor()));
  }

  private int reservation(Sequence sequence) {
    long tokens = (long) Math.max(1, sequence.promptTokens) + sequence.outputTokens;
    if (profile.ollama()) {
      tokens = Math.min(tokens, profile.contextPerSlot());
    }
    return (int) Math.min(Integer.MAX_VALUE, tokens);
  }

  private void enqueue(Sequence sequence) {
    sequence.arrivalNanos = clock;
    sequence.state = State.WAITING;
    waiting.addLast(sequence);
  }

  private void remove(Sequence sequence) {
    if (sequence.state == State.WAITING) {
      waiting.remove(sequence);
    } else if (sequence.state == State.RUNNING) {
      running.remove(sequence);
      release(sequence);
    }
    sequence.state = State.CANCELLED;
  }

  private void runTo(long target) {
    while (stepRunning && stepEnd <= target) {
      completeStep();
      startStep(clock);
    }
    if (target > clock) {
      clock = target;
    }
    startStep(clock);
  }

  private void startStep(long at) {
    if (stepRunning || control.hung()) {
      return;
    }
    admit(at);
    List<Sequence> members = stepMembers;
    members.clear();
    int budget = profile.stepTokenBudget();
    int decoding = 0;
    for (Sequence s : running) {
      if (s.prefilled == s.promptTokens && budget > 0) {
        s.stepDecode = true;
        decoding++;
        budget--;
        members.add(s);
      }
    }
    int prefill = 0;
    for (Sequence s : running) {
      if (s.prefilled < s.promptTokens && budget > 0) {
        int chunk = Math.min(s.promptTokens - s.prefilled, budget);
        s.stepChunk = chunk;
        budget -= chunk;
        prefill += chunk;
        members.add(s);
      }
    }
    if (members.isEmpty()) {
      return;
    }
    stepStart = at;
    stepEnd = at + stepDuration(decoding, decoding + prefill);
    stepRunning = true;
  }

  private void admit(long at) {
    while (!waiting.isEmpty() && running.size() < profile.maxRunning()) {
      Sequence head = waiting.peekFirst();
      if (!(prefixCache != null ? admitCached(head) : admitToSlot(head))) {
        return; // FIFO: the head waits for KV and so does everyone behind it
      }
      waiting.pollFirst();
      running.add(head);
      head.prefilled = head.cachedTokens;
      promptTokensTotal += head.cachedTokens;
      if (head.prompted) {
        prefixQueriesTotal += head.promptTokens;
        prefixHitsTotal += head.cachedTokens;
      }
      head.state = State.RUNNING;
      head.admittedNanos = at;
      head.listener.admitted(head, at);
    }
  }

  /**
   * vLLM: takes the head's cached leading blocks and reserves the rest of its KV if it fits (blocks other running
   * sequences already pin cost nothing more), then evicts free blocks beyond the KV left; false if it does not fit.
   */
  private boolean admitCached(Sequence head) {
    long[] hashes = head.blockHashes;
    long free = profile.kvCapacityTokens() - kvUsedTokens();
    int hits = 0;
    int shared = 0;
    if (hashes.length > 0 && head.kvReservation - (long) PrefixCache.BLOCK_TOKENS * hashes.length <= free) {
      hits = prefixCache.leadingHits(hashes, (head.promptTokens - 1) / PrefixCache.BLOCK_TOKENS);
      shared = prefixCache.pinnedAmong(hashes, hits);
    }
    if (head.kvReservation - (long) PrefixCache.BLOCK_TOKENS * shared > free) {
      return false;
    }
    for (int i = 0; i < hits; i++) {
      prefixCache.pin(hashes[i]);
    }
    head.pinnedBlocks = hits;
    head.cachedTokens = hits * PrefixCache.BLOCK_TOKENS;
    head.charge = head.kvReservation - head.cachedTokens;
    kvReserved += head.charge;
    prefixCache.evictTo((profile.kvCapacityTokens() - kvUsedTokens()) / PrefixCache.BLOCK_TOKENS);
    return true;
  }

  /** Ollama: a slot is free (the running set is below {@code parallel}) and holds its KV; reuses its prefix. */
  private boolean admitToSlot(Sequence head) {
    if (head.kvReservation > profile.kvCapacityTokens() - kvReserved) {
      return false;
    }
    int[] ids = head.promptIds != null ? head.promptIds : SlotCache.EMPTY;
    int slot = slots.best(ids);
    int reused = Math.min(slots.commonPrefix(slot, ids), head.promptTokens - 1);
    slots.acquire(slot, ids, reused);
    head.slot = slot;
    head.cachedTokens = reused;
    head.charge = head.kvReservation;
    kvReserved += head.charge;
    return true;
  }

  /** Frees a running sequence's KV: its reservation, its pins on cached blocks, its slot. */
  private void release(Sequence s) {
    kvReserved -= s.charge;
    s.charge = 0;
    if (prefixCache != null) {
      prefixCache.release(s.blockHashes, s.pinnedBlocks);
      s.pinnedBlocks = 0;
    } else {
      slots.release(s.slot, s.prefilled);
    }
  }

  /** Caches (and pins) the blocks the sequence's prefill has completed; their KV moves from its charge to the cache. */
  private void cacheCompletedBlocks(Sequence s) {
    int upTo = Math.min(s.blockHashes.length, s.prefilled / PrefixCache.BLOCK_TOKENS);
    for (int i = s.pinnedBlocks; i < upTo; i++) {
      prefixCache.pin(s.blockHashes[i]);
      s.charge -= PrefixCache.BLOCK_TOKENS;
      kvReserved -= PrefixCache.BLOCK_TOKENS;
    }
    s.pinnedBlocks = Math.max(s.pinnedBlocks, upTo);
  }

  private void completeStep() {
    long at = stepEnd;
    clock = at;
    stepRunning = false;
    busyCompleted += stepEnd - stepStart;
    List<Sequence> members = stepMembers;
    stepMembers = spareMembers;
    spareMembers = members;
    for (Sequence s : members) {
      boolean decode = s.stepDecode;
      int chunk = s.stepChunk;
      s.stepDecode = false;
      s.stepChunk = 0;
      if (s.state != State.RUNNING) {
        continue; // cancelled during the step
      }
      if (chunk > 0) {
        s.prefilled += chunk;
        promptTokensTotal += chunk;
        if (prefixCache != null && s.pinnedBlocks < s.blockHashes.length) {
          cacheCompletedBlocks(s);
        }
        if (s.prefilled < s.promptTokens) {
          continue;
        }
        if (s.outputTokens > 0) {
          recordTtft(at - s.arrivalNanos);
          emit(s, at);
        }
      } else if (decode) {
        emit(s, at);
      }
      if (s.state == State.RUNNING && s.generated >= s.outputTokens) {
        finish(s, at);
      }
    }
    members.clear();
  }

  private void emit(Sequence s, long at) {
    int index = s.generated++;
    generationTokensTotal++;
    if (index == 0) {
      s.firstTokenNanos = at;
    }
    s.listener.token(s, index, at);
  }

  private void finish(Sequence s, long at) {
    running.remove(s);
    release(s);
    s.state = State.DONE;
    s.finishedNanos = at;
    s.listener.finished(s, at);
  }

  private void recordTtft(long nanos) {
    ttftSamples[ttftCount % TTFT_SAMPLES_KEPT] = nanos;
    ttftCount++;
  }

  @Override
  public long simNowNanos() {
    return clock;
  }

  @Override
  public int running() {
    return running.size();
  }

  @Override
  public int waiting() {
    return waiting.size();
  }

  @Override
  public long kvUsedTokens() {
    return prefixCache == null ? kvReserved
        : kvReserved + (long) PrefixCache.BLOCK_TOKENS * prefixCache.pinnedBlocks();
  }

  /**
   * Prompt tokens of {@code promptIds} this engine holds cached now, as admission would find them (vLLM: the leading
   * cached blocks, at most {@code (length − 1) / 16}; Ollama: the longest common prefix of a free slot). Read-only: the
   * routing lab's oracle asks it.
   */
  public int cachedPrefixTokens(int[] promptIds) {
    if (promptIds.length == 0) {
      return 0;
    }
    if (prefixCache == null) {
      int slot = slots.best(promptIds); // -1: every slot busy
      return slot < 0 ? 0 : Math.min(slots.commonPrefix(slot, promptIds), promptIds.length - 1);
    }
    long[] hashes = PrefixCache.blockHashes(promptIds, promptIds.length);
    return prefixCache.leadingHits(hashes, (promptIds.length - 1) / PrefixCache.BLOCK_TOKENS)
        * PrefixCache.BLOCK_TOKENS;
  }

  /** vLLM: KV blocks kept for reuse that no running sequence uses (they count as free KV); 0 on Ollama. */
  int cachedFreeBlocks() {
    return prefixCache == null ? 0 : prefixCache.freeBlocks();
  }

  @Override
  public long kvCapacityTokens() {
    return profile.kvCapacityTokens();
  }

  @Override
  public long busySimNanosTotal() {
    return busySimNanosAt(clock);
  }

  /** Busy time up to {@code nowNanos}, counting the running step's elapsed part. */
  long busySimNanosAt(long nowNanos) {
    if (!stepRunning) {
      return busyCompleted;
    }
    return busyCompleted + Math.max(0, Math.min(nowNanos, stepEnd) - stepStart);
  }

  @Override
  public long promptTokensTotal() {
    return promptTokensTotal;
  }

  @Override
  public long generationTokensTotal() {
    return generationTokensTotal;
  }

  @Override
  public long prefixCacheQueriesTotal() {
    return prefixQueriesTotal;
  }

  @Override
  public long prefixCacheHitsTotal() {
    return prefixHitsTotal;
  }

  @Override
  public long preemptionsTotal() {
    return 0; // KV is reserved at admission: nothing is ever preempted
  }

  @Override
  public int drainTtftSamples(int fromIndex, LongConsumer sink) {
    int from = Math.max(Math.max(0, fromIndex), ttftCount - TTFT_SAMPLES_KEPT);
    for (int i = from; i < ttftCount; i++) {
      sink.accept(ttftSamples[i % TTFT_SAMPLES_KEPT]);
    }
    return ttftCount;
  }

  /** Callbacks of one sequence, at simulated times. */
  public interface Listener {
    /** Left the FIFO for the running set. */
    default void admitted(Sequence sequence, long atNanos) {}

    /** Output token {@code index} produced (index 0: end of prefill). */
    default void token(Sequence sequence, int index, long atNanos) {}

    /** Done: last token produced (or, with no output, prefill complete); its KV is free. */
    default void finished(Sequence sequence, long atNanos) {}
  }

  /** One request in the engine: its token counts, its listener, and the simulated times of its events. */
  public static final class Sequence {
    private final int promptTokens;
    private final int outputTokens;
    private final Listener listener;
    private final boolean prompted;
    private int[] promptIds;
    private long[] blockHashes = NO_BLOCKS;
    private int pinnedBlocks;
    private int charge;
    private int cachedTokens;
    private int slot = -1;
    private State state = State.NEW;
    private int kvReservation;
    private int prefilled;
    private int generated;
    private int stepChunk;
    private boolean stepDecode;
    private long arrivalNanos = -1;
    private long admittedNanos = -1;
    private long firstTokenNanos = -1;
    private long finishedNanos = -1;

    /**
     * @param promptTokens tokens to prefill (at least 1 is processed)
     * @param outputTokens tokens to generate; 0 for a prefill-only sequence (embeddings)
     */
    public Sequence(int promptTokens, int outputTokens, Listener listener) {
      if (outputTokens < 0) {
        throw new IllegalArgumentException("outputTokens: " + outputTokens + " (expected >= 0)");
      }
      this.promptTokens = Math.max(1, promptTokens);
      this.outputTokens = outputTokens;
      this.listener = Objects.requireNonNull(listener, "listener");
      this.prompted = false;
    }

    /**
     * A sequence whose prompt is known, so that a cached prefix of it can skip prefill (see the class comment).
     *
     * @param promptTokens tokens to prefill: the first {@code promptTokens} of {@code promptTokenIds} (fewer when
     *     Ollama truncates), at least 1 processed
     * @param promptTokenIds the prompt's {@link PromptTokens} ids
     * @param outputTokens tokens to generate; 0 for a prefill-only sequence
     */
    public Sequence(int promptTokens, int[] promptTokenIds, int outputTokens, Listener listener) {
      if (outputTokens < 0) {
        throw new IllegalArgumentException("outputTokens: " + outputTokens + " (expected >= 0)");
      }
      this.promptTokens = Math.max(1, promptTokens);
      this.outputTokens = outputTokens;
      this.listener = Objects.requireNonNull(listener, "listener");
      this.prompted = true;
      int kept = Math.min(promptTokenIds.length, this.promptTokens);
      this.promptIds = kept == promptTokenIds.length ? promptTokenIds : Arrays.copyOf(promptTokenIds, kept);
    }

    public int promptTokens() {
      return promptTokens;
    }

    public int outputTokens() {
      return outputTokens;
    }

    /** Prompt tokens found in the node's cache when it was admitted, which it did not prefill; 0 until then. */
    public int cachedTokens() {
      return cachedTokens;
    }

    /** Ollama: the slot it was given when admitted, or -1. */
    int slot() {
      return slot;
    }

    /** Output tokens produced so far. */
    public int generated() {
      return generated;
    }

    /** When it was submitted, or -1. */
    public long arrivalNanos() {
      return arrivalNanos;
    }

    /** When it entered the running set, or -1. */
    public long admittedNanos() {
      return admittedNanos;
    }

    /** When its first token was produced, or -1. */
    public long firstTokenNanos() {
      return firstTokenNanos;
    }

    /** When it finished, or -1. */
    public long finishedNanos() {
      return finishedNanos;
    }

    /** Whether it finished or was cancelled. */
    public boolean ended() {
      return state == State.DONE || state == State.CANCELLED;
    }
  }

  private static final long[] NO_BLOCKS = new long[0];

  private enum State { NEW, WAITING, RUNNING, DONE, CANCELLED }
}
