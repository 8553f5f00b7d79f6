package dev.sluice.degrade;

import dev.sluice.support.Durations;
import java.time.Duration;
import java.util.Arrays;

/**
 * A sliding window of request outcomes in time buckets: a ring buffer with one bucket per second (per few seconds for
 * windows above two minutes, so a window never has more than about 120 buckets). Recording is O(1), counting is
 * O(buckets) and nothing is allocated per sample.
 *
 * <p>Not thread-safe: {@link DegradationController} holds its scope's lock around every call. Times are epoch
 * millis passed in by the caller; this class never reads a clock.
 */
public final class ErrorRateWindow {
  /** Above this many one-second buckets, buckets get wider: counting stays cheap for long windows. */
  static final int MAX_BUCKETS = 120;

  private final Duration window;
  private final long bucketMillis;
  private final long[] bucketIndex;
  private final long[] requests;
  private final long[] failures;

  /** The outcome counts of a span of time. */
  public record Counts(long requests, long failures) {
    /** No samples. */
    public static final Counts NONE = new Counts(0, 0);

    /** failures / requests, 0 when there were no requests. */
    public double rate() {
      return requests == 0 ? 0 : (double) failures / requests;
    }

    /** These counts without {@code other}'s (never below zero). */
    public Counts minus(Counts other) {
      return new Counts(Math.max(0, requests - other.requests), Math.max(0, failures - other.failures));
    }
  }

  /** An empty window of the given length (at least 1 s). */
  public ErrorRateWindow(Duration window) {
    if (window.toMillis() < 1000) {
      throw new IllegalArgumentException("window " + window + " is below 1 s");
    }
    this.window = window;
    long seconds = Durations.ceilSeconds(window);
    this.bucketMillis = 1000 * Math.max(1, (seconds + MAX_BUCKETS - 1) / MAX_BUCKETS);
    // one bucket more than the window spans, so the bucket holding (now - window) is never reused while counted
    int size = (int) ((window.toMillis() + bucketMillis - 1) / bucketMillis) + 1;
    this.bucketIndex = new long[size];
    this.requests = new long[size];
    this.failures = new long[size];
    clear();
  }

  /** The window length this was built for. */
  public Duration window() {
    return window;
  }

  /** Width of one bucket, the granularity of {@link #counts}. */
  public long bucketMillis() {
    return bucketMillis;
  }

  /** Counts one finished request at {@code nowMillis}. A sample older than the ring holds is dropped. */
  public void record(boolean failure, long nowMillis) {
    add(nowMillis, 1, failure ? 1 : 0);
  }

  /**
   * The samples with time in [{@code fromMillis}, {@code nowMillis}] at bucket granularity: the whole bucket holding
   * {@code fromMillis} counts, and nothing older than the window's ring.
   */
  public Counts counts(long fromMillis, long nowMillis) {
    long last = Math.floorDiv(nowMillis, bucketMillis);
    long first = Math.max(Math.floorDiv(fromMillis, bucketMillis), last - bucketIndex.length + 1);
    long r = 0;
    long f = 0;
    for (int i = 0; i < bucketIndex.length; i++) {
      long index = bucketIndex[i];
      if (index >= first && index <= last) {
        r += requests[i];
        f += failures[i];
      }
    }
    return r == 0 ? Counts.NONE : new Counts(r, f);
  }

  /**
   * The start of the earliest bucket in [{@code fromMillis}, {@code nowMillis}] (the same buckets {@link #counts}
   * covers) that holds a sample, or {@link Long#MAX_VALUE} when none does: how far back the evidence in a span reaches.
   */
  public long firstSampleMillis(long fromMillis, long nowMillis) {
    long last = Math.floorDiv(nowMillis, bucketMillis);
    long first = Math.max(Math.floorDiv(fromMillis, bucketMillis), last - bucketIndex.length + 1);
    long earliest = Long.MAX_VALUE;
    for (int i = 0; i < bucketIndex.length; i++) {
      long index = bucketIndex[i];
      if (index >= first && index <= last && requests[i] > 0 && index < earliest) {
        earliest = index;
      }
    }
    return earliest == Long.MAX_VALUE ? Long.MAX_VALUE : earliest * bucketMillis;
  }

  /** The samples in the one bucket holding {@code atMillis} (none when the ring no longer holds it). */
  public Counts bucketCounts(long atMillis) {
    long index = Math.floorDiv(atMillis, bucketMillis);
    int slot = (int) Math.floorMod(index, (long) bucketIndex.length);
    return bucketIndex[slot] == index ? new Counts(requests[slot], failures[slot]) : Counts.NONE;
  }

  /** Whether two times fall into the same bucket. */
  public boolean sameBucket(long aMillis, long bMillis) {
    return Math.floorDiv(aMillis, bucketMillis) == Math.floorDiv(bMillis, bucketMillis);
  }

  /** Forgets every sample. */
  public void clear() {
    Arrays.fill(bucketIndex, Long.MIN_VALUE);
    Arrays.fill(requests, 0);
    Arrays.fill(failures, 0);
  }

  /** A window of the new length holding this one's samples (each bucket re-filed at its start time). */
  public ErrorRateWindow resized(Duration newWindow) {
    ErrorRateWindow copy = new ErrorRateWindow(newWindow);
    long newest = Long.MIN_VALUE;
    for (long index : bucketIndex) {
      newest = Math.max(newest, index);
    }
    // oldest first, so the newest samples win where the new ring is shorter
    for (long index = newest - bucketIndex.length + 1; newest != Long.MIN_VALUE && index <= newest; index++) {
      int slot = (int) Math.floorMod(index, (long) bucketIndex.length);
      if (bucketIndex[slot] == index) {
        copy.add(index * bucketMillis, requests[slot], failures[slot]);
      }
    }
    return copy;
  }

  private void add(long atMillis, long r, long f) {
    long index = Math.floorDiv(atMillis, bucketMillis);
    int slot = (int) Math.floorMod(index, (long) bucketIndex.length);
    if (bucketIndex[slot] != index) {
      if (bucketIndex[slot] > index) {
        return;
      }
      bucketIndex[slot] = index;
      requests[slot] = 0;
      failures[slot] = 0;
    }
    requests[slot] += r;
    failures[slot] += f;
  }
}
