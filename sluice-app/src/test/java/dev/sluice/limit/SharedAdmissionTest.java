package dev.sluice.limit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.limit.LimitStore.BucketResult;
import dev.sluice.limit.RateLimiter.Admission;
import dev.sluice.limit.RateLimiter.Admitted;
import dev.sluice.limit.RateLimiter.Limited;
import dev.sluice.testkit.FakeClock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * {@link RateLimiter#admitAsync} over a {@link SharedLimitStore}: the same verdicts, messages and headers as the
 * local path, concurrency kept local, and the local store whenever the shared one fails.
 */
class SharedAdmissionTest {
  private final FakeClock clock = new FakeClock(1_700_000_000_000L);

  /** A shared store in memory: a second {@link LocalLimitStore}, all or nothing, on the same fake clock. */
  private final class MemoryShared implements SharedLimitStore {
    final LocalLimitStore buckets = new LocalLimitStore(clock);
    boolean failing;
    int calls;

    @Override
    public CompletionStage<List<BucketResult>> takeAll(List<Take> takes) {
      calls++;
      if (failing) return CompletableFuture.failedFuture(new IllegalStateException("redis down"));
      List<BucketResult> out = new ArrayList<>();
      for (Take t : takes) {
        BucketResult r = buckets.take(t.key(), t.cost(), t.capacity(), t.periodMillis(), clock.millis());
        out.add(r);
        if (!r.allowed()) {
          for (int i = 0; i < out.size() - 1; i++) {
            Take back = takes.get(i);
            buckets.adjust(back.key(), -back.cost(), back.capacity(), back.periodMillis(), clock.millis());
          }
          break;
        }
      }
      return CompletableFuture.completedFuture(out);
    }

    @Override
    public void adjust(String key, long delta, long capacity, long periodMillis) {
      buckets.adjust(key, delta, capacity, periodMillis, clock.millis());
    }
  }

  private RateLimiter limiter(Limits perTenant, Map<String, Limits> models) {
    return new RateLimiter(new LimitSettings(perTenant, Map.of(), models, null), new LocalLimitStore(clock), clock);
  }

  private static Admission now(CompletionStage<Admission> stage) {
    CompletableFuture<Admission> f = stage.toCompletableFuture();
    assertThat(f).isDone();
    return f.join();
  }

  @Test
  void givesTheSameVerdictsMessagesAndHeadersAsTheLocalPath() {
    Limits tenant = new Limits(3, 1_000, 0);
    Map<String, Limits> models = Map.of("q", new Limits(5, 0, 0));
    RateLimiter local = limiter(tenant, models);
    RateLimiter shared = limiter(tenant, models);
    MemoryShared store = new MemoryShared();
    shared.useShared(store);
    for (int i = 0; i < 6; i++) {
      Admission expected = local.admit("a", null, null, "q", 300);
      Admission actual = now(shared.admitAsync("a", null, null, "q", 300));
      assertThat(actual.headers()).as("request %d", i).isEqualTo(expected.headers());
      assertThat(actual.getClass()).isEqualTo(expected.getClass());
      if (expected instanceof Limited l) assertThat(((Limited) actual).message()).isEqualTo(l.message());
      clock.advanceMillis(1_000);
    }
    assertThat(store.calls).isEqualTo(6);
  }

  @Test
  void admitsAgainstTheLocalStoreWhenTheSharedOneFails() {
    RateLimiter limiter = limiter(new Limits(2, 0, 0), Map.of());
    MemoryShared store = new MemoryShared();
    store.failing = true;
    limiter.useShared(store);
    assertThat(now(limiter.admitAsync("a", null, null, "q", 1))).isInstanceOf(Admitted.class);
    assertThat(now(limiter.admitAsync("a", null, null, "q", 1))).isInstanceOf(Admitted.class);
    assertThat(now(limiter.admitAsync("a", null, null, "q", 1))).as("the local bucket of 2 holds")
        .isInstanceOf(Limited.class);
  }

  @Test
  void keepsConcurrencyPerReplicaAndGivesTheSharedBucketsBackWhenItRefuses() {
    RateLimiter limiter = limiter(new Limits(10, 0, 1), Map.of());
    MemoryShared store = new MemoryShared();
    limiter.useShared(store);
    Admitted first = (Admitted) now(limiter.admitAsync("a", null, null, "q", 1));
    Limited second = (Limited) now(limiter.admitAsync("a", null, null, "q", 1));
    assertThat(second.kind()).isEqualTo("concurrent");
    assertThat(store.buckets.take("t:a:rpm", 0, 10, RateLimiter.PERIOD_MILLIS, clock.millis()).remaining())
        .as("the refused request's shared request was given back").isEqualTo(9);
    first.permit().release();
    assertThat(now(limiter.admitAsync("a", null, null, "q", 1))).isInstanceOf(Admitted.class);
  }

  @Test
  void completesAtOnceWithoutTouchingTheSharedStoreForUnlimitedAndConcurrencyOnlyRequests() {
    RateLimiter limiter = limiter(new Limits(0, 0, 2), Map.of());
    MemoryShared store = new MemoryShared();
    limiter.useShared(store);
    assertThat(now(limiter.admitAsync("a", null, null, "q", 1))).isInstanceOf(Admitted.class);
    limiter.apply(LimitSettings.defaults());
    assertThat(now(limiter.admitAsync("a", null, null, "q", 1))).isInstanceOf(Admitted.class);
    assertThat(store.calls).isZero();
  }

  @Test
  void aCompletedRequestCorrectsTheSharedTokensBucket() {
    RateLimiter limiter = limiter(new Limits(0, 1_000, 0), Map.of());
    MemoryShared store = new MemoryShared();
    limiter.useShared(store);
    Admitted a = (Admitted) now(limiter.admitAsync("a", null, null, "q", 400));
    a.permit().complete(100);
    assertThat(store.buckets.take("t:a:tpm", 0, 1_000, RateLimiter.PERIOD_MILLIS, clock.millis()).remaining())
        .isEqualTo(900);
  }
}
