package dev.sluice.limit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.limit.RateLimiter.Admission;
import dev.sluice.limit.RateLimiter.Admitted;
import dev.sluice.limit.RateLimiter.Limited;
import dev.sluice.testkit.FakeClock;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RateLimiterTest {
  private static final String TENANT = "key-3f9a1c2e";
  private static final String MODEL = "qwen3:32b";

  private final FakeClock clock = new FakeClock(1_700_000_000_000L);
  private final LocalLimitStore store = new LocalLimitStore(clock);

  private RateLimiter limiter(Limits perTenant, Map<String, Limits> tenants, Map<String, Limits> models) {
    return new RateLimiter(new LimitSettings(perTenant, tenants, models, null), store, clock);
  }

  private static Limited limited(Admission admission) {
    assertThat(admission).isInstanceOf(Limited.class);
    return (Limited) admission;
  }

  private static Admitted admitted(Admission admission) {
    assertThat(admission).isInstanceOf(Admitted.class);
    return (Admitted) admission;
  }

  @Test
  void anUnlimitedConfigurationNeverTouchesTheStore() {
    LimitStore untouchable = new LimitStore() {
      @Override
      public BucketResult take(String key, long cost, long capacity, long periodMillis, long nowMillis) {
        throw new AssertionError("take " + key);
      }

      @Override
      public void adjust(String key, long delta, long capacity, long periodMillis, long nowMillis) {
        throw new AssertionError("adjust " + key);
      }

      @Override
      public boolean acquireSlot(String key, int max) {
        throw new AssertionError("acquire " + key);
      }

      @Override
      public void releaseSlot(String key) {
        throw new AssertionError("release " + key);
      }

      @Override
      public int slotsInUse(String key) {
        throw new AssertionError("inUse " + key);
      }
    };
    RateLimiter limiter = new RateLimiter(LimitSettings.defaults(), untouchable, clock);

    Admitted first = admitted(limiter.admit(TENANT, MODEL, 1_000_000));
    Admitted second = admitted(limiter.admit("other", "llama3", 5));
    first.permit().complete(123);
    first.permit().release();

    assertThat(first).isSameAs(second);
    assertThat(first.headers()).isEqualTo(RateHeaders.none());
    assertThat(first.headers().toHeaders()).isEmpty();
  }

  @Test
  void refusesTheSixtyFirstRequestOfAMinuteNamingTenantCountLimitAndRetry() {
    RateLimiter limiter = limiter(new Limits(60, 0, 0), null, null);
    for (int i = 0; i < 60; i++) {
      admitted(limiter.admit(TENANT, MODEL, 10));
    }
    clock.advanceMillis(500);

    Limited refused = limited(limiter.admit(TENANT, MODEL, 10));

    assertThat(refused.message()).isEqualTo("rate limit: tenant key-3f9a1c2e made 60 requests in the last minute"
        + " (limit 60 requests/min); retry in 1 s");
    assertThat(refused.retryAfterMillis()).isEqualTo(500);
    assertThat(refused.scope()).isEqualTo("tenant");
    assertThat(refused.kind()).isEqualTo("requests");
    assertThat(refused.headers().toHeaders()).containsEntry("x-ratelimit-remaining-requests", "0")
        .containsEntry("x-ratelimit-reset-requests", "59.5s");
  }

  @Test
  void eachTenantGetsItsOwnDefaultBucketAndAnOverrideReplacesIt() {
    RateLimiter limiter = limiter(new Limits(1, 0, 0), Map.of("vip", new Limits(3, 0, 0)), null);

    admitted(limiter.admit("a", MODEL, 0));
    admitted(limiter.admit("b", MODEL, 0));
    limited(limiter.admit("a", MODEL, 0));
    for (int i = 0; i < 3; i++) {
      admitted(limiter.admit("vip", MODEL, 0));
    }
    limited(limiter.admit("vip", MODEL, 0));
  }

  @Test
  void aModelsConcurrencyLimitIsSharedByAllTenants() {
    RateLimiter limiter = limiter(Limits.unlimited(), null, Map.of(MODEL, new Limits(0, 0, 2)));
    Admitted a = admitted(limiter.admit("a", MODEL, 0));
    admitted(limiter.admit("b", MODEL, 0));

    Limited refused = limited(limiter.admit("c", MODEL, 0));
    admitted(limiter.admit("c", "llama3", 0));

    assertThat(refused.message()).isEqualTo("rate limit: model qwen3:32b has 2 requests in flight (limit 2 concurrent)");
    assertThat(refused.retryAfterMillis()).isEqualTo(RateLimiter.CONCURRENCY_RETRY_AFTER_MILLIS);
    assertThat(refused.scope()).isEqualTo("model");
    assertThat(refused.kind()).isEqualTo("concurrent");
    a.permit().release();
    admitted(limiter.admit("c", MODEL, 0));
  }

  @Test
  void aRequestLargerThanTheWholeTokensLimitSaysWhichSettingToRaise() {
    RateLimiter limiter = limiter(new Limits(0, 4_000, 0), Map.of("vip", new Limits(0, 4_000, 0)),
        Map.of(MODEL, new Limits(0, 3_000, 0)));

    Limited tenant = limited(limiter.admit(TENANT, MODEL, 5_200));
    Limited vip = limited(limiter.admit("vip", MODEL, 5_200));
    Limited model = limited(limiter.admit(TENANT, MODEL, 3_500));

    assertThat(tenant.message()).isEqualTo("rate limit: request needs ~5,200 tokens but tenant key-3f9a1c2e allows"
        + " 4,000 tokens/min in total (raise limits.perTenant.tokensPerMinute or lower max_tokens)");
    assertThat(vip.message()).contains("(raise limits.tenants[\"vip\"].tokensPerMinute or lower max_tokens)");
    assertThat(model.message()).isEqualTo("rate limit: request needs ~3,500 tokens but model qwen3:32b allows"
        + " 3,000 tokens/min in total (raise limits.models[\"qwen3:32b\"].tokensPerMinute or lower max_tokens)");
    assertThat(model.kind()).isEqualTo("tokens");
    assertThat(store.bucketCount()).as("the tenant's charge was given back").isZero();
  }

  @Test
  void aSpentTokensBudgetSaysHowMuchWasUsedAndWhenToRetry() {
    RateLimiter limiter = limiter(new Limits(0, 6_000, 0), null, null);
    admitted(limiter.admit(TENANT, MODEL, 5_000));

    Limited refused = limited(limiter.admit(TENANT, MODEL, 2_000));

    assertThat(refused.message()).isEqualTo("rate limit: tenant key-3f9a1c2e used 5,000 tokens in the last minute"
        + " (limit 6,000 tokens/min) and this request needs ~2,000; retry in 10 s");
    assertThat(refused.retryAfterMillis()).isEqualTo(10_000);
  }

  @Test
  void aLaterRefusalGivesBackWhatEarlierChecksTook() {
    RateLimiter limiter = limiter(new Limits(10, 1_000, 1), null, Map.of(MODEL, new Limits(0, 0, 1)));
    Admitted holder = admitted(limiter.admit("a", MODEL, 100));

    limited(limiter.admit(TENANT, MODEL, 100));

    assertThat(store.slotsInUse(RateLimiter.key(RateLimiter.Scope.TENANT, TENANT, RateLimiter.Kind.CONCURRENT)))
        .isZero();
    assertThat(store.take("t:" + TENANT + ":rpm", 0, 10, RateLimiter.PERIOD_MILLIS, clock.millis()).remaining())
        .isEqualTo(10);
    assertThat(store.take("t:" + TENANT + ":tpm", 0, 1_000, RateLimiter.PERIOD_MILLIS, clock.millis()).remaining())
        .isEqualTo(1_000);
    holder.permit().release();
    admitted(limiter.admit(TENANT, MODEL, 100));
  }

  @Test
  void completeCorrectsEveryTokensBucketByRealUsageMinusEstimateOnce() {
    RateLimiter limiter = limiter(new Limits(0, 10_000, 0), null, Map.of(MODEL, new Limits(0, 20_000, 0)));
    Admitted admitted = admitted(limiter.admit(TENANT, MODEL, 4_000));
    assertThat(admitted.headers().remainingTokens()).isEqualTo(6_000);

    admitted.permit().complete(1_000);
    admitted.permit().complete(9_000);
    admitted.permit().release();

    Admitted next = admitted(limiter.admit(TENANT, MODEL, 0));
    assertThat(next.headers().limitTokens()).isEqualTo(10_000);
    assertThat(next.headers().remainingTokens()).isEqualTo(9_000);
    assertThat(store.take("m:" + MODEL + ":tpm", 0, 20_000, RateLimiter.PERIOD_MILLIS, clock.millis())
        .remaining()).isEqualTo(19_000);
  }

  @Test
  void releaseFreesTheSlotsButKeepsTheEstimateCharged() {
    RateLimiter limiter = limiter(new Limits(0, 10_000, 1), null, null);
    Admitted admitted = admitted(limiter.admit(TENANT, MODEL, 4_000));

    admitted.permit().release();
    admitted.permit().complete(0);

    assertThat(admitted(limiter.admit(TENANT, MODEL, 0)).headers().remainingTokens()).isEqualTo(6_000);
  }

  @Test
  void usageAboveTheEstimateOverdrawsTheTenantUntilItRefills() {
    RateLimiter limiter = limiter(new Limits(0, 6_000, 0), null, null);
    admitted(limiter.admit(TENANT, MODEL, 1_000)).permit().complete(9_000);

    Limited refused = limited(limiter.admit(TENANT, MODEL, 0));
    assertThat(refused.retryAfterMillis()).isEqualTo(30_000);
    clock.advanceMillis(30_000);
    admitted(limiter.admit(TENANT, MODEL, 0));
  }

  @Test
  void headersReportTheScopeWithTheFewestRemaining() {
    RateLimiter limiter = limiter(new Limits(100, 50_000, 0), null, Map.of(MODEL, new Limits(10, 100_000, 0)));

    RateHeaders headers = admitted(limiter.admit(TENANT, MODEL, 2_000)).headers();

    assertThat(headers).isEqualTo(new RateHeaders(10, 9, 6_000, 50_000, 48_000, 2_400));
    assertThat(headers.toHeaders()).containsExactly(
        Map.entry("x-ratelimit-limit-requests", "10"),
        Map.entry("x-ratelimit-remaining-requests", "9"),
        Map.entry("x-ratelimit-reset-requests", "6s"),
        Map.entry("x-ratelimit-limit-tokens", "50000"),
        Map.entry("x-ratelimit-remaining-tokens", "48000"),
        Map.entry("x-ratelimit-reset-tokens", "2.4s"));
  }

  @Test
  void onlyTheHeadersOfLimitsThatApplyAreSent() {
    RateLimiter limiter = limiter(new Limits(0, 0, 5), null, Map.of(MODEL, new Limits(0, 1_000, 0)));

    Map<String, String> headers = admitted(limiter.admit(TENANT, MODEL, 10)).headers().toHeaders();

    assertThat(headers).containsOnlyKeys("x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-tokens");
  }

  @Test
  void aReloadAppliesToTheNextRequestAndOldPermitsStillReleaseTheirSlots() {
    RateLimiter limiter = limiter(new Limits(0, 0, 1), null, null);
    Admitted old = admitted(limiter.admit(TENANT, MODEL, 0));
    limited(limiter.admit(TENANT, MODEL, 0));

    limiter.apply(LimitSettings.defaults());
    admitted(limiter.admit(TENANT, MODEL, 0));
    old.permit().complete(5);

    assertThat(store.slotKeyCount()).isZero();
    assertThat(limiter.settings()).isSameAs(LimitSettings.defaults());
  }

  @Test
  void storeKeysFollowOneScheme() {
    assertThat(RateLimiter.key(RateLimiter.Scope.TENANT, "key-1", RateLimiter.Kind.REQUESTS)).isEqualTo("t:key-1:rpm");
    assertThat(RateLimiter.key(RateLimiter.Scope.TENANT, "key-1", RateLimiter.Kind.TOKENS)).isEqualTo("t:key-1:tpm");
    assertThat(RateLimiter.key(RateLimiter.Scope.MODEL, MODEL, RateLimiter.Kind.CONCURRENT))
        .isEqualTo("m:qwen3:32b:conc");
  }
}
