package dev.sluice.degrade;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ResponseCacheTest {
  private static final long T0 = 1_790_000_000_000L;
  private static final CacheSettings SETTINGS = new CacheSettings(10_000, 1_000, Duration.ofSeconds(60),
      Duration.ofMinutes(10), Set.of());

  private final AtomicLong now = new AtomicLong(T0);
  private final ResponseCache cache = new ResponseCache(SETTINGS, now::get, Runnable::run);

  @Test
  void anEntryIsFreshUpToFreshTtlThenStaleUpToStaleTtlThenGone() {
    cache.put("k", answer("hi", now.get()));

    assertLookup(cache.get("k", false), true, 0);
    now.addAndGet(60_000);
    assertLookup(cache.get("k", false), true, 60_000);
    now.addAndGet(1);
    assertLookup(cache.get("k", true), false, 60_001);
    now.set(T0 + 600_000);
    assertLookup(cache.get("k", true), false, 600_000);
    now.addAndGet(1);
    assertThat(cache.get("k", true)).isNull();
  }

  @Test
  void aHotRequestsAnswerIsReplacedAtMostOnceASecond() {
    assertThat(cache.wants("k")).isTrue();
    cache.put("k", answer("first", now.get()));
    now.addAndGet(999);
    assertThat(cache.wants("k")).as("the stored answer is under a second old").isFalse();
    now.addAndGet(1);
    assertThat(cache.wants("k")).isTrue();
    assertThat(cache.wants("other")).isTrue();
  }

  @Test
  void aStaleEntryIsNotReturnedWhenStaleIsNotAllowed() {
    cache.put("k", answer("hi", now.get()));
    now.addAndGet(61_000);

    assertThat(cache.get("k", false)).isNull();
    assertThat(cache.get("k", true)).isNotNull();
  }

  @Test
  void ageIsCountedFromWhenTheAnswerWasStoredNotWhenItWasPut() {
    cache.put("k", answer("hi", now.get() - 601_000));

    assertThat(cache.get("k", true)).isNull();
    assertThat(cache.stats().entries()).isZero();
  }

  @Test
  void aNewerAnswerReplacesTheOlderOne() {
    cache.put("k", answer("old", now.get()));
    now.addAndGet(120_000);
    cache.put("k", answer("new", now.get()));

    ResponseCache.Lookup hit = cache.get("k", false);
    assertThat(new String(hit.answer().body(), StandardCharsets.UTF_8)).isEqualTo("new");
    assertThat(hit.fresh()).isTrue();
  }

  @Test
  void anAnswerLargerThanMaxEntryBytesIsNotStored() {
    cache.put("k", answer("x".repeat(1_000), now.get()));

    assertThat(cache.get("k", true)).isNull();
    assertThat(cache.stats().oversized()).isEqualTo(1);
    assertThat(cache.stats().puts()).isZero();
  }

  @Test
  void theByteBoundEvictsEntries() {
    for (int i = 0; i < 30; i++) cache.put("k" + i, answer("x".repeat(900), now.get()));

    ResponseCache.Stats stats = cache.stats();
    assertThat(stats.weightBytes()).isLessThanOrEqualTo(10_000);
    assertThat(stats.entries()).isLessThanOrEqualTo(11);
    assertThat(stats.evictions()).isEqualTo(30 - stats.entries());
  }

  @Test
  void purgeRemovesEverythingAndSaysHowMuch() {
    cache.put("a", answer("1", now.get()));
    cache.put("b", answer("2", now.get()));

    cache.noteHandled(42L);

    assertThat(cache.purge()).isEqualTo(2);
    assertThat(cache.get("a", true)).isNull();
    assertThat(cache.stats().entries()).isZero();
    assertThat(cache.handledRecently(42L)).as("the next answer of a request handled just before is stored again")
        .isFalse();
  }

  @Test
  void invalidateDropsOneEntry() {
    cache.put("a", answer("1", now.get()));
    cache.put("b", answer("2", now.get()));

    cache.invalidate("a");

    assertThat(cache.get("a", true)).isNull();
    assertThat(cache.get("b", true)).isNotNull();
  }

  @Test
  void statsCountHitsStaleHitsMissesPutsAndSize() {
    cache.put("a", answer("1234", now.get()));
    cache.get("a", false);
    cache.get("nope", true);
    now.addAndGet(61_000);
    cache.get("a", true);
    cache.get("a", false);

    ResponseCache.Stats stats = cache.stats();
    assertThat(stats.hits()).isEqualTo(1);
    assertThat(stats.staleHits()).isEqualTo(1);
    assertThat(stats.misses()).isEqualTo(2);
    assertThat(stats.puts()).isEqualTo(1);
    assertThat(stats.entries()).isEqualTo(1);
    assertThat(stats.weightBytes()).isEqualTo(ResponseCache.weight("a", answer("1234", 0)));
  }

  @Test
  void applyingALowerMaxBytesEvictsDownToTheNewBoundAndKeepsTheRest() {
    for (int i = 0; i < 5; i++) cache.put("k" + i, answer("x".repeat(900), now.get()));

    cache.apply(new CacheSettings(2_000, 1_000, Duration.ofSeconds(60), Duration.ofMinutes(10), Set.of()));

    assertThat(cache.stats().weightBytes()).isLessThanOrEqualTo(2_000);
    assertThat(cache.stats().entries()).isEqualTo(2);
    assertThat(cache.settings().maxBytes()).isEqualTo(2_000);
  }

  @Test
  void applyingAShorterStaleTtlExpiresExistingEntries() {
    cache.put("k", answer("hi", now.get()));
    now.addAndGet(120_000);

    cache.apply(new CacheSettings(10_000, 1_000, Duration.ofSeconds(60), Duration.ofSeconds(90), Set.of()));

    assertThat(cache.get("k", true)).isNull();
  }

  @Test
  void applyingOtherSettingsKeepsEntries() {
    cache.put("k", answer("hi", now.get()));

    cache.apply(new CacheSettings(10_000, 1_000, Duration.ofSeconds(30), Duration.ofMinutes(10), Set.of("m")));

    assertThat(cache.get("k", false)).isNotNull();
    assertThat(cache.settings().cachesOutsideDegradation("m")).isTrue();
  }

  @Test
  void defaultsAreTheBriefsTtlsAndBytes() {
    CacheSettings d = CacheSettings.defaults();

    assertThat(d.freshTtl()).isEqualTo(Duration.ofSeconds(60));
    assertThat(d.staleTtl()).isEqualTo(Duration.ofMinutes(10));
    assertThat(d.maxBytes()).isEqualTo(64L << 20);
    assertThat(d.maxEntryBytes()).isEqualTo(1L << 20);
    assertThat(d.models()).isEmpty();
    assertThat(d.cachesOutsideDegradation("qwen3:32b")).isFalse();
  }

  @Test
  void invalidSettingsNameTheKeyAndTheFix() {
    assertThatThrownBy(() -> new CacheSettings(100, 1_000, Duration.ofSeconds(1), Duration.ofSeconds(2), Set.of()))
        .hasMessageContaining("cache.maxEntryBytes").hasMessageContaining("raise cache.maxBytes");
    assertThatThrownBy(() -> new CacheSettings(100, 10, Duration.ofSeconds(3), Duration.ofSeconds(2), Set.of()))
        .hasMessageContaining("cache.freshTtl").hasMessageContaining("at most cache.staleTtl");
    assertThatThrownBy(() -> new CacheSettings(0, 0, Duration.ofSeconds(1), Duration.ofSeconds(2), Set.of()))
        .hasMessageContaining("cache.maxBytes");
    assertThatThrownBy(() -> new CacheSettings(100, 10, Duration.ZERO, Duration.ZERO, Set.of()))
        .hasMessageContaining("cache.staleTtl");
  }

  private static void assertLookup(ResponseCache.Lookup lookup, boolean fresh, long ageMillis) {
    assertThat(lookup).isNotNull();
    assertThat(lookup.fresh()).isEqualTo(fresh);
    assertThat(lookup.ageMillis()).isEqualTo(ageMillis);
  }

  private static CachedAnswer answer(String body, long storedAt) {
    return new CachedAnswer(body.getBytes(StandardCharsets.UTF_8), "application/json", false, "m", storedAt);
  }
}
